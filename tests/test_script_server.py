"""Script handlers served for real (`rt serve tests/scripts/*.script`), inline and `--async`.

Strategy: one server per script and mode for the whole module (module-scoped fixtures
parametrized over the two modes), spoken to over real sockets with http.client, or with raw
sockets where the exact bytes matter (pipelined HEAD, repeated headers). What is only about
the bridge (32 concurrent sleepers, a full queue) or the process (on start/on stop, startup
errors, `rt routes`) gets its own short-lived server or subprocess. Log assertions poll the
server log, since a line may land a moment after the response it belongs to.
"""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serverproc import ROOT, ServerProcess, call, exchange, log_entry, read_response, wait_for_log

SCRIPTS = "tests/scripts"
SERVE = f"{SCRIPTS}/serve.script"
MIDDLEWARE = f"{SCRIPTS}/middleware.script"
MODES = {"inline": [], "async": ["--async", "--threads", "8"]}


# --------------------------------------------------------------------------- helpers


def line_of(script: str, text: str) -> int:
    """1-based line number of the first line of `script` containing `text`."""
    for number, line in enumerate((ROOT / script).read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {script}")


def start(*args: str) -> ServerProcess:
    return ServerProcess(*args, native=None).start()


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    srv = start(SERVE, "--max-steps", "200000", "--deadline", "1", *MODES[request.param])
    srv.mode = request.param
    yield srv
    srv.__exit__(None, None, None)


@pytest.fixture(scope="module", params=list(MODES))
def mw_server(request):
    srv = start(MIDDLEWARE, *MODES[request.param])
    srv.mode = request.param
    yield srv
    srv.__exit__(None, None, None)


# --------------------------------------------------------------------------- results (§7, §8)


@pytest.mark.parametrize("path, status, ctype, body", [
    ("/string", 200, "text/plain; charset=utf-8", b"hello"),
    ("/unicode", 200, "text/plain; charset=utf-8", "héllo ☃".encode()),
    ("/map", 200, "application/json", b'{"a":1,"b":[true,null,2.5]}'),
    ("/list", 200, "application/json", b'[1,"two",null]'),
    ("/int", 200, "application/json", b"42"),
    ("/float", 200, "application/json", b"1.5"),
    ("/bool", 200, "application/json", b"false"),
    ("/response", 201, "text/html", b"<b>made</b>"),
    ("/response-map", 202, "application/json", b'{"k":"v"}'),
    ("/json", 201, "application/json", b"[1,2]"),
    ("/html", 200, "text/html; charset=utf-8", b"<p>hi</p>"),
    ("/text", 202, "text/plain; charset=utf-8", b"plain words"),
])
def test_result_is_encoded(server, path, status, ctype, body):
    got_status, headers, got_body = call(server, path)
    assert (got_status, headers["content-type"], got_body) == (status, ctype, body)
    assert headers["content-length"] == str(len(body))


def test_nil_is_204_with_empty_body(server):
    status, headers, body = call(server, "/nil")
    assert (status, body) == (204, b"")
    assert "content-type" not in headers


def test_response_headers_are_sent_lower_case(server):
    reply = exchange(server, b"GET /response HTTP/1.1\r\nHost: x\r\n\r\n")[0]
    assert reply.status == 201
    assert ("x-made", "yes") in reply.header_list


@pytest.mark.parametrize("path, status, location", [
    ("/redirect", 302, "/string"),
    ("/redirect-301", 301, "/elsewhere"),
])
def test_redirect(server, path, status, location):
    got, headers, body = call(server, path)
    assert (got, headers["location"], body) == (status, location, b"")
    assert "content-type" not in headers  # no body, nothing to type
    assert headers["content-length"] == "0"


def test_abort_passes_through_try(server):
    status, headers, body = call(server, "/abort-in-try")
    assert status == 418
    assert json.loads(body) == {"error": "teapot"}


def test_abort_without_body_is_empty(server):
    status, _, body = call(server, "/abort-plain")
    assert (status, body) == (403, b"")


def test_bytes_result_is_octet_stream(server):
    raw = b"\x00\x01\xffraw\x80"
    status, headers, body = call(server, "/echo-bytes", "POST", body=raw)
    assert (status, headers["content-type"], body) == (200, "application/octet-stream", raw)


# --------------------------------------------------------------------------- the request (§6)


def test_request_fields(server):
    head = (b"GET /req/a%20b%C3%A9?x=1&x=2&y=%C3%A9&flag= HTTP/1.1\r\nHost: example\r\n"
            b"X-Dup: one\r\nX-DUP: two\r\nCookie: a=1; b=x%20y\r\nX-Request-Id: rid-fields\r\n\r\n")
    reply = exchange(server, head)[0]
    assert reply.status == 200, reply
    got = reply.json()
    assert got["method"] == "GET"
    assert got["path"] == "/req/a bé"
    assert got["target"] == "/req/a%20b%C3%A9?x=1&x=2&y=%C3%A9&flag="
    assert got["params"] == {"name": "a bé"}
    assert got["query"] == {"x": "2", "y": "é", "flag": ""}
    assert got["query_all"] == {"x": ["1", "2"], "y": ["é"], "flag": [""]}
    assert got["headers"]["x-dup"] == "one, two"
    assert got["headers"]["host"] == "example"
    assert all(name == name.lower() for name in got["headers"])
    assert got["cookies"] == {"a": "1", "b": "x y"}
    assert got["id"] == "rid-fields"
    assert got["ip"] == "127.0.0.1"


def test_request_id_is_generated_when_not_sent(server):
    ids = {call(server, "/request-id")[2] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) >= 8 for i in ids)


