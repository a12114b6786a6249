"""Operators that compiled code cannot leave to Python's own.

The compiler emits native Python operations wherever Python's meaning is the language's
(comparisons, `-`, `/`, `+` with a literal operand, indexing with a string literal...), and
calls these functions where it is not, or where a result could blow past a size limit
(`"x" * 10**11` must fail at once, before allocating). Each is small and checks types first,
so the error names the language's types, not Python's.
"""
from __future__ import annotations

from .errors import Abort, LimitError, ScriptError
from .values import (MAX_INT_BITS, MAX_SIZE, ErrorValue, FrozenList, FrozenMap, to_str,
                     translate_exception, type_name, equals)

_NUMBER = (int, float)
_SEQUENCE = (str, bytes, list, FrozenList)


def _type_error(op: str, a, b) -> ScriptError:
    return ScriptError("TypeError", f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}")


def _too_large(kind: str) -> LimitError:
    return LimitError(f"{kind} too large (over {MAX_SIZE // (1024 * 1024)} MiB)")


def sized(r):
    """The slow half of a native `+` whose result is not a number: check the size cap."""
    if len(r) > MAX_SIZE:
        raise _too_large(type_name(r))
    return r


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
    if n > 0 and len(seq) * n > MAX_SIZE:
        raise _too_large(type_name(seq))
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
    if type(a) is str or type(b) is str:
        raise _type_error("%", a, b)
    return a % b


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


def check_str(s: str) -> str:
    if len(s) > MAX_SIZE:
        raise _too_large("string")
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


__all__ = ["sized", "mul", "power", "modulo", "eq", "ne", "index", "pairs", "loop_range",
           "check_str", "throw", "assertion_failed", "caught", "frozen_binding", "Abort"]
