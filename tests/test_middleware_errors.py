"""`next(req)` always gives a response (docs/server.md "Middleware"): a handler's error, an
inner middleware's error or `abort`, and a native handler's exception are answered where they
happen (by `on error` or as the 500) and every middleware outside sees that answer, so CORS
and security headers are on failures too and a logging middleware sees each status. A limit
still ends the whole request.

Strategy: one real server per mode (inline, --async) for a script written here, spoken to
with http.client; each route fails in its own way.
"""
import json

import pytest

from serverproc import ServerProcess, call

SCRIPT = '''\
import middleware
use middleware.cors(origins: ["https://app.example"])
use middleware.security_headers()
use fn (req, next) {
    let res = next(req)
    res.headers["x-seen-status"] = str(res.status)
    return res
}
group "/inner" {
    use fn (req, next) {
        if req.path == "/inner/abort" { abort(401, {"error": "no"}) }
        if req.path == "/inner/throws" { throw "the middleware failed" }
        return next(req)
    }
    get "/abort" { return "never" }
    get "/throws" { return "never" }
}
group "/caught" {
    use fn (req, next) {
        try {
            return next(req)
        } catch e {
            return {"caught": e.message}
        }
    }
    get "/boom" { throw "handler failed" }
}
get "/boom" { let xs = []; return xs[3] }
get "/ok" { return "fine" }
get "/spin" { while true { } }
'''
ORIGIN = {"Origin": "https://app.example"}


@pytest.fixture(scope="module", params=["inline", "async"])
def server(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mw-errors")
    (folder / "app.script").write_text(SCRIPT)
    extra = ["--async", "--threads", "2"] if request.param == "async" else []
    srv = ServerProcess(str(folder / "app.script"), "--deadline", "1", *extra, native=None).start()
    yield srv
    srv.__exit__(None, None, None)


def wrapped(headers) -> bool:
    """What each of the three top-level middleware adds is on the answer."""
    return (headers.get("access-control-allow-origin") == "https://app.example"
            and headers.get("x-content-type-options") == "nosniff"
            and "x-seen-status" in headers)


def test_a_handler_error_is_a_500_the_middleware_dresses(server):
    status, headers, body = call(server, "/boom", headers=ORIGIN)
    assert status == 500 and wrapped(headers) and headers["x-seen-status"] == "500"
    answer = json.loads(body)
    assert answer["error"] == "internal server error" and answer["request_id"]
    assert "IndexError" in server.log()  # logged with the script's stack, not sent


def test_an_inner_abort_and_an_inner_error_reach_the_outer_middleware(server):
    status, headers, body = call(server, "/inner/abort", headers=ORIGIN)
    assert (status, json.loads(body)) == (401, {"error": "no"})
    assert wrapped(headers) and headers["x-seen-status"] == "401"
    status, headers, body = call(server, "/inner/throws", headers=ORIGIN)
    assert status == 500 and wrapped(headers) and headers["x-seen-status"] == "500"


def test_try_around_next_sees_the_answer_not_the_error(server):
    status, headers, body = call(server, "/caught/boom", headers=ORIGIN)
    assert status == 500 and "caught" not in json.loads(body)
    assert wrapped(headers)


def test_a_limit_still_ends_the_whole_request(server):
    status, headers, body = call(server, "/spin", headers=ORIGIN)
    # the step budget or the deadline, whichever comes first
    assert (status, json.loads(body)["error"]) in [(500, "internal server error"), (503, "deadline exceeded")]
    assert "x-seen-status" not in headers  # no middleware ran after the limit
    assert call(server, "/ok")[0] == 200


def test_on_error_answers_inside_the_chain(tmp_path):
    (tmp_path / "app.script").write_text('''\
use fn (req, next) {
    let res = next(req)
    res.headers["x-seen-status"] = str(res.status)
    return res
}
on error (req, err) { return response({"kind": err.kind}, status: 502) }
get "/boom" { return 1 // 0 }
''')
    with ServerProcess(str(tmp_path / "app.script"), native=None) as srv:
        status, headers, body = call(srv, "/boom")
    assert (status, json.loads(body)) == (502, {"kind": "ValueError"})
    assert headers["x-seen-status"] == "502"
