"""`import middleware`: ready-made middleware for `use` (STDLIB.md "Modules").

Strategy: each function checks its options once, when the script calls it (at load, usually:
`use middleware.cors(origins: ["https://app.example"])`), and returns a middleware: a plain
Python function `(req, next)` the script chain calls like a script function, which reads the
request record, calls `next(req)` and adjusts the response value it gets back. What each one
does follows the standard that governs it, with the choices written down in docs/stdlib.md:

- `cors`: the Fetch standard's CORS protocol. A preflight (`OPTIONS` with
  `Access-Control-Request-Method`) from an allowed origin is answered here, `204`, without
  reaching the handler; from any other origin it passes on without CORS headers (the browser
  then refuses). Other requests from an allowed origin get `Access-Control-Allow-Origin` (the
  origin itself unless origins are `"*"` and credentials are off) and `Vary: Origin`.
- `gzip`: compresses text, bytes and JSON answers of at least `min_size` bytes when the
  client's `Accept-Encoding` takes gzip (q > 0), with Python's zlib; with `br` instead when
  the client takes br at least as gladly and the `brotli` package is installed (rt does not
  depend on it; `level` is then brotli's quality). Work is charged per byte compressed.
- `basic_auth`: RFC 7617; passwords compared with `hmac.compare_digest`, every user's,
  so the time does not tell which name exists.
- `timeout(seconds)`: lowers the request's deadline for the rest of the chain.
- `request_id`, `security_headers`: add response headers the handler did not set.
- `rate_limit`: a token bucket per key, kept in `kv` (so it holds across workers, and with
  Redis across machines); `429` with `Retry-After`.
"""
from __future__ import annotations

import base64 as _b64
import functools
import hmac as _hmac
import math
import re
import time as _time
import zlib

from rtserve.lang import limits
from rtserve.lang.values import Module, Response

from . import _args
from .json import encode_compact

_SAFELISTED_METHODS = ("GET", "HEAD", "POST")
_DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_NO_BODY = frozenset({204, 304})


def _editable(res) -> Response:
    """The response as one the middleware may change (a frozen one is copied)."""
    if type(res) is Response and not res.frozen:
        return res
    return Response(status=res.status, headers=dict(res.headers), body=res.body)


def _header(req, name: str):
    value = req.get("headers").get(name)
    return value if type(value) is str else None


_ECHOABLE = re.compile(r"[\x20-\x7e\t]*")


def _echoable(value: str | None) -> bool:
    """Whether a request header's value may be sent back as a response header's (visible
    ASCII, spaces and tabs): a client's obs-text must not turn into the server's 500."""
    return value is not None and _ECHOABLE.fullmatch(value) is not None


def _names(fname: str, what: str, value) -> tuple[str, ...]:
    if type(value) is str:
        return (value,)
    items = _args.sequence(fname, what, value)
    for item in items:
        _args.text(fname, what + " items", item)
    return tuple(items)


# --------------------------------------------------------------------------- cors


def cors(origins="*", methods=None, headers=None, credentials=False, max_age=600):
    fname = "middleware.cors"
    allowed = _names(fname, "origins", origins)
    any_origin = "*" in allowed
    methods = _names(fname, "methods", methods) if methods is not None else _DEFAULT_METHODS
    allow_headers = _names(fname, "headers", headers) if headers is not None else None
    credentials = _args.boolean(fname, "credentials", credentials)
    max_age = _args.integer(fname, "max_age", max_age, 0, 86400)
    methods_text = ", ".join(m.upper() for m in methods)

    def origin_header(origin: str) -> str:
        return "*" if any_origin and not credentials else origin

    def cors_middleware(req, next):
        origin = _header(req, "origin")
        if not _echoable(origin) or not (any_origin or origin in allowed):
            return next(req)
        requested = _header(req, "access-control-request-method")
        if req.get("method") == "OPTIONS" and requested is not None:
            out = {"access-control-allow-origin": origin_header(origin),
                   "access-control-allow-methods": methods_text,
                   "access-control-max-age": str(max_age)}
            if allow_headers is not None:
                out["access-control-allow-headers"] = ", ".join(allow_headers)
            else:  # none configured: the ones the browser asked for
                asked = _header(req, "access-control-request-headers")
                if asked and _echoable(asked):
                    out["access-control-allow-headers"] = asked
            if credentials:
                out["access-control-allow-credentials"] = "true"
            if out["access-control-allow-origin"] != "*":
                out["vary"] = "Origin"
            return Response(status=204, headers=out)
        res = _editable(next(req))
        res.headers["access-control-allow-origin"] = origin_header(origin)
        if credentials:
            res.headers["access-control-allow-credentials"] = "true"
        if res.headers["access-control-allow-origin"] != "*":
            _add_vary(res, "Origin")
        return res
    return cors_middleware


