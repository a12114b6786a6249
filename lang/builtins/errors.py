"""`error(message, kind, value)`: the builtin that makes an error value to throw or return.

Strategy: the kind is checked to look like an error name, and `LimitError` is reserved (a
script must not be able to dress up its own error as a limit, which `try` cannot catch).
"""
from __future__ import annotations

import re

from ..errors import ScriptError
from ..values import ErrorValue
from .checks import builtin, python_type, type_error

_KIND_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")


@builtin
def error(message, kind="UserError", value=None) -> ErrorValue:
    if python_type(message) is not str:
        raise type_error("error", "a string message", message)
    if python_type(kind) is not str or not _KIND_NAME.fullmatch(kind):
        raise ScriptError("TypeError", "error(): kind must be a name like \"UserError\"")
    if kind == "LimitError":
        raise ScriptError("ValueError", "error(): kind LimitError is reserved")
    return ErrorValue(kind, message, value)
