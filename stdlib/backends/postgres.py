"""The PostgreSQL backend for `db` (`--db postgresql://...`): psycopg 3 and psycopg_pool.

Strategy. One `ConnectionPool` per process, made on first use (workers fork after the script
loaded), sized like the bridge's thread pool, its connections in autocommit: a statement is
its own transaction unless `transaction(fn)` holds one connection for the whole of `fn`
(the connection is kept in a thread-local, so every db call inside `fn` uses it). SQL keeps
the script's `?` placeholders until here, where backends/sqltext.py turns them into `%s`
outside literals and comments; parameters always travel separately (the extended protocol),
so a value is never pasted into SQL text.

Waiting is bounded: taking a connection waits at most the call's budget (PoolTimeout ->
BackendError); every connection is opened with `connect_timeout` and
`statement_timeout` = --backend-timeout, and a call with less budget than that (its request's
deadline is near) sets a shorter `statement_timeout` for itself. psycopg's blocking calls
have no client-side timeout, so a server that stops answering without closing its
connections (a frozen process, a dead network path) would still hold a call: `_Watchdog`
shuts down the socket of a call still running past its budget, which ends it with an error
(and the pool drops the broken connection). A connection that broke is discarded by the
pool, which reconnects in the background: when the server is back, service resumes by
itself.

Values the driver returns become script values in `to_script` (numeric -> int or float,
dates and times -> ISO 8601 strings, uuid -> string, json -> lists and maps, bytea -> bytes).
"""
from __future__ import annotations

import datetime
import decimal
import heapq
import itertools
import math
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable

from . import BackendDown, DbRefused, PerProcess, Result
from .sqltext import to_pyformat


class _Watchdog:
    """Cuts off a connection whose call runs past its budget: one thread per process, woken
    for the earliest budget. `watch(conn, seconds)` is a context manager around one call."""

    def __init__(self) -> None:
        self._heap: list = []            # (due, n, conn)
        self._live: set = set()          # n of the calls still running
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._pid = 0

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._heap, self._live = [], set()
            threading.Thread(target=self._run, name="rt-db-watchdog", daemon=True).start()

    def watch(self, conn, seconds: float) -> "_Watch":
        return _Watch(self, conn, seconds)

    def _arm(self, conn, seconds: float) -> int:
        with self._cond:
            self._ensure_thread()
            n = next(self._count)
            self._live.add(n)
            heapq.heappush(self._heap, (time.monotonic() + seconds, n, conn))
            if self._heap[0][1] == n:
                self._cond.notify()
            return n

    def _disarm(self, n: int) -> None:
        with self._cond:
            self._live.discard(n)

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                due, n, conn = self._heap[0]
                left = due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(n)
                _cut_off(conn)


