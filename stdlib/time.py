"""`import time`: now, monotonic, sleep, format.

Strategy: thin checked wrappers over Python's time module. `sleep` blocks its thread (under
`--async` that is a worker, never the event loop) and refuses negative or over-an-hour
durations; `format` renders UTC with strftime after checking the format string is text of
sane length, so a script cannot build an unbounded string through it.
"""
from __future__ import annotations

import time as _time

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.values import Module, type_name

MAX_SLEEP = 3600.0
_MAX_FORMAT_LENGTH = 1000


def _seconds(fname: str, value) -> float:
    if type(value) is not int and type(value) is not float:
        raise ScriptError("TypeError", f"time.{fname}() takes a number of seconds, not {type_name(value)}")
    return value


def now() -> float:
    return _time.time()


def monotonic() -> float:
    return _time.monotonic()


def sleep(seconds) -> None:
    seconds = _seconds("sleep", seconds)
    if not 0 <= seconds <= MAX_SLEEP:  # also refuses NaN
        raise ScriptError("ValueError", f"time.sleep() takes 0 to {MAX_SLEEP:g} seconds, not {seconds!r}")
    limits.sleep(seconds)  # never past the handler's deadline; blocks only this thread


def format_(timestamp, fmt="%Y-%m-%dT%H:%M:%SZ") -> str:
    timestamp = _seconds("format", timestamp)
    if type(fmt) is not str:
        raise ScriptError("TypeError", f"time.format() takes a string format, not {type_name(fmt)}")
    if len(fmt) > _MAX_FORMAT_LENGTH or "\0" in fmt:
        raise ScriptError("ValueError", "time.format(): format string too long or not text")
    try:
        return _time.strftime(fmt, _time.gmtime(timestamp))
    except (OverflowError, OSError, ValueError):
        raise ScriptError("ValueError", f"time.format(): timestamp {timestamp!r} out of range") from None


MODULE = Module.of("time", [now, monotonic, sleep, format_])
