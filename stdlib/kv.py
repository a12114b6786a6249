"""`import kv`: a key-value store shared by every worker, process and (with Redis) machine.

Strategy. The functions check their arguments (messages name `kv.get()` etc.), encode
values with backends/codec.py, and hand one call each to the backend the operator chose
(backends/__init__.py `open_kv`: SQLite in --data-dir, or --kv redis://), through
`backends.guarded`, which bounds the wait and turns a backend failure into a catchable
BackendError. What a read returns is charged to the request's memory budget, each part as
what it takes in memory (a string's header and text, a list's slots, a map's entries) by the
decoder before it builds that part, and its decoding to the step budget. Lists and maps come
back fresh and mutable (like json.decode). TTLs are seconds (int or float, > 0, at most 10
years), kept to the millisecond.
"""
from __future__ import annotations

from typing import Any

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.values import Module, type_name

from . import _args
from .backends import DEFAULT_TIMEOUT, guarded, open_kv, setting
from .backends.codec import CodecError, NotStorable, decode, encode

MAX_KEY = 512
MAX_KEYS_LIMIT = 10_000
MAX_TTL = 10 * 365 * 24 * 3600
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _key(fname: str, key) -> str:
    if type(key) is not str:
        raise ScriptError("TypeError", f"kv.{fname}(): key must be a string, not {type_name(key)}")
    if len(key) > MAX_KEY or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY:
        raise ScriptError("ValueError", f"kv.{fname}(): key is longer than {MAX_KEY} bytes")
    if not key:
        raise ScriptError("ValueError", f"kv.{fname}(): key must not be empty")
    return _args.utf8(f"kv.{fname}", "key", key)


def _ttl(fname: str, ttl) -> int | None:
    if ttl is None:
        return None
    if type(ttl) is not int and type(ttl) is not float:
        raise ScriptError("TypeError", f"kv.{fname}(): ttl must be a number of seconds or nil, "
                                       f"not {type_name(ttl)}")
    if not 0 < ttl <= MAX_TTL:  # also refuses NaN
        raise ScriptError("ValueError", f"kv.{fname}(): ttl must be more than 0 and at most "
                                        f"{MAX_TTL} seconds, not {ttl!r}")
    return max(1, round(ttl * 1000))


def _encoded(fname: str, value) -> bytes:
    try:
        data = encode(value)
    except NotStorable as exc:
        raise ScriptError(exc.kind, f"kv.{fname}(): {exc}") from None
    limits.charge(len(data) // 64 + 1)
    return data


def _decoded(fname: str, key: str, data: bytes):
    limits.charge(len(data) // 64 + 1)
    try:
        return decode(data, limits.allocate)  # each part charged before it is built
    except CodecError:
        raise ScriptError("BackendError", f"kv.{fname}(): the value stored at {key!r} was not "
                                          "written by kv and cannot be read") from None


_BACKENDS: dict = {}


def _backend(config: Any):
    """One kv backend per server configuration: the module and `store` share it (and its
    connections)."""
    try:
        found = _BACKENDS.get(config)
    except TypeError:  # an unhashable config object: nothing to share by
        return open_kv(config)
    if found is None:
        found = _BACKENDS[config] = open_kv(config)
    return found


class RateStore:
    """Token buckets in kv for `middleware.rate_limit` (STDLIB.md): `take(name, burst, rate)`
    takes one token from the bucket `name` (at most `burst` tokens, refilled at `rate` per
    second) and returns 0, or the seconds until a token is there (nothing taken). Atomic on
    every backend: a Lua script on Redis (with Redis' clock), BEGIN IMMEDIATE on SQLite."""

    def __init__(self, backend, timeout: float) -> None:
        self.backend = backend
        self.timeout = timeout

    def take(self, name: str, burst: int, rate: float) -> float:
        return guarded("middleware.rate_limit()",
                       lambda wait: self.backend.take(name, burst, rate, wait), self.timeout)


def store(config: Any) -> RateStore:
    return RateStore(_backend(config), setting(config, "backend_timeout", DEFAULT_TIMEOUT))


def module(config: Any) -> Module:
    backend = _backend(config)
    timeout = setting(config, "backend_timeout", DEFAULT_TIMEOUT)

    def get(key, default=None):
        key = _key("get", key)
        data = guarded("kv.get()", lambda wait: backend.get(key, wait), timeout)
        return default if data is None else _decoded("get", key, data)

    def set_(key, value, ttl=None):
        key, ms = _key("set", key), _ttl("set", ttl)
        data = _encoded("set", value)
        guarded("kv.set()", lambda wait: backend.set(key, data, ms, wait), timeout)
        return None

    def add(key, value, ttl=None):
        key, ms = _key("add", key), _ttl("add", ttl)
        data = _encoded("add", value)
        return guarded("kv.add()", lambda wait: backend.add(key, data, ms, wait), timeout)

    def delete(key):
        key = _key("delete", key)
        return guarded("kv.delete()", lambda wait: backend.delete(key, wait), timeout)

    def incr(key, by=1, ttl=None):
        key, ms = _key("incr", key), _ttl("incr", ttl)
        if type(by) is not int:
            raise ScriptError("TypeError", f"kv.incr(): by must be an int, not {type_name(by)}")
        if not _INT64[0] <= by <= _INT64[1]:
            raise ScriptError("ValueError", "kv.incr(): by must fit in 64 bits")
        try:
            value = guarded("kv.incr()", lambda wait: backend.incr(key, by, ms, wait), timeout)
        except OverflowError:
            raise ScriptError("ValueError", f"kv.incr(): the counter at {key!r} would pass "
                                            "64 bits") from None
        if type(value) is not int:
            raise ScriptError("TypeError", f"kv.incr(): the value at {key!r} is not an int")
        return value

    def keys(prefix="", limit=1000):
        if type(prefix) is not str:
            raise ScriptError("TypeError", f"kv.keys(): prefix must be a string, not {type_name(prefix)}")
        _args.utf8("kv.keys", "prefix", prefix)
        if len(prefix) > MAX_KEY:
            raise ScriptError("ValueError", f"kv.keys(): prefix is longer than {MAX_KEY} bytes")
        if type(limit) is not int:
            raise ScriptError("TypeError", f"kv.keys(): limit must be an int, not {type_name(limit)}")
        if not 1 <= limit <= MAX_KEYS_LIMIT:
            raise ScriptError("ValueError", f"kv.keys(): limit must be from 1 to {MAX_KEYS_LIMIT}")
        limits.charge(limit)
        found = guarded("kv.keys()", lambda wait: backend.keys(prefix, limit, wait), timeout)
        limits.allocate(sum(len(k) + 64 for k in found))
        return found

    return Module.of("kv", [get, set_, add, delete, incr, keys])