def _cut_off(conn) -> None:
    """Shut down the connection's socket so the call blocked on it fails now."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except Exception:  # noqa: BLE001 - already closed: nothing is waiting on it
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class _Watch:
    __slots__ = ("dog", "conn", "seconds", "n")

    def __init__(self, dog: _Watchdog, conn, seconds: float) -> None:
        self.dog, self.conn, self.seconds = dog, conn, seconds

    def __enter__(self):
        self.n = self.dog._arm(self.conn, self.seconds)
        return self

    def __exit__(self, *exc) -> None:
        self.dog._disarm(self.n)


_WATCHDOG = _Watchdog()
_GRACE = 0.25  # past the budget before the socket is cut: the server's own timeout goes first


class _Local(threading.local):
    def __init__(self) -> None:
        self.conn = None  # the connection of the transaction running on this thread


class PostgresDb:
    def __init__(self, url: str, timeout: float, pool_size: int = 16) -> None:
        self.url = url
        self.timeout = timeout
        self.pool_size = pool_size
        self._pool = PerProcess(self._new_pool)
        self._local = _Local()

    @staticmethod
    def to_script(value):
        return to_script(value)

    def describe(self) -> str:
        from urllib.parse import urlsplit
        parts = urlsplit(self.url)
        return f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}"

    def _connect_kwargs(self) -> dict:
        return {"autocommit": True, "connect_timeout": max(1, math.ceil(self.timeout)),
                "options": f"-c statement_timeout={int(self.timeout * 1000)}"}

    def _new_pool(self):
        from psycopg_pool import ConnectionPool
        pool = ConnectionPool(self.url, kwargs=self._connect_kwargs(), min_size=1,
                              max_size=max(1, self.pool_size), timeout=self.timeout,
                              reconnect_timeout=0, open=False, name="rt-db")
        pool.open(wait=False)
        return pool

    def _down(self, exc: BaseException, wait: float) -> BackendDown:
        import psycopg_pool
        if isinstance(exc, psycopg_pool.PoolTimeout):
            return BackendDown(f"{self.describe()}: no connection within {wait:g}s "
                               "(the server is down, unreachable or every connection is busy)")
        return BackendDown(f"{self.describe()}: {_first_line(exc)}")

    def _classify(self, exc: BaseException, wait: float) -> Exception:
        import psycopg
        from psycopg import errors
        if isinstance(exc, errors.QueryCanceled):
            return BackendDown(f"{self.describe()}: the statement ran past {wait:g}s")
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
            return self._down(exc, wait)
        if isinstance(exc, psycopg.DataError) and "0x00" in str(exc):
            return DbRefused("PostgreSQL text cannot hold NUL characters (store bytes instead)")
        return DbRefused(_first_line(exc))

    def _execute(self, conn, sql: str, params: tuple, max_rows: int, wait: float) -> Result:
        with _WATCHDOG.watch(conn, wait + _GRACE), conn.cursor() as cur:
            if wait < self.timeout:
                cur.execute("SELECT set_config('statement_timeout', %s, false)",
                            (str(max(1, int(wait * 1000))),))
            cur.execute(to_pyformat(sql), params)
            if cur.description is not None:
                columns = [c.name for c in cur.description]
                rows = cur.fetchmany(max_rows + 1)
            else:
                columns, rows = [], []
            last_id = rows[0][0] if rows and len(columns) == 1 else None
            result = Result(columns, rows, cur.rowcount, last_id)
            if wait < self.timeout:
                cur.execute("SELECT set_config('statement_timeout', %s, false)",
                            (str(int(self.timeout * 1000)),))
            return result

    def run(self, sql: str, params: tuple, max_rows: int, wait: float) -> Result:
        import psycopg
        import psycopg_pool
        conn = self._local.conn
        started = time.monotonic()
        try:
            if conn is not None:
                return self._execute(conn, sql, params, max_rows, wait)
            with self._pool.get().connection(timeout=wait) as conn:
                return self._execute(conn, sql, params, max_rows, wait)
        except psycopg_pool.PoolTimeout as exc:
            raise self._down(exc, wait) from None
        except psycopg.OperationalError as exc:
            if time.monotonic() - started >= wait:  # the watchdog cut it off
                raise BackendDown(f"{self.describe()} did not answer within {wait:g}s") from None
            raise self._classify(exc, wait) from None
        except psycopg.Error as exc:
            raise self._classify(exc, wait) from None

    def ping(self, wait: float) -> None:
        """Returns when PostgreSQL answered `SELECT 1` within `wait` seconds."""
        self.run("SELECT 1", (), 1, wait)

    def in_transaction(self) -> bool:
        return self._local.conn is not None

    def transaction(self, fn: Callable[[], Any], wait: float) -> Any:
        import psycopg
        import psycopg_pool
        local = self._local
        try:
            with self._pool.get().connection(timeout=wait) as conn:
                with conn.transaction():
                    local.conn = conn
                    try:
                        return fn()
                    finally:
                        local.conn = None
        except psycopg_pool.PoolTimeout as exc:
            raise self._down(exc, wait) from None
        except psycopg.Error as exc:
            raise self._classify(exc, wait) from None

    def migrate(self, files: list[tuple[str, str]], wait: float) -> list[str]:
        """Apply each (name, sql) not yet recorded, in order, each in its own transaction,
        holding a session advisory lock so concurrent starters queue; returns names applied."""
        import psycopg
        applied, name = [], ""
        try:
            with psycopg.connect(self.url, **self._connect_kwargs()) as conn:
                conn.execute("SELECT pg_advisory_lock(hashtext('rt_migrations'))")
                conn.execute("CREATE TABLE IF NOT EXISTS rt_migrations "
                             "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                for name, sql in files:
                    with conn.transaction():
                        done = conn.execute("SELECT 1 FROM rt_migrations WHERE name = %s",
                                            (name,)).fetchone()
                        if done is None:
                            conn.execute(sql.encode("utf-8"))  # several statements: simple protocol
                            conn.execute("INSERT INTO rt_migrations (name) VALUES (%s)", (name,))
                            applied.append(name)
                conn.execute("SELECT pg_advisory_unlock(hashtext('rt_migrations'))")
        except psycopg.OperationalError as exc:
            raise BackendDown(f"{self.describe()}: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            raise DbRefused(f"migration {name}: {_first_line(exc)}" if name else _first_line(exc)) from None
        return applied


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "the database refused the statement"


def to_script(value):
    """A value psycopg returned, as a script value."""
    t = type(value)
    if value is None or t in (bool, int, float, str, bytes):
        return value
    if t is decimal.Decimal:
        return int(value) if value == value.to_integral_value() and abs(value) < 1 << 63 else float(value)
    if t is memoryview or t is bytearray:
        return bytes(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if t is datetime.timedelta:
        return value.total_seconds()
    if t is uuid.UUID:
        return str(value)
    if t is list or t is tuple:
        return [to_script(v) for v in value]
    if t is dict:
        return {str(k): to_script(v) for k, v in value.items()}
    return str(value)
