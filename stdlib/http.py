"""`import http`: `fetch` other services and build checked `Set-Cookie` values.

Strategy: `fetch` is an attack surface, so the module reaches only what the operator allowed
(`--allow-fetch`, see `_fetch_policy`) and every URL, including each redirect target, is
checked hop by hop before anything is sent; the connection goes to the address that was
checked (`_fetch_client`). Redirects (301, 302, 303, 307, 308; at most `MAX_REDIRECTS`) are
followed here as the Fetch standard does: 303, and 301/302 after a POST, become a GET without
a body, and credentials (`authorization`, `cookie`) are dropped when a hop leaves the origin.
One time bound (`timeout:`, and never past the request's deadline, which then ends the
handler as any deadline does) covers all hops; the response body is capped by
`--fetch-max-body`. A fetch announces itself through `limits.blocking()`; scripts that import
`http` run on the worker pool even without `--async` (the runtime does that and says so).

The answer is a map `{status, headers, body, bytes, url}`: `headers` with lower-case names
(repeated fields joined by ", "), `body` the text (UTF-8, invalid bytes replaced), `bytes`
the raw body, `url` the final URL after redirects, and `json()` decoding the body. A refused
URL is a `PermissionError` that says what to allow; a failed exchange is a `FetchError` whose
`value` is the reason ("timeout", "connect", "dns", "too large", "tls", "protocol",
"redirects").

`cookie(name, value, ...)` returns one `Set-Cookie` value (RFC 6265), checked so it cannot
smuggle attributes or break the header: the name a token, the value cookie-octets (encode
other text with `text.url_encode` first), `path`/`domain` without `;` or control characters,
`same_site` Strict/Lax/None (None needs `secure`), and the `__Secure-`/`__Host-` prefix rules.
Defaults are the safe ones: `path: "/"`, `http_only: true`, `same_site: "Lax"`.
"""
from __future__ import annotations

import concurrent.futures
import re as _re
import socket
import sys
import time
import urllib.parse

from rtserve.lang import limits
from rtserve.lang.errors import DeadlineExceeded, ScriptError
from rtserve.lang.values import Module

from . import _args
from ._fetch_client import Client, FetchFailed
from ._fetch_policy import Policy, Refused
from .json import decode as decode_json, encode_compact

DEFAULT_MAX_BODY = 8 * 1024 * 1024
MAX_REDIRECTS = 5
MAX_TIMEOUT = 300.0
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_TOKEN = _re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = _re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_SERVER_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "upgrade",
                             "te", "trailer", "keep-alive", "proxy-connection"})
_CREDENTIALS = ("authorization", "cookie", "proxy-authorization")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Name lookups run here so a fetch can stop waiting for one at its time bound.
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="rt-dns")


# --------------------------------------------------------------------------- fetch


