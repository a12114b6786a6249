"""The admin port (--admin-port): /health, /ready and /metrics on a listener of its own.

Strategy: real servers on free ports, real sockets. One module-wide server (script routes
through the --async bridge, native sync and async routes) takes every request whose count the
tests compare: each test reads /metrics before and after and checks the deltas are exactly the
requests it sent, by route pattern, method and status, and that the latency histogram agrees
with them (cumulative buckets, +Inf == _count == the requests). The exposition is read with a
strict parser (tests/prometheus_text.py). Servers of their own cover what changes a server's
state: draining, a Redis stopped and restarted under /ready, `--workers 2` summing.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

import prometheus_text
from backends import RedisServer, free_port
from serverproc import ServerProcess, call

from rtserve.runtime.config import ConfigError, Settings
from rtserve.runtime.http.exposition import render
from rtserve.runtime.http.metrics import BUCKETS, Metrics, merge

SCRIPT = """\
import time
get "/items/:id" (req) { return {"id": req.params.id} }
get "/spin" { let n = 0
    while true { n = n + 1 } }
get "/nap" { time.sleep(1.5)
    return "rested" }
get "/huge" { return "x" * 20000000 }
"""

KV_SCRIPT = """\
import kv
get "/count" { return {"n": kv.incr("hits")} }
"""

WAIT = 20.0  # seconds any eventual state gets on a slow, shared machine


def admin(port: int, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def scrape(port: int) -> dict:
    status, headers, body = admin(port, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples, types = prometheus_text.parse(body.decode())
    assert types["rt_requests_total"] == "counter"
    assert types["rt_request_duration_seconds"] == "histogram"
    return samples


def requests_by_key(samples: dict) -> dict:
    return {(s["route"], s["method"], s["status"]): v
            for s, v in prometheus_text.series(samples, "rt_requests_total")}


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 addresses the kernel has a listening TCP socket on `port` for."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def eventually(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def write_script(tmp_path_factory, name: str, text: str) -> str:
    folder = tmp_path_factory.mktemp(name)
    path = folder / "app.script"
    path.write_text(text)
    return str(path)


@contextlib.contextmanager
def start(*args: str):
    """A server with the admin port on a free port: (server, admin port)."""
    admin_port = free_port()
    with ServerProcess(*args, "--admin-port", str(admin_port)) as server:
        eventually(lambda: "admin port on" in server.log(), "the admin port listening")
        yield server, admin_port


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with start(write_script(tmp_path_factory, "admin", SCRIPT), "--async", "--threads", "2",
               "--max-steps", "20000") as served:
        yield served


# -- the endpoints -----------------------------------------------------------------------------


def test_health_is_ok_and_the_admin_port_binds_loopback(served):
    server, port = served
    status, headers, body = admin(port, "/health")
    assert (status, body) == (200, b"ok\n")
    samples = scrape(port)
    assert prometheus_text.value(samples, "rt_workers") == 1
    assert [labels for labels, _ in prometheus_text.series(samples, "rt_worker_requests_total")] \
        == [{"worker": "0"}]
    assert headers["connection"] == "close"
    assert re.search(rf"admin port on http://127\.0\.0\.1:{port} ", server.log())
    assert listening_addresses(port) == {"127.0.0.1"}
    assert Settings().admin_host == "127.0.0.1" and Settings().admin_port == 0


def test_ready_without_backends_is_200(served):
    status, headers, body = admin(served[1], "/ready")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"status": "ready", "checked": []}


def test_admin_paths_are_not_on_the_app_port_and_app_routes_not_on_the_admin_port(served):
    server, port = served
    for path in ("/metrics", "/ready"):
        assert call(server, path)[0] == 404
    for path in ("/items/1", "/plaintext"):
        status, _, body = admin(port, path)
        assert status == 404 and b"/health" in body
    assert call(server, "/plaintext")[0] == 200


def test_bad_admin_requests_get_clear_answers(served):
    port = served[1]
    status, headers, _ = admin(port, "/metrics", "POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, headers, body = admin(port, "/health", "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "3"
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"nonsense\r\n\r\n")
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Traceback" not in answer
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 431 ")


def test_the_page_for_people_links_the_endpoints(served):
    status, headers, body = admin(served[1], "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'href=/metrics' in body and b"rt: serving" in body


# -- counting ----------------------------------------------------------------------------------


def test_requests_are_counted_exactly_by_pattern_method_and_status(served):
    server, port = served
    before = scrape(port)
    sent = {("/items/:id", "GET", "200"): 3,   # a script route, through the --async bridge
            ("/users/:id", "GET", "200"): 2,   # a native sync route
            ("/slow", "GET", "200"): 2,        # a native async route
            ("/boom", "GET", "500"): 1,        # a native route that raises
            ("<unmatched>", "GET", "404"): 2,
            ("/spin", "GET", "500"): 2,        # the step limit
            ("/huge", "GET", "500"): 1,        # the string size cap
            ("/items/:id", "HEAD", "200"): 1}
    for i in range(3):
        assert call(server, f"/items/{i}")[0] == 200
    for i in range(2):
        assert call(server, f"/users/{i}")[0] == 200
        assert call(server, "/slow?s=0")[0] == 200
        assert call(server, f"/no/such/{i}")[0] == 404
        assert call(server, "/spin")[0] == 500
    assert call(server, "/boom")[0] == 500
    assert call(server, "/huge")[0] == 500
    assert call(server, "/items/9", method="HEAD")[0] == 200
    with server.connect() as sock:  # a protocol error: no route, counted apart
        sock.sendall(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 400 ")
    after = scrape(port)
    old, new = requests_by_key(before), requests_by_key(after)
    moved = {key: new[key] - old.get(key, 0) for key in new if new[key] != old.get(key, 0)}
    assert moved == sent
    assert not any(route.startswith(("/items/0", "/users/1", "/no/")) for route, _, _ in new)
    limit = prometheus_text.value
    assert limit(after, "rt_limit_hits_total", kind="steps") - \
        limit(before, "rt_limit_hits_total", kind="steps") == 2
    assert limit(after, "rt_limit_hits_total", kind="size") - \
        limit(before, "rt_limit_hits_total", kind="size") == 1
    assert limit(after, "rt_protocol_errors_total", status="400") - \
        limit(before, "rt_protocol_errors_total", status="400") == 1
    assert all(set(labels) == {"status"} for labels, _ in
               prometheus_text.series(after, "rt_protocol_errors_total"))


def test_the_latency_histogram_agrees_with_the_counts(served):
    server, port = served
    for i in range(4):
        assert call(server, f"/users/{i}")[0] == 200
    samples = scrape(port)
    by_route: dict[str, float] = {}
    for (route, _, _), n in requests_by_key(samples).items():
        by_route[route] = by_route.get(route, 0) + n
    histogram = "rt_request_duration_seconds"
    for route, count in by_route.items():
        buckets = sorted((float(labels["le"]), v) for labels, v in
                         prometheus_text.series(samples, histogram + "_bucket")
                         if labels["route"] == route)
        assert [b for b, _ in buckets] == [*BUCKETS, float("inf")]
        values = [v for _, v in buckets]
        assert values == sorted(values), f"{route}: buckets not cumulative"
        count_sample = prometheus_text.value(samples, histogram + "_count", route=route)
        assert values[-1] == count_sample == count
        assert prometheus_text.value(samples, histogram + "_sum", route=route) >= 0
    assert by_route["/users/:id"] >= 4


def test_in_flight_and_busy_bridge_threads_while_requests_run(served):
    server, port = served
    samples = scrape(port)
    assert prometheus_text.value(samples, "rt_bridge_threads") == 2
    assert prometheus_text.value(samples, "rt_requests_in_flight") == 0
    answers = []
    workers = [threading.Thread(target=lambda p=p: answers.append(call(server, p)[0]))
               for p in ("/slow?s=2", "/nap")]
    for t in workers:
        t.start()
    try:
        def both_running():
            s = scrape(port)
            return (prometheus_text.value(s, "rt_requests_in_flight") == 2 and
                    prometheus_text.value(s, "rt_bridge_busy_threads") == 1 and
                    prometheus_text.value(s, "rt_open_connections") >= 2) and s
        eventually(both_running, "two requests in flight, one on a bridge thread")
    finally:
        for t in workers:
            t.join(WAIT)
    assert answers == [200, 200]
    samples = scrape(port)
    assert prometheus_text.value(samples, "rt_requests_in_flight") == 0
    assert prometheus_text.value(samples, "rt_bridge_busy_threads") == 0
    assert prometheus_text.value(samples, "rt_bridge_queue_depth") == 0


# -- draining, backends, workers -----------------------------------------------------------------


def test_health_and_ready_say_503_while_draining(tmp_path_factory):
    with start(write_script(tmp_path_factory, "drain", SCRIPT)) as (server, port):
        with server.connect() as sock:
            sock.sendall(b"GET /slow?s=3 HTTP/1.1\r\nHost: x\r\n\r\n")
            eventually(lambda: prometheus_text.value(scrape(port), "rt_requests_in_flight") == 1,
                       "the slow request in flight")
            server.proc.send_signal(signal.SIGTERM)
            eventually(lambda: admin(port, "/health")[0] == 503, "/health saying draining")
            assert admin(port, "/health")[2] == b"draining\n"
            status, _, body = admin(port, "/ready")
            assert status == 503 and json.loads(body) == {"status": "draining"}
            assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 200")
        assert server.proc.wait(WAIT) == 0


def test_ready_follows_a_redis_that_stops_and_comes_back(tmp_path_factory):
    with RedisServer() as redis:
        with start(write_script(tmp_path_factory, "kv", KV_SCRIPT), "--kv", redis.url,
                   "--backend-timeout", "1") as (server, port):
            status, _, body = admin(port, "/ready")
            assert (status, json.loads(body)) == (200, {"status": "ready", "checked": ["kv"]})
            assert call(server, "/count")[0] == 200
            samples = scrape(port)
            assert prometheus_text.value(samples, "rt_backend_call_duration_seconds_count",
                                         call="kv.incr") == 1
            redis.stop()
            status, _, body = admin(port, "/ready")
            assert status == 503
            down = json.loads(body)
            assert down["status"] == "unavailable" and list(down["down"]) == ["kv"]
            assert f"Redis at 127.0.0.1:{redis.port}" in down["down"]["kv"]
            assert admin(port, "/health")[0] == 200  # alive, only not ready
            redis.start()
            eventually(lambda: admin(port, "/ready")[0] == 200, "/ready 200 again")
            assert call(server, "/count")[0] == 200


def test_ready_checks_kv_when_only_rate_limit_uses_it(tmp_path_factory):
    script = 'import middleware\nuse middleware.rate_limit(100)\nget "/" { return "hi" }\n'
    with RedisServer() as redis:
        with start(write_script(tmp_path_factory, "rate", script), "--kv", redis.url,
                   "--backend-timeout", "1") as (server, port):
            status, _, body = admin(port, "/ready")
            assert (status, json.loads(body)) == (200, {"status": "ready", "checked": ["kv"]})
            redis.stop()
            status, _, body = admin(port, "/ready")
            assert status == 503 and list(json.loads(body)["down"]) == ["kv"]


def test_with_two_workers_the_counters_are_summed(tmp_path_factory):
    with start(write_script(tmp_path_factory, "workers", SCRIPT),
               "--workers", "2") as (server, port):
        eventually(lambda: prometheus_text.value(scrape(port), "rt_workers") == 2,
                   "both workers reporting")
        sent = 40
        for i in range(sent):
            assert call(server, f"/items/{i}")[0] == 200  # a new connection each: both workers
        for _ in range(6):  # whichever worker takes the scrape, the sum is the same
            samples = scrape(port)
            assert prometheus_text.value(samples, "rt_workers") == 2
            assert prometheus_text.value(samples, "rt_requests_total", route="/items/:id",
                                         method="GET", status="200") == sent
            assert prometheus_text.value(samples, "rt_request_duration_seconds_count",
                                         route="/items/:id") == sent
            per_worker = dict((labels["worker"], n) for labels, n in
                              prometheus_text.series(samples, "rt_worker_requests_total"))
            assert set(per_worker) == {"0", "1"} and sum(per_worker.values()) == sent
    assert server.proc.returncode == 0


def test_admin_is_off_by_default(tmp_path_factory):
    with ServerProcess(write_script(tmp_path_factory, "off", SCRIPT)) as server:
        assert call(server, "/items/1")[0] == 200
        assert "admin port" not in server.log()


# -- pieces ------------------------------------------------------------------------------------


def test_the_admin_port_must_differ_from_the_port():
    with pytest.raises(ConfigError, match="admin_port"):
        Settings(port=9000).replace(admin_port=9000)


def test_a_ping_never_shows_the_password_of_the_url():
    from rtserve.stdlib.backends import BackendDown, pinger
    closed = free_port()
    config = Settings(kv=f"redis://user:hunter2secret@127.0.0.1:{closed}/0", backend_timeout=1)
    with pytest.raises(BackendDown) as caught:
        pinger("kv", config)(1.0)
    assert "hunter2secret" not in str(caught.value)
    assert f"127.0.0.1:{closed}" in str(caught.value)


class _Req:
    def __init__(self, route, method="GET"):
        self.route, self.method = route, method


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.sampled_from(["GET", "POST"]),
                          st.sampled_from([200, 404, 500]),
                          st.floats(min_value=0, max_value=20, allow_nan=False)), max_size=30))
def test_any_route_label_survives_the_exposition(observed):
    metrics = Metrics()
    for route, method, status, elapsed in observed:
        metrics.observe(_Req(route, method), status, elapsed)
    samples, _ = prometheus_text.parse(render(metrics.snapshot()))
    expected: dict = {}
    for route, method, status, _ in observed:
        key = (route, method, str(status))
        expected[key] = expected.get(key, 0) + 1
    assert requests_by_key(samples) == expected
    for route in {r for r, _, _, _ in observed}:
        count = sum(1 for r, _, _, _ in observed if r == route)
        assert prometheus_text.value(samples, "rt_request_duration_seconds_bucket",
                                     route=route, le="+Inf") == count


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["/a", "/b/:id"]), st.sampled_from([200, 503]),
                                   st.floats(min_value=0, max_value=3)), max_size=10),
                min_size=1, max_size=4))
def test_merging_workers_equals_counting_in_one(per_worker):
    together, snapshots = Metrics(), []
    for observed in per_worker:
        one = Metrics()
        for route, status, elapsed in observed:
            one.observe(_Req(route), status, elapsed)
            together.observe(_Req(route), status, elapsed)
        snapshots.append(json.loads(json.dumps(one.snapshot())))  # as a worker hands it over
    merged, single = merge(snapshots), together.snapshot()
    assert merged["workers"] == len(per_worker)
    assert sorted(merged["requests"]) == sorted(single["requests"])
    for route, (counts, total) in single["latency"].items():
        assert merged["latency"][route][0] == counts
        assert merged["latency"][route][1] == pytest.approx(total)


def test_a_taken_admin_port_is_named_in_a_clear_error(served, tmp_path):
    import subprocess
    import sys
    script = tmp_path / "app.script"
    script.write_text('get "/" { return "hi" }\n')
    taken = served[1]
    done = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", str(script),
                           "--port", "0", "--admin-port", str(taken)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken}: " in done.stderr
    assert "Traceback" not in done.stderr


def test_the_sqlite_ping_answers_and_names_a_file_it_cannot_open(tmp_path):
    from rtserve.stdlib.backends import BackendDown, pinger
    pinger("db", Settings(data_dir=str(tmp_path)))(1.0)
    pinger("kv", Settings(data_dir=str(tmp_path)))(1.0)
    assert (tmp_path / "db.sqlite3").exists() and (tmp_path / "kv.sqlite3").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(BackendDown, match="SQLite"):
        pinger("db", Settings(data_dir=str(blocker / "below")))(1.0)


def _limit_error(kind: str) -> BaseException:
    """The LimitError the language itself raises for `kind`."""
    from rtserve.lang import limits
    from rtserve.lang.errors import DeadlineExceeded
    from rtserve.lang.values import check_int
    budget = limits.Budget(10, max_memory=1024)
    previous = limits.activate(budget)
    try:
        if kind == "steps":
            limits.charge(100)
        elif kind == "memory":
            limits.allocate(10_000)
        elif kind == "size":
            check_int(1 << 5000)
        elif kind == "deadline":
            raise DeadlineExceeded("deadline exceeded")
    except BaseException as exc:  # noqa: B036 - LimitError is a BaseException
        return exc
    finally:
        limits.activate(previous)
    raise AssertionError(f"no LimitError for {kind}")


@pytest.mark.parametrize("kind", ["steps", "memory", "size", "deadline"])
def test_limit_kinds_are_read_off_the_errors_the_language_raises(kind):
    from rtserve.runtime.scripts.observe import limit_kind
    assert limit_kind(_limit_error(kind)) == kind
