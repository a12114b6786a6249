"""`import uuid`: random (v4) and time-ordered (v7) UUIDs as lower-case strings.

Strategy: v4 is Python's `uuid.uuid4()` (122 bits from `os.urandom`). Python 3.11 has no
v7, so it is built here per RFC 9562 section 5.7: 48 bits of Unix time in milliseconds, the
version (7), 12 bits `rand_a`, the variant (0b10) and 62 random bits `rand_b`. `rand_a` is
used as a counter within one millisecond (RFC 9562 section 6.2, method 1): it starts at a
random value below 2048 each new millisecond and counts up, and if it would overflow (or the
clock steps back) the timestamp is advanced by one, so the UUIDs one process makes are
strictly increasing, as strings too. A lock keeps that true across threads.
"""
from __future__ import annotations

import os
import threading
import time
import uuid as _uuid

from rtserve.lang.values import Module

from . import _args

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def v4() -> str:
    _args.result(36)
    return str(_uuid.uuid4())


def _next_timestamp() -> tuple[int, int]:
    """(unix milliseconds, 12-bit counter), strictly increasing as a pair."""
    global _last_ms, _counter
    now = time.time_ns() // 1_000_000
    with _lock:
        if now > _last_ms:
            _last_ms, _counter = now, int.from_bytes(os.urandom(2), "big") & 0x7FF
        elif _counter < 0xFFF:
            _counter += 1
        else:  # 4096 in one millisecond, or the clock went back: borrow the next millisecond
            _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def v7() -> str:
    ms, counter = _next_timestamp()
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    _args.result(36)
    return str(_uuid.UUID(int=value))


MODULE = Module.of("uuid", [v4, v7])
