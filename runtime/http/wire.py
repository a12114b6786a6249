"""HTTP/1.1 response encoding: pure functions from (status, headers, body) to wire bytes.

Strategy: everything that does not change per request is built once at import time (status
lines for every known status, the common `Content-Type` lines, the `Content-Length` lines of
small bodies), and the `Date` line is a module-level bytes value refreshed once a second by
the server's sweep (`refresh_date`), so encoding a typical response is one join of
ready-made pieces and the protocol writes it with one `transport.write`. Nothing here
touches a socket, which is why it is tested on its own.

Invariants: every response carries `Date` and either `Content-Length` or
`Transfer-Encoding: chunked`; a response to `HEAD` keeps the headers of the GET (including its
Content-Length) but has no body; `Connection: close` is written exactly when the connection is
going to be closed after this response. Header names and values supplied by handlers are
checked for CR/LF so a handler cannot inject headers or split a response (`ValueError`).
"""
from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring
from email.utils import formatdate
from http import HTTPStatus
from typing import Iterable

__all__ = [
    "status_line", "refresh_date", "date_line", "encode", "encode_chunked_head",
    "encode_chunk", "LAST_CHUNK", "CONTINUE_100", "error_body", "CT_TEXT", "CT_JSON",
    "CT_BYTES", "dumps_json",
]

CRLF = b"\r\n"


def _build_status_lines() -> dict[int, bytes]:
    lines = {int(s): b"HTTP/1.1 %d %s\r\n" % (int(s), s.phrase.encode("latin-1")) for s in HTTPStatus}
    return lines


_STATUS_LINES = _build_status_lines()


def status_line(status: int) -> bytes:
    """The precomputed status line for `status`; unknown codes get an empty reason phrase."""
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid HTTP status code {status!r}")
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d \r\n" % status
    return line


_CLOSE = b"Connection: close\r\n"

# The Date line is shared by every response in the process; `refresh_date` replaces it, and
# with it the two ways a head ends after it (keep-alive, or closing), prebuilt.
_date_line = _head_end = _head_end_close = b""
_date_second = -1


def refresh_date(now: float | None = None) -> None:
    """Rebuild the `Date` line when the wall-clock second has changed (cheap when it has not)."""
    global _date_line, _head_end, _head_end_close, _date_second
    import time
    now = time.time() if now is None else now
    second = int(now)
    if second != _date_second:
        _date_second = second
        _date_line = b"Date: " + formatdate(second, usegmt=True).encode("ascii") + CRLF
        _head_end = _date_line + CRLF
        _head_end_close = _date_line + _CLOSE + CRLF


refresh_date()

# Content-Length lines of the commoner small bodies, built once (about 60 KB).
_LENGTH_LINES = [b"Content-Length: %d\r\n" % n for n in range(1024)]


def _length_line(size: int) -> bytes:
    return _LENGTH_LINES[size] if size < 1024 else b"Content-Length: %d\r\n" % size


def date_line() -> bytes:
    return _date_line


def _checked(text: str) -> bytes:
    data = text.encode("latin-1") if text.isascii() else text.encode("utf-8")
    if b"\r" in data or b"\n" in data or b"\0" in data:
        raise ValueError(f"header text contains a line break: {text!r}")
    return data


def _content_type_line(value: str) -> bytes:
    return b"Content-Type: " + _checked(value) + CRLF


CT_TEXT = _content_type_line("text/plain; charset=utf-8")
CT_JSON = _content_type_line("application/json")
CT_BYTES = _content_type_line("application/octet-stream")
OK_TEXT = b"HTTP/1.1 200 OK\r\n" + CT_TEXT
OK_JSON = b"HTTP/1.1 200 OK\r\n" + CT_JSON
CT_HTML = _content_type_line("text/html; charset=utf-8")

# Content-Type lines for media types handlers name by string, built once per distinct value.
_CT_CACHE: dict[str, bytes] = {
    "text/plain; charset=utf-8": CT_TEXT,
    "application/json": CT_JSON,
    "application/octet-stream": CT_BYTES,
    "text/html; charset=utf-8": CT_HTML,
}


def content_type_line(value: str) -> bytes:
    line = _CT_CACHE.get(value)
    if line is None:
        line = _content_type_line(value)
        if len(_CT_CACHE) < 256:  # bounded: handlers could build types from request data
            _CT_CACHE[value] = line
    return line


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CONTINUE_100 = _CONTINUE


def encode_headers(headers: Iterable[tuple[str, str]] | dict[str, str] | None) -> bytes:
    """Handler-supplied headers as wire bytes; a list value gives one field line per item.
    Raises ValueError on CR/LF/NUL (injection)."""
    if not headers:
        return b""
    items = headers.items() if isinstance(headers, dict) else headers
    parts = []
    for name, value in items:
        name_b = _checked(str(name))
        if not name_b or b":" in name_b or b" " in name_b:
            raise ValueError(f"invalid header name {name!r}")
        for one in (value if isinstance(value, (list, tuple)) else (value,)):
            parts.append(name_b + b": " + _checked(str(one)) + CRLF)
    return b"".join(parts)


