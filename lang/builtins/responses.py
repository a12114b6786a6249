"""The response builtins (LANGUAGE.md §8): `response`, `json`, `html`, `text`, `redirect`,
`abort`.

Strategy: each builds a `Response` value after checking its status and headers with the
rules HTTP decides (lang/values.py `check_status`, `check_header`: a status from 200 to 599,
header names tokens, values strings, numbers or lists of strings in visible ASCII, no
framing headers), so a mistake is an error at the script line that made it; names are
lower-cased. The body is checked only where the builtin's meaning fixes its type (text,
html, redirect). Encoding happens when it is sent.
"""
from __future__ import annotations

from ..errors import Abort, ScriptError
from ..values import Response, check_header, check_status, type_name
from .checks import MAP_TYPES, builtin, python_type, type_error

def _status(fname: str, status, low: int | None = None, high: int | None = None) -> int:
    """A status HTTP allows (values.check_status); `low`-`high` narrows it (redirect)."""
    if python_type(status) is not int:
        raise type_error(fname, "an int status", status)
    check_status(status, fname)
    if low is not None and not low <= status <= high:
        raise ScriptError("ValueError", f"{fname}(): status must be between {low} and {high}, not {status}")
    return status


def _headers(fname: str, headers) -> dict:
    if python_type(headers) not in MAP_TYPES:
        raise ScriptError("TypeError", f"{fname}(): headers must be a map, not {type_name(headers)}")
    result = {}
    for name, value in headers.items():
        value = check_header(name, value, fname)
        result[name.lower()] = value
    return result


def _text_body(fname: str, body) -> str:
    if python_type(body) is not str:
        raise type_error(fname, "a string", body)
    return body


@builtin
def response(body=None, status=200, headers=None, type=None) -> Response:
    built = _headers("response", headers) if headers is not None else {}
    if type is not None:
        built["content-type"] = check_header("content-type", _text_body("response", type), "response")
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
    location = check_header("location", _text_body("redirect", url), "redirect")
    return Response(_status("redirect", status, 300, 399), {"location": location}, None)


@builtin
def abort(status, body=None):
    raise Abort(_status("abort", status), body)
