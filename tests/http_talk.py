"""Talking HTTP/1.1 to a real rt server the awkward ways clients do, for the HTTP feature tests
(test_http_split_reads, test_http_framing, test_http_timeouts, test_http_connections).

Strategy: one place for what those files share: the strict server (small --max-body and
timeouts, tests/faulty_routes.py mounted beside tests/native_routes.py) whose log must show no
internal parsing failure; `send` (a request whole, one byte per write, or cut at awkward
places); `talk` (send, read the replies, see whether the connection stays usable); `framed`
(what every response carries); `normal` (a reply less what differs between two sendings);
and `clean`, applied to every byte a client receives here: no traceback or secret leaks.
"""
from __future__ import annotations

import json
import re
import select
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faulty_routes import SECRET
from serverproc import NATIVE_ROUTES, ServerProcess, read_response

FAULTY_ROUTES = str(Path(__file__).resolve().parent / "faulty_routes.py")
MAX_BODY = 1000
HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 3.0
STREAM_BODY = b"part0;part1;part2;part3;part4;"
DATE = re.compile(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT")
H = b"Host: x\r\n"
# What no client may ever see: internals of a failure, or secrets the faulty routes hold.
LEAKS = (b"Traceback", b'File "', SECRET.encode(), b"hunter2", b"secret-key")


@contextmanager
def strict_server():
    """The server the feature tests share per module; on a clean exit its log must show that
    protocol errors were answered by design, never by an internal failure."""
    with ServerProcess("--native", NATIVE_ROUTES, "--max-body", str(MAX_BODY),
                       "--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
                       "--keep-alive", "5", native=FAULTY_ROUTES) as srv:
        yield srv
        log = srv.log()
        assert "internal error while parsing a request" not in log
        assert "Fatal error on transport" not in log


def clean(data: bytes) -> bytes:
    """`data` as received by a client, checked to carry nothing internal."""
    for marker in LEAKS:
        assert marker not in data, (marker, data[:200])
    return data


def answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def send(sock: socket.socket, data: bytes, mode: str, stop_whenanswered: bool = True) -> None:
    """Send `data` whole, one byte at a time, or cut at awkward places. Sending stops when the
    server has answered (it may refuse a request before it is complete), unless a pipeline
    is being sent (`stop_whenanswered` false), or when it closed."""
    try:
        if mode == "whole":
            sock.sendall(data)
        elif mode == "bytes":
            for i in range(len(data)):
                if stop_whenanswered and answered(sock):
                    return
                sock.sendall(data[i:i + 1])
        else:
            start = 0
            for cut in cuts(data) + [len(data)]:
                if stop_whenanswered and answered(sock):
                    return
                sock.sendall(data[start:cut])
                start = cut
                time.sleep(0.03)  # each piece is a read of its own
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused before the rest arrived: the answer is already on its way


def cuts(data: bytes) -> list[int]:
    """Awkward cut points of the first head in `data`: two bytes into the first header line
    (inside its name), between the CR and LF ending it, and between the last header's CRLF
    and the blank line's CRLF."""
    first = data.find(b"\n")
    cuts = {first + 3 if first >= 0 else len(data) // 3}
    second = data.find(b"\r\n", first + 1) if first >= 0 else -1
    if second > 0:
        cuts.add(second + 1)
    end = data.find(b"\r\n\r\n")
    if end > 0:
        cuts.add(end + 2)
    return sorted(c for c in cuts if 0 < c < len(data))


def head_of(raw: bytes) -> list[bool]:
    """For each request in a pipelined `raw`, whether it is a HEAD (its answer has no body)."""
    return [line.startswith(b"HEAD ") for line in re.findall(rb"(?:^|\n)([A-Za-z]+ \S+ HTTP/)", raw)]


@dataclass
class Outcome:
    replies: list
    closed: bool  # the server closed the connection after the last reply


def talk(server, data: bytes, mode: str, count: int, heads: list[bool] | None = None,
         closes: bool | None = False) -> Outcome:
    """Send `data` (as `mode` says), read `count` replies (`heads[i]`: reply i answers a
    HEAD), then see whether the connection is closed (`closes` true) or still serves
    (`closes` false); None: neither is looked at."""
    heads = heads or [False] * count
    with server.connect() as sock:
        send(sock, data, mode, stop_whenanswered=count == 1)
        rfile = sock.makefile("rb")
        replies = []
        for i in range(count):
            reply = read_response(rfile, heads[i] if i < len(heads) else False)
            replies.append(reply)
        if closes:
            sock.settimeout(10)
            try:
                tail = rfile.read()
            except ConnectionResetError:
                tail = b""  # a reset closes too
            except socket.timeout:
                tail = b"(not closed within 10 s)"
            clean(tail)
            closed = tail == b""
        elif closes is None:
            closed = None
        else:
            sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            after = read_response(rfile)
            closed = not (after.status == 200 and after.body == b"Hello, World!")
    for reply in replies:
        clean(reply.body)
        clean(b"\n".join(f"{n}: {v}".encode("latin-1") for n, v in reply.header_list))
    return Outcome(replies, closed)


def framed(reply, head: bool = False) -> None:
    """What every response must carry: HTTP/1.1, Date, and Content-Length or chunked (none for
    1xx, 204 and 304); no body for a HEAD."""
    assert reply.version == "HTTP/1.1"
    if 100 <= reply.status < 200:
        return
    assert DATE.fullmatch(reply.headers.get("date", "")), reply
    if reply.status not in (204, 304):
        assert ("content-length" in reply.headers
                or reply.headers.get("transfer-encoding") == "chunked"), reply
    if head:
        assert reply.body == b""


def normal(reply) -> tuple:
    """A reply less what differs between two sendings of one request (Date, generated ids)."""
    body = reply.body
    if reply.headers.get("content-type") == "application/json" and body:
        value = json.loads(body)
        if isinstance(value, dict):
            value.pop("request_id", None)
            value.pop("id", None)
            body = json.dumps(value, sort_keys=True).encode()
    return (reply.status, sorted((n.lower(), v) for n, v in reply.header_list if n.lower() != "date"),
            body)