def encode(status: int, content_type: bytes | None, body: bytes, keep_alive: bool,
           head_only: bool = False, extra: bytes = b"") -> bytes:
    """One complete response. `content_type` is a prebuilt line (see `content_type_line`),
    `extra` prebuilt header lines (`encode_headers`). With `head_only` the body is left out
    but `Content-Length` still describes it (the GET's headers, as HEAD requires)."""
    return b"".join((
        _STATUS_LINES.get(status) or status_line(status),
        content_type or b"",
        _length_line(len(body)),
        extra,
        _head_end if keep_alive else _head_end_close,
        b"" if head_only else body,
    ))


def encode_ok(head: bytes, body: bytes, keep_alive: bool, head_only: bool = False) -> bytes:
    """`encode` for the commonest answer, a 200, with `head` = status line + content type
    prebuilt (OK_TEXT, OK_JSON): one formatting step, no lookups."""
    size = len(body)
    return b"".join((head, _LENGTH_LINES[size] if size < 1024 else b"Content-Length: %d\r\n" % size,
                     _head_end if keep_alive else _head_end_close, b"" if head_only else body))


def encode_no_body(status: int, keep_alive: bool, extra: bytes = b"") -> bytes:
    """A response that by definition has no body (204, 304): no Content-Length either."""
    return b"%s%s%s%s\r\n" % (status_line(status), _date_line, extra,
                              b"" if keep_alive else _CLOSE)


def encode_chunked_head(status: int, content_type: bytes | None, keep_alive: bool,
                        extra: bytes = b"", chunked: bool = True) -> bytes:
    """The head of a streamed response; the body follows as `encode_chunk` pieces. Without
    `chunked` (an HTTP/1.0 client, which knows no chunked coding: RFC 9112 6.1) the body is
    the raw pieces and ends when the connection closes, so the head says close."""
    return b"%s%s%s%s%s%s\r\n" % (
        status_line(status), content_type or b"", _CHUNKED if chunked else b"", _date_line,
        extra, b"" if keep_alive and chunked else _CLOSE)


_CHUNKED = b"Transfer-Encoding: chunked\r\n"


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body; empty data is skipped (it would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def _not_json(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The reference encoder: json.dumps with separators=(",", ":"), ensure_ascii=False and
# allow_nan=False (NaN and infinities are not JSON: ValueError), built once (json.dumps
# builds an encoder object per call). Non-string keys become strings as json.encode makes
# them (1 -> "1", true -> "true", nil -> "null"); cycles end in RecursionError (-> 500).
_c_encoder = c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", False, False,
                            False) if c_make_encoder is not None else None


def _dumps_reference(value) -> bytes:
    if _c_encoder is None:  # pragma: no cover - CPython always has the C encoder
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    return "".join(_c_encoder(value, 0)).encode("utf-8")


try:
    import orjson
except ImportError:  # pragma: no cover - a declared dependency; the reference still works
    orjson = None

if orjson is not None:
    _orjson_dumps = orjson.dumps
    _ORJSON_REFUSED = orjson.JSONEncodeError
    # Types orjson would encode but the reference refuses go to `default` (None: refused).
    _ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps_json(value) -> bytes:
        """Compact JSON as UTF-8 (what dict/list handler results become): exactly the
        reference encoder's bytes, or its error (TypeError for a value JSON cannot hold,
        ValueError for NaN and infinities).

        orjson writes the same bytes ten times faster (same escapes, keys in order, floats as
        repr writes them, except that those under 1e-4 come without an exponent: 0.00001 for
        1e-05, the same JSON number) wherever it accepts the value, and refuses what it cannot match: keys that
        are not strings, ints past 64 bits, nesting past 255, strings that are not UTF-8,
        unknown types. Those go to the reference, as does any answer containing `null`,
        since orjson writes NaN and infinities as null where the reference refuses them
        (an answer with real nulls is then encoded twice, never wrongly). One difference
        is left, for native handlers only (no script value is one): a uuid.UUID or an Enum
        member is written as its string or value rather than refused."""
        try:
            data = _orjson_dumps(value, None, _ORJSON_OPTIONS)
        except _ORJSON_REFUSED:
            return _dumps_reference(value)
        if b"null" in data:
            return _dumps_reference(value)
        return data
else:  # pragma: no cover
    dumps_json = _dumps_reference


def error_body(message: str, request_id: str | None = None) -> bytes:
    """The small JSON body of every error response; never a traceback."""
    payload = {"error": message}
    if request_id is not None:
        payload["request_id"] = request_id
    return dumps_json(payload)
