"""What handlers return, and how each kind of result becomes wire bytes.

Strategy: a handler returns a plain value (`str`, `bytes`, `dict`, `list`, `None`) or a
`Response`; `render` picks the encoding from a table keyed by the value's exact type (no
if-chain), so the common cases cost one dict lookup and one join of ready-made bytes.
`HTTPError` is the one exception a handler (or the request object, e.g. `json()` on a bad
body) raises on purpose to answer with a client error; anything else a handler raises is a
500 decided by the caller (runtime/app.py), never shown to the client.

A `Response` whose body is an iterable or async iterable of bytes/str is streamed
(`Streamed`): the protocol writes it piece by piece, respecting backpressure, with chunked
transfer encoding (to an HTTP/1.0 client: raw, and the connection closes at the end).
"""
from __future__ import annotations

from typing import Any

from . import wire

__all__ = ["Headers", "Response", "HTTPError", "Streamed", "Rendered", "render", "render_error",
           "Failure", "NOT_FOUND", "METHOD_NOT_ALLOWED", "INTERNAL", "DEADLINE", "BUSY"]


class Failure(tuple):
    """An answer rt itself gives when a request cannot be served as asked: its status and
    the message of its `{"error": ...}` body. The table below is the one place they are
    decided (docs/server.md "Error answers")."""
    __slots__ = ()

    def __new__(cls, status: int, message: str) -> "Failure":
        return tuple.__new__(cls, (status, message))

    status = property(lambda self: self[0])
    message = property(lambda self: self[1])

    def response(self, request_id: str | None = None, headers: Any = None) -> "Response":
        return Response(wire.error_body(self.message, request_id), status=self.status,
                        headers=headers, content_type="application/json")


BAD_BODY = Failure(400, "request body is not valid UTF-8")  # a script read it as text; nothing caught it
NOT_FOUND = Failure(404, "not found")                      # no route for the path
METHOD_NOT_ALLOWED = Failure(405, "method not allowed")    # a route, not for this method (+ Allow)
INTERNAL = Failure(500, "internal server error")           # a handler failed or hit a limit
DEADLINE = Failure(503, "deadline exceeded")               # the handler ran past --deadline
BUSY = Failure(503, "server busy")                         # the bridge's queue is full (+ Retry-After)