def _add_vary(res: Response, name: str) -> None:
    vary = res.headers.get("vary")
    if not vary:
        res.headers["vary"] = name
    elif name.lower() not in [v.strip().lower() for v in str(vary).split(",")]:
        res.headers["vary"] = f"{vary}, {name}"


# --------------------------------------------------------------------------- gzip


def _codings(header: str | None) -> dict[str, float]:
    """Accept-Encoding as {coding: q} (RFC 9110 12.5.3; a bad q counts as 0, refusing)."""
    offered: dict[str, float] = {}
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        if name:
            offered[name] = q if q == q else 0.0  # NaN refuses
    return offered


@functools.cache
def _brotli():
    """The brotli module when the operator installed it (`pip install brotli`), else None: rt
    does not depend on it, so `br` is used only where it is available (STDLIB.md)."""
    try:
        import brotli
    except ImportError:
        return None
    return brotli


def _chosen_coding(header: str | None) -> str | None:
    """"br", "gzip" or None (send it as it is). An explicit q beats `*`; br wins a tie, as it
    packs text smaller at the same cost."""
    offered = _codings(header)
    star = offered.get("*", 0.0)
    gzip_q = offered.get("gzip", star)
    br_q = offered.get("br", star) if _brotli() is not None else 0.0
    if br_q > 0 and br_q >= gzip_q:
        return "br"
    return "gzip" if gzip_q > 0 else None


def _encoded_body(res: Response) -> tuple[bytes, str] | None:
    """The body as bytes and the content type it is sent with, or None (no body)."""
    body = res.body
    t = type(body)
    if t is str:
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if t is bytes:
        return body, "application/octet-stream"
    if body is None:
        return None
    return encode_compact(body).encode("utf-8"), "application/json"


def gzip(min_size=1024, level=6):
    fname = "middleware.gzip"
    min_size = _args.integer(fname, "min_size", min_size, 0)
    level = _args.integer(fname, "level", level, 1, 9)

    def gzip_middleware(req, next):
        res = next(req)
        coding = _chosen_coding(_header(req, "accept-encoding"))
        if coding is None or res.status in _NO_BODY or res.headers.get("content-encoding"):
            return res
        encoded = _encoded_body(res)
        if encoded is None or len(encoded[0]) < min_size:
            return res
        data, content_type = encoded
        if coding == "br":
            _args.work(len(data) * 8)  # brotli costs about twice deflate at a like level
            packed = _brotli().compress(data, quality=level)
        else:
            _args.work(len(data) * 4)  # deflate costs several times a plain scan
            compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: the gzip container
            packed = compressor.compress(data) + compressor.flush()
        _args.result(len(packed))
        res = _editable(res)
        res.headers.setdefault("content-type", content_type)
        res.headers["content-encoding"] = coding
        _add_vary(res, "Accept-Encoding")
        res.body = packed
        return res
    return gzip_middleware


# --------------------------------------------------------------------------- auth, ids, headers


