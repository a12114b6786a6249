"""`import base64`: encode and decode base64 (RFC 4648).

Strategy: Python's `base64`/`binascii` in strict mode. `encode(data, url: false)` gives the
standard alphabet with `=` padding; `url: true` gives the URL-safe alphabet (`-_`) *without*
padding, as JWT and most URL uses want (RFC 4648 section 5, RFC 7515 "base64url").
`decode` accepts its alphabet with or without padding and ignores ASCII whitespace (line
breaks in PEM-style text), but refuses any other character, or the other alphabet's, with a
ValueError naming the first bad position: silently dropping characters hides corruption.
"""
from __future__ import annotations

import base64 as _b64
import binascii
import re as _re

from rtserve.lang.values import Module

from . import _args

_WHITESPACE = _re.compile(rb"[ \t\r\n]+")
_STANDARD = _re.compile(rb"[^A-Za-z0-9+/=]")
_URL = _re.compile(rb"[^A-Za-z0-9\-_=]")


def encode(data, url=False) -> str:
    raw = _args.data("base64.encode", "data", data)
    url = _args.boolean("base64.encode", "url", url)
    _args.work(len(raw))
    _args.result((len(raw) + 2) // 3 * 4)
    _args.cap_length((len(raw) + 2) // 3 * 4)
    if url:
        return _b64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return _b64.b64encode(raw).decode("ascii")


def decode(text, url=False) -> bytes:
    if type(text) is str:
        if not text.isascii():
            bad = next(i for i, c in enumerate(text) if not c.isascii())
            raise _args.value_error("base64.decode", f"invalid base64: character {text[bad]!r} at position {bad}")
        raw = text.encode("ascii")
    elif type(text) is bytes:
        raw = text
    else:
        raise _args.type_error("base64.decode", "text", "a string or bytes", text)
    url = _args.boolean("base64.decode", "url", url)
    _args.work(len(raw))
    bad = (_URL if url else _STANDARD).search(raw)
    if bad is not None and not _WHITESPACE.match(raw, bad.start()):
        raise _args.value_error("base64.decode", f"invalid base64: character {chr(raw[bad.start()])!r} "
                                f"at position {bad.start()}")
    compact = _WHITESPACE.sub(b"", raw)
    stripped = compact.rstrip(b"=")
    if b"=" in stripped or len(compact) - len(stripped) > 2 or len(stripped) % 4 == 1:
        raise _args.value_error("base64.decode", "invalid base64: wrong length or padding")
    padded = stripped + b"=" * (-len(stripped) % 4)
    _args.result(len(padded) // 4 * 3)
    try:
        if url:
            return _b64.urlsafe_b64decode(padded)
        return _b64.b64decode(padded, validate=True)
    except binascii.Error as exc:  # defensive: the checks above should catch every case
        raise _args.value_error("base64.decode", f"invalid base64: {exc}") from None


MODULE = Module.of("base64", [encode, decode])
