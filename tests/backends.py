"""Real Redis and PostgreSQL servers for tests, each in a temporary directory on a free port.

`RedisServer` runs Debian's `redis-server`, `PostgresServer` runs `initdb` + `postgres` from
Debian's `postgresql` (the newest /usr/lib/postgresql/*/bin); PostgreSQL refuses to run as
root, so under root its files belong to `nobody` and it runs through `runuser -u nobody`.
Both can be stopped and started again on the same port and data (tests of a backend that
goes away and comes back). The pytest fixtures `redis_url` and `postgres_url` share one
server per test session; `need(...)` skips a test with the Debian package to install when a
binary is missing, or fails it when RT_REQUIRE_BACKENDS=1 (CI).
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_PACKAGE = "redis-server"
POSTGRES_PACKAGE = "postgresql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(binary: str | None, package: str, what: str) -> str:
    """The binary's path, or skip (fail under RT_REQUIRE_BACKENDS=1) naming the package."""
    if binary and os.path.exists(binary):
        return binary
    message = f"{what} is not installed (Debian package {package!r}: apt-get install {package})"
    if os.environ.get("RT_REQUIRE_BACKENDS") == "1":
        pytest.fail(message + "; RT_REQUIRE_BACKENDS=1 requires it")
    pytest.skip(message)


def _wait_port(port: int, proc: subprocess.Popen, log: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}:\n{_tail(log)}")


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as fh:
            return fh.read()[-3000:]
    except OSError:
        return ""


class _Server:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"rt-{type(self).__name__.lower()}-")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = os.path.join(self.dir, "server.log")

    def _popen(self, cmd: list[str]) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, self.log)

    stop_signal = signal.SIGTERM

    def stop(self) -> None:
        """Stop the server and wait until its port is closed (the whole process group gets
        the signal: runuser does not pass it on)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, self.stop_signal)
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.proc = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                time.sleep(0.05)
            except OSError:
                return

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class RedisServer(_Server):
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"

    def __init__(self, appendfsync: str = "always") -> None:
        super().__init__()
        self.appendfsync = appendfsync  # "always": what was acknowledged survives a restart

    def start(self) -> "RedisServer":
        need(self.binary, REDIS_PACKAGE, "redis-server")
        self._popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--dir", self.dir, "--save", "", "--appendonly", "yes",
                     "--appendfsync", self.appendfsync, "--protected-mode", "no"])
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return found[-1] if found else None


class PostgresServer(_Server):
    def __init__(self) -> None:
        super().__init__()
        self.bindir = _postgres_bin()
        self.data = os.path.join(self.dir, "data")
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # postgres refuses root: its files and process belong to nobody
            self._as_user = ["runuser", "-u", "nobody", "--"]
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "nobody")
            # the log is written by nobody too
            open(self.log, "ab").close()
            shutil.chown(self.log, "nobody")

    def start(self) -> "PostgresServer":
        need(self.bindir and os.path.join(self.bindir, "postgres"), POSTGRES_PACKAGE, "PostgreSQL")
        if not os.path.isdir(self.data):
            subprocess.run(self._as_user + [os.path.join(self.bindir, "initdb"), "-D", self.data,
                                            "-A", "trust", "-U", "rt", "-E", "UTF8", "--no-sync"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._popen(self._as_user + [os.path.join(self.bindir, "postgres"), "-D", self.data,
                                     "-p", str(self.port), "-h", "127.0.0.1", "-k", self.dir,
                                     "-c", "max_connections=200", "-c", "fsync=on"])
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        import psycopg
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    stop_signal = signal.SIGINT  # "fast" shutdown: clients are cut off

    def _descendants(self) -> list[int]:
        """Every process under the server (PostgreSQL's children lead process groups of
        their own, so the group's signal does not reach them)."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def freeze(self) -> None:
        """Stop every server process (SIGSTOP): connections stay open, nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        for pid in self._descendants():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:  # a child that ended since the listing
                pass

    @property
    def url(self) -> str:
        return f"postgresql://rt@127.0.0.1:{self.port}/postgres"

    def fresh_database(self) -> str:
        """The URL of a new, empty database on this server (tests keep apart)."""
        import psycopg
        name = f"t{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://rt@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server():
    with PostgresServer() as server:
        yield server
