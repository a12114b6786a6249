"""`import re`: regular expressions in RE2 syntax, matched in linear time.

Strategy: patterns are compiled by Google's RE2 (the `google-re2` bindings), whose automata
never backtrack: matching time is linear in the text for every pattern, so a pattern such
as `(a+)+$` cannot hold a worker for minutes as it can in PCRE, Python's `re` or
JavaScript. The price is RE2's syntax: no backreferences and no lookaround (a pattern using
them is refused as invalid).

- Compiled patterns are kept in one bounded LRU cache (`CACHE_SIZE` patterns), keyed by the
  pattern text, so a handler can pass a literal pattern on every request at no compile cost.
- A bad pattern is a `ValueError` naming the position: RE2's message names the offending
  piece; its position is the one Python's parser reports when it also rejects the pattern,
  else where RE2's piece starts.
- Positions (`start`, `end`) count code points, as string indexing does.
- Work is charged per byte of text scanned (times the pattern's size class) before matching,
  and every result list and map against the memory budget.
- Matches are found left to right, each search starting where the last match ended, or one
  character later after an empty match (as in JavaScript; Python 3.7+ instead retries the
  same position for a non-empty match). `find_all`, `replace` and `split` all iterate so.
- `find_all` returns the matched texts (group 0), at most `limit` (0: all, as the memory
  budget allows, like `split`'s and `replace`'s 0); `split` includes the text of
  capturing groups between the pieces (nil for a group that did not take part), as Python and
  JavaScript do; `limit` there is the most splits made (0: all); `replace`'s `count` the most
  replacements (0: all). In `with`, `\\1`..`\\99`, `\\g<name>` and `\\g<0>` insert groups and
  `\\\\` a backslash; any other backslash is refused rather than kept as text.
"""
from __future__ import annotations

import functools
import re as _pyre

import re2 as _re2

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.resolver import _safe as _safe_name
from rtserve.lang.values import Module

from . import _args

CACHE_SIZE = 256
MAX_PATTERN = 64 * 1024
MAX_FIND_LIMIT = 1_000_000

_OPTIONS = _re2.Options()
_OPTIONS.log_errors = False  # errors come back to the script, not to the server's stderr


def _position(pattern: str, piece: str) -> int:
    """Where the error in `pattern` is: Python's parser's position if it also rejects the
    pattern (it points at the unclosed `(` of "missing )"), else where RE2's piece starts."""
    try:
        _pyre.compile(pattern)
    except _pyre.error as exc:
        if exc.pos is not None:
            return exc.pos
    except (RecursionError, OverflowError):
        pass
    found = pattern.find(piece) if piece else -1
    return max(found, 0)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(pattern: str):
    return _re2.compile(pattern, _OPTIONS)


def _compile(fname: str, pattern):
    pattern = _args.utf8(fname, "pattern", pattern)
    if len(pattern) > MAX_PATTERN:
        raise _args.value_error(fname, f"pattern longer than {MAX_PATTERN} characters")
    _args.work(len(pattern))
    try:
        return _compile_cached(pattern)
    except _re2.error as exc:
        raw = exc.args[0] if exc.args else b""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        piece = message.partition(": ")[2]
        raise _args.value_error(fname, f"invalid pattern at position {_position(pattern, piece)}: "
                                f"{message}") from None


