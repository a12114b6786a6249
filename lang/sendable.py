"""The one boundary where interpreter values become sendable values (LANGUAGE.md §12).

A sendable value may cross between the event loop and a worker thread: nil, bool, int,
float, string, bytes, and frozen lists, maps and responses built only from sendable values.
`to_sendable` passes scalars through, rebuilds containers (dispatching on their exact
type) as frozen copies, and raises `NotSendable` for anything else: a function, a cycle,
or a value past the size caps. Nothing else in rt converts values across threads.

Strategy for work: the copy is charged to the invocation that made the value, one step per
node visited and its slots against the memory budget (lang/limits.py), so a value that shares
structure (`a = [a, a]` thirty times: 2^30 nodes to copy) ends in LimitError, not in a copy
of gigabytes.
"""
from __future__ import annotations

from . import limits
from .errors import RtError
from .values import MAX_SIZE, FrozenList, FrozenMap, Response, type_name

_SCALARS = frozenset((type(None), bool, int, float, str, bytes))
_MAX_DEPTH = 200
_BATCH = 1024  # nodes copied between two charges


class NotSendable(RtError):
    """A value that cannot leave the thread it was made on; `where` says which part."""

    def __init__(self, message: str, where: str = "the value"):
        super().__init__(f"{where}: {message}")
        self.message = message
        self.where = where


class _Copy:
    """One conversion: the containers on the current path (cycles) and the nodes copied
    since the last charge."""
    __slots__ = ("active", "uncharged")

    def __init__(self) -> None:
        self.active: set[int] = set()
        self.uncharged = 0

    def visit(self, n: int) -> None:
        self.uncharged += n + 1
        if self.uncharged >= _BATCH:
            limits.charge(self.uncharged)
            limits.allocate_items(self.uncharged)
            self.uncharged = 0


def to_sendable(value):
    """A frozen, thread-safe copy of `value`. Raises NotSendable (LimitError past the
    invocation's step or memory budget)."""
    t = type(value)
    if t in _SCALARS:
        return _convert(value, None, "the value", 0)
    walk = _Copy()
    copy = _convert(value, walk, "the value", 0)
    if walk.uncharged > limits.SMALL_WORK:
        limits.charge(walk.uncharged)
    return copy


def _convert(value, walk: _Copy, where: str, depth: int):
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
    if key in walk.active:
        raise NotSendable(f"a {type_name(value)} that contains itself cannot be sent", where)
    walk.active.add(key)
    try:
        return convert(value, walk, where, depth + 1)
    finally:
        walk.active.discard(key)


def _list(xs, walk, where, depth):
    if len(xs) > MAX_SIZE:
        raise NotSendable("list is larger than the size cap", where)
    walk.visit(len(xs))
    out = FrozenList()
    append = list.append
    for i, item in enumerate(xs):
        append(out, item if type(item) in _SCALARS and type(item) is not str and type(item) is not bytes
               else _convert(item, walk, f"{where}[{i}]", depth))
    return out


def _map(m, walk, where, depth):
    if len(m) > MAX_SIZE:
        raise NotSendable("map is larger than the size cap", where)
    walk.visit(len(m))
    out = FrozenMap()
    setitem = dict.__setitem__
    for k, v in m.items():
        if type(k) not in _SCALARS or type(k) is bytes:
            raise NotSendable(f"a {type_name(k)} cannot be a map key", where)
        setitem(out, k, _convert(v, walk, f"{where}[{k!r}]", depth))
    return out


def _response(r: Response, walk, where, depth):
    headers = _map(r.headers, walk, f"{where}.headers", depth)
    body = _convert(r.body, walk, f"{where}.body", depth)
    return Response(status=r.status, headers=headers, body=body, frozen=True)


_CONTAINERS = {list: _list, FrozenList: _list, dict: _map, FrozenMap: _map, Response: _response}
