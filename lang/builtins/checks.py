"""The registry of global builtins and the argument checks every builtin and method shares.

Strategy: one place decides how an argument of the wrong type is reported (in the language's
type names), what a builtin iterates (`elements`), which values order natively
(`order_key`) and how sorting with a `key` works (`sorted_list`); the job modules import
these instead of repeating them. `builtin` registers a function in `BUILTINS` under its
script name.
"""
from __future__ import annotations

from functools import cmp_to_key

from .. import limits, scans
from ..errors import ScriptError
from ..values import FrozenList, FrozenMap, compare, type_name

NoneType = type(None)
python_type = type  # the builtin `type` is shadowed by parameter names in the job modules

BUILTINS: dict[str, object] = {}


def builtin(fn):
    """Register `fn` as a global builtin; a trailing underscore in its Python name is dropped."""
    name = fn.__name__.rstrip("_")
    fn.__name__ = fn.__qualname__ = name
    BUILTINS[name] = fn
    return fn


def type_error(fname: str, expected: str, value) -> ScriptError:
    return ScriptError("TypeError", f"{fname}() takes {expected}, not {type_name(value)}")


MAP_KEY_TYPES = frozenset((NoneType, bool, int, float, str))
NUMBER_TYPES = frozenset((int, float))
LIST_TYPES = frozenset((list, FrozenList))
MAP_TYPES = frozenset((dict, FrozenMap))


def check_map_key(key):
    """Return `key` if it may be a map key (nil, bool, int, float, string), else TypeError."""
    if python_type(key) not in MAP_KEY_TYPES:
        raise ScriptError("TypeError", f"a map key must be nil, bool, int, float or string, not {type_name(key)}")
    return key


def as_int(fname: str, value, what: str = "an int") -> int:
    if python_type(value) is not int:
        raise type_error(fname, what, value)
    return value


def elements(fname: str, value) -> list:
    """The elements a builtin iterates: a list as is, a string's characters, a map's keys."""
    kind = python_type(value)
    if kind in LIST_TYPES:
        return value
    if kind is str or kind in MAP_TYPES or kind is bytes:
        n = len(value)
        limits.work_items(n)
        if n > limits.SMALL_WORK:
            # a string's characters past Latin-1 are objects of their own (the rest are shared)
            fresh = n * limits.kept(value[:2]) if kind is str and limits.char_width(value) > 1 else 0
            limits.allocate(limits.list_bytes(n) + fresh)
        return list(value)
    raise type_error(fname, "a list, string or map", value)


def map_arg(fname: str, value):
    if python_type(value) not in MAP_TYPES:
        raise type_error(fname, "a map", value)
    return value


_ORDER_CLASSES = {int: "number", float: "number", bool: "number", str: "string", list: "list", FrozenList: "list"}


def order_key(fname: str, values):
    """None if `values` sort natively (all numbers or all strings), a key for lists of lists,
    or ScriptError TypeError naming the first two values that cannot be compared."""
    if len(values) < 2:
        return None
    classes = set(map(_ORDER_CLASSES.get, scans.types(values)))
    if len(classes) == 1 and None not in classes:
        return cmp_to_key(compare) if "list" in classes else None
    first = values[0]
    other = next((v for v in values if _ORDER_CLASSES.get(python_type(v)) != _ORDER_CLASSES.get(python_type(first))), first)
    raise ScriptError("TypeError", f"{fname}(): cannot compare {type_name(first)} with {type_name(other)}")


def charge_search(xs, value) -> None:
    """Comparing `value` with each element of `xs`: an element each, and the text read when
    `value` is a long string or bytes (each comparison may read all of it)."""
    limits.work_items(len(xs))
    if python_type(value) is str or python_type(value) is bytes:
        limits.work_text(len(xs) * len(value))


def charge_sort(values) -> None:
    """Sorting: n * log2(n) comparisons (each reading whole texts when the values are
    strings), and the n slots of the sorted list."""
    n = len(values)
    rounds = max(1, n.bit_length())
    limits.work_items(n * rounds)
    if n > 1 and python_type(values[0]) is str:  # all strings, or order_key refuses them
        limits.work_text(sum(map(len, values)) * rounds)
    limits.allocate_items(n)


def sorted_list(fname: str, values: list, key, reverse) -> list:
    charge_sort(values)
    if python_type(reverse) is not bool:
        raise ScriptError("TypeError", f"{fname}(): reverse must be a bool, not {type_name(reverse)}")
    if key is None:
        return sorted(values, key=order_key(fname, values), reverse=reverse)
    if not callable(key):
        raise ScriptError("TypeError", f"{fname}(): key must be a function, not {type_name(key)}")
    keys = [key(v) for v in values]
    compare_keys = order_key(fname, keys)
    by_key = keys.__getitem__ if compare_keys is None else (lambda i: compare_keys(keys[i]))
    return [values[i] for i in sorted(range(len(values)), key=by_key, reverse=reverse)]
