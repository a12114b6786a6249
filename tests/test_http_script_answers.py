"""Scripts send well-formed answers only (STDLIB.md on response headers): a status outside
200-599 (`abort(100)`, `res.status = 101`, `response(..., status: 1xx)`) and a header HTTP
refuses (no token, control characters, a value that is no string, number or list of strings,
a framing header) are errors at the script line that set them; a header assigned through
`res.headers[...]` is refused when the answer is sent, logged with the route; NaN and
infinities in JSON answers are a 500 logged with the route, never `Infinity` on the wire.
Served inline and with --async; raw sockets where the bytes matter."""
import json

import pytest

from serverproc import ROOT, ServerProcess, exchange, log_entry, recv_all, wait_for_log

SCRIPT = "tests/scripts/answers.script"
MODES = {"inline": [], "async": ["--async", "--threads", "2"]}


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    with ServerProcess(str(ROOT / SCRIPT), *MODES[request.param], native=None) as srv:
        yield srv


def line_of(text: str) -> int:
    for number, line in enumerate((ROOT / SCRIPT).read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {SCRIPT}")


def entry_for(server, rid: str, timeout: float = 10.0) -> str:
    """The log record naming request id `rid`, with its indented continuation lines."""
    return log_entry(wait_for_log(server, f"request_id={rid}", timeout=timeout), rid)


def get(server, path: str, rid: str):
    reply, = exchange(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {rid}\r\n\r\n".encode())
    return reply


def refused(server, path: str, *needles: str, where: str | None = None):
    """GET `path`: a 500 without internals, logged naming the script line of `where`
    (the route itself by default) and every needle. Returns the log entry."""
    rid = f"rid-{server.args[:1]}-{path[1:]}".replace("'", "").replace("[", "").replace("]", "")
    reply = get(server, path, rid)
    assert reply.status == 500 and json.loads(reply.body)["error"] == "internal server error"
    entry = entry_for(server, rid)
    assert f"answers.script:{line_of(where or path)}" in entry, entry
    for needle in needles:
        assert needle in entry, entry
    assert "Traceback" not in entry
    return entry


@pytest.mark.parametrize("path, where", [
    ("/abort-100", None), ("/abort-199", None), ("/set-status-101", "res.status = 101"),
    ("/response-103", None), ("/json-150", None), ("/text-600", None), ("/html-0", None),
])
def test_a_status_outside_200_599_is_an_error_at_its_line(server, path, where):
    refused(server, path, "ValueError", "between 200 and 599", where=where)


@pytest.mark.parametrize("path, kind, needle, where", [
    ("/h-function", "TypeError", "not function", None),
    ("/h-map", "TypeError", "not map", None),
    ("/h-bool", "TypeError", "not bool", None),
    ("/h-nil", "TypeError", "not nil", None),
    ("/h-list-int", "TypeError", "not a list holding int", None),
    ("/h-tab-name", "ValueError", "not an HTTP token", None),
    ("/h-control", "ValueError", "only visible ASCII", None),
    ("/h-del", "ValueError", "only visible ASCII", None),
    ("/h-non-ascii", "ValueError", "only visible ASCII", None),
    ("/h-inf", "ValueError", "not a finite number", None),
    ("/h-content-length", "ValueError", "set by the server", None),
    ("/h-transfer-encoding", "ValueError", "set by the server", None),
    ("/h-connection", "ValueError", "set by the server", None),
    ("/h-assign-map", "ValueError", "set by the server", 'res.headers = {"content-length"'),
    ("/h-type", "ValueError", "only visible ASCII", None),
    ("/h-redirect", "ValueError", "only visible ASCII", None),
])
def test_a_header_http_refuses_is_an_error_at_its_line(server, path, kind, needle, where):
    refused(server, path, kind, needle, where=where)


def test_a_header_assigned_into_the_map_is_refused_when_sent(server):
    # `res.headers[...] = v` changes a plain map: the value is checked when the answer is
    # sent, and the log names the route.
    refused(server, "/h-index-set", "cannot be sent", "not function")


@pytest.mark.parametrize("path", ["/nan-map", "/nan-list", "/nan-nested", "/nan-json",
                                  "/nan-response"])
def test_nan_and_infinities_in_answers_are_a_logged_500(server, path):
    rid = f"rid-nan-{len(server.args)}-{path[1:]}"
    reply = get(server, path, rid)
    assert reply.status == 500 and b"Infinity" not in reply.body and b"NaN" not in reply.body
    entry = entry_for(server, rid)
    assert f"answers.script:{line_of(path)}" in entry and "NaN or infinity" in entry, entry


def test_well_formed_neighbours_pass(server):
    with server.connect() as sock:
        sock.sendall(b"GET /ok-cookies HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /ok-numbers HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /ok-index-set HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /ok-float HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = recv_all(sock, timeout=10)
    answers = raw.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == 4
    cookies, numbers, index_set, floats = answers
    assert cookies.startswith(b"200 ")
    assert b"\r\nset-cookie: a=1; Path=/\r\nset-cookie: b=2; HttpOnly\r\n" in cookies
    assert b"\r\nx-int: 42\r\n" in numbers and b"\r\nx-float: 1.5\r\n" in numbers
    assert index_set.startswith(b"299 ") and b"\r\nx-b: 1\r\nx-b: 2\r\n" in index_set
    assert floats.startswith(b"200 ") and floats.endswith(b'{"x":1.5}')
