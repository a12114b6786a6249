"""kv and db through the real server, on each backend: SQLite in --data-dir always, Redis
and PostgreSQL started by tests/backends.py. What the issue's "done when" asks, over real
sockets: no lost increments across processes and threads, two servers (two machines) seeing
each other's writes at once, writes that survive SIGKILL, migrations applied once when
servers start together, and a backend that goes away: a catchable error within
--backend-timeout, other routes still answering, service back by itself."""
from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from backends import postgres_server, redis_server  # noqa: F401 (fixtures)
from serverproc import ServerProcess, call

SCRIPT = "tests/state/app.script"


@pytest.fixture
def backend_args(request, tmp_path):
    """`rt serve` flags for the backend named by the test's `backend` parameter."""
    def args(name: str) -> list[str]:
        flags = ["--data-dir", str(tmp_path / "data")]
        if name == "redis":
            server = request.getfixturevalue("redis_server")
            import redis
            redis.Redis.from_url(server.url).flushdb()
            flags += ["--kv", server.url]
        elif name == "postgres":
            flags += ["--db", request.getfixturevalue("postgres_server").fresh_database()]
        return flags
    return args


def serve(*args: str, timeout: float = 60.0) -> ServerProcess:
    return ServerProcess(SCRIPT, *args, native=None).start(timeout)


def get_json(server, path, method="GET", body=None):
    status, _, data = call(server, path, method=method, body=body)
    return status, json.loads(data) if data else None


def hammer(port: int, path: str, threads: int, each: int) -> list:
    """POST `path` threads x each times, each thread on its own keep-alive connection; the
    `n` of every answer, and every failed answer (status and body)."""
    results: list = []
    failures: list = []
    lock = threading.Lock()

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, failed = [], []
        for _ in range(each):
            conn.request("POST", path, body=b"")
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 200:
                mine.append(json.loads(data)["n"])
            else:
                failed.append((resp.status, data))
        conn.close()
        with lock:
            results.extend(mine)
            failures.extend(failed)
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results, failures


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_kv_incr_loses_no_update_across_processes_and_threads(backend, backend_args):
    with serve("--workers", "2", "--async", "--threads", "8", *backend_args(backend)) as server:
        results, failures = hammer(server.port, "/incr/hits", threads=16, each=500)
        assert failures == [], server.log()[-3000:]
        assert sorted(results) == list(range(1, 8001))  # each increment seen exactly once
        assert get_json(server, "/kv/hits") == (200, {"value": 8000})


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_two_servers_see_each_others_writes_at_once(backend, backend_args):
    flags = backend_args(backend)
    with serve(*flags) as a, serve(*flags) as b:
        for i in range(5):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            assert call(writer, f"/kv/k{i}", method="PUT", body=f"v{i}".encode())[0] == 200
            assert get_json(reader, f"/kv-text/k{i}")[1]["text"] == f"v{i}"
            status, made = get_json(writer, "/items", method="POST", body=f"item {i}".encode())
            assert status == 200
            assert get_json(reader, f"/items/{made['id']}") == (200, {"id": made["id"], "body": f"item {i}"})
        assert get_json(a, "/items") == get_json(b, "/items")


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_rate_limits_hold_across_servers(backend, backend_args):
    flags = backend_args(backend)
    with serve(*flags) as a, serve(*flags) as b:
        assert call(a, "/limited")[0] == 200
        assert call(b, "/limited")[0] == 200
        status, headers, _ = call(a, "/limited")  # the burst of 2 is spent, on either server
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 30
        assert call(b, "/limited")[0] == 429
        assert call(b, "/ping")[0] == 200  # outside the group: not limited


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_values_come_back_equal_bytes_included(backend, backend_args):
    with serve(*backend_args(backend)) as server:
        body = "é\x00\xff 'quoted' ?".encode("latin-1")  # not UTF-8 as text: bytes matter
        assert call(server, "/kv-bytes/v", method="PUT", body=body)[0] == 200
        status, _, data = call(server, "/kv-same/v", body=body)
        assert (status, json.loads(data)) == (200, {"same": True, "differs": False})


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_every_write_that_returned_survives_sigkill(backend, backend_args):
    flags = backend_args(backend)
    server = serve(*flags)
    written = []
    try:
        for i in range(40):
            assert call(server, f"/kv/w{i}", method="PUT", body=str(i).encode())[0] == 200
            status, made = get_json(server, "/items", method="POST", body=f"row {i}".encode())
            assert status == 200
            written.append(made["id"])
        server.proc.kill()  # SIGKILL: no drain, no on_stop, no close
        server.proc.wait()
    finally:
        server.stop()
    with serve(*flags) as again:
        for i in range(40):
            assert get_json(again, f"/kv-text/w{i}")[1]["text"] == str(i)
        rows = get_json(again, "/items")[1]
        assert [r["id"] for r in rows] == written
        assert [r["body"] for r in rows] == [f"row {i}" for i in range(40)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_are_applied_once_when_servers_start_together(backend, backend_args):
    flags = backend_args(backend)
    servers = [ServerProcess(SCRIPT, "--workers", "2", *flags, native=None) for _ in range(2)]
    try:
        for s in servers:  # both start at once; each is waited for after
            s.launch()
        for s in servers:
            s.ready(60)
        for s in servers:
            assert get_json(s, "/seeded") == (200, [{"note": "seeded"}])
            assert get_json(s, "/migrations") == (200, [{"name": "001_items.sql"}, {"name": "002_seed.sql"}])
        logs = "".join(s.log() for s in servers)
        assert logs.count("migration 002_seed.sql applied") == 1
    finally:
        for s in servers:
            s.stop()
    with serve(*flags) as again:  # a restart applies nothing
        assert "applied" not in again.log()
        assert get_json(again, "/seeded") == (200, [{"note": "seeded"}])


def test_a_failing_migration_stops_the_server_with_its_name(tmp_path):
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "001_ok.sql").write_text("CREATE TABLE a (x INTEGER);")
    (migrations / "002_bad.sql").write_text("CREATE TABLE b (x INTEGER);\nCREATE TABLE oops (;")
    server = ServerProcess(SCRIPT, "--data-dir", str(tmp_path / "d"), "--migrations", str(migrations),
                           native=None)
    with pytest.raises(RuntimeError, match="server exited with 1") as err:
        server.start()
    assert "002_bad.sql" in str(err.value) and "Traceback" not in str(err.value)
    server.stop()
    # the good one stayed applied, the bad one left nothing behind (its own transaction)
    import sqlite3
    conn = sqlite3.connect(str(tmp_path / "d" / "db.sqlite3"))
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "a" in names and "b" not in names
    conn.close()


