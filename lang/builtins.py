"""The global builtin functions (§9) and the methods of strings, lists and maps.

Strategy: every builtin is a plain Python function registered in `BUILTINS` under its script
name (its `__name__`/`__qualname__` are set to that name, so Python's own argument errors read
`len() takes ...`). Methods live in one table per receiver type, `METHODS[type(obj)][name]`,
each a plain function `(obj, *args, **kwargs)`; `call_method` is the only way compiled code
calls `obj.name(...)`: one dict lookup on the exact type, one on the name, then the call.

Rules every function here keeps:
- arguments are validated and wrong types raise ScriptError("TypeError", "len() takes a
  string, list, map or bytes, not int"), in the language's type names;
- anything that builds a string, list or map checks MAX_SIZE before allocating when the size
  can be computed in advance (range, join, replace, repetition), and after otherwise;
- no builtin ever reaches a Python attribute by a script-controlled name, and `format` is our
  own implementation (Python's str.format allows `{0.__class__}`: a sandbox escape);
- frozen receivers get tables whose mutators raise before doing any work.
"""
from __future__ import annotations

import math
import re
import sys
from functools import cmp_to_key
from types import MethodType

from .errors import Abort, LimitError, ScriptError
from .values import (
    MAX_SIZE, ErrorValue, FrozenList, FrozenMap, Module, Response, check_int, check_length, compare,
    equals, repr_value, size_error, to_str, type_name,
)

NoneType = type(None)
_python_type = type  # the builtin `type` is shadowed by parameter names below

BUILTINS: dict[str, object] = {}


def _builtin(fn):
    """Register `fn` as a global builtin; a trailing underscore in its Python name is dropped."""
    name = fn.__name__.rstrip("_")
    fn.__name__ = fn.__qualname__ = name
    BUILTINS[name] = fn
    return fn


def _type_error(fname: str, expected: str, value) -> ScriptError:
    return ScriptError("TypeError", f"{fname}() takes {expected}, not {type_name(value)}")


# --- shared checks ------------------------------------------------------------------------

_MAP_KEY_TYPES = frozenset((NoneType, bool, int, float, str))
_NUMBER_TYPES = frozenset((int, float))
_LIST_TYPES = frozenset((list, FrozenList))
_MAP_TYPES = frozenset((dict, FrozenMap))


def check_map_key(key):
    """Return `key` if it may be a map key (nil, bool, int, float, string), else TypeError."""
    if _python_type(key) not in _MAP_KEY_TYPES:
        raise ScriptError("TypeError", f"a map key must be nil, bool, int, float or string, not {type_name(key)}")
    return key


def _as_int(fname: str, value, what: str = "an int") -> int:
    if _python_type(value) is not int:
        raise _type_error(fname, what, value)
    return value


def _elements(fname: str, value) -> list:
    """The elements a builtin iterates: a list as is, a string's characters, a map's keys."""
    kind = _python_type(value)
    if kind in _LIST_TYPES:
        return value
    if kind is str or kind in _MAP_TYPES or kind is bytes:
        return list(value)
    raise _type_error(fname, "a list, string or map", value)


_ORDER_CLASSES = {int: "number", float: "number", str: "string", list: "list", FrozenList: "list"}


def _order_key(fname: str, values):
    """None if `values` sort natively (all numbers or all strings), a key for lists of lists,
    or ScriptError TypeError naming the first two values that cannot be compared."""
    if len(values) < 2:
        return None
    classes = set(map(_ORDER_CLASSES.get, map(_python_type, values)))
    if len(classes) == 1 and None not in classes:
        return cmp_to_key(compare) if "list" in classes else None
    first = values[0]
    other = next((v for v in values if _ORDER_CLASSES.get(_python_type(v)) != _ORDER_CLASSES.get(_python_type(first))), first)
    raise ScriptError("TypeError", f"{fname}(): cannot compare {type_name(first)} with {type_name(other)}")


def _sorted_list(fname: str, values: list, key, reverse) -> list:
    if _python_type(reverse) is not bool:
        raise ScriptError("TypeError", f"{fname}(): reverse must be a bool, not {type_name(reverse)}")
    if key is None:
        return sorted(values, key=_order_key(fname, values), reverse=reverse)
    if not callable(key):
        raise ScriptError("TypeError", f"{fname}(): key must be a function, not {type_name(key)}")
    keys = [key(v) for v in values]
    compare_keys = _order_key(fname, keys)
    by_key = keys.__getitem__ if compare_keys is None else (lambda i: compare_keys(keys[i]))
    return [values[i] for i in sorted(range(len(values)), key=by_key, reverse=reverse)]


