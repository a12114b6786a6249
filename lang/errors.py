"""Errors that users see, with positions.

Strategy: every error that a user can cause carries a `Span` (file, line, column, end) and
knows how to print itself as

    file:line:col: error: message
        the source line
        ^^^^

Static phases (parser, resolver) collect `StaticError`s into an `ErrorList` so a file reports
all of its mistakes at once. Runtime errors are `ScriptError` (catchable by `try`, with a
`kind` such as "TypeError") or the uncatchable `LimitError` and `Abort`, which derive from
BaseException precisely so that the `except Exception` a compiled `try` uses cannot stop them.
How an error surfaces as a process exit code is an attribute decided here, once; which HTTP
answer an ending gives is the runtime's to decide (runtime/http/response.py's table).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A source range. Lines and columns are 1-based; columns count code points."""
    file: str
    line: int
    col: int
    end_line: int
    end_col: int  # exclusive

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def render(span: Span | None, message: str, source: str | None = None) -> str:
    """`file:line:col: error: message`, then the source line and a caret underline."""
    if span is None:
        return f"error: {message}"
    out = f"{span}: error: {message}"
    if source is None:
        source = _read_source(span.file)
    if source is not None:
        lines = source.splitlines()
        if 1 <= span.line <= len(lines):
            text = lines[span.line - 1].expandtabs(1)
            width = (span.end_col - span.col) if span.end_line == span.line else len(text) - span.col + 1
            width = max(1, width)
            out += f"\n    {text}\n    {' ' * (span.col - 1)}{'^' * width}"
    return out


_SOURCES: dict[str, str] = {}


def remember_source(file: str, source: str) -> None:
    """Keep a file's text so errors found later (at run time) can show their line."""
    _SOURCES[file] = source


def _read_source(file: str) -> str | None:
    if file in _SOURCES:
        return _SOURCES[file]
    from .sourcefile import ScriptFileError, read_script  # a bounded read of regular files only
    try:
        return read_script(file)
    except ScriptFileError:
        return None


class RtError(Exception):
    """Base of every error rt reports to a user. `exit_code` is what the CLI exits with;
    `render()` is the text the user reads (`rt: error: message` unless a subclass shows a
    position, source line and caret)."""
    exit_code = 1

    def render(self) -> str:
        return f"rt: error: {self}"


class StaticError(RtError):
    """One mistake found before the script runs (syntax, resolution, import)."""

    def __init__(self, span: Span | None, message: str):
        super().__init__(message)
        self.span = span
        self.message = message

    def render(self, source: str | None = None) -> str:
        return render(self.span, self.message, source)

    def __str__(self) -> str:
        return f"{self.span}: error: {self.message}" if self.span else self.message


class ErrorList(RtError):
    """Every static error of a phase, in source order."""

    def __init__(self, errors: list[StaticError]):
        errors = sorted(errors, key=lambda e: (e.span.file, e.span.line, e.span.col) if e.span else ("", 0, 0))
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors

    def render(self, source: str | None = None) -> str:
        return "\n".join(e.render(source) for e in self.errors)

    def __str__(self) -> str:
        return self.render()


class ScriptError(Exception):
    """A runtime error a script may catch. `value` is what `throw` threw (or the message)."""

    def __init__(self, kind: str, message: str, value=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.value = message if value is None else value

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def render(self, origin: BaseException | None = None) -> str:
        """Position, source line, caret and the script's stack, taken from `origin` (the
        Python exception this error was translated from) or from this error itself."""
        return _runtime_report(self.kind, self.message, origin or self)


def _runtime_report(kind: str, message: str, exc: BaseException) -> str:
    from .stack import format_error  # stack imports this module
    return format_error(kind, message, exc)


class LimitError(BaseException):
    """A limit was hit (steps, depth, size, deadline). `try` cannot catch it."""
    kind = "LimitError"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"LimitError: {self.message}"

    def render(self, origin: BaseException | None = None) -> str:
        return _runtime_report(self.kind, self.message, origin or self)


class DeadlineExceeded(LimitError):
    """The invocation ran past its wall-clock deadline."""


class Abort(BaseException):
    """`abort(status, body)`: ends the handler with that response, through any `try`."""

    def __init__(self, status: int, body=None):
        super().__init__(status)
        self.status = status
        self.body = body

    def render(self, origin: BaseException | None = None) -> str:
        """`abort` only makes sense inside a request; outside one (a top level, `on start`) it
        is reported like an error."""
        return _runtime_report("Abort", f"abort({self.status}) outside a request", origin or self)
