"""`import json`: encode and decode JSON.

Strategy: encoding is on the hot path of every handler that returns a map, so it goes straight
to the C-accelerated encoder of Python's json module, with one prebuilt encoder per layout
(compact by default: `{"a":[1,2.5,true,null]}`, non-ASCII kept as is). Script values ARE the
Python values the encoder knows (FrozenList/FrozenMap are list/dict subclasses), so there is
no conversion pass; one measuring walk (lang/nested.measure, in Python, charged per node)
comes first, so a value that shares structure or nests deep ends in LimitError before the
encoder, which cannot be interrupted, starts. Map keys that are not strings become strings the way JSON libraries do
(`1` -> "1", `true` -> "true", `nil` -> "null"). Functions, NaN and infinities are refused
with a ScriptError; so are cycles. Decoding gives fresh mutable lists and maps and rejects
JSON's non-standard NaN/Infinity literals.
"""
from __future__ import annotations

import json as _json

from rtserve.lang import builds, limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.nested import indentation, measure
from rtserve.lang.builtins import register_record_type
from rtserve.lang.values import MAX_SIZE, Module, size_error, type_name


def _refuse(value):
    # called by the encoder for anything it does not know: our error, our type names
    raise ScriptError("TypeError", f"json.encode(): cannot encode {type_name(value)} as JSON")


def _encoder(indent):
    return _json.JSONEncoder(separators=(",", ":") if indent is None else (",", ": "),
                             ensure_ascii=False, allow_nan=False, check_circular=True,
                             indent=indent, default=_refuse)


_COMPACT = _encoder(None)


def encode_compact(value) -> str:
    """The compact JSON text of `value`, as handlers' results are sent (§7).

    Raises ScriptError TypeError for values JSON cannot hold (functions, bytes...) and
    ValueError for NaN/infinity and cycles; LimitError if the text is past MAX_SIZE.
    """
    return _encode_with(_COMPACT, value, None)


def _encode_with(encoder, value, indent) -> str:
    """Run `encoder` (indenting by `indent`, or compact for None) on `value`, with the
    language's errors and the size cap. The value is measured first: its nodes charged, its
    depth checked, the lower bound of its text (lang/nested.measure, plus the exact
    whitespace of the indented layout: nested.indentation) checked against the cap and
    charged, before the encoder runs (limits.Meter's rule: what the text takes past its
    bound, a float's or big int's text, is charged as it is made). A big text
    (`builds.json_in_parts`) is made in parts, each charged as it is made (lang/builds.py
    `json_text`); a smaller one in one call, what it took past the bound charged after."""
    try:
        size = measure(value, MAX_SIZE)
        if indent is not None:
            size += indentation(value, indent)
            if size > MAX_SIZE:  # the layout took it past the cap (measure checked the rest)
                raise _string_too_large()
    except ScriptError as exc:
        raise ScriptError(exc.kind, f"json.encode(): {exc.message}") from None
    try:
        if builds.json_in_parts(size):
            made = limits.Meter(size, MAX_SIZE, _string_too_large)
            text = builds.json_text(value, encoder.encode, _bound_of(indent), made.spend,
                                    kind=str, indent=indent)
        else:  # the Meter's rule, inlined: the common path, where its object was 5% of a call
            if size > limits.SMALL_WORK:
                limits.allocate(size)
            text = encoder.encode(value)
            if len(text) > size:
                if len(text) > MAX_SIZE:
                    raise _string_too_large()
                limits.allocate(len(text) - size)
    except ValueError as exc:
        raise ScriptError("ValueError", f"json.encode(): {_encoder_complaint(exc)}") from None
    except RecursionError:
        raise ScriptError("ValueError", "json.encode(): value nested too deeply") from None
    return text


def _bound_of(indent):
    """`size_of(x, level)` for `builds.json_text`: the bound of x's text `level` deep."""
    if indent is None:
        return lambda x, level: measure(x, MAX_SIZE)
    return lambda x, level: measure(x, MAX_SIZE) + indentation(x, indent, level)


def _string_too_large():
    return size_error("string")


def _encoder_complaint(exc: ValueError) -> str:
    message = str(exc)
    if message.startswith("Circular reference"):
        return "cannot encode a cyclic value"
    if message.startswith("Out of range float"):
        return "cannot encode NaN or infinity"
    return message


def encode(value, indent=None) -> str:
    if indent is None:
        return encode_compact(value)
    if type(indent) is not int or not 0 <= indent <= 16:
        raise ScriptError("TypeError", "json.encode(): indent must be an int from 0 to 16")
    return _encode_with(_encoder(indent), value, indent)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


_DECODER = _json.JSONDecoder(parse_constant=_refuse_constant)


def decode(text):
    """Parse JSON text (a string, or UTF-8 bytes) into fresh lists, maps and scalars.

    Raises ScriptError ValueError, naming the position, when the text is not JSON.
    """
    if type(text) is bytes:
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScriptError("ValueError", f"json.decode(): invalid UTF-8 at byte {exc.start}") from None
    elif type(text) is not str:
        raise ScriptError("TypeError", f"json.decode() takes a string, not {type_name(text)}")
    # The values made are charged before they are made, at four bytes per byte of text: a
    # string takes about its text, a list slot (8 bytes) at least two characters ("1,").
    limits.work_text(len(text))
    if len(text) > limits.SMALL_WORK:
        limits.allocate(len(text) * 4)
    try:
        return _DECODER.decode(text)
    except _json.JSONDecodeError as exc:
        raise ScriptError("ValueError", f"json.decode(): invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # parse_constant, or an int literal too long for Python
        raise ScriptError("ValueError", f"json.decode(): invalid JSON: {exc}") from None
    except RecursionError:
        raise ScriptError("ValueError", "json.decode(): JSON nested too deeply") from None


class JsonModule(Module):
    """`import json` binds the name `json`, which also names the builtin that builds a JSON
    response. So the module is callable too: `json(value, status: 201)` still works."""
    __slots__ = ()

    def __call__(self, value, status=200):
        from rtserve.lang.builtins import BUILTINS
        return BUILTINS["json"](value, status=status)


register_record_type(JsonModule, "module")
MODULE = JsonModule.of("json", [encode, decode])