def test_catch_all_param_is_percent_decoded(server):
    status, _, body = call(server, "/files/a/b%2Fc%20d")
    assert (status, json.loads(body)) == (200, {"rest": "a/b/c d"})


def test_body_and_bytes(server):
    status, _, body = call(server, "/body", "POST", body="héllo".encode())
    assert (status, json.loads(body)) == (200, {"body": "héllo", "length": 6, "type": "bytes"})


@pytest.mark.parametrize("sent", [b"\xff\xfeok", b"caf\xc3", b"\xed\xa0\x80"])
def test_invalid_utf8_body_raises_a_catchable_value_error(server, sent):
    # LANGUAGE.md §6: `req.body` on invalid UTF-8 raises ValueError, which the script catches.
    status, _, body = call(server, "/body-text", "POST", body=sent)
    assert (status, body) == (200, b"ValueError")


@pytest.mark.parametrize("path", ["/body", "/form"])
@pytest.mark.parametrize("sent", [b"\xff\xfeok", b"caf\xc3", b"\xed\xa0\x80"])
def test_invalid_utf8_body_uncaught_is_the_clients_mistake_400(server, path, sent):
    # Nothing caught the ValueError: the client sent a body that is not UTF-8, so the answer
    # is 400 (as for a body that is not JSON), not a 500 blaming the script.
    status, headers, body = call(server, path, "POST", body=sent)
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "request body is not valid UTF-8"


def test_invalid_utf8_body_still_readable_as_bytes(server):
    status, _, body = call(server, "/echo-bytes", "POST", body=b"\xff\xfeok")
    assert (status, body) == (200, b"\xff\xfeok")


def test_req_json(server):
    status, _, body = call(server, "/json-body", "POST", body=b'{"a": [1, null]}')
    assert (status, json.loads(body)) == (200, {"got": {"a": [1, None]}})


def test_req_json_invalid_is_400(server):
    status, headers, body = call(server, "/json-body", "POST", body=b"{not json")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "request body is not valid JSON"}


def test_req_json_nested_too_deep_is_400(server):
    deep = b"[" * 100_000 + b"]" * 100_000
    status, _, body = call(server, "/json-body", "POST", body=deep)
    assert (status, json.loads(body)) == (400, {"error": "request body is not valid JSON"})


def test_req_form(server):
    status, _, body = call(server, "/form", "POST", body=b"a=1&b=x+y%21&a=3&empty=",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, json.loads(body)) == (200, {"a": "3", "b": "x y!", "empty": ""})


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_word_routes(server, method):
    status, _, body = call(server, "/m", method)
    assert (status, body.decode()) == (200, f"{method.lower()} {method}")


def test_explicit_head_route(server):
    status, headers, body = call(server, "/m", "HEAD")
    assert (status, headers.get("x-head"), body) == (200, "explicit", b"")


