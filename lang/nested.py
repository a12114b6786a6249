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
  refused past the string cap before the text is joined; the pieces and stack a container's
  children will hold are charged when it is entered, and a big text is joined in runs on a
  --async worker (lang/builds.py);
- `measure(value)`: a lower bound of the JSON text of `value` in bytes, after charging its
  nodes, checking its depth and refusing what cannot fit the string cap; the JSON encoders
  (stdlib json, the handler answer path) and the sendable conversion call it before building;
- `indentation(value, indent)`: the exact whitespace `json.encode(indent: n)` adds to that.

values.py re-exports `equals`, `compare` and `repr_value`, which is where callers import them.
"""
from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, chain, compress, islice, repeat
from operator import is_, length_hint

from . import builds, limits
from .errors import LimitError, ScriptError

try:  # the C walk of small values (lang/_measure.c); optional: measure works without it
    from . import _measure
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _measure = None

MAX_NESTING = 256  # container levels any walk follows; LANGUAGE.md §10 "caps"
_BATCH = 1024      # nodes visited between two charges (each also checks the deadline)
_LEVEL_CHUNK = 1 << 14  # containers of one level measured between two charges
_CHILDREN_CHUNK = 1 << 16  # about how many children one part of a level gathers
_WIDE = 1 << 12         # a level this wide is checked for shared containers
_PIECE_BYTES = 64       # a piece of text being rendered: its object and its slot in the list
# What rendering a container's child holds until the text is joined, charged when the
# container is entered (a flat list of a million ints is one entry, and its pieces and stack
# took 3x what the text does): its piece, a shared separator's slot, two stack slots; a map
# entry is two pieces, two separators and four stack slots.
_LIST_CHILD_BYTES = _PIECE_BYTES + 3 * limits.SLOT_BYTES
_MAP_ENTRY_BYTES = 2 * _PIECE_BYTES + 6 * limits.SLOT_BYTES
_TEXT_SHIFT = limits.TEXT_PER_STEP.bit_length() - 1  # len >> this: the steps of reading a text

NoneType = type(None)


def nesting_error() -> LimitError:
    return LimitError(f"value nested more than {MAX_NESTING} levels deep")


_FrozenList, _FrozenMap = None, None
_LIST_TYPES: frozenset = frozenset()
_MAP_TYPES: frozenset = frozenset()
_SCALAR_TYPES = frozenset((NoneType, bool, int, float, str, bytes))
_NUMBER_TYPES = frozenset((int, float))
_ORDERED_NUMBERS = frozenset((int, float, bool))  # a bool orders as 0 or 1, as in arithmetic


def bind(frozen_list, frozen_map) -> None:
    """Called once by values.py with its container classes (which import this module)."""
    global _FrozenList, _FrozenMap, _LIST_TYPES, _MAP_TYPES, _CONTAINERS, _SHALLOW_TYPES
    _FrozenList, _FrozenMap = frozen_list, frozen_map
    _LIST_TYPES = frozenset((list, frozen_list))
    _MAP_TYPES = frozenset((dict, frozen_map))
    _CONTAINERS = _LIST_TYPES | _MAP_TYPES
    _SHALLOW_TYPES = _CONTAINERS | _SCALAR_TYPES
    if _measure is not None:
        _measure.bind(frozen_list, frozen_map)


_CONTAINERS: frozenset = frozenset()
_SHALLOW_TYPES: frozenset = frozenset()


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
                        if tx is str or tx is bytes:
                            visited += len(x) >> _TEXT_SHIFT  # equal texts were read whole
                    elif x is not y:
                        push((x, y, depth + 1))
                    if visited >= _BATCH:
                        limits.charge(visited)
                        visited = 0
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
                        if tx is str or tx is bytes:
                            visited += len(x) >> _TEXT_SHIFT
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
    """-1, 0 or 1 for the language's ordering (§2): numbers with numbers (a bool counting as
    0 or 1, as in arithmetic), strings with strings, lists lexicographically. Raises
    ScriptError TypeError for anything else.
    NaN compares as 0 with everything, so `<` on it is false, as in IEEE.
    """
    depth = 0
    while True:
        ta = type(a)
        tb = type(b)
        if (ta in _ORDERED_NUMBERS and tb in _ORDERED_NUMBERS) or (ta is str and tb is str):
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
    held = 0  # bytes the pieces of small containers entered since the last charge will hold
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
                    # What its children will hold: charged before they are pushed for a big
                    # container, with the next batch's steps for small ones (a DAG of
                    # two-element maps renders millions of pieces from small containers).
                    if len(item) > limits.SMALL_WORK:
                        limits.allocate(len(item) * (_LIST_CHILD_BYTES if t in lists else _MAP_ENTRY_BYTES))
                    else:
                        held += len(item) * (_LIST_CHILD_BYTES if t in lists else _MAP_ENTRY_BYTES)
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
                    if held:
                        limits.allocate(held)
                        held = 0
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
    limits.allocate(total + held)
    if builds.large("", total):  # many pieces: joined in runs (lang/builds.py)
        return builds.joined("", out)
    return "".join(out)


# --------------------------------------------------------------------------- JSON size

_FLOAT_TEXT = 24  # the longest repr of a finite float


def measure(value, max_size: int) -> int:
    """A lower bound of the characters of `value`'s compact JSON text, after charging one step
    per node and refusing what cannot be encoded within `max_size` (LimitError) or nested past
    MAX_NESTING levels (LimitError; a cyclic value: ScriptError ValueError, as the encoder
    would say).

    Shared structure is counted every time it is met, as the encoder will write it each time.
    The walk goes level by level and does each level's work in C (`chain` gathers the
    children, `compress` picks the containers among them, `length_hint` sums the strings'
    lengths), with the next level's size charged before it is gathered; so measuring costs a
    fraction of encoding. Leaves the encoders refuse (NaN, functions, bytes) are theirs to
    name. The bound, by induction: a container's text is at least its number of children
    (brackets and commas) plus its keys' and children's texts, and a string's at least its
    length (a key's: `length_hint`, 0 for a key that is not a string).
    """
    t = type(value)
    if t is str:
        return _checked_size(len(value) + 2, max_size)
    if t not in _CONTAINERS:
        return 1  # a scalar: its text is short, and at least a character
    if _measure is not None:
        small = _measure.walk(value)  # (size, nodes), or None past its depth or node bound
        if small is not None:
            limits.work_items(small[1])
            return _checked_size(small[0], max_size)
    if len(value) <= _SHALLOW:
        size = _measure_tiny(value, t) if len(value) <= _TINY else None
        if size is None:
            size = _measure_shallow(value, t)
        if size is not None:
            return _checked_size(size, max_size)
    size = 0
    depth = 1
    level = [value]
    is_container, is_map = _CONTAINERS.__contains__, _MAP_TYPES.__contains__
    while level:
        if depth > MAX_NESTING:
            if _cyclic(value):
                raise ScriptError("ValueError", "cannot encode a cyclic value")
            raise nesting_error()
        below: list = []
        for part in _parts(level):  # in parts of a bounded number of children, so that no
            n = sum(map(len, part))  # call is long and the deadline is checked between them
            limits.work_items(n + len(part))
            size += n
            if size > max_size:
                break
            kinds = list(map(type, part))
            if any(map(is_map, kinds)):
                maps = list(compress(part, map(is_map, kinds)))
                size += 3 * sum(map(len, maps)) + sum(map(length_hint, chain.from_iterable(maps)))  # keys
                lists = compress(part, map(_LIST_TYPES.__contains__, kinds))
                children = list(chain(chain.from_iterable(lists), chain.from_iterable(map(dict.values, maps))))
            elif len(part) == 1:
                children = part[0]  # one list (or a slice of one): its items, without a copy
            else:
                children = list(chain.from_iterable(part))
            kinds = list(map(type, children))
            present = set(kinds)
            if str in present:
                size += sum(map(len, compress(children, map(is_, kinds, repeat(str)))))
            if int in present:
                size += _digits(list(compress(children, map(is_, kinds, repeat(int)))))
            if size > max_size:
                break
            if not present.isdisjoint(_CONTAINERS):
                grown = len(below)
                below.extend(compress(children, map(is_container, kinds)))
                limits.allocate_items(len(below) - grown)  # the next level's list is memory too
        if size > max_size:
            break
        level = below
        depth += 1
        if len(level) > _WIDE and _distinct(level) * 2 < len(level):
            # Shared structure (`a = [a, a]`): go on with each distinct container once,
            # counting how many times the encoder would meet it.
            size = _measure_shared(level, size, depth, max_size, value)
            break
    return _checked_size(size, max_size)


def indentation(value, indent: int, level: int = 0) -> int:
    """The characters json's `indent` adds to `value`'s compact text where the value sits
    `level` containers deep in an indented text, exactly: each element of a non-empty list or
    map on a line of its own (a line break and one step of `indent` spaces more than its
    container's line), the closing bracket on a line at the container's indentation, and a
    space after each key's colon. measure + indentation is then the indented text's bound.

    For a value `measure` accepted (not cyclic, not too deep, not past the string cap). The
    walk goes level by level like measure's, charged per container and child visited; a level
    that shares structure goes on with each distinct container once and how many times it is
    met (`_indentation_shared`)."""
    if type(value) not in _CONTAINERS:
        return 0
    total, depth, containers = 0, level, [value]
    is_container, is_map = _CONTAINERS.__contains__, _MAP_TYPES.__contains__
    while containers:
        if len(containers) > _WIDE and _distinct(containers) * 2 < len(containers):
            return total + _indentation_shared(containers, indent, depth)
        step, closing = 1 + indent * (depth + 1), 1 + indent * depth
        for start in range(0, len(containers), _LEVEL_CHUNK):
            part = containers[start:start + _LEVEL_CHUNK]
            limits.work_items(len(part))
            sizes = list(map(len, part))
            entries = sum(map(len, compress(part, map(is_map, map(type, part)))))
            total += sum(sizes) * step + (len(sizes) - sizes.count(0)) * closing + entries
        below: list = []
        for part in _parts(containers):
            kinds = list(map(type, part))
            maps = compress(part, map(is_map, kinds))
            lists = compress(part, map(_LIST_TYPES.__contains__, kinds))
            children = list(chain(chain.from_iterable(lists), chain.from_iterable(map(dict.values, maps))))
            limits.work_items(len(children))
            grown = len(below)
            below.extend(compress(children, map(is_container, map(type, children))))
            limits.allocate_items(len(below) - grown)
        containers = below
        depth += 1
    return total


def _indentation_shared(containers: list, indent: int, depth: int) -> int:
    """indentation's walk from a level that shares structure: each distinct container once,
    with how many times the encoder meets it."""
    total = 0
    limits.work_items(len(containers))
    met = _met(containers)
    while met:
        limits.work_items(len(met))
        below: dict = {}
        step, closing = 1 + indent * (depth + 1), 1 + indent * depth
        for c, times in met.values():
            if c:
                total += times * (len(c) * step + closing + (len(c) if type(c) in _MAP_TYPES else 0))
            children = dict.values(c) if type(c) in _MAP_TYPES else c
            limits.work_items(len(c))
            for child in children:
                if type(child) in _CONTAINERS:
                    entry = below.get(id(child))
                    if entry is None:
                        below[id(child)] = [child, times]
                    else:
                        entry[1] += times
        met = below
        depth += 1
    return total


def _parts(level: list):
    """`level`'s containers in parts of at most _LEVEL_CHUNK containers and about
    _CHILDREN_CHUNK children (found from running sums of their lengths, bisected); a container
    with more children than that comes as parts of one slice each (a map's as small maps), which
    hold the same children and keys, so the bound counted from them is the same."""
    for start in range(0, len(level), _LEVEL_CHUNK):
        part = level[start:start + _LEVEL_CHUNK]
        ends = list(accumulate(map(len, part)))
        if not ends or ends[-1] <= _CHILDREN_CHUNK:
            yield part
            continue
        lo, before = 0, 0
        while lo < len(part):
            hi = max(lo + 1, bisect_right(ends, before + _CHILDREN_CHUNK, lo))
            if hi == lo + 1 and ends[lo] - before > _CHILDREN_CHUNK:
                yield from _slices(part[lo])
            else:
                yield part[lo:hi]
            before, lo = ends[hi - 1], hi


def _slices(container):
    if type(container) in _MAP_TYPES:
        items = iter(dict.items(container))
        for _ in range(0, len(container), _CHILDREN_CHUNK):
            yield [dict(islice(items, _CHILDREN_CHUNK))]
    else:
        for start in range(0, len(container), _CHILDREN_CHUNK):
            yield [container[start:start + _CHILDREN_CHUNK]]


def _met(items) -> dict[int, list]:
    """id -> [item, how many times `items` holds it]: shared containers counted once each."""
    met: dict[int, list] = {}
    for item in items:
        entry = met.get(id(item))
        if entry is None:
            met[id(item)] = [item, 1]
        else:
            entry[1] += 1
    return met


def _distinct(level: list) -> int:
    """How many distinct containers `level` holds (a set grown a chunk at a time)."""
    seen: set = set()
    for start in range(0, len(level), _CHILDREN_CHUNK):
        seen.update(map(id, level[start:start + _CHILDREN_CHUNK]))
    return len(seen)


_SHALLOW = 256  # children (and grandchildren) of a value measured by _measure_shallow
_TINY = 8  # children of a value measured by _measure_tiny


def _measure_tiny(value, t) -> int | None:
    """measure for the smallest answers (`{"ok": true}`): at most _TINY children, all
    scalars, in one loop that builds nothing; None for any other value."""
    if t in _MAP_TYPES:
        size = 4 * len(value)
        for key in value:
            if type(key) is str:
                size += len(key)
        items = dict.values(value)
    else:
        size, items = len(value), value
    for item in items:
        kind = type(item)
        if kind is str:
            size += len(item)
        elif kind not in _SCALAR_TYPES:
            return None
    return size


def _measure_shallow(value, t) -> int | None:
    """measure for the commonest answers (a list of records, a map of fields): a container
    with at most _SHALLOW children, each a scalar or a container of at most _SHALLOW scalars
    in all, charged a step per node as the walk would. A few C calls in all, where the walk
    makes a dozen per level. None for any other value (the general walk measures it)."""
    if t in _MAP_TYPES:
        size = 4 * len(value) + _keys_length(value)  # a comma and "key": each
        children = list(dict.values(value))
    else:
        size = len(value)
        children = value
    kinds = list(map(type, children))
    kind_set = set(kinds)
    if kind_set <= _SCALAR_TYPES:
        return size + sum(map(len, compress(children, map(is_, kinds, repeat(str)))))
    if kind_set <= _CONTAINERS:  # records: every child a container, no scalar among them
        inner, strings = children, 0
    elif kind_set <= _SHALLOW_TYPES:
        inner = list(compress(children, map(_CONTAINERS.__contains__, kinds)))
        strings = sum(map(len, compress(children, map(is_, kinds, repeat(str)))))
    else:
        return None
    n = sum(map(len, inner))
    if n > _SHALLOW:
        return None
    inner_set = set(map(type, inner))
    if inner_set <= _MAP_TYPES:
        size += 4 * n + _keys_length(chain.from_iterable(inner))
        grand = list(chain.from_iterable(map(dict.values, inner)))
    elif inner_set <= _LIST_TYPES:
        size += n
        grand = list(chain.from_iterable(inner))
    else:
        return None  # lists and maps side by side: the general walk
    grand_kinds = list(map(type, grand))
    if not set(grand_kinds) <= _SCALAR_TYPES:
        return None
    limits.work_items(len(children) + n)
    return size + strings + sum(map(len, compress(grand, map(is_, grand_kinds, repeat(str)))))


def _digits(ints) -> int:
    """A lower bound of the digits of `ints` past one each (4,096-bit ints have 1,234): a
    b-bit int has at least (b - 1) * log10(2) digits, and 0.3 < log10(2)."""
    return max(0, (sum(map(int.bit_length, ints)) - len(ints)) * 3 // 10) if ints else 0


def _keys_length(keys) -> int:
    """The characters of map keys that are strings (the others' texts: at least 0)."""
    keys = list(keys)
    try:
        return sum(map(len, keys))
    except TypeError:  # a key that is not a string
        return sum(map(length_hint, keys))


def _measure_shared(level: list, size: int, depth: int, max_size: int, root) -> int:
    """measure, continued level by level over distinct containers, each with the number of
    times it is met: the bound grows as the encoder's text would, the work as the value's
    distinct parts."""
    counts = _met(level)
    containers = _CONTAINERS
    while counts:
        if depth > MAX_NESTING:
            if _cyclic(root):
                raise ScriptError("ValueError", "cannot encode a cyclic value")
            raise nesting_error()
        below: dict[int, list] = {}
        visited = 0
        for item, times in counts.values():
            n = len(item)
            visited += n + 1
            if type(item) in _MAP_TYPES:
                children = item.values()
                size += times * (4 * n + sum(map(length_hint, item)))
            else:
                children = item
                size += times * n
            for x in children:
                tx = type(x)
                if tx is str:
                    size += times * len(x)
                elif tx is int:
                    size += times * _digits((x,))
                elif tx in containers:
                    entry = below.get(id(x))
                    if entry is None:
                        below[id(x)] = [x, times]
                    else:
                        entry[1] += times
            if size > max_size:
                return size
            if visited >= _BATCH:
                limits.charge(visited)
                visited = 0
        if visited > limits.SMALL_WORK:
            limits.charge(visited)
        counts = below
        depth += 1
    return size


def _checked_size(size: int, max_size: int) -> int:
    if size > max_size:
        from .values import size_error
        raise size_error("string")
    limits.work_text(size)
    return size


def _cyclic(value) -> bool:
    """Whether a container on the path from `value` contains itself (asked only once a walk
    went past MAX_NESTING: a cycle is an endless path). Depth-first, the path kept as a set."""
    active: set[int] = set()
    stack: list = [value]
    visited = 0
    while stack:
        item = stack.pop()
        if type(item) is _Leave:
            active.discard(item.key)
            continue
        key = id(item)
        if key in active:
            return True
        if len(active) > MAX_NESTING:
            continue  # deep, and this branch need not be followed further
        active.add(key)
        stack.append(_Leave(key))
        children = item if type(item) in _LIST_TYPES else item.values()
        stack.extend(x for x in children if type(x) in _CONTAINERS)
        visited += len(item) + 1
        if visited >= _BATCH:
            limits.charge(visited)
            visited = 0
    return False


__all__ = ["MAX_NESTING", "equals", "compare", "render", "measure", "nesting_error"]

# values.py defines the container classes and calls bind(); importing it here makes sure it
# has, whichever of the two modules is imported first.
from . import values as _values  # noqa: E402,F401
