"""The methods of strings: `s.upper()`, `s.split(sep)`, `s.format(...)`...

Strategy: each method is a plain function `(s, *args)` that checks its arguments in the
language's type names, then calls Python's own str method; methods whose result can grow
past the size cap (`join`, `replace`, `format`) compute its length first. `format` is our
own parser: Python's str.format would evaluate `{0.__class__}`, a sandbox escape. Scans of a
long string (`find`, `count`, `isdigit`, `strip`, affixes, case mapping of non-ASCII text) go
through lang/scans.py, which does them in short calls with the one call's result. Big
results (`join`, `replace`, case mapping) are built in pieces beside a loop (lang/builds.py).
"""
from __future__ import annotations

import re

from .. import builds, limits, scans
from ..errors import ScriptError
from ..values import MAX_SIZE, check_length, repr_value, size_error, to_str, type_name
from .checks import LIST_TYPES, as_int, elements, python_type


def method_type_error(receiver: str, name: str, expected: str, value) -> ScriptError:
    return ScriptError("TypeError", f"{receiver}.{name}() takes {expected}, not {type_name(value)}")


def _string_arg(name: str, value) -> str:
    if python_type(value) is not str:
        raise method_type_error("string", name, "a string", value)
    return value


def _optional_chars(name: str, chars):
    return None if chars is None else _string_arg(name, chars)


def _copying(s) -> None:
    """Charge a method that reads all of `s` and builds a string as long."""
    limits.work_text(len(s))
    if len(s) > limits.SMALL_WORK:
        limits.allocate(len(s))


def _scanning(s) -> None:
    """Charge a method that reads all of `s` (a search) and builds nothing large."""
    limits.work_text(len(s))


_PIECE_BYTES = 64  # a new string object and its list slot, past its text


def _case_mapped(s, method):
    """upper / lower. Non-ASCII text maps at ~9 ns a character (150 ms for 16 MB in one call)
    and may grow (ß -> SS, İ -> i̇): past a slice it maps in pieces (lang/scans.py says where a
    piece may end), refused as soon as it passes the cap, never built whole first."""
    _copying(s)
    if s.isascii() or (len(s) <= scans.TEXT_SLICE and len(s) * 3 <= MAX_SIZE):
        return method(s)
    pieces, total = [], 0
    for lo, hi in scans.case_spans(s, method is str.lower):
        piece = method(s[lo:hi])
        total += len(piece)
        if total > MAX_SIZE:
            raise size_error("string")
        limits.allocate(len(piece))
        pieces.append(piece)
    if builds.large(s, total):
        return builds.concat(pieces)
    return "".join(pieces)


def _s_upper(s):
    return _case_mapped(s, str.upper)


def _s_lower(s):
    return _case_mapped(s, str.lower)


def _stripped(s, chars, name: str, left: bool, right: bool):
    """strip, lstrip, rstrip: each stripped character is a look-up in `chars`. Past a little
    work, found in charged pieces (lang/scans.py), and the copy kept is charged as built."""
    chars = _optional_chars(name, chars)
    if len(s) * (1 if chars is None else len(chars) or 1) <= limits.SMALL_WORK * limits.TEXT_PER_STEP:
        return s.strip(chars) if left and right else s.lstrip(chars) if left else s.rstrip(chars)
    lo, hi = scans.strip_bounds(s, chars, left, right)
    if hi - lo == len(s):
        return s
    limits.work_text(hi - lo)
    if hi - lo > limits.SMALL_WORK:
        limits.allocate(hi - lo)
    return s[lo:hi]


def _s_strip(s, chars=None):
    return _stripped(s, chars, "strip", True, True)


def _s_lstrip(s, chars=None):
    return _stripped(s, chars, "lstrip", True, False)


def _s_rstrip(s, chars=None):
    return _stripped(s, chars, "rstrip", False, True)