def test_network_backends_run_handlers_on_the_bridge_and_say_so(backend_args):
    with serve(*backend_args("redis")) as server:
        assert "--kv is on the network: script handlers run on the thread pool" in server.log()
        assert call(server, "/ping")[0] == 200
    with serve(*backend_args("sqlite")) as server:
        assert "on the network" not in server.log()


def _stop_and_probe(server, stop, start, route: str, timeout: float):
    """Stop the backend; the route answers 503 BackendError within about `timeout`, /ping
    answers 200 while a backend call waits, and once the backend is back the route answers
    200 again by itself."""
    assert call(server, route)[0] == 200
    stop()
    try:
        slow: dict = {}

        def probe():
            started = time.monotonic()
            slow["status"], _, slow["body"] = call(server, route)
            slow["took"] = time.monotonic() - started
        waiting = threading.Thread(target=probe)
        waiting.start()
        started = time.monotonic()
        assert call(server, "/ping") == (200, call(server, "/ping")[1], b"pong")
        assert time.monotonic() - started < timeout  # not stuck behind the backend call
        waiting.join(60)
        assert slow["status"] == 503, slow
        answer = json.loads(slow["body"])
        assert answer["kind"] == "BackendError", answer
        assert slow["took"] < timeout + 3.0
    finally:
        start()
    deadline = time.monotonic() + 30
    while call(server, route)[0] != 200:
        assert time.monotonic() < deadline, "service did not resume"
        time.sleep(0.2)


@pytest.mark.timeout(200)
def test_a_stopped_redis_is_a_catchable_error_and_service_resumes(redis_server, backend_args):
    with serve("--backend-timeout", "1", *backend_args("redis")) as server:
        _stop_and_probe(server, redis_server.stop, redis_server.start, "/safe/kv", 1.0)


@pytest.mark.timeout(200)
def test_a_stopped_postgres_is_a_catchable_error_and_service_resumes(postgres_server, backend_args):
    with serve("--backend-timeout", "1", *backend_args("postgres")) as server:
        _stop_and_probe(server, postgres_server.stop, postgres_server.start, "/safe/db", 1.0)


@pytest.mark.timeout(200)
def test_a_locked_sqlite_is_a_catchable_error_and_service_resumes(tmp_path, backend_args):
    flags = backend_args("sqlite")
    import sqlite3
    holder = {}

    def lock():
        # WAL readers never wait for a writer: a write is what a held lock stops
        holder["conn"] = sqlite3.connect(str(tmp_path / "data" / "kv.sqlite3"), isolation_level=None)
        holder["conn"].execute("BEGIN EXCLUSIVE")

    def unlock():
        holder["conn"].execute("ROLLBACK")
        holder["conn"].close()
    with serve("--backend-timeout", "1", "--async", *flags) as server:
        _stop_and_probe(server, lock, unlock, "/safe/kv-write", 1.0)
