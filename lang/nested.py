"""Work over nested values: equality, ordering, text and JSON sizing, charged per node.

Strategy. A script can build values whose size is exponential in the steps it spent (`a =
[a, a]` thirty times shares structure: 2^30 nodes to visit) or nested 100,000 deep (`x = [x]`).
Python's own `==`, `<`, `repr` and JSON encoder would walk them in C, recursively, for as long
as it takes, holding the GIL, and end in RecursionError. So every walk here is a loop over an
explicit stack that charges one step per node visited (`limits.charge`, which checks the
deadline, in batches of `_BATCH`) and refuses values nested deeper than `MAX_NESTING` with a
LimitError. Scalars and flat containers stay on fast paths: a list of scalars is compared
element by element without being pushed.

- `equals(a, b)` / `compare(a, b)`: the language's `==` and ordering (LANGUAGE.md §2);
- `render(value)`: the source-like text of a container (what `str`, `print` and `"${}"` show),
  refused past the string cap before the text is joined;
- `measure(value)`: a lower bound of the JSON text of `value` in bytes, after charging its
  nodes, checking its depth and refusing what cannot fit the string cap; the JSON encoders
  (stdlib json, the handler answer path) and the sendable conversion call it before building.

values.py re-exports `equals`, `compare` and `repr_value`, which is where callers import them.
"""
from __future__ import annotations

from . import limits
from .errors import LimitError, ScriptError

MAX_NESTING = 256  # container levels any walk follows; LANGUAGE.md §10 "caps"
_BATCH = 1024      # nodes visited between two charges (each also checks the deadline)

NoneType = type(None)


def nesting_error() -> LimitError:
    return LimitError(f"value nested more than {MAX_NESTING} levels deep")


_FrozenList, _FrozenMap = None, None
_LIST_TYPES: frozenset = frozenset()
_MAP_TYPES: frozenset = frozenset()
_SCALAR_TYPES = frozenset((NoneType, bool, int, float, str, bytes))
_NUMBER_TYPES = frozenset((int, float))


def bind(frozen_list, frozen_map) -> None:
    """Called once by values.py with its container classes (which import this module)."""
    global _FrozenList, _FrozenMap, _LIST_TYPES, _MAP_TYPES, _CONTAINERS
    _FrozenList, _FrozenMap = frozen_list, frozen_map
    _LIST_TYPES = frozenset((list, frozen_list))
    _MAP_TYPES = frozenset((dict, frozen_map))
    _CONTAINERS = _LIST_TYPES | _MAP_TYPES


_CONTAINERS: frozenset = frozenset()


# --------------------------------------------------------------------------- equality


def equals(a, b) -> bool:
    """`a == b` in the language (§2).

    Structural for lists and maps (a frozen list equals a list), `1 == 1.0`, NaN != NaN,
    and values of unrelated types are unequal: unlike Python, `true == 1` is false.
    """
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta in _SCALAR_TYPES:
            return a == b
    elif ta in _NUMBER_TYPES and tb in _NUMBER_TYPES:
        return a == b
    if (ta in _LIST_TYPES and tb in _LIST_TYPES) or (ta in _MAP_TYPES and tb in _MAP_TYPES):
        return _deep_equals(a, b)
    if ta is not tb:
        return False
    return a is b  # functions, responses, errors, modules: identity


def _may_collide(key) -> bool:
    # Python's dict takes True for 1 and False for 0 (and 0.0, 1.0): those keys need a check
    # that the key found on the other side is really of a kind equal to ours.
    return type(key) is bool or ((type(key) is int or type(key) is float) and (key == 0 or key == 1))


_MISSING = object()