def _s_split(s, sep=None, maxsplit=-1):
    if sep is not None and _string_arg("split", sep) == "":
        raise ScriptError("ValueError", "string.split(): empty separator")
    as_int("string.split", maxsplit)
    _copying(s)
    if sep is not None:  # the number of pieces is known before they are made
        pieces = scans.count(s, sep) + 1
        if maxsplit >= 0:
            pieces = min(pieces, maxsplit + 1)
        limits.work_items(pieces)
        limits.allocate(pieces * _PIECE_BYTES)
        if pieces == 1:  # no separator (or maxsplit 0): not searched for a second time
            return [s]
        return s.split(sep, maxsplit)
    parts = s.split(None, maxsplit)  # whitespace: at most len(s) / 2 pieces, charged after
    limits.work_items(len(parts))
    limits.allocate(len(parts) * _PIECE_BYTES)
    return parts


def _s_join(sep, items):
    items = elements("string.join", items)
    for item in items:
        if python_type(item) is not str:
            raise ScriptError("TypeError", f"string.join() takes a list of strings, not a list containing {type_name(item)}")
    if items:
        limits.work_items(len(items))
        total = sum(map(len, items)) + len(sep) * (len(items) - 1)
        check_length(total, "string")
        limits.work_text(total)
        if total > limits.SMALL_WORK:
            limits.allocate(total)
        if builds.large(sep or items[0], total):
            return builds.joined(sep, items)
    return sep.join(items)


def _s_replace(s, old, new, count=-1):
    _string_arg("replace", old)
    _string_arg("replace", new)
    as_int("string.replace", count)
    _scanning(s)
    length = len(s)
    hits = None
    if len(new) > len(old):
        hits = scans.count(s, old) if old else len(s) + 1
        if count >= 0:
            hits = min(hits, count)
        length += (len(new) - len(old)) * hits
        check_length(length, "string")
    limits.work_text(length)
    if length > limits.SMALL_WORK:
        limits.allocate(length)
    if len(s) > scans.TEXT_SLICE and old:  # nothing to replace: not searched a second time
        if hits is None:
            hits = scans.count(s, old)
        if hits == 0 or count == 0:
            return s
    if builds.large(s if s else new, length):
        return builds.replaced(s, old, new, count)
    return s.replace(old, new, count)


def _affix_test(name: str, s, value, test) -> bool:
    """startswith / endswith: one affix is one comparison of up to its length; several are
    charged one each and compared in short groups (lang/scans.py)."""
    if python_type(value) is str:
        limits.work_text(min(len(value), len(s)))
        return test(s, value)
    if python_type(value) in LIST_TYPES and all(python_type(v) is str for v in value):
        limits.work_items(len(value))
        return scans.any_affix(s, value, test)
    raise method_type_error("string", name, "a string or a list of strings", value)


def _s_startswith(s, prefix):
    return _affix_test("startswith", s, prefix, str.startswith)


def _s_endswith(s, suffix):
    return _affix_test("endswith", s, suffix, str.endswith)


def _bounds(name: str, start, end):
    if start is not None:
        as_int(f"string.{name}", start)
    if end is not None:
        as_int(f"string.{name}", end)
    return start, end


def _s_find(s, sub, start=None, end=None):
    _scanning(s)
    sub = _string_arg("find", sub)
    start, end = _bounds("find", start, end)
    if len(s) <= scans.TEXT_SLICE:
        return s.find(sub, start, end)
    return scans.find(s, sub, start, end)


def _s_count(s, sub, start=None, end=None):
    _scanning(s)
    sub = _string_arg("count", sub)
    start, end = _bounds("count", start, end)
    if len(s) <= scans.TEXT_SLICE:
        return s.count(sub, start, end)
    return scans.count(s, sub, start, end)


_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _s_isdigit(s):
    """ASCII digits only (unlike Python), so `s.isdigit()` promises `int(s)` works."""
    if len(s) <= scans.TEXT_SLICE:
        return _ASCII_DIGITS.fullmatch(s) is not None
    _scanning(s)
    return scans.every_slice(_ASCII_DIGITS.fullmatch, s)


