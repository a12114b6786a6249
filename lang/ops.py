"""Operators that compiled code cannot leave to Python's own.

The compiler emits native Python operations wherever Python's meaning is the language's
(comparisons, `-`, `/`, `+` with a literal operand, indexing with a string literal...), and
calls these functions where it is not, or where a result could blow past a size limit
(`"x" * 10**11` must fail at once, before allocating). Each is small and checks types first,
so the error names the language's types, not Python's.

Strategy for work and memory (lang/limits.py): an operator whose work grows with its
operands (repeating, joining, comparing nested values, searching) charges it and allocates
the result's bytes before building it. A large result is built in pieces on a --async
worker (lang/builds.py decides when). The compiled `+` stays native for numbers, checked at
once after (`checked`, `sized` for a huge int); any other left operand, and a long string
beside a string literal, come here (`add`), so a big string or list is charged before it is
built and built in pieces, never built whole first. Storing (`store`: `m[k] = v`, `xs[i] = v`) charges what is kept, as
lang/limits.py "Memory" says; an interpolation's one long dynamic part is charged as the copy
it is (`text_part`). `add`, `sub`, `less`... are the whole meaning of each operator: the
compiled fast paths must agree with them (tests/test_ops_differential.py).
"""
from __future__ import annotations

import operator as _operator

from . import builds, limits, scans
from .errors import Abort, LimitError, ScriptError
from .values import (MAX_INT_BITS, MAX_SIZE, ErrorValue, FrozenList, FrozenMap, compare, equals,
                     to_str, translate_exception, type_name)

_NUMBER = (int, float)
_ARITH = frozenset((int, float, bool))
_LISTS = frozenset((list, FrozenList))
_SEQUENCE = (str, bytes, list, FrozenList)


def _type_error(op: str, a, b) -> ScriptError:
    return ScriptError("TypeError", f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}")


def _too_large(kind: str) -> LimitError:
    return LimitError(f"{kind} too large (over {MAX_SIZE // (1024 * 1024)} MiB)")




def _int_too_large() -> LimitError:
    return LimitError(f"integer too large (over {MAX_INT_BITS} bits)")


def checked(r):
    """The slow half of a native `+`/`-` whose result failed the inline int test."""
    if type(r) is int and r.bit_length() > MAX_INT_BITS:
        raise _int_too_large()
    return r


def sized(r):
    """The slow half of a native `+` whose result is not a small number: the int cap, or the
    size cap, the work of copying and the memory budget for a string, bytes or list."""
    t = type(r)
    if t is int or t is float or t is bool:
        return checked(r)
    n = len(r)
    if n > MAX_SIZE:
        raise _too_large(type_name(r))
    if t is list:
        limits.work_items(n)
        limits.allocate_items(n)
    elif n > limits.SMALL_WORK:
        limits.work_text(n)
        limits.allocate(limits.text_bytes(r, n))
    return r


def grown(s, added: int):
    """After `s += "literal"` (concatenated natively, in place when CPython can): the size
    cap, and the bytes added against the memory budget. Called only for long strings."""
    if len(s) > MAX_SIZE:
        raise _too_large("string")
    limits.allocate(added * limits.char_width(s))


def will_append(s, chars: int, width: int) -> None:
    """Before a `for` loop each iteration of which appends literal text to `s` (`s += "x"`,
    natively, in place): all of it charged before the loop runs, the size cap on what `s`
    will reach and the bytes against the memory budget (`width` per character at least: the
    literal's). Anything but a string is left to the first append's TypeError."""
    if type(s) is not str:
        return
    if len(s) + chars > MAX_SIZE:
        raise _too_large("string")
    if chars > limits.SMALL_WORK:
        limits.allocate(chars * max(width, limits.char_width(s)))


def _sequence_size(seq, n: int) -> None:
    """Charge building a string, bytes or list of `n` elements; refuse it past the cap."""
    if n > MAX_SIZE:
        raise _too_large(type_name(seq))
    if type(seq) is str or type(seq) is bytes:
        limits.work_text(n)
        if n > limits.SMALL_WORK:
            limits.allocate(limits.text_bytes(seq, n))
    else:
        limits.work_items(n)
        limits.allocate_items(n)