def _deep_equals(a, b) -> bool:
    stack = [(a, b, 1)]
    pop, push = stack.pop, stack.append
    scalars, lists, maps = _SCALAR_TYPES, _LIST_TYPES, _MAP_TYPES
    visited = 0
    try:
        while stack:
            a, b, depth = pop()
            if a is b:
                continue
            ta, tb = type(a), type(b)
            if ta in lists and tb in lists:
                if len(a) != len(b):
                    return False
                if depth > MAX_NESTING:
                    raise nesting_error()
                visited += len(a)
                for x, y in zip(a, b):
                    tx = type(x)
                    if tx is type(y) and tx in scalars:
                        if x != y:
                            return False
                    elif x is not y:
                        push((x, y, depth + 1))
            elif ta in maps and tb in maps:
                if len(a) != len(b):
                    return False
                if depth > MAX_NESTING:
                    raise nesting_error()
                visited += len(a)
                for key, x in a.items():
                    y = b.get(key, _MISSING)
                    if y is _MISSING:
                        return False
                    if _may_collide(key):
                        stored = next(k for k in b if k == key)
                        if (type(stored) is bool) != (type(key) is bool):
                            return False
                    tx = type(x)
                    if tx is type(y) and tx in scalars:
                        if x != y:
                            return False
                    elif x is not y:
                        push((x, y, depth + 1))
            elif ta in _CONTAINERS or tb in _CONTAINERS or not equals(a, b):
                return False  # a list against a map or a scalar; unequal scalars
            if visited >= _BATCH:
                limits.charge(visited)
                visited = 0
        return True
    finally:
        if visited > limits.SMALL_WORK:
            limits.charge(visited)


# --------------------------------------------------------------------------- ordering


def compare(a, b) -> int:
    """-1, 0 or 1 for the language's ordering (§2): numbers with numbers, strings with
    strings, lists lexicographically. Raises ScriptError TypeError for anything else.
    NaN compares as 0 with everything, so `<` on it is false, as in IEEE.
    """
    depth = 0
    while True:
        ta = type(a)
        tb = type(b)
        if (ta in _NUMBER_TYPES and tb in _NUMBER_TYPES) or (ta is str and tb is str):
            return (a > b) - (a < b)
        if ta in _LIST_TYPES and tb in _LIST_TYPES:
            # Lexicographic: the first pair that differs decides, compared in turn (a loop,
            # not recursion, however deep the lists go).
            depth += 1
            if depth > MAX_NESTING:
                raise nesting_error()
            limits.work_items(min(len(a), len(b)))
            for x, y in zip(a, b):
                if not equals(x, y):
                    a, b = x, y
                    break
            else:
                return (len(a) > len(b)) - (len(a) < len(b))
            continue
        from .values import type_name
        raise ScriptError("TypeError", f"cannot compare {type_name(a)} with {type_name(b)}")


# --------------------------------------------------------------------------- text


class _Leave:
    """Stack marker: the container with this id is no longer on the current path."""
    __slots__ = ("key",)

    def __init__(self, key: int):
        self.key = key


class _Piece:
    """Stack marker: literal text to emit (a bracket, a separator)."""
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


_OPEN = {"list": _Piece("["), "map": _Piece("{")}
_CLOSE_LIST, _CLOSE_MAP = _Piece("]"), _Piece("}")
_COMMA, _COLON = _Piece(", "), _Piece(": ")