# --- output -------------------------------------------------------------------------------

def _stdout_sink(line: str) -> None:
    sys.stdout.write(line + "\n")


_print_sink = _stdout_sink


def set_print_sink(sink) -> object:
    """Make `print` hand each line (without its newline) to `sink(line)`; returns the old sink."""
    global _print_sink
    previous = _print_sink
    _print_sink = sink
    return previous


@_builtin
def print_(*args) -> None:
    _print_sink(" ".join(map(to_str, args)))


# --- conversions and introspection --------------------------------------------------------

_SIZED_TYPES = frozenset((str, bytes, list, FrozenList, dict, FrozenMap))


@_builtin
def len_(value) -> int:
    if _python_type(value) not in _SIZED_TYPES:
        raise _type_error("len", "a string, list, map or bytes", value)
    return len(value)


@_builtin
def str_(value) -> str:
    return to_str(value)


@_builtin
def type_(value) -> str:
    return type_name(value)


@_builtin
def bool_(value) -> bool:
    return bool(value)


_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+(_[0-9]+)*\s*", re.ASCII)
_FLOAT_TEXT = re.compile(
    r"\s*[+-]?((([0-9]+(\.[0-9]*)?)|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)\s*",
    re.ASCII | re.IGNORECASE)
_MAX_INT_DIGITS = 1300  # 4096 bits is 1234 decimal digits: longer text is over the limit


def _int_from_text(text: str) -> int:
    if not _INT_TEXT.fullmatch(text):
        raise ScriptError("ValueError", f"int() cannot parse {repr_value(text[:50])}")
    if len(text.strip().replace("_", "").lstrip("+-").lstrip("0")) > _MAX_INT_DIGITS:
        raise LimitError("integer too large (over 4096 bits)")
    return check_int(int(text))


def _int_from_float(x: float) -> int:
    if math.isinf(x) or math.isnan(x):
        raise ScriptError("ValueError", f"int() cannot convert {repr_value(x)} to an int")
    return check_int(int(x))


_TO_INT = {int: lambda n: n, bool: int, float: _int_from_float, str: _int_from_text}


@_builtin
def int_(value) -> int:
    convert = _TO_INT.get(_python_type(value))
    if convert is None:
        raise _type_error("int", "a number, bool or string", value)
    return convert(value)


def _float_from_text(text: str) -> float:
    if not _FLOAT_TEXT.fullmatch(text):
        raise ScriptError("ValueError", f"float() cannot parse {repr_value(text[:50])}")
    return float(text)


def _float_from_int(n: int) -> float:
    try:
        return float(n)
    except OverflowError:
        raise ScriptError("ValueError", "float(): int too large for a float") from None


_TO_FLOAT = {float: lambda x: x, int: _float_from_int, bool: float, str: _float_from_text}


@_builtin
def float_(value) -> float:
    convert = _TO_FLOAT.get(_python_type(value))
    if convert is None:
        raise _type_error("float", "a number, bool or string", value)
    return convert(value)


# --- numbers ------------------------------------------------------------------------------

def _number(fname: str, value):
    if _python_type(value) not in _NUMBER_TYPES:
        raise _type_error(fname, "a number", value)
    return value


@_builtin
def abs_(x):
    return abs(_number("abs", x))


@_builtin
def round_(x, digits=None):
    _number("round", x)
    if digits is None:
        if _python_type(x) is float and (math.isinf(x) or math.isnan(x)):
            raise ScriptError("ValueError", f"round() cannot round {repr_value(x)} to an int")
        return round(x)
    return round(x, _as_int("round", digits, "an int number of digits"))


@_builtin
def sum_(values, start=0):
    values = _elements("sum", values)
    _number("sum", start)
    for v in values:
        if _python_type(v) not in _NUMBER_TYPES:
            raise ScriptError("TypeError", f"sum() takes a list of numbers, not a list containing {type_name(v)}")
    total = sum(values, start)
    return check_int(total) if _python_type(total) is int else total


