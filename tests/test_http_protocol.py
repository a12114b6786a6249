"""HTTP/1.1 protocol behaviour over raw sockets: keep-alive, HTTP/1.0, pipelining, HEAD,
100-continue, chunked bodies, Date, limits, malformed input, smuggling attempts, requests
fed one byte at a time, and trailing garbage."""
import json
import re
import select
import socket
import time

import pytest

from serverproc import ServerProcess, closed_by_peer, exchange, read_response, recv_all

GET = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--max-body", "1000") as srv:
        yield srv


def get(path: str) -> bytes:
    return GET % path.encode()


def test_keep_alive_serves_several_requests_on_one_connection(server):
    with server.connect() as sock:
        rfile = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(get("/plaintext"))
            reply = read_response(rfile)
            assert reply.status == 200 and reply.body == b"Hello, World!"
            assert "connection" not in reply.headers


def test_connection_close_request_gets_close_and_closed(server):
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rfile = sock.makefile("rb")
        reply = read_response(rfile)
        assert reply.headers["connection"] == "close"
        assert rfile.read() == b""  # closed by the server


def test_http10_closes_by_default(server):
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.0\r\n\r\n")
        rfile = sock.makefile("rb")
        reply = read_response(rfile)
        assert reply.status == 200 and reply.headers["connection"] == "close"
        assert rfile.read() == b""


def test_http10_keep_alive_when_asked(server):
    with server.connect() as sock:
        rfile = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            reply = read_response(rfile)
            # An HTTP/1.0 client keeps the connection only when the answer says so.
            assert reply.status == 200 and reply.headers["connection"] == "keep-alive"


def test_pipelined_requests_are_answered_in_order(server):
    # The slow async handler comes first: the fast sync ones behind it must not overtake it.
    data = (get("/slow?s=0.3&tag=a") + get("/plaintext") + get("/slow?s=0.05&tag=b")
            + get("/users/7") + get("/json"))
    replies = exchange(server, data, count=5)
    assert [r.body for r in replies] == [b"slow a", b"Hello, World!", b"slow b", b'{"id":"7"}',
                                         b'{"message":"Hello, World!","n":1}']


def test_many_pipelined_requests_in_one_send(server):
    paths = [f"/users/{i}" for i in range(200)]
    replies = exchange(server, b"".join(get(p) for p in paths), count=len(paths))
    assert [r.json()["id"] for r in replies] == [str(i) for i in range(200)]


