"""Framing and versions at the edges of RFC 9112/9110: transfer codings rt does not decode,
HTTP/1.0 clients (no chunked answers, no 100 Continue, close after a Transfer-Encoding),
100 Continue behind a pipelined answer and before a refused body, upgrades and CONNECT
answered as plain HTTP, refusals of HEAD without a body, endless trailer fields, and a
streamed answer that fails after its head.

Strategy: raw sockets against one strict server for the module (http_talk); requests sent
whole and byte by byte where the path through the parser could differ; every byte received
checked by `clean`.
"""
from __future__ import annotations

import socket
import time

import pytest

from http_talk import (H, MAX_BODY, SECRET, STREAM_BODY, answered, clean, send, strict_server,
                       talk)
from serverproc import closed_by_peer, read_response, recv_all


@pytest.fixture(scope="module")
def server():
    with strict_server() as srv:
        yield srv


@pytest.mark.parametrize("mode", ["whole", "bytes"])
def test_unsupported_transfer_coding_before_chunked_is_refused(server, mode):
    # RFC 9112 6.1/7: "gzip, chunked" is framed by chunked, but rt does not decode gzip:
    # handing the handler still-coded bytes as the body is wrong; 501 (SHOULD) or 400.
    outcome = talk(server, b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n"
                   b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n", mode, 1, closes=True)
    assert outcome.replies[0].status == 501, outcome.replies[0]


@pytest.mark.parametrize("mode", ["whole", "bytes"])
def test_http10_request_with_transfer_encoding_closes_after_it(server, mode):
    # RFC 9112 6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding "MUST
    # treat the message as if the framing is faulty ... and close the connection after
    # processing the message", keep-alive or not.
    with server.connect() as sock:
        send(sock, b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
              b"\r\n3\r\nabc\r\n0\r\n\r\n", mode)
        reply = read_response(sock.makefile("rb"))
        clean(reply.body)
        assert reply.headers.get("connection") == "close", reply
        assert closed_by_peer(sock, timeout=5)


@pytest.mark.parametrize("mode", ["whole", "bytes"])
def test_streamed_response_to_http10_is_not_chunked(server, mode):
    # RFC 9112 6.1: "A server MUST NOT send a response containing Transfer-Encoding unless
    # the corresponding request indicates HTTP/1.1 (or later minor revisions)." An HTTP/1.0
    # client cannot decode chunks; the body must be delimited by the close instead.
    with server.connect() as sock:
        send(sock, b"GET /stream HTTP/1.0\r\n\r\n", mode)
        data = recv_all(sock, timeout=10)
    clean(data)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head.lower(), head
    assert body == STREAM_BODY


@pytest.mark.parametrize("mode", ["whole", "bytes"])
def test_100_continue_in_http10_request_is_ignored(server, mode):
    # RFC 9110 10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0
    # request MUST ignore that expectation." (An HTTP/1.0 client cannot parse a 1xx answer.)
    with server.connect() as sock:
        send(sock, b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", mode)
        time.sleep(0.3)  # as an HTTP/1.0 client would, send the body without waiting
        sock.sendall(b"hello")
        reply = read_response(sock.makefile("rb"))
    clean(reply.body)
    assert (reply.status, reply.body) == (200, b"hello"), reply


def test_100_continue_behind_a_pending_response_is_sent_once_it_is_out(server):
    # RFC 9110 10.1.1: a server that receives a 100-continue expectation with a body to
    # follow MUST send a final status or 100 (Continue). rt skips the 100 while an earlier
    # pipelined response is pending and never sends it later: a client that waits for it
    # (as RFC 9110 allows) gets 408 from the body timeout instead.
    with server.connect() as sock:
        sock.sendall(b"GET /slow?s=0.3&tag=first HTTP/1.1\r\n" + H + b"\r\n"
                     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        rfile = sock.makefile("rb")
        first = read_response(rfile)
        assert first.body == b"slow first"
        interim = read_response(rfile)  # well within the 3 s body timeout when it comes
        assert interim.status == 100, interim
        sock.sendall(b"hello")
        final = read_response(rfile)
        assert (final.status, final.body) == (200, b"hello")


@pytest.mark.parametrize("mode", ["whole", "bytes"])
@pytest.mark.parametrize("raw", [
    b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
], ids=["upgrade", "connect"])
def test_upgrade_or_connect_answer_says_close_when_rt_closes(server, raw, mode):
    # docs/server.md: "Connection: close is written exactly when rt closes afterwards"; rt
    # closes after answering an upgrade (or CONNECT) as plain HTTP, so the answer must say so.
    with server.connect() as sock:
        send(sock, raw, mode)
        rfile = sock.makefile("rb")
        reply = read_response(rfile)
        clean(reply.body)
        assert closed_by_peer(sock, timeout=5), "rt keeps the connection: then no close is right"
    assert reply.headers.get("connection") == "close", reply


@pytest.mark.parametrize("raw, code", [
    (b"HEAD /plaintext HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
    (b"HEAD /plaintext HTTP/1.1\r\n" + H + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
], ids=["413", "431"])
def test_refusal_of_a_head_request_has_no_body(server, raw, code):
    # RFC 9110 9.3.2: the server MUST NOT send content in the response to HEAD, whatever
    # the status: a client reading it as a HEAD answer would take the body for the next
    # response.
    with server.connect() as sock:
        sock.sendall(raw)
        data = recv_all(sock, timeout=10)
    clean(data)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % code) and b"Connection: close" in head
    assert body == b"", body


def test_endless_trailer_field_is_cut_off_like_an_endless_header(server):
    # The trailer section of a chunked body is header fields too, and httptools buffers a
    # partial field value: an endless trailer line must be refused within about --max-head
    # (as test_http_protocol checks for the head), not buffered until the body timeout.
    # rt buffers it all: 64 MiB sent in ~4 s grew the server by ~62 MiB and stalled every
    # other connection's answers for over a second.
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n0\r\nX-Trailer: ")
        sent = 0
        sock.settimeout(5)
        try:
            while sent < 8 * 1024 * 1024 and not answered(sock):
                sock.sendall(b"a" * 16384)
                sent += 16384
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        data = recv_all(sock, timeout=10)
    clean(data)
    # (How much was sent says little: the kernel takes megabytes before the server reads.
    # Buffered without bound, the line would end in the body timeout's 408.)
    assert data.startswith(b"HTTP/1.1 431 "), data[:80]


def test_chunked_body_with_100_continue_over_max_body_gets_100_then_413(server):
    # Without a Content-Length the size is unknown until the chunks arrive.
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        rfile = sock.makefile("rb")
        assert read_response(rfile).status == 100
        sock.sendall(b"%x\r\n%s\r\n" % (MAX_BODY + 1, b"d" * (MAX_BODY + 1)))
        reply = read_response(rfile)
    clean(reply.body)
    assert reply.status == 413 and reply.headers["connection"] == "close"


def test_streamed_failure_aborts_without_internals_or_a_last_chunk(server):
    # The head is out when the generator fails: the only honest signal is an aborted
    # connection (no terminating chunk, so the client knows the body is incomplete).
    with server.connect() as sock:
        sock.sendall(b"GET /audit/stream-fails HTTP/1.1\r\n" + H + b"\r\n")
        data = recv_all(sock, timeout=10)
    clean(data)
    assert data.startswith(b"HTTP/1.1 200 ") and b"first;" in data
    assert not data.endswith(b"0\r\n\r\n")
    assert SECRET.encode() not in data and b"Traceback" not in data
