"""`rt serve --reload`: a changed script is served after a moment; a broken change is not."""
from __future__ import annotations

import http.client
import socket
import time

from serverproc import ServerProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body_of(port: int) -> bytes | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
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
    import os
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