def render(value, leaf_text, other_text, max_size: int) -> str:
    """The source-like text of the container `value`: `[1, "a"]`, `{"a": nil}`.

    `leaf_text(v)` gives a scalar's text (None if `v` is not one), `other_text(v)` anything
    else's. A container met again on its own path prints `[...]`/`{...}`. Raises LimitError
    past `max_size` characters (checked before each piece is made) or MAX_NESTING levels.
    """
    out: list[str] = []
    emit = out.append
    total = 0
    visited = 0
    active: set[int] = set()
    stack: list = [value]
    pop, push = stack.pop, stack.append
    lists, maps = _LIST_TYPES, _MAP_TYPES
    try:
        while stack:
            item = pop()
            t = type(item)
            if t is _Piece:
                text = item.text
            elif t is _Leave:
                active.discard(item.key)
                continue
            elif t in lists or t in maps:
                key = id(item)
                visited += len(item) + 1
                if key in active:
                    text = "[...]" if t in lists else "{...}"
                else:
                    if len(active) >= MAX_NESTING:
                        raise nesting_error()
                    active.add(key)
                    push(_Leave(key))
                    if t in lists:
                        push(_CLOSE_LIST)
                        for i in range(len(item) - 1, -1, -1):
                            push(item[i])
                            if i:
                                push(_COMMA)
                        text = "["
                    else:
                        push(_CLOSE_MAP)
                        entries = list(item.items())
                        for i in range(len(entries) - 1, -1, -1):
                            k, v = entries[i]
                            push(v)
                            push(_COLON)
                            push(k)
                            if i:
                                push(_COMMA)
                        text = "{"
                if visited >= _BATCH:
                    limits.charge(visited)
                    visited = 0
            else:
                if (t is str or t is bytes) and total + len(item) > max_size:
                    from .values import size_error
                    raise size_error("string")
                text = leaf_text(item)
                if text is None:
                    text = other_text(item)
            total += len(text)
            if total > max_size:
                from .values import size_error
                raise size_error("string")
            emit(text)
    finally:
        if visited > limits.SMALL_WORK:
            limits.charge(visited)
    limits.work_text(total)
    limits.allocate(total)
    return "".join(out)


# --------------------------------------------------------------------------- JSON size

_FLOAT_TEXT = 24  # the longest repr of a finite float


def _not_finite() -> ScriptError:
    return ScriptError("ValueError", "cannot encode NaN or infinity as JSON")


def measure(value, max_size: int) -> int:
    """A lower bound of the bytes of `value`'s JSON text, after charging one step per node
    and refusing what cannot be encoded within `max_size` or MAX_NESTING levels (LimitError)
    or at all (NaN and infinities: ScriptError ValueError, which JSON cannot hold).

    Shared structure is counted every time it is met, as the encoder will write it each time;
    a cycle runs into the nesting cap, where it is told apart from mere depth (ScriptError
    ValueError, as the encoder would say). Other leaves the encoder refuses (functions,
    bytes) are left for it to name.
    """
    t = type(value)
    if t is str:
        size = len(value) + 2
    elif t is float:
        if value - value:  # inf - inf and nan - nan are nan (truthy); finite x - x is 0.0
            raise _not_finite()
        return 8
    elif t not in _CONTAINERS:
        return 8
    else:
        size = 0
        visited = 0
        stack = [(value, 1)]
        pop, push = stack.pop, stack.append
        lists = _LIST_TYPES
        containers = _CONTAINERS
        path: list[int] = []  # ids of the containers from the root to the current one
        try:
            while stack:
                item, depth = pop()
                del path[depth - 1:]
                path.append(id(item))
                if depth > MAX_NESTING:
                    if len(set(path)) < len(path):
                        raise ScriptError("ValueError", "cannot encode a cyclic value")
                    raise nesting_error()
                n = len(item)
                visited += n + 1
                size += n + 1  # brackets and separators
                if type(item) in lists:
                    children = item
                else:
                    children = item.values()
                    for k in item:
                        size += len(k) + 3 if type(k) is str else 6
                for x in children:
                    tx = type(x)
                    if tx is str:
                        size += len(x) + 2
                    elif tx in containers:
                        push((x, depth + 1))
                    elif tx is int:
                        size += 1 if -10 < x < 10 else x.bit_length() * 3 // 10 + 1
                    elif tx is float:
                        if x - x:
                            raise _not_finite()
                        size += 3
                    else:
                        size += 4
                if size > max_size:
                    from .values import size_error
                    raise size_error("string")
                if visited >= _BATCH:
                    limits.charge(visited)
                    visited = 0
        finally:
            if visited > limits.SMALL_WORK:
                limits.charge(visited)
    if size > max_size:
        from .values import size_error
        raise size_error("string")
    limits.work_text(size)
    return size


__all__ = ["MAX_NESTING", "equals", "compare", "render", "measure", "nesting_error"]
