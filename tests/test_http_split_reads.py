"""One request, three ways of sending it: a read that holds one whole request takes the
protocol's quick path (one shared parser), anything else the connection's own parser. Every
request here is sent (a) whole, in one write; (b) one byte at a time; (c) cut at awkward
places (inside a header name, between the CR and LF of a line, before the blank line), a piece
per read. All three must give the same answer, and the answer must be the right one (RFC
9112/9110 and docs/server.md); limits must hold however the request is cut.

Strategy: a table of cases (raw request, check of the replies, whether rt closes), each run
through `http_talk.talk` in the three modes against one strict server for the module.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from http_talk import (H, MAX_BODY, STREAM_BODY, answered, clean, framed, head_of, normal,
                       strict_server, talk)
from serverproc import recv_all


@pytest.fixture(scope="module")
def server():
    with strict_server() as srv:
        yield srv


@dataclass
class Case:
    id: str
    raw: bytes
    check: Callable  # (list of replies) -> None
    count: int = 1
    closes: bool = False
    heads: list = field(default_factory=list)


def status(code, close=None, allow=None, body=None, ctype=None, length=None):
    """A check for a single reply."""
    def check(replies):
        [reply] = replies
        assert reply.status == code, reply
        if close is not None:
            assert (reply.headers.get("connection") == "close") is close, reply
        if allow is not None:
            assert set(reply.headers["allow"].split(", ")) == set(allow), reply
        if body is not None:
            got = reply.json() if isinstance(body, (dict, list)) else reply.body
            if code == 500:  # the request id, and nothing else beside the message
                assert re.fullmatch(r"[0-9a-f]{16}", got.pop("request_id")), reply
            assert got == body, reply
        if ctype is not None:
            assert reply.headers["content-type"] == ctype
        if length is not None:
            assert reply.headers["content-length"] == str(length), reply
    return check

CASES = [
    # Keep-alive and Connection.
    Case("http11-no-host-is-served-as-documented", b"GET /plaintext HTTP/1.1\r\n\r\n",
         status(200, close=False, body=b"Hello, World!")),
    Case("http10-closes-by-default", b"GET /plaintext HTTP/1.0\r\n\r\n",
         status(200, close=True, body=b"Hello, World!"), closes=True),
    Case("http10-keep-alive-when-asked", b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
         status(200, close=False, body={"message": "Hello, World!", "n": 1})),
    Case("http10-post-keep-alive", b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
         b"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
         status(200, close=False, body=b"abc", ctype="text/plain")),
    Case("http11-connection-close", b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
         status(200, close=True, body=b"Hello, World!"), closes=True),
    Case("http11-close-among-other-options",
         b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: keep-alive, close\r\n\r\n",
         status(200, close=True), closes=True),
    Case("request-after-connection-close-is-not-answered",
         b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET /json HTTP/1.1\r\n" + H + b"\r\n",
         status(200, close=True, body=b"Hello, World!"), closes=True),
    # Router outcomes.
    Case("unknown-path-404", b"GET /nowhere HTTP/1.1\r\n" + H + b"\r\n",
         status(404, close=False, body={"error": "not found"})),
    Case("405-allow-lists-the-only-method", b"DELETE /echo HTTP/1.1\r\n" + H + b"\r\n",
         status(405, close=False, allow={"POST"}, body={"error": "method not allowed"})),
    Case("405-allow-for-a-head-only-route", b"GET /head-only HTTP/1.1\r\n" + H + b"\r\n",
         status(405, allow={"HEAD"})),
    Case("405-allow-for-get-put-route-includes-head",
         b"POST /files/a HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
         status(405, allow={"GET", "HEAD", "PUT"})),
    Case("405-for-a-method-llhttp-knows", b"PURGE /users/1 HTTP/1.1\r\n" + H + b"\r\n",
         status(405, allow={"GET", "HEAD"})),
    Case("head-of-get-only-route-has-get-length", b"HEAD /json HTTP/1.1\r\n" + H + b"\r\n",
         status(200, close=False, length=33, ctype="application/json"), heads=[True]),
    Case("head-of-param-route", b"HEAD /users/42 HTTP/1.1\r\n" + H + b"\r\n",
         status(200, length=len(b'{"id":"42"}')), heads=[True]),
    Case("head-of-a-post-only-route-is-405", b"HEAD /echo HTTP/1.1\r\n" + H + b"\r\n",
         status(405, allow={"POST"}), heads=[True]),
    Case("head-of-unknown-path-is-404-without-body", b"HEAD /nowhere HTTP/1.1\r\n" + H + b"\r\n",
         status(404, length=len(b'{"error":"not found"}')), heads=[True]),
    Case("head-of-a-failing-handler-is-500-without-body", b"HEAD /boom HTTP/1.1\r\n" + H + b"\r\n",
         status(500), heads=[True]),
    Case("head-of-a-streamed-response-has-no-chunks", b"HEAD /stream HTTP/1.1\r\n" + H + b"\r\n",
         status(200, close=False), heads=[True]),
    Case("percent-decoded-utf8-param", b"GET /users/%C3%A9%20x HTTP/1.1\r\n" + H + b"\r\n",
         status(200, body={"id": "é x"})),
    Case("percent-encoded-slash-stays-in-the-param", b"GET /users/a%2Fb HTTP/1.1\r\n" + H + b"\r\n",
         status(200, body={"id": "a/b"})),
    Case("invalid-utf8-param-is-left-as-sent", b"GET /users/%FF%FE HTTP/1.1\r\n" + H + b"\r\n",
         status(200, body={"id": "%FF%FE"})),
    Case("catch-all-with-invalid-utf8", b"GET /files/%C3%A9/%FF HTTP/1.1\r\n" + H + b"\r\n",
         status(200, body={"path": "%C3%A9/%FF", "method": "GET"})),
    # Bodies.
    Case("chunked-body-with-extensions-and-trailers",
         b"POST /echo HTTP/1.1\r\n" + H + b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"3;a=b;c=\"d e\"\r\nabc\r\n2;x\r\nde\r\n0\r\nX-T1: 1\r\nX-T2: 2\r\n\r\n",
         status(200, close=False, body=b"abcde")),
    Case("get-with-a-content-length-body-is-read-past",
         b"GET /plaintext HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nabcde",
         status(200, close=False, body=b"Hello, World!")),
    Case("chunked-keyword-is-case-insensitive",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         status(200, body=b"abc")),
    # Malformed: 400 and close (RFC 9112 2.2, 5.1, 5.2, 6.1, 7.1, 8; RFC 9110 5.5).
    Case("bare-lf-line-endings", b"GET /plaintext HTTP/1.1\nHost: x\n\n",
         status(400, close=True), closes=True),
    Case("bare-lf-inside-the-head", b"GET /plaintext HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
         status(400, close=True), closes=True),
    Case("space-before-colon", b"GET /plaintext HTTP/1.1\r\nHost : x\r\n\r\n",
         status(400, close=True), closes=True),
    Case("obs-fold-continuation-line", b"GET /plaintext HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n",
         status(400, close=True), closes=True),
    Case("leading-whitespace-header-line", b"GET /plaintext HTTP/1.1\r\n\tHost: x\r\n\r\n",
         status(400, close=True), closes=True),
    Case("nul-in-header-value", b"GET /plaintext HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
         status(400, close=True), closes=True),
    Case("empty-header-name", b"GET /plaintext HTTP/1.1\r\n" + H + b": x\r\n\r\n",
         status(400, close=True), closes=True),
    Case("non-ascii-in-target", b"GET /users/\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
         status(400, close=True), closes=True),
    Case("target-not-starting-with-slash", b"GET plaintext HTTP/1.1\r\n" + H + b"\r\n",
         status(400, close=True), closes=True),
    Case("unknown-minor-version", b"GET /plaintext HTTP/1.2\r\n" + H + b"\r\n",
         status(400, close=True), closes=True),
    Case("negative-chunk-size",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
         status(400, close=True), closes=True),
    Case("overflowing-chunk-size",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
         b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n", status(400, close=True), closes=True),
    Case("chunk-longer-than-its-size",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
         status(400, close=True), closes=True),
    Case("chunked-applied-twice",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\n", status(400, close=True), closes=True),
    Case("chunked-not-last",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         status(400, close=True), closes=True),
    Case("content-length-with-sign", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc",
         status(400, close=True), closes=True),
    Case("content-length-overflow",
         b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n",
         status(400, close=True), closes=True),
    Case("te-with-space-before-colon-and-content-length",
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc",
         status(400, close=True), closes=True),
    # Limits decided from the head.
    Case("content-length-over-max-body-on-a-head-only-send",
         b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1),
         status(413, close=True, body={"error": "request body too large"}), closes=True),
    Case("too-large-with-100-continue-is-413-not-100",
         b"POST /echo HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),
         status(413, close=True), closes=True),
    Case("101-headers-431", b"GET /plaintext HTTP/1.1\r\n" + H
         + b"".join(b"X-H%d: v\r\n" % i for i in range(100)) + b"\r\n",
         status(431, close=True), closes=True),
    # Native handlers' failures: 500 with no internals.
    Case("handler-header-injection-is-500", b"GET /audit/injected-header HTTP/1.1\r\n" + H + b"\r\n",
         status(500, close=False, body={"error": "internal server error"})),
    Case("handler-bad-status-is-500", b"GET /audit/bad-status HTTP/1.1\r\n" + H + b"\r\n",
         status(500, body={"error": "internal server error"})),
    Case("handler-bad-body-type-is-500", b"GET /audit/bad-body HTTP/1.1\r\n" + H + b"\r\n",
         status(500, body={"error": "internal server error"})),
    Case("handler-unencodable-dict-is-500", b"GET /audit/not-json HTTP/1.1\r\n" + H + b"\r\n",
         status(500, body={"error": "internal server error"})),
    Case("http-error-with-injected-header-is-500",
         b"GET /audit/http-error-bad-header HTTP/1.1\r\n" + H + b"\r\n",
         status(500, body={"error": "internal server error"})),
    Case("exception-message-that-looks-like-a-traceback",
         b"GET /audit/traceback-text HTTP/1.1\r\n" + H + b"\r\n",
         status(500, body={"error": "internal server error"})),
    Case("async-handler-exception", b"GET /audit/async-raises HTTP/1.1\r\n" + H + b"\r\n",
         status(500, close=False, body={"error": "internal server error"})),
    # Pipelines.
    Case("pipeline-mixing-get-head-post",
         b"GET /plaintext HTTP/1.1\r\n" + H + b"\r\n"
         b"HEAD /big HTTP/1.1\r\n" + H + b"\r\n"
         b"POST /echo HTTP/1.1\r\n" + H + b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
         b"GET /slow?s=0.1&tag=p HTTP/1.1\r\n" + H + b"\r\n"
         b"HEAD /stream HTTP/1.1\r\n" + H + b"\r\n"
         b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
         b"HEAD /users/9 HTTP/1.1\r\n" + H + b"\r\n"
         b"GET /stream HTTP/1.1\r\n" + H + b"\r\n"
         b"DELETE /plaintext HTTP/1.1\r\n" + H + b"\r\n"
         b"GET /users/9 HTTP/1.1\r\n" + H + b"\r\n",
         lambda r: _pipeline_bodies(r),
         count=10, heads=[False, True, False, False, True, False, True, False, False, False]),
    Case("pipeline-with-a-malformed-request-in-the-middle",
         b"GET /plaintext HTTP/1.1\r\n" + H + b"\r\n"
         b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nok"
         b"GET /slow?s=0.1&tag=m HTTP/1.1\r\n" + H + b"\r\n"
         b"GET /json HTTP/1.1\r\nBad Header\r\n\r\n"
         b"GET /users/never HTTP/1.1\r\n" + H + b"\r\n",
         lambda r: _malformed_pipeline(r), count=4, closes=True),
]


def _pipeline_bodies(replies):
    assert [r.status for r in replies] == [200] * 8 + [405, 200], replies
    bodies = [r.body for r in replies]
    assert bodies == [b"Hello, World!", b"", b"hello", b"slow p", b"", b"hi", b"", STREAM_BODY,
                      b'{"error":"method not allowed"}', b'{"id":"9"}'], bodies
    assert replies[1].headers["content-length"] == str(256 * 1024)
    assert replies[4].headers["transfer-encoding"] == "chunked"
    assert replies[6].headers["content-length"] == str(len(b'{"id":"9"}'))
    assert all("connection" not in r.headers for r in replies)


def _malformed_pipeline(replies):
    assert [(r.status, r.body) for r in replies[:3]] == [
        (200, b"Hello, World!"), (200, b"ok"), (200, b"slow m")]
    assert replies[3].status == 400 and replies[3].headers["connection"] == "close"
    assert all("connection" not in r.headers for r in replies[:3])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_whole_byte_by_byte_and_cut(server, case):
    heads = case.heads or head_of(case.raw)[:case.count]
    seen = {}
    for mode in ("whole", "bytes", "cut"):
        outcome = talk(server, case.raw, mode, case.count, heads, case.closes)
        try:
            for i, reply in enumerate(outcome.replies):
                framed(reply, heads[i] if i < len(heads) else False)
            case.check(outcome.replies)
            assert outcome.closed is case.closes, (
                "connection closed" if outcome.closed else "connection left open")
        except AssertionError as exc:
            raise AssertionError(f"sent {mode}: {exc}") from exc
        seen[mode] = [normal(r) for r in outcome.replies]
    assert seen["bytes"] == seen["whole"] and seen["cut"] == seen["whole"]


# -- limits, sent in pieces ---------------------------------------------------------------------

def test_chunked_body_over_max_body_in_many_small_reads_is_413(server):
    # No Content-Length: the running total of chunk data decides, however it is cut.
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent <= 3 * MAX_BODY and not answered(sock):
                sock.sendall(b"40\r\n" + b"c" * 64 + b"\r\n")
                sent += 64
                time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = recv_all(sock, timeout=10)
    clean(data)
    assert data.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in data
    assert sent <= MAX_BODY + 256  # refused as the total went past the limit


def test_body_at_max_body_in_chunks_is_accepted(server):
    chunks = b"".join(b"64\r\n" + b"e" * 100 + b"\r\n" for _ in range(MAX_BODY // 100))
    [reply] = talk(server, b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                   + chunks + b"0\r\n\r\n", "cut", 1).replies
    assert reply.status == 200 and len(reply.body) == MAX_BODY


@pytest.mark.parametrize("mode", ["bytes", "cut"])
def test_too_many_headers_sent_in_pieces_is_431(server, mode):
    raw = b"GET /plaintext HTTP/1.1\r\n" + H + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n"
    outcome = talk(server, raw, mode, 1, closes=True)
    assert outcome.replies[0].status == 431 and outcome.closed
