"""Timeouts enforced by the server's single sweep: idle keep-alive connections are closed, a
slow request head gets 408 (slowloris), a stalled body gets 408, a slow but moving body does
not. Short configured timeouts, generous assertion bounds."""
import time

import pytest

from http_talk import answered, clean
from serverproc import ServerProcess, closed_by_peer, read_response, recv_all

HEAD_TIMEOUT = 0.8


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--keep-alive", "0.6", "--head-timeout", str(HEAD_TIMEOUT),
                       "--body-timeout", "0.8") as srv:
        yield srv


def test_idle_keep_alive_connection_is_closed(server):
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock.makefile("rb")).status == 200
        started = time.monotonic()
        assert closed_by_peer(sock, timeout=6)
        assert time.monotonic() - started >= 0.4


def test_connection_that_never_sends_is_closed(server):
    with server.connect() as sock:
        started = time.monotonic()
        assert closed_by_peer(sock, timeout=6)
        assert time.monotonic() - started >= 0.4


def test_busy_connection_is_not_idle(server):
    # A handler running longer than the keep-alive timeout keeps its connection.
    with server.connect() as sock:
        sock.sendall(b"GET /slow?s=1.5&tag=kept HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock.makefile("rb")).body == b"slow kept"


def test_slowloris_head_gets_408_and_close(server):
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /plaintext HTTP/1.1\r\n")
        data = b""
        for i in range(60):  # trickle a header byte every 0.1 s: the head never completes
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            finally:
                sock.setblocking(True)
            break
        data += recv_all(sock)
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in data
    assert 0.6 <= elapsed < 5


def test_stalled_body_gets_408(server):
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        data = recv_all(sock, timeout=6)
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 ") and b"request body timeout" in data
    assert 0.6 <= elapsed < 5


def test_slow_but_moving_body_is_accepted(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
        for piece in (b"ab", b"cd", b"ef"):  # 1.5 s in total, never 0.8 s without a byte
            time.sleep(0.5)
            sock.sendall(piece)
        reply = read_response(sock.makefile("rb"))
    assert reply.status == 200 and reply.body == b"abcdef"


def test_slowloris_on_a_reused_connection_sending_whole_header_lines_is_408(server):
    # After a request the quick path answered, a head that keeps arriving (one complete
    # header line every 0.2 s) but never ends is cut off --head-timeout after it began.
    with server.connect() as sock:
        rfile = sock.makefile("rb")
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(rfile).status == 200
        started = time.monotonic()
        sock.sendall(b"GET /plaintext HTTP/1.1\r\n")
        i = 0
        try:
            while time.monotonic() - started < 12 and not answered(sock):
                sock.sendall(b"X-Line-%d: v\r\n" % i)
                i += 1
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = read_response(rfile)
        elapsed = time.monotonic() - started
        clean(reply.body)
        assert reply.status == 408 and reply.headers["connection"] == "close"
        assert HEAD_TIMEOUT * 0.5 <= elapsed < 10
        sock.settimeout(10)
        assert rfile.read() == b""


def test_partial_head_after_a_whole_request_in_the_same_read_times_out(server):
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\nX-")
        rfile = sock.makefile("rb")
        first = read_response(rfile)
        second = read_response(rfile)
        elapsed = time.monotonic() - started
    clean(second.body)
    assert (first.status, first.body) == (200, b"Hello, World!")
    assert second.status == 408 and second.headers["connection"] == "close"
    assert HEAD_TIMEOUT * 0.5 <= elapsed < 10
