"""The script's own stack, read from a Python traceback through compiled code.

Compiled code carries script positions (line, column, end) on every instruction, and its
code objects are named after script functions, so a traceback already is the script stack;
this module keeps only the frames that belong to scripts and prints them in our form:

    app.script:3:12: error: TypeError: cannot apply '+' to string and int
        return "a" + n
               ^^^^^^^
      at add (app.script:3:12)
      at <top level> (app.script:7:1)
"""
from __future__ import annotations

from .errors import Span, render

# file name -> {python function name -> name shown}, filled as modules are compiled
_DISPLAY_NAMES: dict[str, dict[str, str]] = {}


def register(file: str, display_names: dict[str, str]) -> None:
    _DISPLAY_NAMES[file] = display_names


def script_frames(exc: BaseException) -> list[tuple[Span, str]]:
    """(span, function name) for each script frame, outermost first."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        names = _DISPLAY_NAMES.get(code.co_filename)
        if names is not None:
            span = _span_of(code, tb.tb_lasti, tb.tb_lineno)
            frames.append((span, names.get(code.co_name, code.co_name)))
        tb = tb.tb_next
    return frames


def _span_of(code, lasti: int, lineno: int) -> Span:
    positions = list(code.co_positions())
    index = lasti // 2
    if 0 <= index < len(positions):
        line, end_line, col, end_col = positions[index]
        if line is not None and col is not None:
            return Span(code.co_filename, line, col + 1, end_line or line, (end_col or col) + 1)
    return Span(code.co_filename, lineno or 1, 1, lineno or 1, 2)


def format_error(kind: str, message: str, exc: BaseException) -> str:
    """The report for an uncaught runtime error: position, source line, caret, stack."""
    frames = script_frames(exc)
    if not frames:
        return f"error: {kind}: {message}"
    span, _ = frames[-1]
    out = render(span, f"{kind}: {message}")
    # Recursion repeats one frame hundreds of times: say it once, with a count.
    shown, previous, repeats = [], None, 0
    for span, name in reversed(frames):
        line = f"  at {name} ({span})"
        if line == previous:
            repeats += 1
            continue
        if repeats:
            shown.append(f"  ... the frame above {repeats} more time(s)")
        shown.append(line)
        previous, repeats = line, 0
    if repeats:
        shown.append(f"  ... the frame above {repeats} more time(s)")
    return out + "".join("\n" + line for line in shown)