def add(a, b):
    """`a + b`: numbers (a bool counts as 0 or 1), or two strings, two bytes or two lists
    joined, charged and checked before they are built."""
    ta, tb = type(a), type(b)
    if ta in _ARITH and tb in _ARITH:
        return checked(a + b)
    if (ta is str and tb is str) or (ta is bytes and tb is bytes):
        n = len(a) + len(b)
        _sequence_size(a, n)
        if builds.large(a if len(a) >= len(b) else b, n):
            return builds.concat((a, b))
        return a + b
    if ta in _LISTS and tb in _LISTS:
        n = len(a) + len(b)
        _sequence_size(a, n)
        if builds.large(a, n):
            return builds.concat((a, b))
        return list(a) + list(b)
    raise _type_error("+", a, b)


def sub(a, b):
    """`a - b`: numbers only."""
    if type(a) in _ARITH and type(b) in _ARITH:
        return checked(a - b)
    raise _type_error("-", a, b)


def mul(a, b):
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:  # a bool counts as 0 or 1 in arithmetic, as with native + and -
        return mul(int(a) if ta is bool else a, int(b) if tb is bool else b)
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            r = a * b
            if r.bit_length() > MAX_INT_BITS:
                raise LimitError(f"integer too large (over {MAX_INT_BITS} bits)")
            return r
        return a * b
    if (ta is float or ta is int) and (tb is float or tb is int):
        return a * b
    if tb is int and ta in _SEQUENCE:
        seq, n = a, b
    elif ta is int and tb in _SEQUENCE:
        seq, n = b, a
    else:
        raise _type_error("*", a, b)
    if n > 0:
        _sequence_size(seq, len(seq) * n)
        if builds.large(seq, len(seq) * n):
            return builds.repeat(seq, n)
    return (list(seq) if type(seq) is FrozenList else seq) * n


def power(a, b):
    if type(a) is bool or type(b) is bool:
        a, b = +a, +b  # 0 or 1, as everywhere in arithmetic
    ta, tb = type(a), type(b)
    if ta not in _NUMBER or tb not in _NUMBER:
        raise _type_error("**", a, b)
    if ta is int and tb is int and b > 0 and abs(a) > 1:
        if (a.bit_length() - 1) * b > MAX_INT_BITS:
            raise LimitError(f"integer too large (over {MAX_INT_BITS} bits)")
    try:
        r = a ** b
    except ZeroDivisionError:
        raise ScriptError("ValueError", "zero cannot be raised to a negative power") from None
    except OverflowError:
        raise ScriptError("ValueError", "float result too large") from None
    if type(r) is complex:
        raise ScriptError("ValueError", "a negative number cannot be raised to a fractional power")
    if type(r) is int and r.bit_length() > MAX_INT_BITS:
        raise LimitError(f"integer too large (over {MAX_INT_BITS} bits)")
    return r


def modulo(a, b):
    """`a % b`: numbers only, flooring like Python. Strings and bytes have no `%` (LANGUAGE.md
    §3): Python's printf-style formatting would build `"%2000000000d" % 1` in one step."""
    if type(a) not in _ARITH or type(b) not in _ARITH:
        raise _type_error("%", a, b)
    try:
        return a % b
    except ZeroDivisionError:
        raise ScriptError("ValueError", "division by zero") from None


_ORDERED = {"<": (_operator.lt, lambda c: c < 0), "<=": (_operator.le, lambda c: c <= 0),
            ">": (_operator.gt, lambda c: c > 0), ">=": (_operator.ge, lambda c: c >= 0)}


def _ordering(op: str):
    native, test = _ORDERED[op]

    def ordering(a, b) -> bool:
        ta, tb = type(a), type(b)
        if (ta in _ARITH and tb in _ARITH) or (ta is str and tb is str):
            return native(a, b)  # IEEE for NaN: every ordering of it is false
        return test(compare(a, b))
    ordering.__name__ = ordering.__qualname__ = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}[op]
    return ordering


