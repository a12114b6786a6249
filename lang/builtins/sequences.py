"""Builtins that build or walk lists and maps: `range`, `sorted`, `reversed`, `enumerate`,
`zip`, `keys`, `values`, `items`, `list`, `map`, `any`, `all`.

Strategy: the language has no iterators, so each builtin is eager and returns a new list or
map; a result whose length is known up front (`range`) is checked against the size cap
before it is built.
"""
from __future__ import annotations

from .. import limits, scans
from ..errors import ScriptError
from ..values import check_length, repr_value, size_error
from .checks import (LIST_TYPES, MAP_TYPES, as_int, builtin, check_map_key, elements, map_arg,
                     python_type, sorted_list, type_error)


_PAIR = 10  # slots a 2-element list costs with its header, and its slot in the result


def _building(n: int, per_item: int = 1) -> None:
    """Charge making a list of n items (each itself `per_item` slots) before making it."""
    limits.work_items(n * per_item)
    limits.allocate_items(n * per_item)


@builtin
def range_(start, stop=None, step=1) -> list:
    if stop is None:
        start, stop = 0, start
    for bound in (start, stop, step):
        as_int("range", bound, "ints")
    if step == 0:
        raise ScriptError("ValueError", "range() step must not be zero")
    numbers = range(start, stop, step)
    try:
        length = len(numbers)
    except OverflowError:
        raise size_error("list") from None
    check_length(length, "list")
    _building(length)
    return list(numbers)


@builtin
def sorted_(values, key=None, reverse=False) -> list:
    values = elements("sorted", values)
    _building(len(values))
    return sorted_list("sorted", list(values), key, reverse)


@builtin
def reversed_(values) -> list:
    values = elements("reversed", values)
    _building(len(values))
    return values[::-1]


@builtin
def enumerate_(values, start=0) -> list:
    as_int("enumerate", start)
    values = elements("enumerate", values)
    _building(len(values), _PAIR)
    return [[i, v] for i, v in enumerate(values, start)]


@builtin
def zip_(*lists) -> list:
    columns = [elements("zip", xs) for xs in lists]
    if columns:
        _building(min(map(len, columns)), _PAIR + len(columns))
    return [list(group) for group in zip(*columns)]


@builtin
def keys_(m) -> list:
    _building(len(map_arg("keys", m)))
    return list(m)


@builtin
def values_(m) -> list:
    _building(len(map_arg("values", m)))
    return list(m.values())


@builtin
def items_(m) -> list:
    _building(len(map_arg("items", m)), _PAIR)
    return [[k, v] for k, v in m.items()]


@builtin
def list_(values=None) -> list:
    if values is None:
        return []
    values = elements("list", values)
    _building(len(values))
    return list(values)


@builtin
def map_(*args) -> object:
    """Two uses, told apart by the first argument:

    - `map(f, xs)`: a function first: the list of `f(x)` for each element of xs (Python's map,
      made eager, since the language has no iterators);
    - `map()`, `map(pairs)`, `map(m)`: build a new map, from a list of 2-element [key, value]
      lists (what `items` and `zip` give) or by copying a map.
    """
    if len(args) == 2 and callable(args[0]):
        fn, values = args
        values = elements("map", values)
        _building(len(values))
        out = []
        for v in values:
            result = fn(v)
            if type(result) is list or type(result) is dict:  # a fresh container kept
                limits.allocate(limits.kept_bytes(result))
            out.append(result)
        return out
    if not args:
        return {}
    if len(args) != 1:
        raise ScriptError("TypeError", "map() takes (function, list), a list of pairs, or a map")
    source = args[0]
    if python_type(source) in MAP_TYPES:
        _building(len(source), 4)
        return dict(source)
    if python_type(source) not in LIST_TYPES:
        raise type_error("map", "a list of [key, value] pairs or a map", source)
    _building(len(source), 4)
    result = {}
    for pair in source:
        if python_type(pair) not in LIST_TYPES or len(pair) != 2:
            raise ScriptError("TypeError", f"map() takes a list of [key, value] pairs, not a list containing {repr_value(pair)[:60]}")
        result[check_map_key(pair[0])] = pair[1]
    return result


@builtin
def any_(values) -> bool:
    values = elements("any", values)
    limits.work_items(len(values))
    return scans.any_true(values)


@builtin
def all_(values) -> bool:
    values = elements("all", values)
    limits.work_items(len(values))
    return scans.all_true(values)