def test_head_falls_back_to_get_without_body(server):
    # Pipelined HEAD then GET: had the HEAD answer carried a body, the GET answer would not
    # parse (read_response in head mode reads no body).
    with server.connect() as sock:
        sock.sendall(b"HEAD /only-get HTTP/1.1\r\nHost: x\r\n\r\nGET /string HTTP/1.1\r\nHost: x\r\n\r\n")
        rfile = sock.makefile("rb")
        head = read_response(rfile, head=True)
        after = read_response(rfile)
    assert head.status == 200
    assert head.headers["content-length"] == str(len(b"twelve chars"))
    assert head.headers["content-type"] == "text/plain; charset=utf-8"
    assert (after.status, after.body) == (200, b"hello")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_any_matches_every_method(server, method):
    status, _, body = call(server, "/anything", method)
    assert (status, body.decode()) == (200, f"any {method}")


def test_wrong_method_is_405_with_allow(server):
    status, headers, body = call(server, "/only-get", "POST")
    assert status == 405
    assert [m.strip() for m in headers["allow"].split(",")] == ["GET", "HEAD"]
    assert json.loads(body) == {"error": "method not allowed"}


def test_unknown_path_is_404(server):
    status, _, body = call(server, "/no/such/route")
    assert (status, json.loads(body)) == (404, {"error": "not found"})


@pytest.mark.parametrize("path, status, body", [
    ("/api/ping", 200, b"api ping"),
    ("/api", 200, b"api root"),  # a group's "/" route is the group's own path
    ("/api/v2/ping", 200, b"api v2 ping"),
    ("/api/v2/deep/users/7", 200, b"user 7"),
    ("/ping", 404, None),
    ("/v2/ping", 404, None),
    ("/api/deep/users/7", 404, None),
])
def test_groups_prefix_their_routes(server, path, status, body):
    got_status, _, got_body = call(server, path)
    assert got_status == status
    if body is not None:
        assert got_body == body


# --------------------------------------------------------------------------- middleware


def test_middleware_order_top_level_then_groups(mw_server):
    # Each middleware appends its name after `next` returns: innermost first.
    for path, trace in [("/plain", "second;first;"),
                        ("/outer/here", "outer-group;second;first;"),
                        ("/outer/inner/here", "inner-group;outer-group;second;first;")]:
        status, headers, _ = call(mw_server, path)
        assert (status, headers.get("x-trace")) == (200, trace), path


def test_middleware_changes_status(mw_server):
    status, headers, body = call(mw_server, "/outer/inner/here?status=201")
    assert (status, body) == (201, b"inner here")
    assert headers["x-trace"] == "inner-group;outer-group;second;first;"


def test_middleware_sees_nil_as_204_response(mw_server):
    status, headers, body = call(mw_server, "/nil")
    assert (status, body, headers.get("x-trace")) == (204, b"", "second;first;")


def test_middleware_keeps_result_encoding(mw_server):
    status, headers, body = call(mw_server, "/map")
    assert (status, headers["content-type"], body) == (200, "application/json", b'{"n":1}')


