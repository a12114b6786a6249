"""Fuzzing the HTTP protocol over real sockets: random and mutated requests to a real server.

Strategy. One `rt serve tests/scripts/protocol_fuzz.script` (with the native test routes) takes
every case. A case is either a random request built from a small grammar (methods, targets,
versions, header names and values, framing, bodies, pipelining; valid and broken parts mixed)
or a valid request mutated byte-wise (tests/fuzzing.py). It is sent on a new connection, in
one to three writes, then the client half-closes, and everything the server says until it
closes is read: it must be a sequence of well-formed responses (the strict reader of
tests/hostile_harness.py; `100 Continue` is the only interim answer allowed) with nothing
after the last, and the server must close within HANG seconds (a half-closed client has
nothing more to send). After the run the server still answers, and its log holds no Python
traceback. The count is RT_FUZZ_CASES per generator.
"""
from __future__ import annotations

import random
import socket
import time
from pathlib import Path

import pytest

from fuzzing import NASTY, case_count, mutate, seed
from hostile_harness import Unreadable, _Buffer, _Incomplete, _PY_TRACEBACK, read_strict
from serverproc import ServerProcess, call

SCRIPT = str(Path(__file__).resolve().parent / "scripts" / "protocol_fuzz.script")
HANG = 15.0

VALID = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /echo?a=1&b=%20x&a=2 HTTP/1.1\r\nHost: a\r\nCookie: s=1; t=2\r\nX-Request-Id: r-1\r\n"
    b"Accept: */*\r\n\r\n",
    b"POST /text HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\n{\"a\": [1, 2.5]}",
    b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 11\r\n\r\na=1&b=%41+c",
    b"PUT /bytes HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\n abc\r\n"
    b"0\r\nTrailer: v\r\n\r\n",
    b"GET /p/x/v2/a/b%2Fc HTTP/1.1\r\nHost: a\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /plaintext HTTP/1.0\r\n\r\n",
    b"GET /json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"DELETE /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /status/204 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/599 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/echo HTTP/1.1\r\nHost: a\r\n\r\n",
]

METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"CONNECT", b"TRACE",
           b"BREW", b"get", b"G\x00T", b"", b"GET GET", b"PRI", b"X" * 300]
TARGETS = [b"/", b"/echo", b"/text", b"/bytes", b"/json", b"/form", b"/ping", b"/p/a/vb/c",
           b"/status/200", b"/status/99", b"/status/abc", b"*", b"http://h/echo", b"/%", b"/%00",
           b"/echo?%zz=%", b"/../../etc/passwd", b"//", b"/a#frag", b"/\xff", b"/" + b"a" * 70000,
           b"/echo?" + b"a=1&" * 2000, b"", b"no-slash", b"/p/" + b"x/" * 500]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.x", b"HTTP/0.9", b"http/1.1", b"",
            b"HTTP/1.1 extra"]
NAMES = [b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"Expect", b"Cookie",
         b"Content-Type", b"X-Request-Id", b"Upgrade", b"Trailer", b"Accept-Encoding", b"X-A",
         b"", b" Host", b"Host ", b"X:Y", b"X\x00", b"\xff", b"a" * 300]
VALUES = [b"a", b"0", b"5", b"-1", b"99999999999999999999999", b"1, 2", b"5, 5", b"chunked",
          b"gzip, chunked", b"chunked, gzip", b"identity", b"close", b"keep-alive", b"upgrade",
          b"100-continue", b"application/json", b"text/plain; charset=latin-1", b"a=b; c",
          b"\x00", b"\x7f", b"\xff\xfe", b"x" * 70000, b"", b" lead", b"trail ", b"a\r\n b"]


def _random_request(rng: random.Random) -> bytes:
    out = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        line = rng.choice(METHODS) + b" " + rng.choice(TARGETS) + b" " + rng.choice(VERSIONS)
        headers = [rng.choice(NAMES) + b":" + rng.choice((b" ", b"", b"  ")) + rng.choice(VALUES)
                   for _ in range(rng.choice((0, 1, 2, 3, 5, 120)))]
        body = rng.choice((b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n", b"0\r\n\r\n",
                           b"ffffffffffffffffff\r\nx", b"{\"a\":", b"\xff" * 10, b"x" * 5000))
        sep = rng.choice((b"\r\n", b"\r\n", b"\n", b"\r"))
        out.append(sep.join([line, *headers]) + sep + sep + body)
    return b"".join(out)