def _scan(fname: str, compiled, text) -> str:
    """Check `text` and charge scanning it with `compiled` (linear in both)."""
    text = _args.utf8(fname, "text", text)
    _args.work(len(text) * (1 + len(compiled.pattern) // 32))
    return text


def _match_map(m) -> dict | None:
    if m is None:
        return None
    groups = list(m.groups())
    named = m.groupdict()
    _args.result(len(m.group(0)) + sum(len(g) for g in groups if g) + 64 * (len(groups) + 1))
    return {"text": m.group(0), "start": m.start(), "end": m.end(), "groups": groups, "named": named}


def test(pattern, text) -> bool:
    compiled = _compile("re.test", pattern)
    return compiled.search(_scan("re.test", compiled, text)) is not None


def match(pattern, text) -> dict | None:
    compiled = _compile("re.match", pattern)
    return _match_map(compiled.match(_scan("re.match", compiled, text)))


def search(pattern, text) -> dict | None:
    compiled = _compile("re.search", pattern)
    return _match_map(compiled.search(_scan("re.search", compiled, text)))


def _listed(text: str, start: int, end: int) -> str:
    """`text[start:end]`, charged as a string about to be put in a list (its header, its
    characters and the list's slot) before it is built: a list of many short pieces costs
    far more than the text it came from."""
    _args.result(limits.text_bytes(text, end - start) + limits.GROWN_SLOT_BYTES)
    return text[start:end]


def find_all(pattern, text, limit=1000) -> list:
    compiled = _compile("re.find_all", pattern)
    text = _scan("re.find_all", compiled, text)
    limit = _args.integer("re.find_all", "limit", limit, 0, MAX_FIND_LIMIT)
    found = []
    for m in compiled.finditer(text):
        found.append(_listed(text, m.start(), m.end()))
        if len(found) == limit:
            break
    return found


_TEMPLATE_PIECE = _pyre.compile(r"\\(?:g<([^>]*)>|([0-9]{1,2})|(\\))|\\(.?)", _pyre.S)


def _template(fname: str, template: str, compiled) -> list:
    """`with` as a list of literal strings and group numbers: `\\1`..`\\99`, `\\g<name>` or
    `\\g<1>` name groups, `\\\\` is a backslash; any other backslash is an error (as in
    Python, so a typo never silently becomes text)."""
    pieces: list = []
    at = 0
    for m in _TEMPLATE_PIECE.finditer(template):
        if m.start() > at:
            pieces.append(template[at:m.start()])
        at = m.end()
        name, number, backslash, other = m.groups()
        if backslash:
            pieces.append("\\")
            continue
        if other is not None:
            problem = f"unknown escape \\{other}" if other else "a lone backslash"
            raise _args.value_error(fname, f"invalid replacement: {problem} at position {m.start()} "
                                    "(write \\\\ for a backslash)")
        ref = number if number is not None else name
        if ref.isdigit():
            index = int(ref)
        elif ref in compiled.groupindex:
            index = compiled.groupindex[ref]
        else:
            raise _args.value_error(fname, f"invalid replacement: the pattern has no group named {ref!r}")
        if index > compiled.groups:
            raise _args.value_error(fname, f"invalid replacement: the pattern has no group {index}")
        pieces.append(index)
    if at < len(template):
        pieces.append(template[at:])
    return pieces


# `with` is a Python keyword: the compiler passes a script's `with:` argument under this name.
_WITH = _safe_name("with")


def replace(pattern, text, with_=None, count=0, **named) -> str:
    if _WITH in named:
        with_ = named.pop(_WITH)
    elif with_ is None and not named:
        raise _args.type_error("re.replace", "with", "a string", None)
    if named:
        raise ScriptError("TypeError", f"re.replace() got an unexpected named argument {next(iter(named))!r}")
    compiled = _compile("re.replace", pattern)
    text = _scan("re.replace", compiled, text)
    template = _template("re.replace", _args.utf8("re.replace", "with", with_), compiled)
    count = _args.integer("re.replace", "count", count, 0)
    out: list[str] = []
    at = done = total = 0
    for m in compiled.finditer(text):
        groups = [m.group(i) if type(i) is int else i for i in template]
        # the size of this piece is known before it is joined: charge, then build
        piece = m.start() - at + sum(len(g) for g in groups if g)
        total += piece
        _args.cap_length(total + len(text) - m.end())
        _args.result(piece)
        out.append(text[at:m.start()])
        out.extend(g for g in groups if g)
        at = m.end()
        done += 1
        if done == count:
            break
    _args.result(len(text) - at)
    out.append(text[at:])
    return "".join(out)


def split(pattern, text, limit=0) -> list:
    compiled = _compile("re.split", pattern)
    text = _scan("re.split", compiled, text)
    limit = _args.integer("re.split", "limit", limit, 0)
    pieces: list = []
    at = done = 0
    for m in compiled.finditer(text):
        pieces.append(_listed(text, at, m.start()))
        for i in range(1, compiled.groups + 1):
            start, end = m.span(i)
            if start < 0:  # the group did not take part: nil, a slot
                _args.result(limits.GROWN_SLOT_BYTES)
                pieces.append(None)
            else:
                pieces.append(_listed(text, start, end))
        at = m.end()
        _args.cap_length(len(pieces), "list")
        done += 1
        if done == limit:
            break
    pieces.append(_listed(text, at, len(text)))
    return pieces


MODULE = Module.of("re", [test, match, search, find_all, replace, split])