def test_head_through_middleware_has_length_and_no_body(mw_server):
    with mw_server.connect() as sock:
        sock.sendall(b"HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
        rfile = sock.makefile("rb")
        head = read_response(rfile, head=True)
        after = read_response(rfile)
    assert (head.status, head.headers["content-length"], head.headers["x-trace"]) == (200, "5", "second;first;")
    assert (after.status, after.body) == (200, b"plain")


def test_outermost_middleware_short_circuits(mw_server):
    status, headers, body = call(mw_server, "/outer/inner/here", headers={"X-Stop": "1"})
    assert (status, body) == (403, b"stopped by first")
    assert "x-trace" not in headers


def test_group_middleware_short_circuits(mw_server):
    status, headers, body = call(mw_server, "/admin/panel")
    assert (status, json.loads(body)) == (401, {"error": "unauthorized"})
    assert headers["x-trace"] == "second;first;"
    status, _, body = call(mw_server, "/admin/panel", headers={"Authorization": "Bearer ok"})
    assert (status, body) == (200, b"admin panel")


def test_middleware_replaces_response_and_sees_abort(mw_server):
    assert json.loads(call(mw_server, "/replace/me")[2]) == {"was": 299, "body": "original"}
    assert json.loads(call(mw_server, "/replace/abort")[2]) == {"was": 409, "body": "conflict body"}


def test_top_level_use_wraps_404(mw_server):
    status, headers, body = call(mw_server, "/nowhere")
    assert (status, json.loads(body)) == (404, {"error": "not found"})
    assert headers["x-trace"] == "second;first;"


def test_top_level_use_wraps_405(mw_server):
    status, headers, body = call(mw_server, "/plain", "DELETE")
    assert status == 405
    assert [m.strip() for m in headers["allow"].split(",")] == ["GET", "HEAD"]
    assert headers["x-trace"] == "second;first;"


def test_top_level_use_can_short_circuit_unmatched(mw_server):
    status, _, body = call(mw_server, "/nowhere", headers={"X-Stop": "1"})
    assert (status, body) == (403, b"stopped by first")


def test_on_error_builds_the_answer(mw_server):
    rid = f"rid-on-error-{mw_server.mode}"
    status, _, body = call(mw_server, "/fail", headers={"X-Request-Id": rid})
    assert status == 502
    assert json.loads(body) == {"handled": "custom failure", "kind": "UserError", "id": rid}
    # The failure is still logged with its script position.
    entry = log_entry(wait_for_log(mw_server, rid), rid)
    line = line_of(MIDDLEWARE, 'get "/fail"')
    assert f"middleware.script:{line}:" in entry


# --------------------------------------------------------------------------- errors


def test_uncaught_error_is_500_with_request_id_only(server):
    rid = f"rid-boom-{server.mode}"
    status, headers, body = call(server, "/boom", headers={"X-Request-Id": rid})
    assert status == 500
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "internal server error", "request_id": rid}
    entry = log_entry(wait_for_log(server, rid), rid)
    assert "IndexError" in entry
    # The script's own stack: file:line:col of the failing expression.
    assert re.search(rf"serve\.script:{line_of(SERVE, 'return xs[5]')}:\d+", entry), entry
    assert "Traceback" not in entry


def test_uncaught_error_leaks_nothing(server):
    status, _, body = call(server, "/throw")
    assert status == 500
    assert set(json.loads(body)) == {"error", "request_id"}
    assert b"hunter2" not in body and b"UserError" not in body and b"serve.script" not in body


def test_generated_request_id_in_body_matches_log(server):
    status, _, body = call(server, "/boom")
    rid = json.loads(body)["request_id"]
    assert status == 500 and rid
    assert "IndexError" in log_entry(wait_for_log(server, rid), rid)


def test_mutating_frozen_top_level_list_is_500(server):
    rid = f"rid-frozen-{server.mode}"
    status, _, body = call(server, "/mutate-frozen", headers={"X-Request-Id": rid})
    assert (status, json.loads(body)["request_id"]) == (500, rid)
    assert "cannot mutate a frozen list" in log_entry(wait_for_log(server, rid), rid)


def test_reassigning_top_level_binding_is_500(server):
    rid = f"rid-reassign-{server.mode}"
    status, _, _ = call(server, "/reassign", headers={"X-Request-Id": rid})
    assert status == 500
    assert "COUNTER" in log_entry(wait_for_log(server, rid), rid)


