"""SQLite backends for `kv` and `db`: files in `--data-dir`, WAL, a connection per thread.

Strategy. Each process (the server may fork workers after loading) and each thread in it
opens its own connection on first use (`_Connections`, keyed by pid), in autocommit mode,
so every statement is its own transaction unless `BEGIN IMMEDIATE` opened one. WAL lets
readers go on while one writer writes. Writers of one process first queue on a lock of
their own (`_writing`: a thread waiting there is woken in turn, where SQLite's busy handler
polls with growing sleeps and can starve a waiter under steady contention), so SQLite's lock
is contended only between processes; there they wait for at most the call's budget (`busy_timeout`, set per call when the
request's deadline is closer than --backend-timeout), and a progress handler interrupts a
statement that runs past it. Both end as a BackendError, never a hang.

Group commit (kv writes). Every `kv` write is a function of the connection; a writer queues
it and the first of this process's writers to find no one committing becomes the leader: it
takes every write queued, runs them in one `BEGIN IMMEDIATE` transaction (a SAVEPOINT each
when there are several, so one write's error undoes only that write), commits once and hands
each writer its own result or error. Concurrent writers (--async, threads) so share one
fsync instead of queueing for one each; a lone writer commits alone, as before. A write
returns only after the COMMIT that holds it.

Durability: `synchronous=FULL`. In WAL mode, NORMAL syncs only at checkpoints, so a commit
that returned survives the process being killed (the data is in the OS) but not the machine
losing power; FULL syncs the WAL at every commit, so a write that returned survives both,
as STDLIB.md asks. The price is one fsync per write.

`kv` keeps one table (key, value BLOB, expires): expired rows read as absent and are swept
by later writes; `incr` reads and writes inside `BEGIN IMMEDIATE`, which makes it atomic
across threads and processes. `db` runs the script's SQL as given (after the placeholder
count is checked) and `transaction(fn)` holds `BEGIN IMMEDIATE` on this thread's connection
while `fn` runs. Migrations run under `BEGIN IMMEDIATE`, so two servers starting together
apply each file once.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable

from . import BackendDown, DbRefused, Result
from .sqltext import split

_SWEEP_EVERY = 256  # writes between sweeps of expired kv rows


class _Connections(threading.local):
    def __init__(self) -> None:
        self.pid = 0
        self.conn: sqlite3.Connection | None = None
        self.busy_ms = -1
        self.stop_at = 0.0
        self.in_transaction = False


class _Sqlite:
    """A file opened lazily, one connection per thread and process."""

    SCHEMA = ""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = _Connections()
        self._schema_lock = threading.Lock()
        self._schema_ready_pid = 0
        self._writer = threading.Lock()
        self._writer_pid = os.getpid()
        self._group = _Group()

    @contextmanager
    def _writing(self, wait: float):
        """This thread's connection, once this process's other writers are done (at most
        `wait` seconds in all)."""
        if self._writer_pid != os.getpid():  # forked: a lock held at fork time stays held
            self._writer, self._writer_pid = threading.Lock(), os.getpid()
        lock = self._writer
        started = time.monotonic()
        if not lock.acquire(timeout=wait):
            raise BackendDown(f"{self.describe()} stayed busy for --backend-timeout")
        try:
            yield self._conn(max(0.001, wait - (time.monotonic() - started)))
        finally:
            lock.release()

    def _write(self, op: Callable[[sqlite3.Connection], Any], wait: float) -> Any:
        """`op(conn)`'s result once a COMMIT holds its writes, run in a group with the writes
        other threads of this process queued meanwhile (see "Group commit" above)."""
        group = self._group
        if group.pid != os.getpid():  # forked: the parent's queue and leader are not ours
            group = self._group = _Group()
        ticket = _Ticket(op)
        stop_at = time.monotonic() + wait
        with group.changed:
            group.queued.append(ticket)
            while group.leading and not ticket.done:
                left = stop_at - time.monotonic()
                if left <= 0 and not ticket.taken:
                    group.queued.remove(ticket)
                    raise BackendDown(f"{self.describe()} stayed busy for --backend-timeout")
                group.changed.wait(left if left > 0 else 0.05)  # taken: its group ends soon
            if not ticket.done:
                group.leading = True
                batch, group.queued = group.queued, []
                for queued in batch:
                    queued.taken = True
        if not ticket.done:
            try:
                self._commit_group(batch, max(0.001, stop_at - time.monotonic()))
            finally:
                with group.changed:
                    group.leading = False
                    group.changed.notify_all()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _commit_group(self, batch: list[_Ticket], wait: float) -> None:
        """Run the batch's writes in one transaction and commit it; every ticket ends done."""
        try:
            conn = self._conn(wait)
            conn.execute("BEGIN IMMEDIATE")
            try:
                alone = len(batch) == 1
                for ticket in batch:
                    if not alone:
                        conn.execute("SAVEPOINT rt_write")
                    try:
                        ticket.result = ticket.op(conn)
                    except Exception as exc:  # this write only
                        ticket.error = self._fail(exc) if isinstance(exc, sqlite3.Error) else exc
                        if alone:
                            raise
                        conn.execute("ROLLBACK TO rt_write")
                    if not alone:
                        conn.execute("RELEASE rt_write")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as exc:  # no write of the group holds
            error = self._fail(exc) if isinstance(exc, sqlite3.Error) else exc
            for ticket in batch:
                ticket.result = None
                ticket.error = ticket.error or error
        for ticket in batch:
            ticket.done = True

    def describe(self) -> str:
        return f"SQLite ({self.path})"

    def _conn(self, wait: float) -> sqlite3.Connection:
        local = self._local
        if local.conn is None or local.pid != os.getpid():
            local.conn = self._open()
            local.pid = os.getpid()
            local.busy_ms = -1
        ms = max(1, int(wait * 1000))
        if ms != local.busy_ms:
            local.conn.execute(f"PRAGMA busy_timeout = {ms}")
            local.busy_ms = ms
        local.stop_at = time.monotonic() + wait
        return local.conn

    def _open(self) -> sqlite3.Connection:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=self.timeout,
                                   check_same_thread=True)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            if self.SCHEMA and self._schema_ready_pid != os.getpid():
                with self._schema_lock:
                    conn.executescript(self.SCHEMA)
                    self._schema_ready_pid = os.getpid()
        except (sqlite3.Error, OSError) as exc:
            raise BackendDown(f"cannot open {self.describe()}: {_reason(exc)}") from None
        local = self._local

        def past_wait() -> int:  # a non-zero answer interrupts the running statement
            return time.monotonic() > local.stop_at
        conn.set_progress_handler(past_wait, 20_000)
        return conn

    def ping(self, wait: float) -> None:
        """Returns when the file opened and answered `SELECT 1` (else BackendDown)."""
        try:
            self._conn(wait).execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def _fail(self, exc: BaseException) -> Exception:
        """The error to raise for a sqlite3 failure."""
        if isinstance(exc, sqlite3.OperationalError):
            message = str(exc)
            if "locked" in message or "busy" in message:
                return BackendDown(f"{self.describe()} stayed busy for --backend-timeout")
            if "interrupted" in message:
                return BackendDown(f"{self.describe()}: the statement ran past its time")
            if "unable to open" in message or "disk" in message or "readonly" in message:
                self._drop()
                return BackendDown(f"{self.describe()}: {message}")
        return DbRefused(_reason(exc))

    def _drop(self) -> None:
        local = self._local
        if local.conn is not None:
            try:
                local.conn.close()
            except sqlite3.Error:
                pass
        local.conn = None