def _extreme(fname: str, pick, args, key):
    if len(args) == 1:
        values = _elements(fname, args[0])
    elif args:
        values = args
    else:
        raise ScriptError("TypeError", f"{fname}() takes a list or at least two values")
    if not values:
        raise ScriptError("ValueError", f"{fname}() of an empty list")
    if key is None:
        return pick(values, key=_order_key(fname, values))
    if not callable(key):
        raise ScriptError("TypeError", f"{fname}(): key must be a function, not {type_name(key)}")
    keys = [key(v) for v in values]
    compare_keys = _order_key(fname, keys)
    index = pick(range(len(values)), key=keys.__getitem__ if compare_keys is None else (lambda i: compare_keys(keys[i])))
    return values[index]


@_builtin
def min_(*args, key=None):
    return _extreme("min", min, args, key)


@_builtin
def max_(*args, key=None):
    return _extreme("max", max, args, key)


# --- lists and iteration ------------------------------------------------------------------

@_builtin
def range_(start, stop=None, step=1) -> list:
    if stop is None:
        start, stop = 0, start
    for bound in (start, stop, step):
        _as_int("range", bound, "ints")
    if step == 0:
        raise ScriptError("ValueError", "range() step must not be zero")
    numbers = range(start, stop, step)
    try:
        length = len(numbers)
    except OverflowError:
        raise size_error("list") from None
    check_length(length, "list")
    return list(numbers)


@_builtin
def sorted_(values, key=None, reverse=False) -> list:
    return _sorted_list("sorted", list(_elements("sorted", values)), key, reverse)


@_builtin
def reversed_(values) -> list:
    return _elements("reversed", values)[::-1]


@_builtin
def enumerate_(values, start=0) -> list:
    _as_int("enumerate", start)
    return [[i, v] for i, v in enumerate(_elements("enumerate", values), start)]


@_builtin
def zip_(*lists) -> list:
    return [list(group) for group in zip(*(_elements("zip", xs) for xs in lists))]


def _map_arg(fname: str, value):
    if _python_type(value) not in _MAP_TYPES:
        raise _type_error(fname, "a map", value)
    return value


@_builtin
def keys_(m) -> list:
    return list(_map_arg("keys", m))


@_builtin
def values_(m) -> list:
    return list(_map_arg("values", m).values())


@_builtin
def items_(m) -> list:
    return [[k, v] for k, v in _map_arg("items", m).items()]


@_builtin
def list_(values=None) -> list:
    if values is None:
        return []
    return list(_elements("list", values))


@_builtin
def map_(*args) -> object:
    """Two uses, told apart by the first argument:

    - `map(f, xs)`: a function first: the list of `f(x)` for each element of xs (Python's map,
      made eager, since the language has no iterators);
    - `map()`, `map(pairs)`, `map(m)`: build a new map, from a list of 2-element [key, value]
      lists (what `items` and `zip` give) or by copying a map.
    """
    if len(args) == 2 and callable(args[0]):
        fn, values = args
        return [fn(v) for v in _elements("map", values)]
    if not args:
        return {}
    if len(args) != 1:
        raise ScriptError("TypeError", "map() takes (function, list), a list of pairs, or a map")
    source = args[0]
    if _python_type(source) in _MAP_TYPES:
        return dict(source)
    if _python_type(source) not in _LIST_TYPES:
        raise _type_error("map", "a list of [key, value] pairs or a map", source)
    result = {}
    for pair in source:
        if _python_type(pair) not in _LIST_TYPES or len(pair) != 2:
            raise ScriptError("TypeError", f"map() takes a list of [key, value] pairs, not a list containing {repr_value(pair)[:60]}")
        result[check_map_key(pair[0])] = pair[1]
    return result


@_builtin
def any_(values) -> bool:
    return any(_elements("any", values))


@_builtin
def all_(values) -> bool:
    return all(_elements("all", values))


# --- errors -------------------------------------------------------------------------------

_KIND_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")


@_builtin
def error(message, kind="UserError", value=None) -> ErrorValue:
    if _python_type(message) is not str:
        raise _type_error("error", "a string message", message)
    if _python_type(kind) is not str or not _KIND_NAME.fullmatch(kind):
        raise ScriptError("TypeError", "error(): kind must be a name like \"UserError\"")
    if kind == "LimitError":
        raise ScriptError("ValueError", "error(): kind LimitError is reserved")
    return ErrorValue(kind, message, value)


# --- responses (§8) -----------------------------------------------------------------------

_HEADER_VALUE_TYPES = frozenset((str, int, float))


def _status(fname: str, status, low: int = 100, high: int = 599) -> int:
    if _python_type(status) is not int:
        raise _type_error(fname, "an int status", status)
    if not low <= status <= high:
        raise ScriptError("ValueError", f"{fname}(): status must be between {low} and {high}, not {status}")
    return status