# `format`: {} {0} {name}, with an optional !r/!s conversion and a :spec for numbers and
# strings. Our own parser; never Python's str.format, which would evaluate {0.__class__}.
_FORMAT_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FORMAT_FIELD = re.compile(r"(?P<name>[0-9]+|[A-Za-z_][A-Za-z0-9_]*)?(?:!(?P<conv>[rs]))?(?::(?P<spec>.*))?", re.DOTALL)
_FORMAT_SPEC = re.compile(
    r"(?:.?[<>=^])?[+\- ]?z?#?0?(?P<width>[0-9]+)?[,_]?(?:\.(?P<precision>[0-9]+))?[bcdeEfFgGnosxX%]?",
    re.DOTALL)
_SPEC_TYPES = frozenset((int, float, str))


def _format_field(value, conversion, spec) -> str:
    if conversion == "r":
        value = repr_value(value)
    elif conversion == "s" or python_type(value) not in _SPEC_TYPES:
        value = to_str(value)
    if not spec:
        return to_str(value)
    shape = _FORMAT_SPEC.fullmatch(spec)
    if shape is None:
        raise ScriptError("ValueError", f"string.format(): bad format spec {repr_value(spec)}")
    for size in (shape["width"], shape["precision"]):
        if size is not None and (len(size) > 9 or int(size) > MAX_SIZE):
            raise size_error("string")
    width = max(int(shape["width"] or 0), int(shape["precision"] or 0))
    limits.work_text(width)
    if width > limits.SMALL_WORK:
        limits.allocate(width)
    try:
        return format(value, spec)  # value is exactly an int, float or str here
    except (ValueError, OverflowError):
        raise ScriptError("ValueError", f"string.format(): format spec {repr_value(spec)} does not apply to {type_name(value)}") from None


def _s_format(template, /, *args, **kwargs):
    out: list[str] = []
    total = 0
    position = 0
    next_auto = 0
    numbering = None  # "auto" or "manual", like Python: the two cannot be mixed
    for token in _FORMAT_TOKEN.finditer(template):
        literal = template[position:token.start()]
        out.append(literal)
        total += len(literal)
        position = token.end()
        text = token.group()
        if text == "{{" or text == "}}":
            piece = text[0]
        elif token.group(1) is None:
            raise ScriptError("ValueError", f"string.format(): single '{text}' in the format string (write '{text}{text}')")
        else:
            field = _FORMAT_FIELD.fullmatch(token.group(1))
            if field is None:
                raise ScriptError("ValueError", f"string.format(): bad placeholder {repr_value(text)}")
            name = field["name"]
            if name is None or name.isdigit():
                style = "auto" if name is None else "manual"
                if numbering not in (None, style):
                    raise ScriptError("ValueError", "string.format(): cannot mix {} and {0} placeholders")
                numbering = style
                index = next_auto if name is None else int(name)
                next_auto += name is None
                if index >= len(args):
                    raise ScriptError("IndexError", f"string.format(): no argument {index} (got {len(args)})")
                value = args[index]
            else:
                if name not in kwargs:
                    raise ScriptError("KeyError", f"string.format(): no named argument {repr_value(name)}", name)
                value = kwargs[name]
            piece = _format_field(value, field["conv"], field["spec"])
        out.append(piece)
        total += len(piece)
        if total > MAX_SIZE:
            raise size_error("string")
    out.append(template[position:])
    total += len(template) - position
    if total > MAX_SIZE:
        raise size_error("string")
    limits.work_text(total)
    if total > limits.SMALL_WORK:
        limits.allocate(total)
    return "".join(out)


STRING_METHODS = {
    "upper": _s_upper, "lower": _s_lower, "strip": _s_strip, "lstrip": _s_lstrip,
    "rstrip": _s_rstrip, "split": _s_split, "join": _s_join, "replace": _s_replace,
    "startswith": _s_startswith, "endswith": _s_endswith, "find": _s_find, "count": _s_count,
    "format": _s_format, "isdigit": _s_isdigit,
}
