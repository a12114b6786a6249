"""The methods of lists: `xs.append(v)`, `xs.sort()`, `xs.index(v)`...

Strategy: plain functions `(xs, *args)`; growth is checked against the size cap before it
happens, search uses the language's `equals` (so `true` is not found as `1`), and sorting is
`checks.sorted_list`, shared with the `sorted` builtin.
"""
from __future__ import annotations

from .. import limits, scans
from ..errors import ScriptError
from ..values import MAX_SIZE, check_length, equals, repr_value, size_error
from .checks import as_int, charge_search, elements, sorted_list


_GROWTH_CHUNK = 4096  # list slots charged to the memory budget at once, as a list grows


def _growing(xs) -> None:
    """Before one more slot: the size cap, and the chunk of slots just filled against the
    memory budget each time the list grows past a multiple of _GROWTH_CHUNK (a list's first
    chunk is free, like all small work)."""
    n = len(xs)
    if n >= MAX_SIZE:
        raise size_error("list")
    if n and not n % _GROWTH_CHUNK:
        limits.allocate_items(_GROWTH_CHUNK)


def _l_append(xs, value):
    n = len(xs)  # _growing's test, inlined: append is the hot one
    if n >= MAX_SIZE or (n and not n % _GROWTH_CHUNK):
        _growing(xs)
    kind = type(value)
    if kind is list or kind is dict:  # a fresh container kept: what it holds is memory too
        limits.allocate(limits.kept_bytes(value))
    xs.append(value)


def _l_extend(xs, values):
    values = elements("list.extend", values)
    check_length(len(xs) + len(values), "list")
    limits.work_items(len(values))
    limits.allocate_items(len(values))
    xs.extend(values)


def _l_insert(xs, index, value):
    as_int("list.insert", index)
    _growing(xs)
    limits.work_items(len(xs))
    xs.insert(index, value)


def _l_pop(xs, index=-1):
    as_int("list.pop", index)
    if not xs:
        raise ScriptError("IndexError", "pop from an empty list")
    if not -len(xs) <= index < len(xs):
        raise ScriptError("IndexError", "index out of range")
    if len(xs) > scans.ITEM_SLICE:  # the tail moves down, a slice at a time
        limits.work_text((len(xs) - index % len(xs)) * limits.ITEM_BYTES)  # the slots it moves
        return scans.pop(xs, index)
    return xs.pop(index)


def _position(xs, value) -> int:
    charge_search(xs, value)
    if type(value) is str or value is None:  # C speed, in short calls: Python's == is ours here
        return scans.list_index(xs, value)
    for i, x in enumerate(xs):
        if equals(x, value):
            return i
    return -1


def _l_remove(xs, value):
    i = _position(xs, value)
    if i < 0:
        raise ScriptError("ValueError", f"list.remove(): {repr_value(value)[:60]} is not in the list")
    del xs[i]


def _l_index(xs, value):
    i = _position(xs, value)
    if i < 0:
        raise ScriptError("ValueError", f"list.index(): {repr_value(value)[:60]} is not in the list")
    return i


def _l_sort(xs, key=None, reverse=False):
    xs[:] = sorted_list("list.sort", xs, key, reverse)


def _l_reverse(xs):
    limits.work_items(len(xs))
    scans.reverse(xs)


def _l_copy(xs):
    limits.work_items(len(xs))
    limits.allocate_items(len(xs))
    return list(xs)


LIST_METHODS = {
    "append": _l_append, "extend": _l_extend, "insert": _l_insert, "pop": _l_pop,
    "remove": _l_remove, "index": _l_index, "sort": _l_sort, "reverse": _l_reverse,
    "copy": _l_copy,
}
LIST_MUTATORS = ("append", "extend", "insert", "pop", "remove", "sort", "reverse")