def basic_auth(users, realm="rt"):
    fname = "middleware.basic_auth"
    table = _args.mapping(fname, "users", users)
    credentials = []
    for name, password in table.items():
        _args.text(fname, "user names", name)
        _args.text(fname, "passwords", password)
        credentials.append((name.encode("utf-8"), password.encode("utf-8")))
    realm = _args.text(fname, "realm", realm)
    if '"' in realm or "\\" in realm or not realm.isprintable():
        raise _args.value_error(fname, "realm must be printable text without quotes or backslashes")
    challenge = {"www-authenticate": f'Basic realm="{realm}", charset="UTF-8"'}

    def basic_auth_middleware(req, next):
        sent = _header(req, "authorization") or ""
        scheme, _, token = sent.partition(" ")
        user = password = b""
        if scheme.lower() == "basic":
            try:
                user, _, password = _b64.b64decode(token.strip(), validate=True).partition(b":")
            except ValueError:
                pass
        ok = False
        for name, secret in credentials:  # every entry, so timing tells nothing
            ok |= _hmac.compare_digest(name, user) & _hmac.compare_digest(secret, password)
        if not ok:
            return Response(status=401, headers=dict(challenge), body={"error": "unauthorized"})
        return next(req)
    return basic_auth_middleware


def request_id():
    def request_id_middleware(req, next):
        res = _editable(next(req))
        res.headers.setdefault("x-request-id", req.get("id"))
        return res
    return request_id_middleware


_SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("strict-transport-security", "max-age=15552000; includeSubDomains"),
)


def security_headers():
    def security_headers_middleware(req, next):
        res = _editable(next(req))
        for name, value in _SECURITY_HEADERS:
            res.headers.setdefault(name, value)
        return res
    return security_headers_middleware


def timeout(seconds):
    fname = "middleware.timeout"
    seconds = _args.number(fname, "seconds", seconds)
    if not 0 < seconds <= 3600:  # also refuses NaN
        raise _args.value_error(fname, f"seconds must be more than 0 and at most 3600, not {seconds!r}")

    def timeout_middleware(req, next):
        budget = limits.current()
        due = _time.monotonic() + seconds
        if budget.deadline is None or due < budget.deadline:
            budget.deadline = due
        return next(req)
    return timeout_middleware


# --------------------------------------------------------------------------- rate limit


def module(config) -> Module:
    """The module, with `rate_limit` bound to this server's `kv` (built from `config`)."""
    functions = [cors, gzip, basic_auth, request_id, security_headers, timeout]
    store = _kv_store(config)
    if store is not None:
        functions.append(_rate_limit_over(store))
    return Module.of("middleware", functions)


def _kv_store(config):
    try:
        from . import kv
    except ImportError:  # no kv module in this build
        return None
    return kv.store(config) if hasattr(kv, "store") else None


RATE_LIMITS_MADE = [0]  # rate_limit middleware made in this process: the admin port's /ready
                       # then checks kv too, which they keep their buckets in


def _rate_limit_over(store):
    def rate_limit(rate, per=1, burst=None, key=None):
        fname = "middleware.rate_limit"
        RATE_LIMITS_MADE[0] += 1
        rate = _args.number(fname, "rate", rate)
        per = _args.number(fname, "per", per)
        if not (rate > 0 and per > 0) or math.isinf(rate) or math.isinf(per):
            raise _args.value_error(fname, "rate and per must be positive numbers")
        burst = _args.integer(fname, "burst", burst, 1) if burst is not None else max(1, math.ceil(rate))
        if key is not None and not callable(key):
            raise _args.type_error(fname, "key", "a function (req)", key)
        refill = rate / per  # tokens per second

        def rate_limit_middleware(req, next):
            who = key(req) if key is not None else req.get("ip")
            name = "rt:rate:" + (who if type(who) is str else encode_compact(who))
            wait = store.take(name, burst, refill)
            if wait > 0:
                return Response(status=429, headers={"retry-after": str(max(1, math.ceil(wait)))},
                                body={"error": "too many requests"})
            return next(req)
        return rate_limit_middleware
    return rate_limit

