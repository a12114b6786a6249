"""`import log`: leveled, structured log lines tied to the request: `log.info("paid",
order: 42, amount: 9.5)`.

Strategy: one `Output` per server, built from its settings (`--log-format`), writes every
script line, `log.*` and `print` alike (the runtime makes `print` use it too), to the
`rt.script` logger, so lines go wherever the server's own logs go and in the same format:

- text: `message key=value ... request_id=ID` on one line. Values are logfmt-quoted (JSON
  string syntax) when they hold spaces, quotes, `=` or control characters, and line breaks in
  the message are escaped, so a script can never forge a log line.
- json: one object per line with `message`, `request_id` and each field as a member (a field
  whose name the server already uses, such as `level`, is written as `field_level`); field
  values are JSON when they can be, else their printed form.

The request id is read from the invocation's context (`limits.current().context`, the request
the runtime set), so lines of one request can be grepped together. Every line counts against
the per-request bound (`limits.output`: 100 lines and 64 KiB); the first line past it is
replaced by one warning saying lines were dropped, and later ones are dropped silently. A
level the logger does not emit (debug, by default) is not counted. Rendering is charged as
work on the bytes written.
"""
from __future__ import annotations

import json as _json
import logging
import math

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.values import Module, repr_value, to_str

from . import _args
from .json import encode_compact

LOGGER = logging.getLogger("rt.script")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
DROPPED = "log lines dropped: this request wrote more than {lines} lines or {kib} KiB"
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@+,")
_MANGLED = "ʹ"  # the suffix the compiler adds to a named argument that is a Python keyword


def _escape_line(text: str) -> str:
    """No raw line breaks or control characters in a text-format line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _json.dumps(c)[1:-1] for c in text)


def _text_value(value) -> str:
    text = value if type(value) is str else _json_text(value)
    if text and all(c in _PLAIN for c in text):
        return text
    return _json.dumps(text, ensure_ascii=False) if type(value) is str else _escape_line(text)


def _json_text(value) -> str:
    try:
        return encode_compact(value)
    except ScriptError:
        return repr_value(value)


def _json_value(value):
    """A value `json.dumps` writes as the script means it."""
    t = type(value)
    if t is str or t is bool or t is int or value is None:
        return value
    if t is float:
        return value if math.isfinite(value) else repr_value(value)
    try:
        return _json.loads(encode_compact(value))
    except ScriptError:
        return repr_value(value)


class Output:
    """Where script lines go: the `rt.script` logger, per-request bounded, in one format."""

    def __init__(self, log_format: str = "text") -> None:
        self.json = log_format == "json"

    def write(self, level: int, message: str, fields: dict | None = None) -> None:
        if not LOGGER.isEnabledFor(level):
            return
        fields = fields or {}
        rendered = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        nbytes = len(message) + 1 + len(rendered)
        _args.work(nbytes)
        verdict = limits.output(nbytes)
        if verdict == "drop":
            return
        if verdict == "drop-notice":
            level, fields, rendered = logging.WARNING, {}, ""
            message = DROPPED.format(lines=limits.MAX_OUTPUT_LINES, kib=limits.MAX_OUTPUT_BYTES // 1024)
        request = limits.current().context
        request_id = getattr(request, "id", None)
        if self.json:
            extra = {"fields": {key: _json_value(value) for key, value in fields.items()}}
            if request_id is not None:
                extra["request_id"] = request_id
            LOGGER.log(level, "%s", message, extra=extra)
            return
        line = _escape_line(message)
        if rendered:
            line += " " + rendered
        if request_id is not None:
            line += f" request_id={_text_value(request_id)}"
        LOGGER.log(level, "%s", line)

    def print_line(self, line: str) -> None:
        """The sink of `print` in a server: same bound, same request id, level info."""
        self.write(logging.INFO, line)


def _fields(named: dict) -> dict:
    fields = {}
    for key, value in named.items():
        if key.endswith(_MANGLED):
            key = key[:-len(_MANGLED)]
        fields[key] = value
    return fields


def module(config) -> Module:
    output = Output(getattr(config, "log_format", "text"))

    def leveled(name: str, level: int):
        fname = f"log.{name}"

        def emit(*args, **named) -> None:
            if len(args) != 1:
                raise ScriptError("TypeError", f"{fname}() takes one message and named fields, "
                                  f"as in {fname}(\"paid\", order: 42), not {len(args)} messages")
            message = args[0]
            text = message if type(message) is str else to_str(message)
            output.write(level, text, _fields(named))
        emit.__name__ = name
        return emit

    return Module.of("log", [leveled(name, level) for name, level in LEVELS.items()])
