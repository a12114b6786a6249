"""Argument checks and charges shared by the stdlib modules (STDLIB.md "Rules every module
follows").

Strategy: every module function checks its arguments through these few helpers, so a wrong
type is always a `TypeError` and a bad value a `ValueError`, each message naming the script
function (`crypto.hmac(): key must be a string or bytes, not int`), and the language's type
names are used throughout. `work` and `result` charge a function's steps and the bytes of its
result *before* it does the work or builds the value (STYLE.md 17).
"""
from __future__ import annotations

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.values import check_length, check_size, type_name

# One step is about one bytecode-sized operation; hashing or scanning this many bytes costs
# about as much.
BYTES_PER_STEP = 64


def type_error(fname: str, what: str, expected: str, value) -> ScriptError:
    return ScriptError("TypeError", f"{fname}(): {what} must be {expected}, not {type_name(value)}")


def value_error(fname: str, message: str) -> ScriptError:
    return ScriptError("ValueError", f"{fname}(): {message}")


def data(fname: str, what: str, value) -> bytes:
    """`value` as bytes: a string is encoded as UTF-8 (STDLIB.md "Data")."""
    t = type(value)
    if t is bytes:
        return value
    if t is str:
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8
            raise value_error(fname, f"{what} is not valid text") from None
    raise type_error(fname, what, "a string or bytes", value)


def text(fname: str, what: str, value) -> str:
    if type(value) is not str:
        raise type_error(fname, what, "a string", value)
    return value


def utf8(fname: str, what: str, value) -> str:
    """A string that is valid text: one with a lone surrogate (json.decode makes them from
    `"\\ud800"`) cannot be UTF-8, which regexes, keys and SQL need; a ValueError says where."""
    value = text(fname, what, value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise value_error(fname, f"{what} is not valid text (a lone surrogate at position "
                                     f"{exc.start})") from None
    return value


def integer(fname: str, what: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if type(value) is not int:
        raise type_error(fname, what, "an int", value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
        raise value_error(fname, f"{what} must be {bounds}, not {value}")
    return value


def number(fname: str, what: str, value) -> float:
    if type(value) is not int and type(value) is not float:
        raise type_error(fname, what, "a number", value)
    return value


def boolean(fname: str, what: str, value) -> bool:
    if type(value) is not bool:
        raise type_error(fname, what, "a bool", value)
    return value


def sequence(fname: str, what: str, value) -> list:
    """A list (mutable or frozen)."""
    if not isinstance(value, list):
        raise type_error(fname, what, "a list", value)
    return value


def mapping(fname: str, what: str, value) -> dict:
    """A map (mutable or frozen)."""
    if not isinstance(value, dict):
        raise type_error(fname, what, "a map", value)
    return value


def choice(fname: str, what: str, value, allowed) -> str:
    """A string out of `allowed` (an ordered collection)."""
    if type(value) is not str:
        raise type_error(fname, what, "a string", value)
    if value not in allowed:
        raise value_error(fname, f"unknown {what} {value!r} (one of: {', '.join(allowed)})")
    return value


def work(nbytes: int, base: int = 1) -> None:
    """Charge the steps of work over `nbytes` of input."""
    limits.charge(base + nbytes // BYTES_PER_STEP)


def result(nbytes: int) -> None:
    """Count the bytes of a value about to be returned against the memory budget."""
    limits.allocate(nbytes)


def capped(value):
    """`value` (a string or bytes just built, at most a few times its input) if it is within
    the language's size cap (16 MiB), else LimitError, like any script value."""
    return check_size(value)


def cap_length(length: int, kind: str = "string") -> None:
    """LimitError before building a `kind` of `length` past the size cap."""
    check_length(length, kind)