def _headers(fname: str, headers) -> dict:
    if _python_type(headers) not in _MAP_TYPES:
        raise ScriptError("TypeError", f"{fname}(): headers must be a map, not {type_name(headers)}")
    result = {}
    for name, value in headers.items():
        if _python_type(name) is not str:
            raise ScriptError("TypeError", f"{fname}(): a header name must be a string, not {type_name(name)}")
        if _python_type(value) in _LIST_TYPES:  # one field line per item (set-cookie)
            if not all(_python_type(item) is str for item in value):
                raise ScriptError("TypeError", f"{fname}(): header {repr_value(name)} must be a string, "
                                  "a number or a list of strings")
            result[name.lower()] = list(value)
            continue
        if _python_type(value) not in _HEADER_VALUE_TYPES:
            raise ScriptError("TypeError", f"{fname}(): header {repr_value(name)} must be a string, "
                              f"a number or a list of strings, not {type_name(value)}")
        result[name.lower()] = value if _python_type(value) is str else to_str(value)
    return result


def _text_body(fname: str, body) -> str:
    if _python_type(body) is not str:
        raise _type_error(fname, "a string", body)
    return body


@_builtin
def response(body=None, status=200, headers=None, type=None) -> Response:
    built = _headers("response", headers) if headers is not None else {}
    if type is not None:
        built["content-type"] = _text_body("response", type)
    return Response(_status("response", status), built, body)


@_builtin
def json(value, status=200) -> Response:
    """A JSON response; the body stays the value and is encoded when the response is sent."""
    return Response(_status("json", status), {"content-type": "application/json"}, value)


@_builtin
def html(body, status=200) -> Response:
    return Response(_status("html", status), {"content-type": "text/html; charset=utf-8"}, _text_body("html", body))


@_builtin
def text(body, status=200) -> Response:
    return Response(_status("text", status), {"content-type": "text/plain; charset=utf-8"}, _text_body("text", body))


@_builtin
def redirect(url, status=302) -> Response:
    return Response(_status("redirect", status, 300, 399), {"location": _text_body("redirect", url)}, None)


@_builtin
def abort(status, body=None):
    raise Abort(_status("abort", status), body)


# === methods ==============================================================================

def _method_type_error(receiver: str, name: str, expected: str, value) -> ScriptError:
    return ScriptError("TypeError", f"{receiver}.{name}() takes {expected}, not {type_name(value)}")


def _string_arg(name: str, value) -> str:
    if _python_type(value) is not str:
        raise _method_type_error("string", name, "a string", value)
    return value


def _optional_chars(name: str, chars):
    return None if chars is None else _string_arg(name, chars)


# --- strings ------------------------------------------------------------------------------

def _s_upper(s):
    return s.upper()


def _s_lower(s):
    return s.lower()


def _s_strip(s, chars=None):
    return s.strip(_optional_chars("strip", chars))


def _s_lstrip(s, chars=None):
    return s.lstrip(_optional_chars("lstrip", chars))


def _s_rstrip(s, chars=None):
    return s.rstrip(_optional_chars("rstrip", chars))


def _s_split(s, sep=None, maxsplit=-1):
    if sep is not None and _string_arg("split", sep) == "":
        raise ScriptError("ValueError", "string.split(): empty separator")
    return s.split(sep, _as_int("string.split", maxsplit))


def _s_join(sep, items):
    items = _elements("string.join", items)
    for item in items:
        if _python_type(item) is not str:
            raise ScriptError("TypeError", f"string.join() takes a list of strings, not a list containing {type_name(item)}")
    if items:
        check_length(sum(map(len, items)) + len(sep) * (len(items) - 1), "string")
    return sep.join(items)


def _s_replace(s, old, new, count=-1):
    _string_arg("replace", old)
    _string_arg("replace", new)
    _as_int("string.replace", count)
    if len(new) > len(old):
        hits = s.count(old)
        if count >= 0:
            hits = min(hits, count)
        check_length(len(s) + (len(new) - len(old)) * hits, "string")
    return s.replace(old, new, count)


def _affixes(name: str, value):
    if _python_type(value) is str:
        return value
    if _python_type(value) in _LIST_TYPES and all(_python_type(v) is str for v in value):
        return tuple(value)
    raise _method_type_error("string", name, "a string or a list of strings", value)


def _s_startswith(s, prefix):
    return s.startswith(_affixes("startswith", prefix))


