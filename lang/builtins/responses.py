"""The response builtins (LANGUAGE.md §8): `response`, `json`, `html`, `text`, `redirect`,
`abort`.

Strategy: each builds a `Response` value after checking its status range and headers (names
strings, values strings or numbers, lower-cased names); the body is checked only where the
builtin's meaning fixes its type (text, html, redirect). Encoding happens when it is sent.
"""
from __future__ import annotations

from ..errors import Abort, ScriptError
from ..values import Response, repr_value, to_str, type_name
from .checks import MAP_TYPES, builtin, python_type, type_error

_HEADER_VALUE_TYPES = frozenset((str, int, float))


def _status(fname: str, status, low: int = 100, high: int = 599) -> int:
    if python_type(status) is not int:
        raise type_error(fname, "an int status", status)
    if not low <= status <= high:
        raise ScriptError("ValueError", f"{fname}(): status must be between {low} and {high}, not {status}")
    return status


def _headers(fname: str, headers) -> dict:
    if python_type(headers) not in MAP_TYPES:
        raise ScriptError("TypeError", f"{fname}(): headers must be a map, not {type_name(headers)}")
    result = {}
    for name, value in headers.items():
        if python_type(name) is not str:
            raise ScriptError("TypeError", f"{fname}(): a header name must be a string, not {type_name(name)}")
        if python_type(value) not in _HEADER_VALUE_TYPES:
            raise ScriptError("TypeError", f"{fname}(): header {repr_value(name)} must be a string, not {type_name(value)}")
        result[name.lower()] = value if python_type(value) is str else to_str(value)
    return result


def _text_body(fname: str, body) -> str:
    if python_type(body) is not str:
        raise type_error(fname, "a string", body)
    return body


@builtin
def response(body=None, status=200, headers=None, type=None) -> Response:
    built = _headers("response", headers) if headers is not None else {}
    if type is not None:
        built["content-type"] = _text_body("response", type)
    return Response(_status("response", status), built, body)


@builtin
def json(value, status=200) -> Response:
    """A JSON response; the body stays the value and is encoded when the response is sent."""
    return Response(_status("json", status), {"content-type": "application/json"}, value)


@builtin
def html(body, status=200) -> Response:
    return Response(_status("html", status), {"content-type": "text/html; charset=utf-8"}, _text_body("html", body))


@builtin
def text(body, status=200) -> Response:
    return Response(_status("text", status), {"content-type": "text/plain; charset=utf-8"}, _text_body("text", body))


@builtin
def redirect(url, status=302) -> Response:
    return Response(_status("redirect", status, 300, 399), {"location": _text_body("redirect", url)}, None)


@builtin
def abort(status, body=None):
    raise Abort(_status("abort", status), body)
