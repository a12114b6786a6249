"""Builtins that build or walk lists and maps: `range`, `sorted`, `reversed`, `enumerate`,
`zip`, `keys`, `values`, `items`, `list`, `map`, `any`, `all`.

Strategy: the language has no iterators, so each builtin is eager and returns a new list or
map; a result whose length is known up front (`range`) is checked against the size cap
before it is built, and every result is charged at CPython's real size before it is built
(lang/limits.py "Memory"): its slots, and the fresh objects it makes (the pairs of `items`,
`enumerate` and `zip`, the ints of `range`); the elements it shares with its operand are not. A big `reversed` or `list` copy is built in
pieces beside a loop (lang/builds.py).
"""
from __future__ import annotations

from .. import builds, limits, scans
from ..errors import ScriptError
from ..values import check_length, repr_value, size_error
from .checks import (LIST_TYPES, MAP_TYPES, as_int, builtin, check_map_key, elements, map_arg,
                     python_type, sorted_list, type_error)


def _building(n: int, per_item: int = 0) -> None:
    """Charge making a list of n slots, each with `per_item` bytes of fresh objects, before
    making it."""
    limits.work_items(n)
    if n > limits.SMALL_WORK:
        limits.allocate(limits.list_bytes(n) + n * per_item)


def _fresh_ints(numbers: range) -> int:
    """How many of a range's ints are objects of their own (CPython shares -5..256)."""
    if not numbers:
        return 0
    low, high = min(numbers[0], numbers[-1]), max(numbers[0], numbers[-1])
    shared = len(range(max(low, -5), min(high, 256) + 1))
    return len(numbers) if shared <= 0 else max(0, len(numbers) - shared)


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
    limits.work_items(length)
    if length > limits.SMALL_WORK:
        limits.allocate(limits.list_bytes(length) + limits.INT_BYTES * _fresh_ints(numbers))
        if builds.large(numbers, length):
            return builds.sliced(numbers, None, None)
    return list(numbers)


@builtin
def sorted_(values, key=None, reverse=False) -> list:
    values = elements("sorted", values)
    return sorted_list("sorted", list(values), key, reverse)


@builtin
def reversed_(values) -> list:
    values = elements("reversed", values)
    _building(len(values))
    if builds.large(values, len(values)):
        return builds.sliced(values, None, None, -1)
    return values[::-1]


@builtin
def enumerate_(values, start=0) -> list:
    as_int("enumerate", start)
    values = elements("enumerate", values)
    _building(len(values), limits.PAIR_BYTES + limits.INT_BYTES)
    return [[i, v] for i, v in enumerate(values, start)]


@builtin
def zip_(*lists) -> list:
    columns = [elements("zip", xs) for xs in lists]
    if columns:
        _building(min(map(len, columns)), limits.small_list_bytes(len(columns)))
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
    _building(len(map_arg("items", m)), limits.PAIR_BYTES)
    return [[k, v] for k, v in m.items()]


@builtin
def list_(values=None) -> list:
    if values is None:
        return []
    values = elements("list", values)
    _building(len(values))
    if builds.large(values, len(values)):
        return builds.sliced(values, None, None)
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
        keep = limits.keep if len(values) > limits.SMALL_WORK else None  # a small result is free
        for v in values:
            result = fn(v)
            if keep is not None:
                keep(result)  # each result is kept in the list
            out.append(result)
        return out
    if not args:
        return {}
    if len(args) != 1:
        raise ScriptError("TypeError", "map() takes (function, list), a list of pairs, or a map")
    source = args[0]
    if python_type(source) in MAP_TYPES:
        limits.work_items(len(source))
        if len(source) > limits.SMALL_WORK:
            limits.allocate(limits.map_bytes(source))
        return dict(source)
    if python_type(source) not in LIST_TYPES:
        raise type_error("map", "a list of [key, value] pairs or a map", source)
    limits.work_items(len(source))
    if len(source) > limits.SMALL_WORK:
        limits.allocate(limits.MAP_ENTRY_BYTES * len(source))
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