def _s_endswith(s, suffix):
    return s.endswith(_affixes("endswith", suffix))


def _bounds(name: str, start, end):
    if start is not None:
        _as_int(f"string.{name}", start)
    if end is not None:
        _as_int(f"string.{name}", end)
    return start, end


def _s_find(s, sub, start=None, end=None):
    return s.find(_string_arg("find", sub), *_bounds("find", start, end))


def _s_count(s, sub, start=None, end=None):
    return s.count(_string_arg("count", sub), *_bounds("count", start, end))


_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _s_isdigit(s):
    """ASCII digits only (unlike Python), so `s.isdigit()` promises `int(s)` works."""
    return _ASCII_DIGITS.fullmatch(s) is not None


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
    elif conversion == "s" or _python_type(value) not in _SPEC_TYPES:
        value = to_str(value)
    if not spec:
        return to_str(value)
    shape = _FORMAT_SPEC.fullmatch(spec)
    if shape is None:
        raise ScriptError("ValueError", f"string.format(): bad format spec {repr_value(spec)}")
    for size in (shape["width"], shape["precision"]):
        if size is not None and (len(size) > 9 or int(size) > MAX_SIZE):
            raise size_error("string")
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
    result = "".join(out)
    if len(result) > MAX_SIZE:
        raise size_error("string")
    return result


STRING_METHODS = {
    "upper": _s_upper, "lower": _s_lower, "strip": _s_strip, "lstrip": _s_lstrip,
    "rstrip": _s_rstrip, "split": _s_split, "join": _s_join, "replace": _s_replace,
    "startswith": _s_startswith, "endswith": _s_endswith, "find": _s_find, "count": _s_count,
    "format": _s_format, "isdigit": _s_isdigit,
}


# --- lists --------------------------------------------------------------------------------

def _l_append(xs, value):
    if len(xs) >= MAX_SIZE:
        raise size_error("list")
    xs.append(value)


def _l_extend(xs, values):
    values = _elements("list.extend", values)
    check_length(len(xs) + len(values), "list")
    xs.extend(values)


def _l_insert(xs, index, value):
    _as_int("list.insert", index)
    if len(xs) >= MAX_SIZE:
        raise size_error("list")
    xs.insert(index, value)


def _l_pop(xs, index=-1):
    _as_int("list.pop", index)
    if not xs:
        raise ScriptError("IndexError", "pop from an empty list")
    if not -len(xs) <= index < len(xs):
        raise ScriptError("IndexError", "index out of range")
    return xs.pop(index)


def _position(xs, value) -> int:
    for i, x in enumerate(xs):
        if equals(x, value):
            return i
    return -1


def _l_remove(xs, value):
    i = _position(xs, value)
    if i < 0:
        raise ScriptError("ValueError", f"list.remove(): {repr_value(value)[:60]} is not in the list")
    del xs[i]


def _l_index(xs, value):
    i = _position(xs, value)
    if i < 0:
        raise ScriptError("ValueError", f"list.index(): {repr_value(value)[:60]} is not in the list")
    return i


def _l_sort(xs, key=None, reverse=False):
    xs[:] = _sorted_list("list.sort", xs, key, reverse)


def _l_reverse(xs):
    xs.reverse()


def _l_copy(xs):
    return list(xs)


LIST_METHODS = {
    "append": _l_append, "extend": _l_extend, "insert": _l_insert, "pop": _l_pop,
    "remove": _l_remove, "index": _l_index, "sort": _l_sort, "reverse": _l_reverse,
    "copy": _l_copy,
}
_LIST_MUTATORS = ("append", "extend", "insert", "pop", "remove", "sort", "reverse")


# --- maps ---------------------------------------------------------------------------------

def _m_get(m, key, default=None):
    return m.get(key, default)


def _m_keys(m):
    return list(m)


def _m_values(m):
    return list(m.values())


def _m_items(m):
    return [[k, v] for k, v in m.items()]


_MISSING = object()


def _m_pop(m, key, default=_MISSING):
    if default is _MISSING:
        if key not in m:
            raise ScriptError("KeyError", f"key {repr_value(key)[:60]} not found", key)
        return m.pop(key)
    return m.pop(key, default)


def _m_setdefault(m, key, default=None):
    check_map_key(key)
    if key not in m:
        if len(m) >= MAX_SIZE:
            raise size_error("map")
    return m.setdefault(key, default)


def _m_update(m, other):
    _map_arg("map.update", other)
    if len(m) + len(other) > MAX_SIZE:
        check_length(len(m) + sum(1 for k in other if k not in m), "map")
    m.update(other)


