"""`rt serve --reload`: a changed script is served after a moment, loaded beside the old
version in the same process (no connection refused, in-flight requests unaffected); a version
that fails anywhere (static error, top level, route clash, `on start`) is logged and the old
one keeps serving; the text loaded is the text checked, and rapid writes converge on the last."""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time

import pytest

from serverproc import NATIVE_ROUTES, ServerProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body_of(port: int) -> bytes | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read()
    except OSError:
        return None  # between the old process and the new one
    finally:
        conn.close()


def wait_for_body(port: int, expected: bytes, timeout: float = 20.0) -> bytes | None:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = body_of(port)
        if got == expected:
            return got
        time.sleep(0.1)
    return got


def write(path, text: str) -> None:
    path.write_text(text)
    # make sure the modification time moves even on coarse-grained file systems
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


def test_reload_serves_the_changed_script_and_keeps_serving_through_a_broken_one(tmp_path):
    script = tmp_path / "app.script"
    helper = tmp_path / "lib.script"
    helper.write_text('let word = "one"\n')
    script.write_text('import "./lib.script" as lib\nget "/" { return lib.word }\n')
    port = free_port()
    with ServerProcess(str(script), "--reload", "--port", str(port), native=None) as server:
        assert wait_for_body(port, b"one") == b"one"
        write(helper, 'let word = "two"\n')  # an imported file counts too
        assert wait_for_body(port, b"two") == b"two"
        write(script, 'import "./lib.script" as lib\nget "/" { return lib.word + }\n')
        deadline = time.monotonic() + 20
        while "not reloading" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "not reloading" in server.log()
        assert "app.script:2:" in server.log()  # the mistake, with its position
        assert body_of(port) == b"two"  # the running version still serves
        write(script, 'get "/" { return "three" }\n')
        assert wait_for_body(port, b"three") == b"three"


# -- one server, many versions: each test starts from a good version of its own ----------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reload")
    script = folder / "app.script"
    script.write_text('get "/" { return "v0" }\n')
    port = free_port()
    with ServerProcess(str(script), "--reload", "--port", str(port), native=NATIVE_ROUTES) as server:
        assert wait_for_body(port, b"v0") == b"v0"
        yield server, script, port


def serve_version(live, body: str, extra: str = "") -> None:
    server, script, port = live
    write(script, f'{extra}get "/" {{ return "{body}" }}\n')
    assert wait_for_body(port, body.encode()) == body.encode()


def refused(live, source: str, *needles: str) -> str:
    """Write a failing version; wait for its refusal in the log; return that log entry."""
    server, script, port = live
    before = server.log().count("not reloading")
    write(script, source)
    deadline = time.monotonic() + 20
    while server.log().count("not reloading") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = server.log().split("not reloading")[before + 1] if server.log().count("not reloading") > before else ""
    for needle in needles:
        assert needle in entry, entry
    assert "Traceback" not in entry
    return entry


@pytest.mark.parametrize("source, needles", [
    ('let x = 1 / 0\nget "/" { return "bad" }\n', ["app.script:1:", "division by zero"]),
    ('get "/" { return "bad" }\nget "/" { return "worse" }\n', ["app.script:2:1", "clashes with"]),
    ('get "/plaintext" { return "bad" }\nget "/" { return "bad" }\n', ["/plaintext", "clashes with"]),
    ('on start { throw "no db" }\nget "/" { return "bad" }\n', ["on start failed", "no db"]),
    ('get "/" { return "bad" \n', ["app.script:1:"]),
], ids=["top-level-error", "route-clash", "clash-with-native", "on-start", "syntax"])
def test_a_version_failing_anywhere_keeps_the_old_one_serving(live, source, needles):
    server, script, port = live
    serve_version(live, "good")
    refused(live, source, *needles)
    assert body_of(port) == b"good"
    time.sleep(1.2)  # a few more ticks: the refused version is not retried, nor half-served
    assert body_of(port) == b"good"
    serve_version(live, "good again")


def test_reload_swaps_in_process_without_refusing_a_request(live):
    server, script, port = live
    serve_version(live, "before")
    pid_before = server.proc.pid
    results, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            results.append(body_of(port))
    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        serve_version(live, "after")
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(30)
    assert results and set(results) <= {b"before", b"after"}  # never refused, never an error
    assert results[-1] == b"after" and server.proc.pid == pid_before and server.proc.poll() is None


def test_rapid_writes_converge_on_the_last(live):
    server, script, port = live
    serve_version(live, "base")
    for n in range(2, 6):  # v2..v5, 50 ms apart: a reload may start on any of them
        write(script, f'get "/" {{ return "v{n}" }}\n')
        time.sleep(0.05)
    assert wait_for_body(port, b"v5") == b"v5"
    time.sleep(1.2)
    assert body_of(port) == b"v5"


def test_the_new_versions_on_start_runs_and_only_the_current_on_stop_runs_at_shutdown(tmp_path):
    script = tmp_path / "app.script"
    script.write_text('on start { print("start v1") }\non stop { print("stop v1") }\nget "/" { return "v1" }\n')
    port = free_port()
    with ServerProcess(str(script), "--reload", "--port", str(port), native=None) as server:
        assert wait_for_body(port, b"v1") == b"v1"
        write(script, 'on start { print("start v2") }\non stop { print("stop v2") }\nget "/" { return "v2" }\n')
        assert wait_for_body(port, b"v2") == b"v2"
        assert server.stop() == 0
        log = server.log()
    assert log.count("start v1") == log.count("start v2") == 1
    assert log.count("stop v2") == 1 and "stop v1" not in log


def test_reload_under_async_shares_the_running_thread_pool(tmp_path):
    script = tmp_path / "app.script"
    script.write_text('import time\nget "/" { time.sleep(0.01)\n return "a1" }\n')
    port = free_port()
    with ServerProcess(str(script), "--reload", "--async", "--threads", "2", "--port", str(port),
                       native=None) as server:
        assert wait_for_body(port, b"a1") == b"a1"
        write(script, 'import time\nget "/" { time.sleep(0.01)\n return "a2" }\n')
        assert wait_for_body(port, b"a2") == b"a2"
        threads = int(next(line.split()[1] for line in
                           open(f"/proc/{server.proc.pid}/status") if line.startswith("Threads:")))
        assert threads <= 1 + 2 + 1  # the loop, the one pool of 2, one spare: not a second pool
        assert server.stop() == 0
