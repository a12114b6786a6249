"""Answers are always well-formed, whatever a native handler returns: a status outside 200-599,
a header that is no token or holds a control character, a framing header, a header value
that is no string or number, NaN or an infinity in JSON each end as a 500 logged with the
route (never a Python repr, a second Content-Length or `Infinity` on the wire), and the
well-formed neighbours of each pass unchanged. Raw sockets where the exact bytes matter."""
import json
from pathlib import Path

import pytest

from answer_routes import HEADERS
from serverproc import ServerProcess, exchange, recv_all

ROUTES = str(Path(__file__).resolve().parent / "answer_routes.py")


@pytest.fixture(scope="module")
def server():
    with ServerProcess(native=ROUTES) as srv:
        yield srv


def get(server, path: str, method: str = "GET"):
    """One request on its own connection: the parsed reply and the raw head bytes."""
    reply, = exchange(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                      head=method == "HEAD")
    return reply


def assert_logged_500(server, reply, path: str) -> None:
    assert reply.status == 500
    assert json.loads(reply.body)["error"] == "internal server error"
    for line in server.log().splitlines():
        if "handler failed" in line and path in line:
            return
    raise AssertionError(f"no 'handler failed' line for {path} in:\n{server.log()[-3000:]}")


@pytest.mark.parametrize("name", ["100", "101", "103", "199", "600", "0", "-200", "true",
                                  "string", "none"])
@pytest.mark.parametrize("kind", ["status", "status-error", "status-stream", "status-async"])
def test_a_status_outside_200_599_is_a_logged_500(server, kind, name):
    path = f"/{kind}/{name}"
    assert_logged_500(server, get(server, path), path)


@pytest.mark.parametrize("name, status", [("200", 200), ("299", 299), ("599", 599)])
def test_final_statuses_pass(server, name, status):
    assert get(server, f"/status/{name}").status == status
    assert get(server, f"/status-stream/{name}").status == status


def test_an_interim_status_cannot_pair_pipelined_answers_wrongly(server):
    # A 1xx on the wire would be read as an interim answer: the client would take the next
    # answer for the first request. Each request gets exactly one final answer, in order.
    replies = exchange(server, b"GET /status/101 HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /status-async/100 HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", count=4)
    assert [r.status for r in replies] == [500, 200, 500, 200]
    assert replies[1].body == replies[3].body == b"fine"


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_a_malformed_header_is_a_logged_500(server, name):
    path = f"/header/{name}"
    with server.connect() as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += sock.recv(65536)
    head = raw.split(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.1 500 ")
    assert head.count(b"Content-Length:") == 1 and b"Transfer-Encoding" not in head
    assert b"0x" not in raw and b"<" not in raw  # no Python repr (`<built-in function ...>`)
    assert_logged_500(server, get(server, path), path)


def test_header_lines_are_exactly_as_set(server):
    with server.connect() as sock:
        sock.sendall(b"GET /header/cookies HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/number HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/inner-space-and-tab HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/surrounding-space HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/empty-value HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/pairs HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /header/content-type HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = recv_all(sock, timeout=10)
    heads = [part.split(b"\r\n\r\n")[0] for part in raw.split(b"HTTP/1.1 ")[1:]]
    assert len(heads) == 7 and all(h.startswith(b"200 OK\r\n") for h in heads)
    cookies, number, spaced, padded, empty, pairs, ctype = heads
    assert b"\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\n" in cookies
    assert b"\r\nX-Int: 42\r\n" in number and b"\r\nX-Float: 1.5\r\n" in number
    assert b"\r\nX-Text: a b\tc\r\n" in spaced
    assert b"\r\nX-Padded: padded\r\n" in padded
    assert b"\r\nX-Empty: \r\n" in empty
    assert b"\r\nX-Rep: 1\r\nX-Rep: 2\r\n" in pairs
    # A Content-Type among the headers replaces the body's default: one field, not two.
    assert ctype.count(b"Content-Type:") == 1 and b"\r\nContent-Type: text/csv\r\n" in ctype


def test_token_characters_pass_in_names(server):
    reply = get(server, "/header/token-chars")
    assert reply.status == 200 and reply.headers["x-!#$%&'*+-.^_`|~"] == "v"


@pytest.mark.parametrize("where", ["dict", "list", "nested", "response"])
def test_nan_and_infinities_in_json_are_a_logged_500(server, where):
    path = f"/nan/{where}"
    reply = get(server, path)
    assert b"Infinity" not in reply.body and b"NaN" not in reply.body
    assert_logged_500(server, reply, path)


def test_finite_floats_pass(server):
    reply = get(server, "/nan/fine")
    assert reply.status == 200 and reply.json() == {"x": 1.5, "big": 1e308}


def test_head_answers_refuse_alike(server):
    assert get(server, "/status/101", method="HEAD").status == 500