less, less_equal, greater, greater_equal = (_ordering(op) for op in ("<", "<=", ">", ">="))


def contains(container, item) -> bool:
    """`item in container`: a substring, a list member (by the language's `==`), a map key."""
    t = type(container)
    if t is str:
        if type(item) is not str:
            raise ScriptError("TypeError", f"'in <string>' needs a string on the left, not {type_name(item)}")
        limits.work_text(len(container))
        if len(container) > scans.TEXT_SLICE:
            return scans.contains(container, item)  # in short calls (lang/scans.py)
        return item in container
    if t is bytes:
        if type(item) is not bytes:
            raise ScriptError("TypeError", f"'in <bytes>' needs bytes on the left, not {type_name(item)}")
        limits.work_text(len(container))
        if len(container) > scans.TEXT_SLICE:
            return scans.contains(container, item)
        return item in container
    if t is list or t is FrozenList:
        limits.work_items(len(container))
        if type(item) is str or type(item) is bytes:
            limits.work_text(len(container) * len(item))  # each comparison may read it all
        if type(item) is str or item is None:  # C speed: Python's == agrees with ours here
            if len(container) > scans.ITEM_SLICE or (item is not None and len(item) * len(container) > scans.COMPARE_BYTES):
                return scans.list_index(container, item) >= 0
            return item in container
        for x in container:
            if equals(x, item):
                return True
        return False
    if t is dict or t is FrozenMap:
        try:
            return item in container and _same_key_kind(container, item)
        except TypeError:
            raise ScriptError("TypeError", f"a {type_name(item)} cannot be a map key") from None
    if hasattr(t, "__contains__") and hasattr(t, "get"):  # records (the request...)
        return item in container
    raise ScriptError("TypeError", f"'in' needs a string, bytes, list or map on the right, not {type_name(container)}")


def _same_key_kind(m, key) -> bool:
    """Python finds key 1 under True: the language keeps bools and numbers apart."""
    if type(key) is bool or ((type(key) is int or type(key) is float) and (key == 0 or key == 1)):
        return any(k == key and (type(k) is bool) == (type(key) is bool) for k in m)
    return True


def eq(a, b) -> bool:
    return equals(a, b)


def ne(a, b) -> bool:
    return not equals(a, b)


def index(obj, key):
    """`obj[key]`: a map gives nil for a missing key; lists and strings index by int."""
    t = type(obj)
    if t is dict or t is FrozenMap:
        try:
            return obj.get(key)
        except TypeError:
            raise ScriptError("TypeError", f"a {type_name(key)} cannot be a map key") from None
    if t is bool or type(key) is bool:
        raise ScriptError("TypeError", f"cannot index {type_name(obj)} with {type_name(key)}")
    if type(key) is not int:
        raise ScriptError("TypeError", f"{type_name(obj)} index must be an int, not {type_name(key)}")
    if t is list or t is FrozenList or t is str or t is bytes:
        try:
            return obj[key]
        except IndexError:
            raise ScriptError("IndexError", f"{type_name(obj)} index {key} out of range (length {len(obj)})") from None
    getter = getattr(obj, "get", None) if hasattr(type(obj), "get") else None
    if getter is not None:
        return getter(key)
    raise ScriptError("TypeError", f"cannot index {type_name(obj)}")


_SMALL = limits.SMALL_WORK
_ENTRY_BYTES = limits.MAP_ENTRY_BYTES
_kept = limits.kept


_ABSENT = object()


def store(obj, key, value) -> None:
    """`obj[key] = value` (and `obj.name = value`) into a map or list that is no longer small
    (lang/limits.py "Memory"): a new map entry is charged with its key and value, and refused
    past the size cap; replacing a value charges what the new one is bigger than the old."""
    t = type(obj)
    if t is dict:
        n = len(obj)
        if n < _SMALL:
            obj[key] = value
            return
        old = obj.get(key, _ABSENT)
        obj[key] = value
        if old is _ABSENT:
            if n >= MAX_SIZE:
                del obj[key]
                raise _too_large("map")
            if n == _SMALL:
                limits.crossing(obj)
            limits.allocate(_ENTRY_BYTES + _kept(key) + _kept(value))
        elif old is not value:
            _replaced(old, value)
        return
    if t is list and len(obj) > _SMALL:
        old = obj[key]
        obj[key] = value
        if old is not value:
            _replaced(old, value)
        return
    obj[key] = value


