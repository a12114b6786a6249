"""`print`, and where its lines go.

Strategy: `print` joins its arguments' `to_str` with spaces (a line of megabytes in pieces
beside a loop, as every big text is built: lang/builds.py) and hands the line (without its
newline) to one sink; the runtime swaps the sink (`set_print_sink`) to route script output
through its own per-request bound and logging.
"""
from __future__ import annotations

import sys

from .. import builds, limits
from ..values import to_str
from .checks import builtin


def _stdout_sink(line: str) -> None:
    sys.stdout.write(line + "\n")


_print_sink = _stdout_sink


def set_print_sink(sink) -> object:
    """Make `print` hand each line (without its newline) to `sink(line)`; returns the old sink."""
    global _print_sink
    previous = _print_sink
    _print_sink = sink
    return previous


@builtin
def print_(*args) -> None:
    texts = list(map(to_str, args))
    if len(texts) > 1:
        n = sum(map(len, texts)) + len(texts) - 1
        if builds.large(max(texts, key=limits.char_width), n):
            # beside a loop, a line of megabytes is joined in pieces (lang/builds.py): one
            # call of `join` held the loop ~10 ms a line (`print(s, s, s, s)` in a loop)
            _print_sink(builds.joined(" ", texts))
            return
    _print_sink(" ".join(texts))
