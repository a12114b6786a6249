"""The methods of lists: `xs.append(v)`, `xs.sort()`, `xs.index(v)`...

Strategy: plain functions `(xs, *args)`; growth is checked against the size cap before it
happens and charged where memory is kept (lang/limits.py "Memory": once a list is past
SMALL_WORK elements, its slots as it grows and the values it keeps, by chunks of 64 for
`append`); search uses the language's `equals` (so `true` is not found as `1`), and sorting
is `checks.sorted_list`, shared with the `sorted` builtin.
"""
from __future__ import annotations

from .. import limits, scans
from ..errors import ScriptError
from ..values import MAX_SIZE, check_length, equals, repr_value, size_error
from .checks import as_int, charge_search, elements, sorted_list


_GROWTH_CHUNK = 64  # list slots charged to the memory budget at once, as a list grows
_CHUNK_BYTES = _GROWTH_CHUNK * limits.GROWN_SLOT_BYTES
# `xs.append(v)` on a list whose length has any of these bits set is only the append (the
# chunk boundaries, and MAX_SIZE, are multiples of _GROWTH_CHUNK): compiled code appends such
# directly and calls _l_append for the rest (lang/direct.py).
APPEND_FREE_BITS = _GROWTH_CHUNK - 1
_SMALL = limits.SMALL_WORK


def _growing(xs, values: bool = True) -> None:
    """Before one more slot in a list that is no longer small: the size cap; at a multiple of
    _GROWTH_CHUNK, the next chunk of slots and the values appended in the last chunk (so a
    list holds at most one chunk of values not yet charged); at the crossing, what the list
    held while it was small (limits.crossing)."""
    n = len(xs)
    if n >= MAX_SIZE:
        raise size_error("list")
    if n < _SMALL or n % _GROWTH_CHUNK:
        return
    if n == _SMALL:
        limits.crossing(xs)
        limits.allocate(_CHUNK_BYTES)
    elif values:
        limits.allocate(_CHUNK_BYTES + limits.kept_all(xs[n - _GROWTH_CHUNK:]))
    else:
        limits.allocate(_CHUNK_BYTES)


def _l_append(xs, value):
    n = len(xs)  # a small list is free until it grows (lang/limits.py "Memory")
    if (n >= _SMALL and not n % _GROWTH_CHUNK) or n >= MAX_SIZE:
        _growing(xs)
    xs.append(value)


def _l_extend(xs, values):
    values = elements("list.extend", values)
    n, added = len(xs), len(values)
    check_length(n + added, "list")
    limits.work_items(added)
    if n + added > _SMALL:
        if n <= _SMALL:
            limits.crossing(xs)
        limits.allocate(added * limits.GROWN_SLOT_BYTES + limits.kept_items(values))
    xs.extend(values)


def _l_insert(xs, index, value):
    as_int("list.insert", index)
    if len(xs) >= _SMALL or len(xs) >= MAX_SIZE:
        _growing(xs, values=False)  # the slots only: the last chunk may not be what was inserted
        limits.keep(value)
    limits.work_items(len(xs))
    xs.insert(index, value)


def _l_pop(xs, index=-1):
    as_int("list.pop", index)
    if not xs:
        raise ScriptError("IndexError", "pop from an empty list")
    if not -len(xs) <= index < len(xs):
        raise ScriptError("IndexError", "index out of range")
    if len(xs) > scans.ITEM_SLICE:  # the tail moves down, a slice at a time
        limits.work_text((len(xs) - index % len(xs)) * limits.SLOT_BYTES)  # the slots it moves
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
    limits.allocate_items(len(xs))  # the copy's slots; its elements are shared
    return list(xs)


LIST_METHODS = {
    "append": _l_append, "extend": _l_extend, "insert": _l_insert, "pop": _l_pop,
    "remove": _l_remove, "index": _l_index, "sort": _l_sort, "reverse": _l_reverse,
    "copy": _l_copy,
}
LIST_MUTATORS = ("append", "extend", "insert", "pop", "remove", "sort", "reverse")
