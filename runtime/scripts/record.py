"""The request as scripts see it (LANGUAGE.md §6): a read-only record over the HTTP request.

Strategy. `ScriptRequest` wraps the protocol's lazy `Request` and answers `get(name)`, which
is how compiled code reads `req.name`; nothing is computed until a script asks, and every
map it hands out is frozen, so the record is safe to share with a worker thread. `body` is
the UTF-8 text, `bytes` the raw body. As LANGUAGE.md §6 says, `req.body` (and `req.form()`,
which reads it) on invalid UTF-8 raises `ValueError`, which a script may catch (or read
`req.bytes` instead); a body that is not UTF-8 is the client's mistake, so when nothing
catches it (no `try`, no `on error`) the answer is `400`, not `500` (`BadBody`, mount.py).
`req.json()` on a body that is not JSON answers `400` through `abort`.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

from rtserve.lang.builtins import register_record_type
from rtserve.lang.errors import Abort, ScriptError
from rtserve.lang.values import FrozenList, FrozenMap, set_answer_rules

from ..http import wire

# What a script's answer may carry is HTTP's rule, decided once in the HTTP core: installed
# into lang here, where scripts meet HTTP, so a script's mistake is an error at its line.
set_answer_rules(wire.status_problem, wire.header_problem)


_UNREAD = object()


class ScriptRequest:
    __slots__ = ("http", "_cache")

    def __new__(cls, http_request) -> "ScriptRequest":
        return script_request(http_request)

    def get(self, name, default=None):
        value = self._cache.get(name, _UNREAD)
        if value is not _UNREAD:
            return value
        field = _FIELDS.get(name)
        if field is None:
            return default
        value = self._cache[name] = field(self)
        return value

    def __repr__(self) -> str:
        return f"<request {self.http.method} {self.http.target}>"

    # -- the methods scripts call: req.json(), req.form() -----------------------------------

    def _json(self):
        try:
            return json.loads(self.http.body) if self.http.body else None
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep: the client's fault too
            raise Abort(400, {"error": "request body is not valid JSON"}) from None

    def _form(self):
        text = _decode(self.http.body)
        return dict(parse_qsl(text, keep_blank_values=True))


_new = object.__new__


def script_request(http_request) -> ScriptRequest:
    """`ScriptRequest(http_request)` as a plain function, which the per-request paths call
    without the class call and `__init__` frame."""
    request = _new(ScriptRequest)
    request.http = http_request
    request._cache = {}  # fields already read (a map is built once per request)
    return request


class BadBody(ScriptError):
    """`req.body` on a body that is not UTF-8: a ValueError to the script."""

    def __init__(self) -> None:
        super().__init__("ValueError", "request body is not valid UTF-8 (req.bytes has it as sent)")


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody() from None


def _query_all(req: ScriptRequest):
    return FrozenMap({k: FrozenList(v) for k, v in req.http.query_all.items()})


_FIELDS = {
    "method": lambda r: r.http.method,
    "path": lambda r: r.http.path,
    "target": lambda r: r.http.target,
    "params": lambda r: FrozenMap(r.http.params),
    "query": lambda r: FrozenMap(r.http.query),
    "query_all": _query_all,
    "headers": lambda r: FrozenMap(r.http.headers),
    "cookies": lambda r: FrozenMap(r.http.cookies),
    "ip": lambda r: r.http.ip,
    "id": lambda r: r.http.id,
    "body": lambda r: _decode(r.http.body),
    "bytes": lambda r: bytes(r.http.body),
    "json": lambda r: r._json,
    "form": lambda r: r._form,
}

register_record_type(ScriptRequest, "request")