def _replaced(old, value) -> None:
    grown = _kept(value) - _kept(old)
    if grown > 0:
        limits.allocate(grown)


def slice_of(obj, lower, upper):
    """`obj[lower:upper]`: a long slice is a copy, charged and counted before it is made."""
    t = type(obj)
    if t is str or t is bytes or t is list or t is FrozenList:
        n = len(range(*slice(lower, upper).indices(len(obj))))
        if n > limits.SMALL_WORK:
            _sequence_size(obj, n)
            if builds.large(obj, n):
                return builds.sliced(obj, lower, upper)
    return obj[lower:upper]


def pairs(obj):
    """What `for k, v in obj` walks: a map's items, or a list of 2-element lists."""
    t = type(obj)
    if t is dict or t is FrozenMap:
        return list(obj.items())
    return obj


def loop_range(*args):
    """`for i in range(...)` without building the list; same checks as the builtin."""
    for a in args:
        if type(a) is not int:
            raise ScriptError("TypeError", f"range() takes ints, not {type_name(a)}")
    if len(args) == 3 and args[2] == 0:
        raise ScriptError("ValueError", "range() step must not be zero")
    if not 1 <= len(args) <= 3:
        raise ScriptError("TypeError", f"range() takes 1 to 3 arguments ({len(args)} given)")
    return range(*args)


def interpolate(parts: list) -> str:
    """An interpolation with several dynamic parts, each already its text: the size cap, and
    a long result's copying and bytes charged, before it is joined (in pieces beside a loop
    when large, lang/builds.py)."""
    n = sum(map(len, parts))
    if n > limits.KEPT_TEXT:  # longer text is not charged when stored: it is charged here
        if n > MAX_SIZE:
            raise _too_large("string")
        widest = max(parts, key=limits.char_width)
        limits.work_text(n)
        limits.allocate(limits.text_bytes(widest, n))
        if builds.large(widest, n):
            return builds.joined("", parts)
    return "".join(parts)


def text_part(value) -> str:
    """The one dynamic part of an interpolation that also has literal text: its text, and,
    when long, the copy the interpolation makes of it charged (short text is charged when
    stored, lang/limits.py "Memory")."""
    s = value if type(value) is str else to_str(value)
    n = len(s)
    if n > limits.KEPT_TEXT:
        if n > MAX_SIZE:
            raise _too_large("string")
        limits.work_text(n)
        limits.allocate(limits.text_bytes(s, n))
    return s


def throw(value) -> BaseException:
    """`throw value`: a string becomes the message; an error value is rethrown as is."""
    if isinstance(value, ErrorValue):
        return ScriptError(value.kind, value.message, value.value)
    if type(value) is str:
        return ScriptError("UserError", value, value)
    return ScriptError("UserError", to_str(value), value)


def assertion_failed(message) -> ScriptError:
    return ScriptError("AssertionError", "assertion failed" if message is None else to_str(message))


def caught(exc: BaseException) -> ErrorValue:
    """The value `catch err` binds. Limits and aborts are re-raised: `try` cannot stop them."""
    err = translate_exception(exc)
    if not isinstance(err, ScriptError):
        raise err
    return ErrorValue(err.kind, err.message, err.value)


def frozen_binding(name: str):
    raise ScriptError("TypeError", f"cannot reassign top-level binding '{name}' after the script has loaded")


def frozen_capture(name: str):
    raise ScriptError("TypeError", f"cannot reassign '{name}': the function that shares it was frozen when the script loaded")


__all__ = ["add", "sub", "store", "slice_of", "sized", "checked", "grown", "less", "less_equal", "greater",
           "greater_equal", "contains", "mul", "power", "modulo", "eq", "ne", "index", "pairs", "loop_range",
           "interpolate", "text_part", "throw", "assertion_failed", "caught", "frozen_binding", "Abort"]
