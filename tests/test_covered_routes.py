"""One chain for every route kind: a script's top-level `use` and `on error` cover native
routes (sync and async), static files and unmatched paths, inline and with `--async`, and
native `app.use` middleware runs outside them (docs/native.md "Middleware order").

Strategy: one real server per mode serving tests/covered/app.script with the native module
tests/covered/native.py, spoken to with http.client; every answer is checked for what the
script middleware adds (CORS header, the status it saw) and for what the native middleware
adds around it.
"""
import json

import pytest

from serverproc import ROOT, ServerProcess, call

SCRIPT = "tests/covered/app.script"
NATIVE = str(ROOT / "tests/covered/native.py")
GOOD = {"Authorization": "Bearer good"}


@pytest.fixture(scope="module", params=["inline", "async"])
def server(request):
    extra = ["--async", "--threads", "4"] if request.param == "async" else []
    srv = ServerProcess(SCRIPT, *extra, native=NATIVE).start()
    yield srv
    srv.__exit__(None, None, None)


def covered(headers):
    return headers.get("access-control-allow-origin") == "*"


def test_script_auth_protects_a_native_post(server):
    status, headers, body = call(server, "/api/notes", method="POST", body=b"no token")
    assert status == 401 and json.loads(body)["error"] == "unauthorized"
    status, headers, body = call(server, "/api/notes", method="POST", body=b"hi", headers=GOOD)
    assert status == 201 and json.loads(body)["count"] >= 1 and covered(headers)
    assert headers["x-seen-status"] == "201"


def test_async_native_handler_runs_inside_the_script_chain(server):
    status, headers, body = call(server, "/api/slow", headers=GOOD)
    assert (status, json.loads(body)) == (200, {"async": True, "ip_seen": True})
    assert covered(headers)


def test_native_answer_keeps_its_body_type_and_headers(server):
    status, headers, body = call(server, "/api/text", headers=GOOD)
    assert (status, body) == (200, b"plain native")
    assert headers["content-type"] == "text/plain" and headers["x-from"] == "native"
    assert covered(headers)


def test_middleware_sees_and_may_change_a_native_body(server):
    status, headers, body = call(server, "/api/text?rewrite=1", headers=GOOD)
    assert (status, json.loads(body)) == (200, {"rewritten": "plain native"})


def test_native_http_error_is_a_response_the_middleware_sees(server):
    status, headers, body = call(server, "/api/teapot", headers=GOOD)
    assert status == 418 and json.loads(body) == {"error": "short and stout"}
    assert headers["x-kettle"] == "yes" and headers["x-seen-status"] == "418" and covered(headers)


def test_native_exception_reaches_on_error_without_internals(server):
    status, headers, body = call(server, "/api/boom", headers=GOOD)
    answer = json.loads(body)
    assert status == 502 and answer["caught"] == "NativeError"
    assert "secret internals" not in body.decode()
    assert "secret internals" in server.log()  # the traceback went to the log


def test_streamed_native_body_passes_through(server):
    status, headers, body = call(server, "/api/stream", headers=GOOD)
    assert (status, body) == (200, b"one,two") and covered(headers)


def test_static_files_and_unmatched_paths_are_covered(server):
    status, headers, body = call(server, "/files/hello.txt")
    assert (status, body) == (200, b"a static file\n") and covered(headers)
    status, headers, _ = call(server, "/nowhere")
    assert status == 404 and covered(headers)


def test_native_middleware_runs_outside_the_script_middleware(server):
    for path in ("/script", "/api/text"):
        status, headers, _ = call(server, path, headers=GOOD)
        assert status == 200 and headers["x-native-mw"] == "saw *", path


def test_native_middleware_reads_a_script_json_answer(server):
    status, headers, body = call(server, "/script-json", headers=GOOD)
    assert (status, json.loads(body)) == (200, {"a": [1, 2]})
    assert headers["content-type"] == "application/json" and headers["x-native-mw"] == "saw *"
