"""Numeric builtins: `abs`, `round`, `sum`, `min`, `max`.

Strategy: arguments are checked to be numbers (bool is not one here) before Python's own
function runs; `min`/`max` share `_extreme`, which orders through `checks.order_key` so
mixed types are a TypeError in the language's words.
"""
from __future__ import annotations

import math

from .. import limits, scans
from ..errors import ScriptError
from ..values import check_int, repr_value, type_name
from .checks import NUMBER_TYPES, as_int, builtin, charge_search, elements, order_key, python_type, type_error


def _number(fname: str, value):
    if python_type(value) not in NUMBER_TYPES:
        raise type_error(fname, "a number", value)
    return value


@builtin
def abs_(x):
    return abs(_number("abs", x))


@builtin
def round_(x, digits=None):
    _number("round", x)
    if digits is None:
        if python_type(x) is float and (math.isinf(x) or math.isnan(x)):
            raise ScriptError("ValueError", f"round() cannot round {repr_value(x)} to an int")
        return round(x)
    return round(x, as_int("round", digits, "an int number of digits"))


@builtin
def sum_(values, start=0):
    values = elements("sum", values)
    limits.work_items(len(values))
    _number("sum", start)
    for v in values:
        if python_type(v) not in NUMBER_TYPES:
            raise ScriptError("TypeError", f"sum() takes a list of numbers, not a list containing {type_name(v)}")
    total = scans.total(values, start)
    return check_int(total) if python_type(total) is int else total


def _extreme(fname: str, pick, args, key):
    if len(args) == 1:
        values = elements(fname, args[0])
    elif args:
        values = args
    else:
        raise ScriptError("TypeError", f"{fname}() takes a list or at least two values")
    if not values:
        raise ScriptError("ValueError", f"{fname}() of an empty list")
    if key is None:
        order = order_key(fname, values)
        if order is None and python_type(values[0]) is str:
            # Each comparison reads up to the shorter text: charged as the slices go, by the
            # text they hold (values[0] alone says nothing of the others' lengths).
            limits.work_items(len(values))
            return scans.extreme(pick, values, None, values)
        charge_search(values, values[0])
        return scans.extreme(pick, values, order)
    charge_search(values, values[0])
    if not callable(key):
        raise ScriptError("TypeError", f"{fname}(): key must be a function, not {type_name(key)}")
    keys = [key(v) for v in values]
    compare_keys = order_key(fname, keys)
    by_key = keys.__getitem__ if compare_keys is None else (lambda i: compare_keys(keys[i]))
    texts = keys if compare_keys is None and python_type(keys[0]) is str else None
    return values[scans.extreme(pick, range(len(values)), by_key, texts)]


@builtin
def min_(*args, key=None):
    return _extreme("min", min, args, key)


@builtin
def max_(*args, key=None):
    return _extreme("max", max, args, key)