class _Group:
    """This process's queue of kv writes and whether a leader is committing a group."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.changed = threading.Condition(threading.Lock())
        self.queued: list[_Ticket] = []
        self.leading = False


class _Ticket:
    """One queued write: what to run, then its outcome."""
    __slots__ = ("op", "taken", "done", "result", "error")

    def __init__(self, op: Callable[[sqlite3.Connection], Any]) -> None:
        self.op = op
        self.taken = self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class SqliteKv(_Sqlite):
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS kv (
            key TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL,
            expires REAL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires) WHERE expires IS NOT NULL;
    """

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(path, timeout)
        self._writes = 0

    def _write_done(self, conn: sqlite3.Connection) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            conn.execute("DELETE FROM kv WHERE expires IS NOT NULL AND expires <= ?", (time.time(),))

    def get(self, key: str, wait: float) -> bytes | None:
        try:
            row = self._conn(wait).execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)",
                (key, time.time())).fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return None if row is None else row[0]

    def set(self, key: str, data: bytes, ttl_ms: int | None, wait: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value, expires = excluded.expires",
                         (key, data, _expires(ttl_ms)))
            self._write_done(conn)
        self._write(op, wait)

    def add(self, key: str, data: bytes, ttl_ms: int | None, wait: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, expires = excluded.expires "
                "WHERE kv.expires IS NOT NULL AND kv.expires <= ?",
                (key, data, _expires(ttl_ms), time.time()))
            self._write_done(conn)
            return cur.rowcount == 1
        return self._write(op, wait)

    def delete(self, key: str, wait: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute("DELETE FROM kv WHERE key = ? RETURNING expires", (key,)).fetchone()
            return row is not None and (row[0] is None or row[0] > time.time())
        return self._write(op, wait)

    def incr(self, key: str, by: int, ttl_ms: int | None, wait: float) -> int | bytes:
        """The new value, or the stored bytes when they are not an int (nothing changed)."""
        def op(conn: sqlite3.Connection) -> int | bytes:
            value = self._incr_in_transaction(conn, key, by, ttl_ms)
            self._write_done(conn)
            return value
        return self._write(op, wait)

    @staticmethod
    def _incr_in_transaction(conn: sqlite3.Connection, key: str, by: int, ttl_ms: int | None):
        row = conn.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
        if row is not None and (row[1] is None or row[1] > time.time()):
            data, expires = row
            try:
                value = int(data) + by if data[:1] in b"-0123456789" else None
            except ValueError:
                value = None
            if value is None:
                return data
            if expires is None and ttl_ms is not None:
                expires = _expires(ttl_ms)
        else:
            value, expires = by, _expires(ttl_ms)
        if not -(1 << 63) <= value < (1 << 63):
            raise OverflowError
        conn.execute("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value, expires = excluded.expires",
                     (key, str(value).encode("ascii"), expires))
        return value

    def take(self, key: str, burst: int, rate: float, wait: float) -> float:
        """A token from the bucket at `key` (middleware.rate_limit): 0, or the seconds until
        one is there. The bucket is a kv value {"t": tokens, "u": when counted}."""
        from .codec import CodecError, decode, encode

        def op(conn: sqlite3.Connection) -> float:
            now = time.time()
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            try:
                state = decode(row[0]) if row is not None else None
                tokens = min(burst, state["t"] + max(0.0, now - state["u"]) * rate)
            except (CodecError, TypeError, KeyError):  # absent, or not a bucket
                tokens = float(burst)
            wait_for = 0.0 if tokens >= 1 else (1 - tokens) / rate
            tokens -= 1 if tokens >= 1 else 0
            conn.execute("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value, expires = excluded.expires",
                         (key, encode({"t": float(tokens), "u": now}), now + burst / rate + 1))
            return wait_for
        return self._write(op, wait)

    def keys(self, prefix: str, limit: int, wait: float) -> list[str]:
        found = []
        try:
            cur = self._conn(wait).execute(
                "SELECT key FROM kv WHERE key >= ? AND (expires IS NULL OR expires > ?) ORDER BY key",
                (prefix, time.time()))
            for (key,) in cur:
                if not key.startswith(prefix) or len(found) >= limit:
                    break
                found.append(key)
            cur.close()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return found


def _expires(ttl_ms: int | None) -> float | None:
    return None if ttl_ms is None else time.time() + ttl_ms / 1000


class SqliteDb(_Sqlite):
    to_script = None  # sqlite3 returns script values already (None, int, float, str, bytes)

    def run(self, sql: str, params: tuple, max_rows: int, wait: float) -> Result:
        try:
            conn = self._conn(wait)
            cur = conn.execute(sql, params)
            rows = cur.fetchmany(max_rows + 1) if cur.description else []
            columns = [d[0] for d in cur.description] if cur.description else []
            result = Result(columns, rows, cur.rowcount, cur.lastrowid)
            cur.close()
            return result
        except sqlite3.ProgrammingError as exc:
            raise DbRefused(_reason(exc)) from None
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def in_transaction(self) -> bool:
        return self._local.in_transaction

    def transaction(self, fn: Callable[[], Any], wait: float) -> Any:
        with self._writing(wait) as conn:
            return self._transaction(conn, fn)

    def _transaction(self, conn: sqlite3.Connection, fn: Callable[[], Any]) -> Any:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        local = self._local
        local.in_transaction = True
        try:
            value = fn()
        except BaseException:
            local.in_transaction = False
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop()
            raise
        local.in_transaction = False
        local.stop_at = time.monotonic() + self.timeout  # fn's own calls moved it
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop()
            raise self._fail(exc) from None
        return value

    def migrate(self, files: list[tuple[str, str]], wait: float) -> list[str]:
        """Apply each (name, sql) not yet recorded, in order, each in its own transaction,
        under SQLite's write lock; returns the names applied."""
        applied, name = [], ""
        try:
            conn = self._conn(wait)
            conn.execute("CREATE TABLE IF NOT EXISTS rt_migrations "
                         "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
            for name, sql in files:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    done = conn.execute("SELECT 1 FROM rt_migrations WHERE name = ?", (name,)).fetchone()
                    if done is None:
                        _executescript_in_transaction(conn, sql)
                        conn.execute("INSERT INTO rt_migrations VALUES (?, ?)", (name, time.time()))
                        applied.append(name)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise DbRefused(f"migration {name}: {_reason(exc)}" if name else _reason(exc)) from None
        finally:
            self._drop()  # the next call, maybe in a forked worker, opens its own
        return applied


def _executescript_in_transaction(conn: sqlite3.Connection, sql: str) -> None:
    """Run every statement of `sql` in the open transaction (executescript would COMMIT
    first): cut at each `;` outside literals and comments where SQLite agrees a statement is
    complete (a trigger's body keeps its own semicolons)."""
    statement = ""
    for code, chunk in split(sql):
        if not code:
            statement += chunk
            continue
        parts = chunk.split(";")
        for i, part in enumerate(parts):
            statement += part if i == len(parts) - 1 else part + ";"
            if i < len(parts) - 1 and sqlite3.complete_statement(statement):
                conn.execute(statement)
                statement = ""
    if sqlite3.complete_statement(statement + ";") and _has_code(statement):
        conn.execute(statement)


def _has_code(sql: str) -> bool:
    return any(code and chunk.strip() for code, chunk in split(sql))
