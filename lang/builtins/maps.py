"""The methods of maps: `m.get(k)`, `m.pop(k)`, `m.update(other)`...

Strategy: plain functions `(m, *args)`; a new key is checked to be a valid map key and the
map's growth against the size cap before it happens; growth and the lists `keys`, `values`,
`items` build are charged at CPython's real sizes (lang/limits.py "Memory").
"""
from __future__ import annotations

from .. import limits
from ..errors import ScriptError
from ..values import MAX_SIZE, check_length, repr_value, size_error
from .checks import check_map_key, map_arg


def _m_get(m, key, default=None):
    return m.get(key, default)


def _building(m, per_item: int = 0) -> None:
    """Charge making a list of len(m) slots, each with `per_item` bytes of fresh objects."""
    n = len(m)
    limits.work_items(n)
    if n > limits.SMALL_WORK:
        limits.allocate(limits.list_bytes(n) + n * per_item)


def _m_keys(m):
    _building(m)
    return list(m)


def _m_values(m):
    _building(m)
    return list(m.values())


def _m_items(m):
    _building(m, limits.PAIR_BYTES)  # a fresh 2-element list per entry
    return [[k, v] for k, v in m.items()]


_MISSING = object()


def _m_pop(m, key, default=_MISSING):
    if default is _MISSING:
        if key not in m:
            raise ScriptError("KeyError", f"key {repr_value(key)[:60]} not found", key)
        return m.pop(key)
    return m.pop(key, default)


def _m_setdefault(m, key, default=None):
    check_map_key(key)
    if key not in m:
        n = len(m)
        if n >= MAX_SIZE:
            raise size_error("map")
        if n >= limits.SMALL_WORK:  # as `m[key] = default` (ops.store)
            if n == limits.SMALL_WORK:
                limits.crossing(m)
            limits.allocate(limits.MAP_ENTRY_BYTES + limits.kept(key) + limits.kept(default))
    return m.setdefault(key, default)


def _m_update(m, other):
    map_arg("map.update", other)
    if len(m) + len(other) > MAX_SIZE:
        check_length(len(m) + sum(1 for k in other if k not in m), "map")
    limits.work_items(len(other))
    if len(m) + len(other) > limits.SMALL_WORK:
        if len(m) <= limits.SMALL_WORK:
            limits.crossing(m)
        limits.allocate(limits.MAP_ENTRY_BYTES * len(other) + limits.kept_items(other)
                        + (sum(map(limits.kept, other)) if len(other) <= limits.SMALL_WORK else 0))
    m.update(other)


def _m_copy(m):
    limits.work_items(len(m))
    if len(m) > limits.SMALL_WORK:
        limits.allocate(limits.map_bytes(m))
    return dict(m)


MAP_METHODS = {
    "get": _m_get, "keys": _m_keys, "values": _m_values, "items": _m_items, "pop": _m_pop,
    "setdefault": _m_setdefault, "update": _m_update, "copy": _m_copy,
}
MAP_MUTATORS = ("pop", "setdefault", "update")