@pytest.mark.parametrize("path", ["/header-injection", "/type-injection"])
def test_header_with_line_break_is_500_naming_the_route(server, path):
    rid = f"rid-inject-{server.mode}-{path[1:]}"
    reply = exchange(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {rid}\r\n\r\n".encode())[0]
    assert reply.status == 500
    assert "set-cookie" not in reply.headers and b"evil" not in reply.body
    entry = log_entry(wait_for_log(server, rid), rid)
    assert f"serve.script:{line_of(SERVE, path)}:" in entry
    assert "only visible ASCII" in entry and "Traceback" not in entry


@pytest.mark.parametrize("path, marker, complaint", [
    ("/returns-fn", 'get "/returns-fn"', "function"),
    ("/returns-nested-fn", 'get "/returns-nested-fn"', "function"),
    # NaN is not JSON: refused, never sent as NaN or null
    ("/not-a-number", "/not-a-number", "NaN or infinity"),
    ("/nested-deep", "/nested-deep", "nested"),
], ids=["unsendable-fn", "unsendable-nested-fn", "unencodable-nan", "unencodable-deep"])
def test_result_that_cannot_be_sent_is_500_naming_the_route_line(server, path, marker, complaint):
    rid = f"rid-unsent-{server.mode}-{path[1:]}"
    status, _, body = call(server, path, headers={"X-Request-Id": rid})
    assert status == 500
    assert json.loads(body) == {"error": "internal server error", "request_id": rid}
    entry = log_entry(wait_for_log(server, rid), rid)
    assert f"serve.script:{line_of(SERVE, marker)}:" in entry
    assert complaint in entry and "Traceback" not in entry


def test_records_answer(server):
    status, headers, body = call(server, "/records?n=3")
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == (b'[{"id":0,"name":"item-0","even":true},{"id":1,"name":"item-1","even":false},'
                    b'{"id":2,"name":"item-2","even":true}]')


# --------------------------------------------------------------------------- limits


def test_endless_loop_is_stopped_while_others_are_answered(server):
    rid = f"rid-spin-{server.mode}"
    with ThreadPoolExecutor(8) as pool:
        spin = pool.submit(call, server, "/spin", headers={"X-Request-Id": rid})
        others = [pool.submit(call, server, "/string") for _ in range(6)]
        answers = [f.result(timeout=30) for f in others]
        spun = spin.result(timeout=30)
    assert all((s, b) == (200, b"hello") for s, _, b in answers)
    assert spun[0] == 500
    assert json.loads(spun[2]) == {"error": "internal server error", "request_id": rid}
    entry = log_entry(wait_for_log(server, rid), rid)
    assert "LimitError" in entry and "step budget" in entry
    assert f"serve.script:{line_of(SERVE, 'while true')}:" in entry
    assert call(server, "/string")[0] == 200  # and the server carries on


def test_deadline_answers_503_well_before_the_sleep_ends(server):
    started = time.monotonic()
    status, _, body = call(server, "/nap")
    elapsed = time.monotonic() - started
    assert status == 503
    assert json.loads(body)["error"] == "deadline exceeded"
    assert elapsed < 4.0, elapsed  # --deadline 1, the handler sleeps 5 s


def test_deep_recursion_is_a_limit_error(server):
    rid = f"rid-deep-{server.mode}"
    status, _, _ = call(server, "/deep", headers={"X-Request-Id": rid})
    assert status == 500
    entry = log_entry(wait_for_log(server, rid), rid)
    assert "LimitError" in entry
    assert call(server, "/string")[0] == 200


# --------------------------------------------------------------------------- the bridge


def test_async_32_sleepers_run_at_once():
    with ServerProcess(SERVE, "--async", "--threads", "32", native=None) as srv:
        assert call(srv, "/string")[0] == 200  # warm up
        barrier = threading.Barrier(32)

        def sleeper(_):
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            conn.connect()
            barrier.wait(timeout=30)
            try:
                conn.request("GET", "/sleep?s=0.5")
                resp = conn.getresponse()
                return resp.status, resp.read()
            finally:
                conn.close()

        with ThreadPoolExecutor(32) as pool:
            started = time.monotonic()
            results = list(pool.map(sleeper, range(32)))
            elapsed = time.monotonic() - started
    assert results == [(200, b"slept")] * 32
    assert elapsed < 3.0, f"32 x 0.5 s sleeps took {elapsed:.2f} s (sequential: 16 s)"


def test_full_queue_answers_503_with_retry_after_at_once():
    with ServerProcess(SERVE, "--async", "--threads", "1", "--queue", "1", native=None) as srv:
        with ThreadPoolExecutor(4) as pool:
            running = pool.submit(call, srv, "/sleep-logged?s=4&tag=first")
            wait_for_log(srv, "sleeping first")  # the only worker holds it now
            timed = lambda path: (time.monotonic(), call(srv, path), time.monotonic())  # noqa: E731
            second = pool.submit(timed, "/sleep?s=0.1")
            time.sleep(0.3)
            third = pool.submit(timed, "/string")
            answers = [second.result(timeout=30), third.result(timeout=30)]
            assert running.result(timeout=30)[0] == 200
    # One of the two waited in the queue (size 1) and was served; the other found it full
    # and was refused at once (which one depends on arrival order on a loaded machine).
    refused = [(start, reply, end) for start, reply, end in answers if reply[0] == 503]
    served = [reply for _, reply, _ in answers if reply[0] == 200]
    assert len(refused) == 1 and len(served) == 1, answers
    start, (status, headers, body), end = refused[0]
    assert int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"]
    assert end - start < 2.0, end - start  # at once, not after the 4 s the worker is busy


def test_bridge_job_that_raises_fails_its_request_and_the_worker_lives_on():
    import asyncio
    from rtserve.runtime.scripts.bridge import Bridge

    async def scenario():
        bridge = Bridge(threads=1, queue=4)
        bridge.start(asyncio.get_running_loop())
        try:
            failing = bridge.submit(lambda: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                await asyncio.wait_for(failing, 10)
            # the only worker is still there to run the next job
            return await asyncio.wait_for(bridge.submit(lambda: "next"), 10)
        finally:
            bridge.stop()
    assert asyncio.run(scenario()) == "next"


# --------------------------------------------------------------------------- the process


@pytest.mark.parametrize("mode", list(MODES))
def test_on_start_and_on_stop_run_once(mode):
    srv = ServerProcess(SERVE, *MODES[mode], native=None)
    try:
        srv.start()
        assert call(srv, "/string")[0] == 200
        assert srv.stop() == 0
        log = srv.log()
    finally:
        srv.__exit__(None, None, None)
    assert log.count("serve.script on start ran") == 1
    assert log.count("serve.script on stop ran") == 1
    assert log.index("serve.script on start ran") < log.index("listening on")
    assert log.index("serve.script on stop ran") > log.index("shutting down")


def rt(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_native_and_script_route_clash_is_a_startup_error():
    done = rt("serve", "--port", "0", f"{SCRIPTS}/clash.script",
              "--native", "tests/native_routes.py")
    assert done.returncode == 1
    line = line_of(f"{SCRIPTS}/clash.script", 'get "/plaintext"')
    assert f"clash.script:{line}:1" in done.stderr
    assert "native_routes.py:" in done.stderr
    assert "/plaintext" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_syntax_error_stops_serve_with_position_and_caret():
    done = rt("serve", "--port", "0", f"{SCRIPTS}/syntax_error.script")
    assert done.returncode == 1
    assert re.search(r"syntax_error\.script:\d+:\d+: error: ", done.stderr), done.stderr
    assert re.search(r"^\s*\^+\s*$", done.stderr, re.M), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "listening on" not in done.stderr + done.stdout


def test_rt_routes_lists_method_path_kind_and_source():
    done = rt("routes", SERVE)
    assert done.returncode == 0, done.stderr
    rows = {tuple(line.split()[:3]): line.split()[3] for line in done.stdout.splitlines()[1:]}
    line = line_of(SERVE, 'get "/string"')
    assert rows[("GET", "/string", "script")] == f"{SERVE}:{line}:1"
    assert ("ANY", "/anything", "script") in rows
    assert ("HEAD", "/m", "script") in rows
    assert ("GET", "/api/v2/deep/users/:id", "script") in rows
    assert done.stdout.splitlines()[0].split() == ["METHOD", "PATH", "KIND", "SOURCE"]


def test_rt_routes_lists_native_and_static_routes():
    done = rt("routes", f"{SCRIPTS}/static.script", "--native", "tests/native_routes.py")
    assert done.returncode == 0, done.stderr
    rows = {tuple(line.split()[:3]): line.split()[3] for line in done.stdout.splitlines()[1:]}
    assert rows[("GET", "/assets/*path", "static")] == f"{SCRIPTS}/static.script:3:1"
    assert rows[("GET", "/v1/files/*path", "static")].startswith(f"{SCRIPTS}/static.script:")
    assert rows[("GET", "/", "script")].startswith(f"{SCRIPTS}/static.script:")
    assert rows[("GET", "/plaintext", "native")].startswith("tests/native_routes.py:")


# -- the bridge's batches: one worker runs a loop turn's jobs in turn, unless one is slow ------


def _run_batch(jobs, threads: int):
    """Submit `jobs` in one loop turn; (seconds until each job's result arrived, results)."""
    import asyncio
    from rtserve.runtime.scripts.bridge import Bridge

    async def scenario():
        bridge = Bridge(threads=threads, queue=1000)
        bridge.start(asyncio.get_running_loop())
        try:
            started = time.monotonic()
            deferreds = [bridge.submit(job) for job in jobs]  # no await: one loop turn

            async def timed(deferred):
                value = await asyncio.wait_for(deferred, 20)
                return time.monotonic() - started, value
            return await asyncio.gather(*(timed(d) for d in deferreds))
        finally:
            bridge.stop()
    return asyncio.run(scenario())


def test_an_outcome_that_arrives_before_anyone_awaits_is_kept():
    # A task that awaits a job's Deferred may start only after the job is done (the
    # scripting layer's middleware and static paths await them): the outcome must wait for
    # it, not be dropped, which left such a request unanswered.
    import asyncio
    import threading
    from rtserve.runtime.scripts.bridge import Bridge

    async def scenario():
        bridge = Bridge(threads=1, queue=10)
        bridge.start(asyncio.get_running_loop())
        ran = threading.Event()
        try:
            ok = bridge.submit(lambda: 42)
            failing = bridge.submit(lambda: 1 / 0)
            late = bridge.submit(lambda: ran.set() or "late")
            deadline = time.monotonic() + 10
            while not ran.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the loop settles the outcomes: nobody waits for them yet
            value = await asyncio.wait_for(ok, 5)
            with pytest.raises(ZeroDivisionError):
                await asyncio.wait_for(failing, 5)
            called = []
            late.when_done(lambda *outcome: called.append(outcome))
            return value, called
        finally:
            bridge.stop()
    assert asyncio.run(scenario()) == (42, [(True, "late")])


def test_a_batch_of_quick_jobs_gives_each_its_own_result():
    answers = _run_batch([(lambda i=i: i * i) for i in range(300)], threads=4)
    assert [value for _, value in answers] == [i * i for i in range(300)]


def test_a_sleeping_job_hands_its_batch_mates_to_other_workers():
    from rtserve.lang import limits
    jobs = [lambda: limits.sleep(2.0) or "slept"] + [(lambda i=i: i) for i in range(5)]
    answers = _run_batch(jobs, threads=2)
    assert answers[0][1] == "slept" and answers[0][0] >= 1.9
    quick = [elapsed for elapsed, _ in answers[1:]]
    assert max(quick) < 1.5, quick  # not behind the sleeper (2 s)


def test_a_long_script_computation_hands_its_batch_mates_to_other_workers():
    from rtserve.lang.loader import Loader
    spin = Loader().load("/tmp/rt_bridge_spin.script", source="""
fn spin(seconds) {
    let until = seconds * 1000000
    let i = 0
    while i < until { i += 1 }
    return i
}
""").exports["spin"]
    # About as many steps as the machine runs in some seconds: far more than one refill.
    jobs = [lambda: spin(3)] + [(lambda i=i: i) for i in range(5)]
    answers = _run_batch(jobs, threads=2)
    spin_took = answers[0][0]
    quick = [elapsed for elapsed, _ in answers[1:]]
    assert max(quick) < spin_took / 2, (quick, spin_took)


def test_jobs_waiting_inside_a_workers_batch_count_against_the_queue():
    import asyncio
    from rtserve.runtime.scripts.bridge import Bridge, QueueFull

    async def scenario():
        bridge = Bridge(threads=1, queue=3)
        bridge.start(asyncio.get_running_loop())
        try:
            # One batch: a job that blocks without announcing it (plain time.sleep, so it
            # keeps its batch), and two jobs behind it that have not started.
            first = [bridge.submit(lambda: time.sleep(1.0) or "slow"),
                     bridge.submit(lambda: "a"), bridge.submit(lambda: "b")]
            waiting = asyncio.gather(*(asyncio.wait_for(d, 10) for d in first))
            await asyncio.sleep(0.3)  # the only worker has taken the batch and is blocked
            second = asyncio.ensure_future(asyncio.wait_for(bridge.submit(lambda: "c"), 10))
            with pytest.raises(QueueFull):  # a, b and c wait: the bound
                bridge.submit(lambda: "refused")
            results = await waiting + [await second]
            # The queue drained: a job is taken again.
            results.append(await asyncio.wait_for(bridge.submit(lambda: "later"), 10))
            return results
        finally:
            bridge.stop()
    assert asyncio.run(scenario()) == ["slow", "a", "b", "c", "later"]

