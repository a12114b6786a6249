"""The request a handler receives: cheap to create, parsed only as far as a handler looks.

Strategy: the protocol hands over what httptools already produced (method, the raw target,
the raw header pairs as a list, the body bytes) and nothing is parsed further until asked:
`headers`, `query`, `cookies`, `path` (decoded) and `id` are computed on first access and
cached in slots. A handler that never reads headers never pays for a header dict. `get(name)`
offers the same fields by name, which is how the scripting layer reads a request.

Header names are lower-cased; a repeated header's values are joined with ", " (RFC 9110
5.3), except `cookie`, whose repeats are joined with "; ". Query strings keep the last value
per name in `query` and all values in `query_all`. `json()` on a body that is not JSON raises
`HTTPError(400)`, which becomes a 400 response, not a 500.
"""
from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote

from .response import HTTPError

__all__ = ["Request"]

NO_PARAMS: dict = {}  # shared by requests without a route match; never mutated


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """`parse_qsl(raw_query, keep_blank_values=True, errors="replace")`. A query with nothing
    to decode (no `%`, no `+`: `n=20&page=2`) is split here, four times faster than parse_qsl's
    general path, with the same pairs (tests/test_http_encoder.py holds the two equal)."""
    if not raw_query:
        return []
    if "%" in raw_query or "+" in raw_query:
        return parse_qsl(raw_query, keep_blank_values=True, errors="replace")
    pairs = []
    for field in raw_query.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((name, value))
    return pairs


class Request:
    __slots__ = (
        "method", "target", "raw_path", "raw_query", "params", "body", "_http_version",
        "keep_alive", "_raw_headers", "_headers", "_query", "_query_all", "_cookies",
        "_path", "_id", "_peer", "route",
    )

    def __new__(cls, method: str, target: str, raw_headers: list | bytes, body: bytes = b"",
                http_version: str | None = "1.1", keep_alive: bool = True, peer: Any = None) -> "Request":
        # An empty target is no HTTP target; the protocol never passes one.
        return new_request(method, target or "/", raw_headers, body, http_version, keep_alive, peer)

    # -- lazily parsed fields ---------------------------------------------------------------

    @property
    def path(self) -> str:
        """The percent-decoded path (no query string)."""
        try:
            return self._path
        except AttributeError:
            raw = self.raw_path
            path = self._path = unquote(raw, errors="replace") if "%" in raw else raw
            return path

    @property
    def http_version(self) -> str:
        """"1.1" or "1.0" (or whatever other version llhttp accepted), as the client sent it."""
        version = self._http_version
        if version is None:  # a request that came whole: read it off the raw request line
            head = _request_head(self._raw_headers)
            end = head.find(b"\r\n")
            version = self._http_version = head[head.rfind(b"/", 0, end) + 1:end].decode()
        return version

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; repeated values joined with ", " ("; " for cookie)."""
        try:
            return self._headers
        except AttributeError:
            headers = self._headers = _header_dict(self._raw_headers)
            return headers

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, the last value winning for a repeated name. A target with a
        query string comes with `_query` set to None, so the usual first read takes no
        AttributeError (raising and catching one costs more than parsing `n=20`)."""
        try:
            query = self._query
        except AttributeError:  # no query string
            query = self._query = {}
            return query
        if query is None:
            query = self._query = dict(query_pairs(self.raw_query))
        return query

    @property
    def query_all(self) -> dict[str, list[str]]:
        """Query parameters with every value, in order."""
        try:
            return self._query_all
        except AttributeError:
            query_all = self._query_all = {}
            for name, value in self._query_pairs():
                query_all.setdefault(name, []).append(value)
            return query_all

    def _query_pairs(self) -> list[tuple[str, str]]:
        return query_pairs(self.raw_query)

    @property
    def cookies(self) -> dict[str, str]:
        try:
            return self._cookies
        except AttributeError:
            cookies = self._cookies = _parse_cookies(self.headers.get("cookie", ""))
            return cookies

    @property
    def ip(self) -> str:
        """The peer's address (the TCP peer; proxies' headers are not trusted here)."""
        peer = self._peer
        if peer is None:
            return ""
        if not isinstance(peer, str):
            peer = self._peer = peer.peer_ip()
        return peer

    def detach(self) -> "Request":
        """Read now what belongs to the event loop (the peer address, from the transport), so
        the request may then be read from any thread. Returns the request."""
        peer = self._peer
        if peer is not None and not isinstance(peer, str):
            self._peer = peer.peer_ip()
        return self

    @property
    def id(self) -> str:
        """The client's `x-request-id` when it sent a sane one, else a generated id."""
        try:
            return self._id
        except AttributeError:
            sent = self.headers.get("x-request-id", "")
            # sane: visible ASCII (it is echoed in headers and log lines, which allow no more)
            sane = 0 < len(sent) <= 128 and sent.isascii() and sent.isprintable()
            rid = self._id = sent if sane else os.urandom(8).hex()
            return rid

    # -- body --------------------------------------------------------------------------------

    def text(self) -> str:
        """The body decoded as UTF-8; raises HTTPError(400) when it is not UTF-8."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "request body is not valid UTF-8") from None

    def json(self) -> Any:
        """The body parsed as JSON; raises HTTPError(400) when it is not valid JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HTTPError(400, "request body is not valid JSON") from None

    # -- by-name access (the scripting layer reads requests this way) ------------------------

    def get(self, name: str, default: Any = None) -> Any:
        getter = _FIELDS.get(name)
        if getter is None:
            return default
        return getter(self)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


