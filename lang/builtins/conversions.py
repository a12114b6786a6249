"""Conversions and introspection: `len`, `str`, `type`, `bool`, `int`, `float`.

Strategy: each conversion is a table from the argument's exact type to a converter, so a
type the table lacks is one clear TypeError; text is parsed by our own patterns (ASCII
digits only, `_` separators like the language's literals) and integers are capped at 4,096
bits before Python converts them.
"""
from __future__ import annotations

import math
import re

from .. import limits, scans
from ..errors import LimitError, ScriptError
from ..values import FrozenList, FrozenMap, check_int, repr_value, to_str, type_name
from .checks import builtin, python_type, type_error

_SIZED_TYPES = frozenset((str, bytes, list, FrozenList, dict, FrozenMap))


@builtin
def len_(value) -> int:
    if python_type(value) not in _SIZED_TYPES:
        raise type_error("len", "a string, list, map or bytes", value)
    return len(value)


@builtin
def str_(value) -> str:
    return to_str(value)


@builtin
def type_(value) -> str:
    return type_name(value)


@builtin
def bool_(value) -> bool:
    return bool(value)


_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+(_[0-9]+)*\s*", re.ASCII)
_FLOAT_TEXT = re.compile(
    r"\s*[+-]?((([0-9]+(\.[0-9]*)?)|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)\s*",
    re.ASCII | re.IGNORECASE)
_MAX_INT_DIGITS = 1300  # 4096 bits is 1234 decimal digits: longer text is over the limit


def _long_text(text: str, pattern: re.Pattern):
    """A number's text past a slice: charged as read, and matched (then parsed) as calls that
    cannot be sliced, each followed by a pause on a --async worker (lang/scans.py)."""
    limits.work_text(len(text))
    return scans.paused(pattern.fullmatch, text)


def _int_from_text(text: str) -> int:
    if len(text) > scans.TEXT_SLICE:
        if not _long_text(text, _INT_TEXT):
            raise ScriptError("ValueError", f"int() cannot parse {repr_value(text[:50])}")
    elif not _INT_TEXT.fullmatch(text):
        raise ScriptError("ValueError", f"int() cannot parse {repr_value(text[:50])}")
    if len(text.strip().replace("_", "").lstrip("+-").lstrip("0")) > _MAX_INT_DIGITS:
        raise LimitError("integer too large (over 4096 bits)")
    return check_int(int(text))


def _int_from_float(x: float) -> int:
    if math.isinf(x) or math.isnan(x):
        raise ScriptError("ValueError", f"int() cannot convert {repr_value(x)} to an int")
    return check_int(int(x))


_TO_INT = {int: lambda n: n, bool: int, float: _int_from_float, str: _int_from_text}


@builtin
def int_(value) -> int:
    convert = _TO_INT.get(python_type(value))
    if convert is None:
        raise type_error("int", "a number, bool or string", value)
    return convert(value)


def _float_from_text(text: str) -> float:
    if len(text) > scans.TEXT_SLICE:
        if not _long_text(text, _FLOAT_TEXT):
            raise ScriptError("ValueError", f"float() cannot parse {repr_value(text[:50])}")
        return scans.paused(float, text)
    if not _FLOAT_TEXT.fullmatch(text):
        raise ScriptError("ValueError", f"float() cannot parse {repr_value(text[:50])}")
    return float(text)


def _float_from_int(n: int) -> float:
    try:
        return float(n)
    except OverflowError:
        raise ScriptError("ValueError", "float(): int too large for a float") from None


_TO_FLOAT = {float: lambda x: x, int: _float_from_int, bool: float, str: _float_from_text}


@builtin
def float_(value) -> float:
    convert = _TO_FLOAT.get(python_type(value))
    if convert is None:
        raise type_error("float", "a number, bool or string", value)
    return convert(value)
