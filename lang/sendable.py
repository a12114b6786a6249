"""The one boundary where interpreter values become sendable values (LANGUAGE.md §12).

A sendable value may cross between the event loop and a worker thread: nil, bool, int,
float, string, bytes, and frozen lists, maps and responses built only from sendable values.
`to_sendable` passes scalars through, rebuilds containers (dispatching on their exact
type) as frozen copies, and raises `NotSendable` for anything else: a function, a cycle,
or a value past the size caps. Nothing else in rt converts values across threads.

"""
from __future__ import annotations

from .errors import RtError
from .values import MAX_SIZE, FrozenList, FrozenMap, Response, type_name

_SCALARS = frozenset((type(None), bool, int, float, str, bytes))
_MAX_DEPTH = 200


class NotSendable(RtError):
    """A value that cannot leave the thread it was made on; `where` says which part."""

    def __init__(self, message: str, where: str = "the value"):
        super().__init__(f"{where}: {message}")
        self.message = message
        self.where = where


def to_sendable(value):
    """A frozen, thread-safe copy of `value`. Raises NotSendable."""
    return _convert(value, FrozenList, FrozenMap, True, set(), "the value", 0)


def _convert(value, make_list, make_map, keep_responses, active: set, where: str, depth: int):
    t = type(value)
    if t in _SCALARS:
        if (t is str or t is bytes) and len(value) > MAX_SIZE:
            raise NotSendable(f"{type_name(value)} is larger than the size cap", where)
        return value
    convert = _CONTAINERS.get(t)
    if convert is None:
        raise NotSendable(f"a {type_name(value)} cannot be sent", where)
    if depth > _MAX_DEPTH:
        raise NotSendable(f"nested more than {_MAX_DEPTH} levels deep", where)
    key = id(value)
    if key in active:
        raise NotSendable(f"a {type_name(value)} that contains itself cannot be sent", where)
    active.add(key)
    try:
        return convert(value, make_list, make_map, keep_responses, active, where, depth + 1)
    finally:
        active.discard(key)


def _list(xs, make_list, make_map, keep, active, where, depth):
    if len(xs) > MAX_SIZE:
        raise NotSendable("list is larger than the size cap", where)
    out = make_list()
    append = list.append
    for i, item in enumerate(xs):
        append(out, _convert(item, make_list, make_map, keep, active, f"{where}[{i}]", depth))
    return out


def _map(m, make_list, make_map, keep, active, where, depth):
    if len(m) > MAX_SIZE:
        raise NotSendable("map is larger than the size cap", where)
    out = make_map()
    setitem = dict.__setitem__
    for k, v in m.items():
        if type(k) not in _SCALARS or type(k) is bytes:
            raise NotSendable(f"a {type_name(k)} cannot be a map key", where)
        setitem(out, k, _convert(v, make_list, make_map, keep, active, f"{where}[{k!r}]", depth))
    return out


def _response(r: Response, make_list, make_map, keep, active, where, depth):
    headers = _map(r.headers, make_list, make_map, keep, active, f"{where}.headers", depth)
    body = _convert(r.body, make_list, make_map, keep, active, f"{where}.body", depth)
    if not keep:
        return {"status": r.status, "headers": headers, "body": body}
    return Response(status=r.status, headers=headers, body=body, frozen=True)


_CONTAINERS = {list: _list, FrozenList: _list, dict: _map, FrozenMap: _map, Response: _response}
