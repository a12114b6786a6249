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
going to be closed after this response; the status is a final one (200-599). Headers supplied
by handlers are checked by `header_problem` (tokens for names, visible ASCII for values, no
framing headers) so a handler can neither inject fields nor split or misframe a response
(`ValueError`); JSON bodies refuse NaN and infinities, as JSON has no such values.
"""
from __future__ import annotations

import json
import math
import re
from json.encoder import c_make_encoder, encode_basestring
from email.utils import formatdate
from http import HTTPStatus

__all__ = [
    "status_line", "refresh_date", "date_line", "encode", "encode_chunked_head",
    "encode_chunk", "LAST_CHUNK", "CONTINUE_100", "error_body", "CT_TEXT", "CT_JSON",
    "CT_BYTES", "dumps_json",
]

CRLF = b"\r\n"


# The statuses an answer may carry: a final status (RFC 9110 15). 1xx are interim answers,
# which only the protocol itself sends (100 Continue); a handler sending one would make the
# client pair the next answer with the wrong request.
FINAL_STATUSES = range(200, 600)


def _build_status_lines() -> dict[int, bytes]:
    return {int(s): b"HTTP/1.1 %d %s\r\n" % (int(s), s.phrase.encode("latin-1"))
            for s in HTTPStatus if int(s) in FINAL_STATUSES}


_STATUS_LINES = _build_status_lines()


def status_problem(status: object) -> str | None:
    """Why `status` cannot be an answer's status, or None: an int from 200 to 599. The one
    place this rule is decided (the script layer asks it too, see lang's response checks)."""
    if status.__class__ is not int:
        return f"a status must be an int, not {type(status).__name__}"
    if status not in FINAL_STATUSES:
        return f"a status must be between 200 and 599, not {status}"
    return None


def status_line(status: int) -> bytes:
    """The precomputed status line for `status`; codes without a registered reason phrase
    get an empty one. Raises ValueError for anything but an int from 200 to 599."""
    line = _STATUS_LINES.get(status) if status.__class__ is int else None
    if line is None:
        problem = status_problem(status)
        if problem is not None:
            raise ValueError(problem)
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


# Response header fields (RFC 9110 5.1, 5.5): a name is a token; a value is visible ASCII
# with single spaces or tabs inside (obs-text and control characters refused; surrounding
# whitespace is not part of a value, so it is dropped). The fields that frame the message
# belong to the server: a handler setting one could contradict the real framing.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def _type_name(value: object) -> str:
    return type(value).__name__


def header_problem(name: object, value: object, type_name=_type_name) -> str | None:
    """Why `name: value` cannot be a response header set by a handler, or None. A value is a
    string, a number (int or finite float, not a bool) or a list of strings (one field line
    each). The one place this rule is decided: `encode_headers` applies it for native
    handlers, and the script layer asks it where a script sets a header (`type_name` names
    types in the caller's words)."""
    if name.__class__ is not str:
        return f"a header name must be a string, not {type_name(name)}"
    if not _TOKEN.fullmatch(name):
        return f"header name {name!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    if name.lower() in FRAMING_HEADERS:
        return f"header {name!r} is set by the server (it frames the message); a handler cannot set it"
    if value.__class__ is list or value.__class__ is tuple:
        for item in value:
            if item.__class__ is not str:
                return (f"header {name!r}: a list value must hold strings only, "
                        f"not {type_name(item)}")
            problem = _value_problem(name, item)
            if problem is not None:
                return problem
        return None
    return _value_problem(name, value, type_name)


def _value_problem(name: str, value: object, type_name=_type_name) -> str | None:
    cls = value.__class__
    if cls is int or (cls is float and math.isfinite(value)):
        return None
    if cls is not str:
        if cls is float:
            return f"header {name!r}: the value {value} is not a finite number"
        return (f"header {name!r}: a value must be a string, a number or a list of strings, "
                f"not {type_name(value)}")
    if not _FIELD_VALUE.fullmatch(value.strip(" \t")):
        bad = next((c for c in value if not (" " <= c <= "~" or c == "\t")), None)
        return (f"header {name!r}: the value holds {bad!r}; only visible ASCII, spaces and "
                f"tabs are allowed")
    return None


def _field_lines(name: str, value: object) -> list[bytes]:
    """The wire lines of one (checked) header."""
    head = name.encode("ascii") + b": "
    if value.__class__ is list or value.__class__ is tuple:
        return [head + item.strip(" \t").encode("ascii") + CRLF for item in value]
    if value.__class__ is not str:
        value = str(value)
    return [head + value.strip(" \t").encode("ascii") + CRLF]


def _content_type_line(value: str) -> bytes:
    problem = _value_problem("content-type", value)
    if problem is not None:
        raise ValueError(problem)
    return b"Content-Type: " + value.encode("ascii") + CRLF


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


def encode_headers(headers) -> bytes:
    """Handler-supplied headers (a dict, or a list of (name, value) pairs) as wire bytes.
    Raises ValueError naming the header when one breaks `header_problem`'s rule."""
    if not headers:
        return b""
    items = headers.items() if isinstance(headers, dict) else headers
    parts = []
    for name, value in items:
        problem = header_problem(name, value)
        if problem is not None:
            raise ValueError(problem)
        parts += _field_lines(name, value)
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
            del data  # not kept alive while the reference builds its own text
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