def test_head_request_has_headers_but_no_body(server):
    with server.connect() as sock:
        sock.sendall(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n" + get("/plaintext"))
        rfile = sock.makefile("rb")
        head = read_response(rfile, head=True)
        assert head.headers["content-length"] == str(256 * 1024)
        after = read_response(rfile)
        assert after.body == b"Hello, World!"


def test_date_header_on_every_response_and_refreshed(server):
    dates = []
    for path in ("/plaintext", "/nowhere", "/none"):
        [reply] = exchange(server, get(path))
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", reply.headers["date"])
        dates.append(reply.headers["date"])
    time.sleep(1.3)
    [later] = exchange(server, get("/plaintext"))
    assert later.headers["date"] != dates[0]


def test_expect_100_continue_then_body(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        rfile = sock.makefile("rb")
        interim = read_response(rfile)
        assert interim.status == 100
        sock.sendall(b"hello")
        reply = read_response(rfile)
        assert reply.status == 200 and reply.body == b"hello"


def test_expect_100_continue_refused_with_413_when_too_large(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        rfile = sock.makefile("rb")
        reply = read_response(rfile)
        assert reply.status == 413 and reply.headers["connection"] == "close"
        assert rfile.read() == b""


def test_chunked_request_body(server):
    body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    [reply] = exchange(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               b"\r\n" + body)
    assert reply.status == 200 and reply.body == b"hello, world"


def test_chunked_body_over_limit_is_413(server):
    chunk = b"%x\r\n%s\r\n" % (600, b"a" * 600)
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunk + chunk)
        reply = read_response(sock.makefile("rb"))
    assert reply.status == 413


def test_content_length_over_limit_is_413_without_reading_body(server):
    with server.connect() as sock:
        # Only the head is sent: the answer must come from Content-Length alone.
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
        rfile = sock.makefile("rb")
        reply = read_response(rfile)
        assert reply.status == 413 and json.loads(reply.body) == {"error": "request body too large"}
        assert reply.headers["connection"] == "close"


def test_a_refused_body_the_client_goes_on_sending_does_not_reset_the_answer(server):
    # A client that does not wait (no Expect) sends its whole body at once. rt refuses it
    # from the head, and must then read and drop the rest before closing: closed with unread
    # bytes, the kernel answers with a reset, which can destroy the 413 before it is read.
    for _ in range(5):
        with server.connect() as sock:
            body = b"z" * (2 * 1024 * 1024)
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
            try:
                sock.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            time.sleep(0.2)  # the server has read (and dropped) what arrived by now
            sock.shutdown(socket.SHUT_WR)
            reply = read_response(sock.makefile("rb"))
            assert reply.status == 413 and reply.headers["connection"] == "close"


def test_body_at_limit_is_accepted(server):
    [reply] = exchange(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                       + b"b" * 1000)
    assert reply.status == 200 and len(reply.body) == 1000


def test_too_many_headers_is_431(server):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    [reply] = exchange(server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert reply.status == 431 and reply.headers["connection"] == "close"


def test_hundred_headers_are_fine(server):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(99))
    [reply] = exchange(server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert reply.status == 200


def test_head_over_64k_is_431(server):
    [reply] = exchange(server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: "
                       + b"a" * (65 * 1024) + b"\r\n\r\n")
    assert reply.status == 431


def _send_in_two_reads(server, first: bytes, second: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(first)
        time.sleep(0.2)  # the server reads the first part on its own
        try:
            sock.sendall(second)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the rest arrived
        return recv_all(sock)


def test_head_over_64k_in_two_reads_each_under_it_is_431(server):
    # Each read alone is within the limit; the head as a whole is not.
    head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-F%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
    middle = len(head) // 2
    data = _send_in_two_reads(server, head[:middle], head[middle:] + b"\r\n")
    assert data.startswith(b"HTTP/1.1 431 ")


def test_too_many_headers_in_two_reads_is_431(server):
    head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120))
    data = _send_in_two_reads(server, head[:300], head[300:] + b"\r\n")
    assert data.startswith(b"HTTP/1.1 431 ")


def test_head_split_over_reads_within_limits_is_served(server):
    head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-F%d: %s\r\n" % (i, b"v" * 500) for i in range(90))
    middle = len(head) // 2
    data = _send_in_two_reads(server, head[:middle], head[middle:] + b"Connection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"Hello, World!")


@pytest.mark.parametrize("headers", [b"", b"Host: x\r\n"])
def test_target_over_64k_is_414(server, headers):
    data = _send_in_two_reads(server, b"GET /" + b"a" * (70 * 1024), b" HTTP/1.1\r\n" + headers + b"\r\n")
    assert data.startswith(b"HTTP/1.1 414 ")
    with server.connect() as sock:  # sent at once: one read longer than the limit
        sock.sendall(b"GET /" + b"a" * (70 * 1024) + b" HTTP/1.1\r\n" + headers + b"\r\n")
        assert recv_all(sock).startswith(b"HTTP/1.1 414 ")


def test_endless_header_line_is_cut_off_at_the_limit(server):
    # One header line that never ends: httptools buffers partial values, so the server must
    # count raw head bytes and answer 431 long before the client stops sending.
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nX-Big: ")
        sent = 0
        while sent < 4 * 1024 * 1024 and not select.select([sock], [], [], 0.002)[0]:
            sock.sendall(b"a" * 4096)
            sent += 4096
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 431 ")
    assert sent < 2 * 1024 * 1024


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /plaintext HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /pl aintext HTTP/1.1\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_malformed_request_is_400_and_closed(server, raw):
    with server.connect() as sock:
        sock.sendall(raw)
        data = recv_all(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in data and b"Traceback" not in data


@pytest.mark.parametrize("raw", [
    # Content-Length and Transfer-Encoding together: request smuggling.
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
    b"0\r\n\r\n",
    # Duplicate Content-Length (even when equal) and a Transfer-Encoding that is not chunked.
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
])
def test_smuggling_attempts_are_400(server, raw):
    with server.connect() as sock:
        sock.sendall(raw)
        data = recv_all(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert data.count(b"HTTP/1.1") == 1  # nothing was answered as a second request


def test_trailing_garbage_after_a_request_is_400_after_its_response(server):
    with server.connect() as sock:
        sock.sendall(get("/plaintext") + b"\x00\x01 not http\r\n\r\n")
        rfile = sock.makefile("rb")
        first = read_response(rfile)
        second = read_response(rfile)
        assert first.status == 200 and first.body == b"Hello, World!"
        assert second.status == 400 and second.headers["connection"] == "close"
        assert rfile.read() == b""


def test_garbage_after_slow_request_waits_for_its_response(server):
    with server.connect() as sock:
        sock.sendall(get("/slow?s=0.2&tag=z") + b"NOT HTTP\r\n\r\n")
        rfile = sock.makefile("rb")
        assert read_response(rfile).body == b"slow z"
        assert read_response(rfile).status == 400


def _one_byte_at_a_time(server, data: bytes, count: int, head: bool = False):
    with server.connect() as sock:
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
        rfile = sock.makefile("rb")
        return [read_response(rfile, head) for _ in range(count)]


def test_requests_fed_one_byte_at_a_time(server):
    data = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
            b"\r\nhello world"
            + b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            + get("/users/%C3%A9"))
    replies = _one_byte_at_a_time(server, data, 3)
    assert [r.body for r in replies] == [b"hello world", b"abcde", '{"id":"é"}'.encode()]


def test_unknown_method_is_405(server):
    [reply] = exchange(server, b"PURGE /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.status == 405


def test_absolute_form_target_routes_on_its_path(server):
    [reply] = exchange(server, b"GET http://example.com/users/5?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.json() == {"id": "5"}


def test_upgrade_request_is_answered_as_plain_http_then_closed(server):
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
                     b"Upgrade: websocket\r\n\r\n")
        data = recv_all(sock)
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"Hello, World!")
    assert "Traceback" not in server.log() and "Upgrade" not in server.log()


def test_server_survives_a_client_that_vanishes_mid_request(server):
    for raw in (b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", get("/slow?s=0.1")):
        sock = server.connect()
        sock.sendall(raw)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # RST
    time.sleep(0.3)
    [reply] = exchange(server, get("/plaintext"))
    assert reply.status == 200
    assert closed_by_peer(server.connect(), timeout=0.2) is False  # still serving, not closing


def test_pipelined_requests_with_large_heads_are_not_mistaken_for_one_huge_head(server):
    # 100 heads of 2 KiB each arrive in a few reads; each head is small, their sum is not.
    pad = b"X-Pad: " + b"p" * 2000 + b"\r\n"
    data = b"".join(b"GET /users/%d HTTP/1.1\r\nHost: x\r\n%s\r\n" % (i, pad) for i in range(100))
    replies = exchange(server, data, count=100)
    assert [r.status for r in replies] == [200] * 100
