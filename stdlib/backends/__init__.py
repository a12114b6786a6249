"""The backends behind `kv` and `db`: one small interface each, chosen by the operator.

Strategy. `kv` and `db` (the script-facing modules) check arguments and shape results; all
they ask of storage is one of two small interfaces:

    KvBackend: get(key) -> bytes | None, set(key, data, ttl_ms), add(key, data, ttl_ms) -> bool,
               delete(key) -> bool, incr(key, by, ttl_ms) -> int, keys(prefix, limit) -> list,
               take(key, burst, rate) -> seconds to wait (a token bucket, for rate limits)
    DbBackend: run(sql, params, max_rows) -> Result, transaction(fn) -> fn's value,
               migrate(directory) -> names applied

Values cross the kv interface already encoded (backends/codec.py); SQL crosses the db one
with `?` placeholders (backends/sqltext.py translates them where the driver wants another
style). `open_kv(config)` / `open_db(config)` pick SQLite in `--data-dir` or the
`--kv`/`--db` URL, and the backend object opens its connections lazily, per process (so the
server may fork workers after loading the script, and `rt check` never touches the disk).

Every backend call goes through `guarded(...)`: it announces the blocking call
(`limits.blocking()`), computes how long the call may wait (`wait_budget()`: the smaller of
`--backend-timeout` and what is left of the request's deadline; nothing left is the deadline
error), and turns a driver's failure into one catchable `ScriptError`: "BackendError" when
the backend is unreachable, busy or too slow (the message names the backend, never a Python
type), "DbError" for what the database refused (SQL syntax, a constraint). Connections are
not kept broken: a backend drops a connection that failed, and the next call opens a new one,
so service resumes by itself when the backend is back.

For the admin port: `OBSERVER`, when the runtime sets it, is told how long each guarded call
took (`observer("kv.get", nanoseconds)`); `pinger(name, config)` is the readiness check of the
backend the operator chose for `kv` or `db`: a backend object of its own (its own connections,
so a ping never waits behind the requests' pool) whose `ping(seconds)` raises BackendDown.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from rtserve.lang import limits
from rtserve.lang.errors import DeadlineExceeded, ScriptError

__all__ = ["Result", "BackendDown", "DbRefused", "PerProcess", "wait_budget", "guarded", "open_kv",
           "open_db", "data_dir", "pinger", "DEFAULT_DATA_DIR"]

DEFAULT_DATA_DIR = "./.rt-data"
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_ROWS = 10_000

# Told `(what, nanoseconds)` after every guarded call when set (the admin port's metrics).
OBSERVER: Callable[[str, int], None] | None = None


@dataclass
class Result:
    """What one SQL statement gave: column names and rows (tuples), rows affected, last id."""
    columns: list
    rows: list
    rowcount: int
    last_id: Any


class BackendDown(Exception):
    """The backend did not answer in time or is unreachable (message for the script)."""


class DbRefused(Exception):
    """The database refused the statement (message for the script: the database's own)."""


class PerProcess:
    """A value made once per process, on first use: a connection pool. A worker forked after
    the script loaded makes its own (its parent's sockets are not its to share)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._value = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._value is None or self._pid != os.getpid():
            with self._lock:
                if self._value is None or self._pid != os.getpid():
                    self._value = self._make()
                    self._pid = os.getpid()
        return self._value


def wait_budget(timeout: float) -> float:
    """Seconds the next backend call may wait: `timeout` (--backend-timeout), cut to what
    is left of the request's deadline. Raises DeadlineExceeded when nothing is left."""
    left = limits.current().time_left()
    if left is None or left >= timeout:
        return timeout
    if left <= 0:
        raise DeadlineExceeded("deadline exceeded")
    return left


def guarded(what: str, call: Callable[[float], Any], timeout: float) -> Any:
    """Run `call(seconds it may wait)` as a blocking backend call; `what` names the script
    function in errors (`kv.get()`)."""
    limits.blocking()
    wait = wait_budget(timeout)
    observer = OBSERVER
    if observer is None:
        return _call(what, call, wait)
    started = time.perf_counter_ns()
    try:
        return _call(what, call, wait)
    finally:
        observer(what.rstrip("()"), time.perf_counter_ns() - started)


def _call(what: str, call: Callable[[float], Any], wait: float) -> Any:
    try:
        return call(wait)
    except BackendDown as exc:
        left = limits.current().time_left()
        if left is not None and left <= 0:
            raise DeadlineExceeded("deadline exceeded") from None
        raise ScriptError("BackendError", f"{what}: {exc}") from None
    except DbRefused as exc:
        raise ScriptError("DbError", f"{what}: {exc}") from None


def data_dir(config: Any) -> str:
    return getattr(config, "data_dir", None) or DEFAULT_DATA_DIR


def setting(config: Any, name: str, default: Any) -> Any:
    value = getattr(config, name, None)
    return default if value is None else value


def open_kv(config: Any):
    """The kv backend the operator chose (nothing is opened yet)."""
    timeout = setting(config, "backend_timeout", DEFAULT_TIMEOUT)
    url = getattr(config, "kv", None)
    if url:
        from .redis import RedisKv
        return RedisKv(url, timeout, pool_size=setting(config, "threads", 16))
    from .sqlite import SqliteKv
    return SqliteKv(os.path.join(data_dir(config), "kv.sqlite3"), timeout)


def open_db(config: Any):
    """The db backend the operator chose (nothing is opened yet)."""
    timeout = setting(config, "backend_timeout", DEFAULT_TIMEOUT)
    url = getattr(config, "db", None)
    if url:
        from .postgres import PostgresDb
        return PostgresDb(url, timeout, pool_size=setting(config, "threads", 16))
    from .sqlite import SqliteDb
    return SqliteDb(os.path.join(data_dir(config), "db.sqlite3"), timeout)


def pinger(name: str, config: Any) -> Callable[[float], None]:
    """The readiness check of the `kv` or `db` backend `config` chose: `check(seconds)`
    returns when the backend answered a cheap ping within `seconds`, else raises
    BackendDown (its message names the backend, never a password)."""
    from urllib.parse import urlsplit
    backend = open_kv(config) if name == "kv" else open_db(config)
    url = getattr(config, name, None)
    secret = urlsplit(url).password if url else None

    def check(seconds: float) -> None:
        try:
            backend.ping(seconds)
        except (BackendDown, DbRefused) as exc:
            message = str(exc)
            if secret:
                message = message.replace(secret, "***")
            raise BackendDown(message) from None
    return check
