"""`import random`: random numbers, choices and shuffles from the operating system's source.

Strategy: one `secrets.SystemRandom` (os.urandom underneath), so values are unpredictable
and no seed is shared between requests or processes; there is deliberately no `seed()`.
`shuffle` returns a new list (script lists may be frozen, and a function with no surprises
is easier to read); `sample` draws without replacement.
"""
from __future__ import annotations

import secrets

from rtserve.lang.values import Module

from . import _args

_RNG = secrets.SystemRandom()


def int_(lo, hi) -> int:
    lo = _args.integer("random.int", "lo", lo)
    hi = _args.integer("random.int", "hi", hi)
    if lo > hi:
        raise _args.value_error("random.int", f"lo ({lo}) is greater than hi ({hi})")
    _args.work((hi - lo).bit_length() // 8)
    return _RNG.randint(lo, hi)


def float_() -> float:
    return _RNG.random()


def choice(list) -> object:  # noqa: A002 - the script-level argument name
    items = _args.sequence("random.choice", "list", list)
    if not items:
        raise _args.value_error("random.choice", "cannot choose from an empty list")
    return _RNG.choice(items)


def shuffle(list) -> list:  # noqa: A002
    items = _args.sequence("random.shuffle", "list", list)
    _args.work(8 * len(items))
    _args.result(8 * len(items))
    copy = [*items]
    _RNG.shuffle(copy)
    return copy


def sample(list, k) -> list:  # noqa: A002
    items = _args.sequence("random.sample", "list", list)
    k = _args.integer("random.sample", "k", k, 0)
    if k > len(items):
        raise _args.value_error("random.sample", f"k ({k}) is larger than the list ({len(items)} items)")
    _args.work(8 * (len(items) + k))
    _args.result(8 * k)
    return _RNG.sample(items, k)


MODULE = Module.of("random", [int_, float_, choice, shuffle, sample])
