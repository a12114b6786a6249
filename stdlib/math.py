"""`import math`: floor ceil sqrt log exp sin cos pow, and pi e inf.

Strategy: each function checks that its arguments are numbers (a bool is not one) and turns
Python's domain and range errors into ScriptError ValueError naming the call, so
`math.sqrt(-1)` reads `ValueError: math.sqrt(-1): math domain error`.
"""
from __future__ import annotations

import math as _math

from rtserve.lang.errors import ScriptError
from rtserve.lang.values import Module, check_int, repr_value, type_name


def _number(fname: str, value):
    if type(value) is not int and type(value) is not float:
        raise ScriptError("TypeError", f"math.{fname}() takes a number, not {type_name(value)}")
    return value


def _checked(fname: str, fn, *args):
    for arg in args:
        _number(fname, arg)
    try:
        return fn(*args)
    except (ValueError, ArithmeticError) as exc:  # ArithmeticError: overflow, log(x, 1)
        shown = ", ".join(map(repr_value, args))
        reason = "result out of range" if isinstance(exc, OverflowError) else "math domain error"
        raise ScriptError("ValueError", f"math.{fname}({shown}): {reason}") from None


def floor(x) -> int:
    return check_int(_checked("floor", _math.floor, x))


def ceil(x) -> int:
    return check_int(_checked("ceil", _math.ceil, x))


def sqrt(x) -> float:
    return _checked("sqrt", _math.sqrt, x)


def log(x, base=None) -> float:
    if base is None:
        return _checked("log", _math.log, x)
    return _checked("log", _math.log, x, base)


def exp(x) -> float:
    return _checked("exp", _math.exp, x)


def sin(x) -> float:
    return _checked("sin", _math.sin, x)


def cos(x) -> float:
    return _checked("cos", _math.cos, x)


def pow_(x, y) -> float:
    return _checked("pow", _math.pow, x, y)


MODULE = Module.of("math", [floor, ceil, sqrt, log, exp, sin, cos, pow_],
                     {"pi": _math.pi, "e": _math.e, "inf": _math.inf})
