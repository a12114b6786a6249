"""Connections a client holds against the server's will: a body that trickles past its whole
deadline (408), a client that reads none of its answers (closed after --write-timeout, also
while reading is paused under backpressure), connections past --max-connections (closed at
once, counted), trailer fields that would slip past --max-head in the read completing a
body, and numbers in the framing that only ASCII digits may spell. Raw sockets throughout;
short configured limits, generous bounds on what is measured."""
import socket
import time

import pytest

from serverproc import ServerProcess, closed_by_peer, read_response, recv_all, wait_for_log


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--body-timeout", "1", "--body-deadline", "2.5", "--write-timeout", "1",
                       "--max-head", "2048", "--max-headers", "10") as srv:
        yield srv


# --------------------------------------------------------------------------- body deadline


@pytest.mark.parametrize("chunked", [False, True])
def test_a_trickling_body_gets_408_at_its_whole_deadline(server, chunked):
    # A byte every 0.3 s never stalls for --body-timeout (1 s), but the whole body is not in
    # by --body-deadline (2.5 s): 408 and closed, not held open for as long as it trickles.
    with server.connect() as sock:
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 1000"
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\n")
        started = time.monotonic()
        sock.setblocking(False)
        answer = b""
        while time.monotonic() - started < 15 and not answer:
            try:
                sock.sendall(b"1\r\nx\r\n" if chunked else b"x")
                answer = sock.recv(65536)
            except BlockingIOError:
                time.sleep(0.3)
            except (BrokenPipeError, ConnectionResetError):
                break
        elapsed = time.monotonic() - started
        sock.setblocking(True)
        answer += recv_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in answer
    assert b"request body timeout" in answer
    assert 2.0 <= elapsed < 8, elapsed