_new = object.__new__


def new_request(method: str, target: str, raw_headers: list | bytes, body: bytes,
                http_version: str | None, keep_alive: bool, peer: Any) -> Request:
    """`Request(...)`, as the protocol calls it for every request: a plain function, which a
    Python caller calls without the type call and `__init__` frame a class call costs."""
    request = _new(Request)
    request.method = method
    request.target = target
    if "?" in target:
        path, _, request.raw_query = target.partition("?")
        request._query = None  # parsed when asked (see Request.query)
    else:
        path = target
        request.raw_query = ""
    # Empty when the target is only a query (llhttp lets `CONNECT ?a` through).
    request.raw_path = path if path[:1] == "/" else origin_path(path)
    request.params = NO_PARAMS
    request.body = body
    request._http_version = http_version  # None: read off the raw head when asked
    request.keep_alive = keep_alive
    request.route = None
    request._raw_headers = raw_headers
    request._peer = peer
    # The caches (_headers, _query_all, _cookies, _path, _id, and _query without a query
    # string) stay unset until first use: an unset slot costs nothing here and raises
    # AttributeError there.
    return request


def origin_path(target: str) -> str:
    """The path of an absolute-form target (`http://host/p`); "*" stays itself (OPTIONS *);
    other forms map to "/"."""
    if target == "*":
        return target
    scheme, sep, rest = target.partition("://")
    if not sep:
        return "/" + target if target else "/"
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


def _request_head(raw: bytes) -> bytes:
    """The raw request from its request line on: llhttp skips empty lines before a request
    line (RFC 9112 2.2 lets a server ignore them), so a whole read may begin with CRLFs."""
    return raw.lstrip(b"\r\n") if raw[:1] in b"\r\n" else raw


def _header_dict(raw: list | bytes) -> dict[str, str]:
    """From the raw pairs, or from the raw head when the request came whole (the protocol's
    quick path): llhttp has checked its syntax, so each line after the request line is
    `name:value`, with no line folding, up to the empty line (a chunked body's last chunk
    and trailers may follow it)."""
    if raw.__class__ is bytes:
        head = _request_head(raw)
        raw = [line.split(b":", 1) for line in head[:head.find(b"\r\n\r\n")].split(b"\r\n")[1:]]
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip()
        previous = headers.get(key)
        if previous is None:
            headers[key] = text
        else:
            headers[key] = previous + ("; " if key == "cookie" else ", ") + text
    return headers


def _parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if sep and name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            cookies[name] = unquote(value) if "%" in value else value
    return cookies


_FIELDS = {
    "method": lambda r: r.method,
    "path": lambda r: r.path,
    "target": lambda r: r.target,
    "params": lambda r: r.params,
    "query": lambda r: r.query,
    "query_all": lambda r: r.query_all,
    "headers": lambda r: r.headers,
    "cookies": lambda r: r.cookies,
    "ip": lambda r: r.ip,
    "id": lambda r: r.id,
    "body": lambda r: r.body,
    "http_version": lambda r: r.http_version,
    "route": lambda r: r.route,
}
