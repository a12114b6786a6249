"""`import text`: slugs, truncation, HTML escaping and URL encoding.

Strategy: Python's `unicodedata`, `html` and `urllib.parse`, with the choices written down:
- `slug(s)`: NFKD-decomposed, accents dropped, lower case, every run of other characters one
  `-`, no leading or trailing `-` ("Héllo, World!" -> "hello-world"); ASCII only, for URLs.
- `truncate(s, n, end: "...")`: at most `n` code points *including* `end`; unchanged when it
  fits.
- `escape_html(s)`: `& < > " '` as entities (safe in element text and quoted attributes).
- `url_encode(s)`: percent-encodes UTF-8 of everything but RFC 3986's unreserved characters
  (so it is safe for a path segment or a query value); `url_decode(s)` reverses it (`+` is
  kept as `+`: use it for what `url_encode` made) and refuses bad escapes' invalid UTF-8.
- `query(map)`: `k=v&...` in the map's order, each side url-encoded; a list value repeats
  the key, `true`/`false` are written as such, numbers as the language prints them, and a
  nil value leaves the key out (as `URLSearchParams` users expect of `undefined`).
"""
from __future__ import annotations

import html
import re as _re
import unicodedata
import urllib.parse

from rtserve.lang.values import Module, to_str

from . import _args

_NOT_SLUG = _re.compile(r"[^a-z0-9]+")
_BAD_ESCAPE = _re.compile(r"%(?![0-9A-Fa-f]{2})")


# NFKD can make up to 18 characters of one (U+FDFA): `slug` decomposes this many at a time,
# so what it holds at once stays small and what it keeps is charged as it grows.
_SLUG_CHUNK = 4096


def slug(s) -> str:
    s = _args.text("text.slug", "s", s)
    _args.work(len(s) * 4)
    # NFKD maps each code point on its own (canonical reordering moves only combining marks,
    # which the ASCII filter drops), so chunks give the same ASCII as the whole string
    pieces, total = [], 0
    for at in range(0, len(s), _SLUG_CHUNK):
        chunk = unicodedata.normalize("NFKD", s[at:at + _SLUG_CHUNK]).encode("ascii", "ignore")
        total += len(chunk)
        _args.cap_length(total)
        _args.result(len(chunk))
        pieces.append(chunk.decode("ascii").lower())
    out = _NOT_SLUG.sub("-", "".join(pieces)).strip("-")
    _args.result(len(out))
    return out


def truncate(s, n, end="...") -> str:
    s = _args.text("text.truncate", "s", s)
    n = _args.integer("text.truncate", "n", n, 0)
    end = _args.text("text.truncate", "end", end)
    if len(s) <= n:
        return s
    keep = max(0, n - len(end))
    _args.work(n)
    _args.result(n)
    return (s[:keep] + end)[:n]


def escape_html(s) -> str:
    s = _args.text("text.escape_html", "s", s)
    _args.work(len(s))
    _args.result(len(s) * 6)  # at most "&quot;" for each character
    return _args.capped(html.escape(s, quote=True))


def url_encode(s) -> str:
    raw = _args.data("text.url_encode", "s", s)
    _args.work(len(raw))
    _args.result(len(raw) * 3)
    return _args.capped(urllib.parse.quote_from_bytes(raw, safe=""))


def url_decode(s) -> str:
    s = _args.text("text.url_decode", "s", s)
    bad = _BAD_ESCAPE.search(s)
    if bad is not None:
        raise _args.value_error("text.url_decode", f"invalid percent escape at position {bad.start()}")
    _args.work(len(s))
    _args.result(len(s))
    try:
        return urllib.parse.unquote(s, errors="strict")
    except UnicodeDecodeError:
        raise _args.value_error("text.url_decode", "the decoded bytes are not valid UTF-8") from None


_QUERY_VALUE = "a string, number, bool, nil or a list of those"


def _query_value(key: str, value) -> str | None:
    """The text of one query value (None: leave the pair out)."""
    t = type(value)
    if t is str:
        return value
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return to_str(value)
    if value is None:
        return None
    raise _args.type_error("text.query", f"the value of {key!r}", _QUERY_VALUE, value)


def query(map) -> str:  # noqa: A002 - the script-level argument name
    params = _args.mapping("text.query", "map", map)
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if type(key) is not str:
            raise _args.type_error("text.query", "a key", "a string", key)
        for item in (value if isinstance(value, list) else (value,)):
            text_value = _query_value(key, item)
            if text_value is not None:
                pairs.append((key, text_value))
    size = sum(len(k) + len(v) + 2 for k, v in pairs)
    _args.work(size)
    _args.result(size * 3)
    return _args.capped("&".join(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe="")
                                 for k, v in pairs))


MODULE = Module.of("text", [slug, truncate, escape_html, url_encode, url_decode, query])