def _m_copy(m):
    return dict(m)


MAP_METHODS = {
    "get": _m_get, "keys": _m_keys, "values": _m_values, "items": _m_items, "pop": _m_pop,
    "setdefault": _m_setdefault, "update": _m_update, "copy": _m_copy,
}
_MAP_MUTATORS = ("pop", "setdefault", "update")


def _frozen_list_method(xs, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen list")


def _frozen_map_method(m, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen map")


FROZEN_LIST_METHODS = {**LIST_METHODS, **{name: _frozen_list_method for name in _LIST_MUTATORS}}
FROZEN_MAP_METHODS = {**MAP_METHODS, **{name: _frozen_map_method for name in _MAP_MUTATORS}}

METHODS = {
    str: STRING_METHODS,
    list: LIST_METHODS, FrozenList: FROZEN_LIST_METHODS,
    dict: MAP_METHODS, FrozenMap: FROZEN_MAP_METHODS,
}

# name each method after itself, so Python's own argument errors name the method
for _table in METHODS.values():
    for _name, _fn in _table.items():
        if _fn not in (_frozen_list_method, _frozen_map_method):
            _fn.__name__ = _fn.__qualname__ = _name

def call_method(obj, name: str, /, *args, **kwargs):
    """`obj.name(...)` in compiled code: a method of a string, list or map, or else the
    function stored under `name` in a map-like value (a map of functions, a module)."""
    table = METHODS.get(_python_type(obj))
    if table is not None:
        method = table.get(name)
        if method is not None:
            try:
                return method(obj, *args, **kwargs)
            except TypeError as exc:
                if exc.__traceback__.tb_next is not None:
                    raise  # raised inside the method (or a callback), not by its call
                raise _method_arity_error(exc, obj, name) from None
    return _call_member(obj, name, args, kwargs)


def method_of(obj, name: str):
    """`obj.name` as a callable, for compiled code that calls it at once:
    `method_of(xs, "append")(1)`. Cheaper than call_method (no repacking of arguments); the
    price is that Python's argument-count errors then count the receiver as an argument."""
    table = METHODS.get(_python_type(obj))
    if table is not None:
        method = table.get(name)
        if method is not None:
            return MethodType(method, obj)
    return _member_function(obj, name)


def _call_member(obj, name, args, kwargs):
    return _member_function(obj, name)(*args, **kwargs)


def _member_function(obj, name):
    getter = _MEMBER_GETTERS.get(_python_type(obj))
    if getter is None:
        raise ScriptError("TypeError", f"{type_name(obj)} has no method '{name}'")
    member = getter(obj, name)
    if member is None:
        raise ScriptError("TypeError", f"{type_name(obj)} has no method '{name}'")
    if not callable(member):
        raise ScriptError("TypeError", f"'{name}' is not a function (it is {type_name(member)})")
    return member


# Values whose non-method names are fields: `obj.name(...)` calls the field's function.
_MEMBER_GETTERS = {
    dict: dict.get, FrozenMap: dict.get,
    Module: Module.get, ErrorValue: ErrorValue.get, Response: Response.get,
}

_ARITY = re.compile(r"(\w+)\(\) takes (?:from (\d+) to )?(\d+) positional arguments? but (\d+) (?:were|was) given")


def _method_arity_error(exc: TypeError, obj, name: str) -> ScriptError:
    """Python counts the receiver as an argument; say what the script author wrote instead."""
    message = str(exc)
    receiver = type_name(obj)
    arity = _ARITY.fullmatch(message)
    if arity is None:
        return ScriptError("TypeError", f"{receiver}.{message}")
    low, high, given = arity.group(2), int(arity.group(3)) - 1, int(arity.group(4)) - 1
    takes = f"{int(low) - 1} to {high}" if low else str(high)
    plural = "" if (high == 1 and not low) else "s"
    return ScriptError("TypeError", f"{receiver}.{name}() takes {takes} argument{plural} but {given} {'was' if given == 1 else 'were'} given")


def register_record_type(cls, name: str) -> None:
    """Let scripts see a host type (the request, say) as a read-only record named `name`:
    `x.field` and `x.method()` both go through `cls.get`, `type(x)` gives `name`."""
    from . import values
    values._TYPE_NAMES[cls] = name
    values._PY_TYPE_NAMES[cls.__name__] = name
    _MEMBER_GETTERS[cls] = cls.get