class Headers(dict):
    """Response headers: a mapping whose keys compare case-insensitively (the spelling first
    set is the one sent). A value is a string, or a list of strings for one field line each
    (several `Set-Cookie`s). Built from a mapping or from (name, value) pairs, where a name
    given twice collects its values into a list."""

    __slots__ = ()

    def __init__(self, items: Any = None) -> None:
        super().__init__()
        if items:
            for name, value in (items.items() if isinstance(items, dict) else items):
                if name in self:
                    earlier = self[name]
                    self[name] = (earlier if isinstance(earlier, list) else [earlier]) + [value]
                else:
                    self[name] = value

    def _key(self, name: Any) -> Any:
        if dict.__contains__(self, name) or not isinstance(name, str):
            return name
        lowered = name.lower()
        for key in self:
            if key.lower() == lowered:
                return key
        return name

    def __getitem__(self, name: Any) -> Any:
        return dict.__getitem__(self, self._key(name))

    def __setitem__(self, name: Any, value: Any) -> None:
        dict.__setitem__(self, self._key(name), value)

    def __delitem__(self, name: Any) -> None:
        dict.__delitem__(self, self._key(name))

    def __contains__(self, name: Any) -> bool:
        return dict.__contains__(self, self._key(name))

    def get(self, name: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(name), default)

    def pop(self, name: Any, *default: Any) -> Any:
        return dict.pop(self, self._key(name), *default)

    def setdefault(self, name: Any, default: Any = None) -> Any:
        return dict.setdefault(self, self._key(name), default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value


class Response:
    """An explicit response: body (str, bytes, dict/list as JSON, None, or an iterable of
    chunks to stream), status, headers (always a `Headers` mapping; given as a mapping or a
    list of pairs), and content type."""

    __slots__ = ("body", "status", "headers", "content_type")

    def __init__(self, body: Any = b"", status: int = 200, headers: Any = None,
                 content_type: str | None = None) -> None:
        self.body = body
        self.status = status
        self.headers = Headers(headers)
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"Response(status={self.status}, content_type={self.content_type!r})"


class HTTPError(Exception):
    """Raise to answer with `status` and a small JSON error body, e.g. HTTPError(400, "...")."""

    def __init__(self, status: int, message: str, headers: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = Headers(headers)


class Streamed:
    """A streamed response in the making: what its head says and the iterator of its body
    (None for HEAD). The protocol asks for the head once it knows how the body will be
    framed (chunked, or for HTTP/1.0 until the connection closes)."""

    __slots__ = ("status", "content_type", "extra", "chunks", "keep_alive")

    def __init__(self, status: int, content_type: bytes, extra: bytes, chunks: Any,
                 keep_alive: bool) -> None:
        self.status = status
        self.content_type = content_type
        self.extra = extra
        self.chunks = chunks
        self.keep_alive = keep_alive

    def head(self, keep_alive: bool, chunked: bool = True) -> bytes:
        return wire.encode_chunked_head(self.status, self.content_type, keep_alive,
                                          self.extra, chunked)


_NO_BODY_STATUSES = frozenset({204, 304}) | frozenset(range(100, 200))


def _render_str(value: str, keep_alive: bool, head_only: bool) -> bytes:
    return wire.encode_ok(wire.OK_TEXT, value.encode("utf-8"), keep_alive, head_only)


def _render_bytes(value: bytes, keep_alive: bool, head_only: bool) -> bytes:
    return wire.encode(200, wire.CT_BYTES, bytes(value), keep_alive, head_only)


def _render_json(value: Any, keep_alive: bool, head_only: bool) -> bytes:
    return wire.encode_ok(wire.OK_JSON, wire.dumps_json(value), keep_alive, head_only)


def _render_none(value: None, keep_alive: bool, head_only: bool) -> bytes:
    return wire.encode_no_body(204, keep_alive)


def _bytes_body(body: Any) -> tuple[bytes, bytes]:
    return bytes(body), wire.CT_BYTES


# A Response body's exact type -> (wire bytes, default Content-Type line).
_BODY_ENCODERS = {
    bytes: lambda body: (body, wire.CT_BYTES),
    str: lambda body: (body.encode("utf-8"), wire.CT_TEXT),
    dict: lambda body: (wire.dumps_json(body), wire.CT_JSON),
    list: lambda body: (wire.dumps_json(body), wire.CT_JSON),
    type(None): lambda body: (b"", None),  # no body: no content type to announce
    bytearray: _bytes_body,
    memoryview: _bytes_body,
}


def _is_stream(body: Any) -> bool:
    return hasattr(body, "__aiter__") or (
        hasattr(body, "__iter__") and not isinstance(body, (bytes, bytearray, memoryview, str,
                                                            dict, list, tuple)))


def _render_response(resp: Response, keep_alive: bool, head_only: bool) -> bytes | Streamed:
    status = resp.status
    wire.status_line(status)  # a status that is not 200-599 is refused before anything else
    headers = resp.headers
    content_type = resp.content_type
    extra = b""
    if headers:
        headers, named_type = _without_content_type(headers)
        if named_type is not None:
            content_type = named_type
        extra = wire.encode_headers(headers)
    if status in _NO_BODY_STATUSES:
        return wire.encode_no_body(status, keep_alive, extra)
    body = resp.body
    encoder = _BODY_ENCODERS.get(body.__class__)
    if encoder is None:
        if _is_stream(body):
            ctype = wire.content_type_line(content_type or "application/octet-stream")
            return Streamed(status, ctype, extra, None if head_only else body, keep_alive)
        raise TypeError(f"unsupported response body type {type(body).__name__}")
    data, ctype = encoder(body)
    if content_type is not None:
        ctype = wire.content_type_line(content_type)
    return wire.encode(status, ctype, data, keep_alive, head_only, extra)


def _without_content_type(headers: Any) -> tuple[Any, Any]:
    """A `Content-Type` among a response's headers replaces the one its body implies (one
    field, never two): the headers without it, and its value (None when absent)."""
    items = headers.items() if isinstance(headers, dict) else headers
    named = None
    kept = []
    for name, value in items:
        if name.__class__ is str and name.lower() == "content-type":
            if value.__class__ is not str:
                raise ValueError(f"header {name!r}: a content type must be a string")
            named = value
        else:
            kept.append((name, value))
    return (headers, None) if named is None else (kept, named)


class Rendered:
    """A whole response already encoded (head and body) by a layer that knew how: sent as is."""
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _render_rendered(value: Rendered, keep_alive: bool, head_only: bool) -> bytes:
    return value.data


# Exact type -> encoder; subclasses of these types fall back to an isinstance walk in `render`.
_RENDERERS = {
    str: _render_str,
    bytes: _render_bytes,
    bytearray: _render_bytes,
    dict: _render_json,
    list: _render_json,
    type(None): _render_none,
    Response: _render_response,
    Rendered: _render_rendered,
}


def render(result: Any, keep_alive: bool, head_only: bool = False) -> bytes | Streamed:
    """Encode a handler's result. Raises TypeError for a result that is none of the supported
    kinds, ValueError for a status outside 200-599, a header that breaks
    `wire.header_problem`'s rule or a JSON body holding NaN or an infinity (all mean a bug
    in the handler: the caller answers 500 and logs it)."""
    renderer = _RENDERERS.get(type(result))
    if renderer is None:
        for kind, candidate in _RENDERERS.items():
            if isinstance(result, kind):
                renderer = candidate
                break
        else:
            raise TypeError(f"handler returned {type(result).__name__}; expected str, bytes, "
                            f"dict, list, None or Response")
    return renderer(result, keep_alive, head_only)


def render_error(status: int, message: str, keep_alive: bool, head_only: bool = False,
                 request_id: str | None = None, headers: Any = None) -> bytes:
    """A client or server error with a small JSON body (never a traceback)."""
    extra = wire.encode_headers(headers) if headers else b""
    return wire.encode(status, wire.CT_JSON, wire.error_body(message, request_id),
                         keep_alive, head_only, extra)