def _mutated_request(rng: random.Random) -> bytes:
    data = rng.choice(VALID)
    if rng.random() < 0.3:
        data += rng.choice(VALID)
    if rng.random() < 0.2:
        at = rng.randint(0, len(data))
        data = data[:at] + rng.choice(NASTY) + data[at:]
    return mutate(rng, data)


GENERATORS = {"random-requests": _random_request, "mutated-requests": _mutated_request}


def exchange_all(server: ServerProcess, data: bytes, rng: random.Random) -> tuple[list, str | None]:
    """Send `data` in one to three writes, half-close, read until the server closes.
    Returns (statuses, problem)."""
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.choice((0, 0, 1, 2))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    received = b""
    with server.connect(timeout=HANG) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close on a bad head before the rest is sent: fine
        until = time.monotonic() + HANG
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return [], f"the server had not closed {HANG:.0f} s after the client half-closed"
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return _parse_all(received)


def _parse_all(received: bytes) -> tuple[list, str | None]:
    statuses = []
    reader = _Buffer(received)
    while reader.buf:
        if reader.buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
            reader.buf = reader.buf[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
            statuses.append(100)
            continue
        try:
            answer = read_strict(reader)
        except _Incomplete:
            return statuses, f"a response cut short: {reader.buf[:200]!r}"
        except Unreadable as exc:
            return statuses, f"malformed response: {exc}"
        statuses.append(answer.status)
        if b"Traceback" in answer.body:
            return statuses, "a Python traceback in a response body"
    return statuses, None


@pytest.fixture(scope="module")
def server():
    with ServerProcess(SCRIPT, "--deadline", "5", "--head-timeout", "5") as proc:
        yield proc


def test_a_target_that_is_only_a_query_is_refused_without_a_traceback(server):
    """Found by this fuzzer: `CONNECT ?a` reached the request with an empty path."""
    log = open(server._log.name, "rb")
    log.seek(0, 2)
    statuses, problem = exchange_all(server, b"CONNECT ?a HTTP/1.1\r\nHost: a\r\n\r\n", random.Random(0))
    assert problem is None and statuses and 400 <= statuses[0] < 500, (statuses, problem)
    assert not _PY_TRACEBACK.search(log.read())


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_every_answer_is_well_formed_and_nothing_hangs(server, kind):
    run_seed, count = seed(), case_count()
    rng = random.Random(run_seed)
    make = GENERATORS[kind]
    failures, seen = [], {}
    log = open(server._log.name, "rb")
    log.seek(0, 2)
    for number in range(count):
        data = make(rng)
        statuses, problem = exchange_all(server, data, rng)
        found = _PY_TRACEBACK.search(log.read())
        if found and problem is None:
            problem = "a Python traceback in the server log"
        for status in statuses:
            seen[status] = seen.get(status, 0) + 1
        if problem is not None:
            failures.append(f"case {number} (RT_FUZZ_SEED={run_seed}): {problem}\n"
                            f"--- request ({len(data)} bytes) ---\n{data[:500]!r}")
            if len(failures) >= 5:
                break
        if server.proc.poll() is not None:
            failures.append(f"case {number} (RT_FUZZ_SEED={run_seed}): the server exited\n{data[:500]!r}")
            break
    log.close()
    text = server.log_bytes()
    found = _PY_TRACEBACK.search(text)
    if found:
        failures.append("the first Python traceback in the server log:\n"
                        + text[max(0, found.start() - 300):found.start() + 1500].decode("utf-8", "replace"))
    assert not failures, f"{len(failures)} problems in {count} {kind} cases:\n\n" + "\n\n".join(failures)
    assert call(server, "/ping")[2] == b"pong"
    # Not vacuous: the cases reach the handlers (2xx) and the protocol's refusals (4xx).
    assert any(200 <= s < 300 for s in seen) and any(400 <= s < 500 for s in seen), seen