class _Target:
    """A checked URL: scheme, host, port and the request target (path and query)."""
    __slots__ = ("url", "scheme", "host", "port", "target")

    def __init__(self, url: str) -> None:
        if not url.isascii() or any(c in url for c in "\r\n\t\0 "):
            raise _args.value_error("http.fetch", "url must be ASCII without spaces (encode parts with text.url_encode)")
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _args.value_error("http.fetch", f"bad url {url!r}: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise _args.value_error("http.fetch", f"url must start with http:// or https://, not {url!r}")
        if not parts.hostname:
            raise _args.value_error("http.fetch", f"url {url!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise _args.value_error("http.fetch", "credentials in the url are not sent; use an authorization header")
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname.lower()
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def origin(self) -> tuple:
        return self.scheme, self.host, self.port


def _headers(given) -> dict:
    headers = {}
    for name, value in _args.mapping("http.fetch", "headers", given).items():
        if type(name) is not str or not _TOKEN.fullmatch(name):
            raise _args.value_error("http.fetch", f"header name {name!r} is not an HTTP token")
        if type(value) is int or type(value) is float:
            value = str(value)
        if type(value) is not str:
            raise _args.type_error("http.fetch", f"header {name!r}", "a string or number", value)
        if not _FIELD_VALUE.fullmatch(value):
            raise _args.value_error("http.fetch", f"header {name!r} holds a line break or control character")
        lower = name.lower()
        if lower in _SERVER_HEADERS:
            raise _args.value_error("http.fetch", f"header {name!r} is set by the client, not by scripts")
        headers[lower] = value
    return headers


def _response_headers(pairs) -> dict:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


class Fetcher:
    """`http.fetch` for one server: its policy, client and body cap."""

    def __init__(self, allow=(), max_body: int = DEFAULT_MAX_BODY) -> None:
        self.policy = Policy(allow)
        self.client = Client(max_body)

    def fetch(self, url, method="GET", headers=None, body=None, json=None, timeout=10):  # noqa: A002
        fname = "http.fetch"
        target = _Target(_args.text(fname, "url", url))
        method = _args.choice(fname, "method", method.upper() if type(method) is str else method, METHODS)
        sent_headers = _headers({} if headers is None else headers)
        if body is not None and json is not None:
            raise _args.value_error(fname, "give body or json, not both")
        payload = None
        if json is not None:
            try:
                payload = encode_compact(json).encode("utf-8")
            except ScriptError as exc:
                raise ScriptError(exc.kind, f"{fname}(): json cannot be encoded: {exc.message.split(': ', 1)[-1]}") from None
            sent_headers.setdefault("content-type", "application/json")
        elif body is not None:
            payload = _args.data(fname, "body", body)
        timeout = _args.number(fname, "timeout", timeout)
        if not 0 < timeout <= MAX_TIMEOUT:
            raise _args.value_error(fname, f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
        _args.work(len(payload or b""), base=100)
        left = limits.current().time_left()
        by_deadline = left is not None and left < timeout
        return self._exchange(target, method, sent_headers, payload, min(timeout, left) if by_deadline else timeout,
                              by_deadline)

    def _exchange(self, target: _Target, method: str, headers: dict, payload, timeout: float, by_deadline: bool):
        end = time.monotonic() + timeout
        for _hop in range(MAX_REDIRECTS + 1):
            limits.blocking()
            address = self._address(target, end - time.monotonic(), by_deadline, timeout)
            left = end - time.monotonic()
            if left <= 0:
                self._timed_out(by_deadline, timeout)
            try:
                status, pairs, data = self.client.request(target.scheme, target.host, target.port, address,
                                                          method, target.target, headers, payload, left)
            except FetchFailed as exc:
                if exc.reason == "timeout":
                    self._timed_out(by_deadline, timeout)
                raise _failed(exc.reason, f"{method} {target.url}: {exc}") from None
            received = _response_headers(pairs)
            location = received.get("location")
            if status not in _REDIRECTS or location is None:
                return _answer(status, received, data, target.url)
            try:
                next_target = _Target(urllib.parse.urljoin(target.url, location))
            except ScriptError as exc:  # the server's mistake, not the script's
                raise _failed("protocol", f"{method} {target.url}: redirected to an unusable location: "
                              f"{exc.message.split('(): ', 1)[-1]}") from None
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, payload = ("HEAD" if method == "HEAD" else "GET"), None
                headers = {k: v for k, v in headers.items() if k != "content-type"}
            if next_target.origin() != target.origin():
                headers = {k: v for k, v in headers.items() if k not in _CREDENTIALS}
            target = next_target
        raise _failed("redirects", f"{method} {target.url}: more than {MAX_REDIRECTS} redirects")

    def _address(self, target: _Target, left: float, by_deadline: bool, timeout: float) -> str:
        """The checked address for `target`; the name lookup too is bounded by the time left
        (the system resolver's own retries can take far longer)."""
        def resolve(host, port, **kw):
            future = _RESOLVER.submit(socket.getaddrinfo, host, port, **kw)
            try:
                return future.result(timeout=max(left, 0.001))
            except concurrent.futures.TimeoutError:
                self._timed_out(by_deadline, timeout)
        try:
            return self.policy.check(target.host, target.port, resolve)
        except Refused as exc:
            raise ScriptError("PermissionError", f"http.fetch(): {target.url}: {exc}") from None
        except (OSError, UnicodeError):  # socket.gaierror, or a name IDNA cannot encode
            raise _failed("dns", f"{target.url}: cannot resolve host {target.host!r}") from None

    @staticmethod
    def _timed_out(by_deadline: bool, timeout: float):
        if by_deadline:
            raise DeadlineExceeded("deadline exceeded")
        raise _failed("timeout", f"timed out after {timeout:g} s")


def _failed(reason: str, message: str) -> ScriptError:
    return ScriptError("FetchError", f"http.fetch(): {message}", reason)


def _answer(status: int, headers: dict, data: bytes, url: str) -> dict:
    _args.result(2 * len(data) + 64 * (len(headers) + 4))
    text = data.decode("utf-8", "replace")
    # ASCII beside one wide character takes 2 or 4 bytes a character: charge what the text
    # really takes past the one byte a character charged above
    _args.result(max(0, sys.getsizeof(text) - len(data)))

    def json():
        try:
            return decode_json(text)
        except ScriptError as exc:
            raise ScriptError("ValueError", f"http.fetch(...).json(): {exc.message.split('(): ', 1)[-1]}") from None
    return {"status": status, "headers": headers, "body": text, "bytes": data, "url": url, "json": json}


# --------------------------------------------------------------------------- cookie

_COOKIE_VALUE = _re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")  # RFC 6265 cookie-octet
_ATTRIBUTE = _re.compile(r"[\x20-\x3a\x3c-\x7e]+")  # visible ASCII and space, no ';'
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_COOKIE_DOMAIN = _re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*")  # dot-separated DNS labels
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def cookie(name, value, max_age=None, path="/", domain=None, secure=False, http_only=True,
           same_site="Lax") -> str:
    fname = "http.cookie"
    name = _args.text(fname, "name", name)
    if not _TOKEN.fullmatch(name):
        raise _args.value_error(fname, f"name {name!r} is not a cookie name (an HTTP token)")
    value = _args.text(fname, "value", value)
    if not _COOKIE_VALUE.fullmatch(value):
        raise _args.value_error(fname, "value holds a character a cookie cannot (space, quote, comma, ';', "
                                "backslash or non-ASCII): encode it with text.url_encode")
    parts = [f"{name}={value}"]
    if max_age is not None:
        parts.append(f"Max-Age={_args.integer(fname, 'max_age', max_age)}")
    if path is not None:
        path = _args.text(fname, "path", path)
        if not path.startswith("/") or not _ATTRIBUTE.fullmatch(path):
            raise _args.value_error(fname, f"path must start with / and hold no ';' or control characters, not {path!r}")
        parts.append(f"Path={path}")
    if domain is not None:
        domain = _args.text(fname, "domain", domain)
        if len(domain) > 253 or not _COOKIE_DOMAIN.fullmatch(domain):
            raise _args.value_error(fname, f"domain {domain!r} is not a host name")
        parts.append(f"Domain={domain}")
    secure = _args.boolean(fname, "secure", secure)
    http_only = _args.boolean(fname, "http_only", http_only)
    if same_site is not None:
        key = _args.text(fname, "same_site", same_site).lower()
        if key not in _SAME_SITE:
            raise _args.value_error(fname, f"same_site must be Strict, Lax or None, not {same_site!r}")
        if key == "none" and not secure:
            raise _args.value_error(fname, "same_site None needs secure: true (browsers refuse it otherwise)")
        same_site = _SAME_SITE[key]
    if name.startswith("__Secure-") and not secure:
        raise _args.value_error(fname, "a __Secure- cookie needs secure: true")
    if name.startswith("__Host-") and (not secure or domain is not None or path != "/"):
        raise _args.value_error(fname, "a __Host- cookie needs secure: true, path \"/\" and no domain")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site is not None:
        parts.append(f"SameSite={same_site}")
    text = "; ".join(parts)
    _args.result(len(text))
    return text


def module(config) -> Module:
    fetcher = Fetcher(getattr(config, "allow_fetch", ()) or (),
                      getattr(config, "fetch_max_body", DEFAULT_MAX_BODY))

    def fetch(url, method="GET", headers=None, body=None, json=None, timeout=10):  # noqa: A002
        return fetcher.fetch(url, method=method, headers=headers, body=body, json=json, timeout=timeout)

    return Module.of("http", [fetch, cookie])
