"""The methods of maps: `m.get(k)`, `m.pop(k)`, `m.update(other)`...

Strategy: plain functions `(m, *args)`; a new key is checked to be a valid map key and the
map's growth against the size cap before it happens.
"""
from __future__ import annotations

from .. import limits
from ..errors import ScriptError
from ..values import MAX_SIZE, check_length, repr_value, size_error
from .checks import check_map_key, map_arg


def _m_get(m, key, default=None):
    return m.get(key, default)


def _building(m, per_item: int = 1) -> None:
    limits.work_items(len(m) * per_item)
    limits.allocate_items(len(m) * per_item)


def _m_keys(m):
    _building(m)
    return list(m)


def _m_values(m):
    _building(m)
    return list(m.values())


def _m_items(m):
    _building(m, 4)
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
        if len(m) >= MAX_SIZE:
            raise size_error("map")
        limits.allocate(limits.ITEM_BYTES * 4)
    return m.setdefault(key, default)


def _m_update(m, other):
    map_arg("map.update", other)
    if len(m) + len(other) > MAX_SIZE:
        check_length(len(m) + sum(1 for k in other if k not in m), "map")
    _building(other, 4)
    m.update(other)


def _m_copy(m):
    _building(m, 4)
    return dict(m)


MAP_METHODS = {
    "get": _m_get, "keys": _m_keys, "values": _m_values, "items": _m_items, "pop": _m_pop,
    "setdefault": _m_setdefault, "update": _m_update, "copy": _m_copy,
}
MAP_MUTATORS = ("pop", "setdefault", "update")