def test_a_body_inside_its_deadline_is_served(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
        for piece in (b"ab", b"c", b"d"):  # 1.5 s in all: inside both limits
            time.sleep(0.5)
            sock.sendall(piece)
        reply = read_response(sock.makefile("rb"))
    assert (reply.status, reply.body) == (200, b"abcd")


# --------------------------------------------------------------------------- write timeout


def small_receiver(server) -> socket.socket:
    """A connection whose receive buffer is small, so unread answers back up in the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    return sock


def test_a_client_that_reads_nothing_is_closed(server):
    size = 24_000_000
    with small_receiver(server) as sock:
        sock.sendall(b"GET /sized?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        time.sleep(4)  # reads none of it for 4 x --write-timeout
        received = len(recv_all(sock, timeout=10))
    assert received < size  # cut off: without a write timeout every byte would have come
    wait_for_log(server, "read nothing for 1s")


def test_a_client_that_never_reads_its_pipelined_answers_is_closed(server):
    # Answers back up until rt stops reading (backpressure): no read clock runs then, so
    # only the write clock can end this connection. It must not restart while paused.
    with small_receiver(server) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 64)
        time.sleep(4)
        received = len(recv_all(sock, timeout=10))
    assert received < 64 * 256 * 1024


def test_a_slow_but_steady_reader_gets_everything(server):
    size = 1_500_000
    with small_receiver(server) as sock:
        sock.sendall(b"GET /sized?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        started, parts = time.monotonic(), []
        while True:  # at most 8 KiB per 0.02 s: several write timeouts long in all
            data = sock.recv(8192)
            if not data:
                break
            parts.append(data)
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    data = b"".join(parts)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"s" * 1000)
    assert len(data.partition(b"\r\n\r\n")[2]) == size
    assert elapsed > 1.5, "the read finished too fast to prove anything"


# --------------------------------------------------------------------------- trailers


def chunked_post(sock, trailer: bytes) -> bytes:
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    time.sleep(0.2)  # the body comes in a later read than the head
    # The last read: the rest of the body, its end and the trailer section, all at once.
    sock.sendall(b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n")
    return recv_all(sock, timeout=6)


@pytest.mark.parametrize("trailer", [
    b"X-Big: " + b"a" * 4000 + b"\r\n",                                # past --max-head 2048
    b"".join(b"X-T%d: v\r\n" % i for i in range(12)),                  # past --max-headers 10
    b"X-A: " + b"a" * 1000 + b"\r\nX-B: " + b"b" * 1100 + b"\r\n",     # together past it
])
def test_trailers_in_the_last_read_count_against_the_head_limits(server, trailer):
    with server.connect() as sock:
        answer = chunked_post(sock, trailer)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_trailers_in_a_request_sent_whole_count_too(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
        answer = recv_all(sock, timeout=6)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_small_trailers_pass(server):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        time.sleep(0.2)
        sock.sendall(b"5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: " + b"b" * 500 + b"\r\n\r\n")
        reply = read_response(sock.makefile("rb"))
    assert (reply.status, reply.body) == (200, b"hello")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("length", [b"1_0", b"+5", b"-5", b"0x5", b"5.0", b"1e1", b"5 5",
                                    "\u0665".encode(), b"\xd9\xa5", b""])
def test_content_length_is_ascii_digits_only(server, length):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + length +
                     b"\r\n\r\n" + b"x" * 10)
        answer = recv_all(sock, timeout=6)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


@pytest.mark.parametrize("size", [b"1_0", b"+a", b"0x5", b"-5", b"\xd9\xa5", b"5 5"])
def test_chunk_sizes_are_hex_digits_only(server, size):
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     size + b"\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n")
        answer = recv_all(sock, timeout=6)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


# --------------------------------------------------------------------------- max connections


def test_connections_past_the_maximum_are_closed_at_once_and_counted():
    with ServerProcess("--max-connections", "4", "--keep-alive", "30") as srv:
        held = [srv.connect() for _ in range(4)]
        try:
            for sock in held:  # each answered: each is open and counted by the server
                sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_response(sock.makefile("rb")).status == 200
            for _ in range(3):
                with srv.connect() as extra:
                    started = time.monotonic()
                    try:
                        extra.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    assert closed_by_peer(extra, timeout=5)
                    assert time.monotonic() - started < 3
            log = wait_for_log(srv, "past --max-connections 4")
            assert "refused 3 connection(s)" in log or "(3 since start)" in log
            # The held ones still work, and once one goes a new one is taken again.
            held[0].sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(held[0].makefile("rb")).status == 200
            held.pop().close()
            deadline = time.monotonic() + 10
            while True:
                with srv.connect() as sock:
                    try:
                        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                        if read_response(sock.makefile("rb")).status == 200:
                            break
                    except (EOFError, ConnectionResetError, BrokenPipeError):
                        pass
                assert time.monotonic() < deadline, "no connection taken after one closed"
                time.sleep(0.1)
        finally:
            for sock in held:
                sock.close()


def test_the_body_deadline_stands_still_while_rt_is_not_reading():
    # One read holds a request for a large answer and the head of a POST with part of its
    # body. The client reads nothing for longer than --body-deadline, so rt stops reading
    # (backpressure) with the POST's body half in: that time is not the client's to pay.
    # Once it reads its answer, the rest of the body is still welcome.
    with ServerProcess("--body-timeout", "2", "--body-deadline", "2.5") as srv:
        with small_receiver(srv) as sock:
            sock.sendall(b"GET /sized?n=8000000 HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
            time.sleep(4)
            rfile = sock.makefile("rb")
            assert len(read_response(rfile).body) == 8_000_000
            time.sleep(1)  # inside --body-timeout; past the deadline, had its clock run
            sock.sendall(b"cd")
            reply = read_response(rfile)
    assert (reply.status, reply.body) == (200, b"abcd")


@pytest.mark.parametrize("path, body", [("/plaintext", b"Hello, World!"), ("/slow?s=0.2&tag=h", b"slow h")],
                         ids=["first-answered-at-once", "first-still-running-at-eof"])
def test_client_half_close_still_gets_its_answers(server, path, body):
    # A client may send its requests and shut down its sending side (RFC 9112 9.6), as
    # `printf ... | nc` does: every request it sent in full is still answered, in order, then
    # rt closes (protocol.eof_received: "answer what is pending, then close"). rt answers
    # only the first when it was still running at the EOF (async or streamed) and drops the
    # rest, which were already received and parsed.
    with server.connect() as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\nGET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n"
                     % path.encode())
        sock.shutdown(socket.SHUT_WR)
        rfile = sock.makefile("rb")
        first, second = read_response(rfile), read_response(rfile)
        sock.settimeout(10)
        assert rfile.read() == b""
    assert (first.status, first.body) == (200, body)
    assert (second.status, second.body) == (200, b'{"id":"3"}')
