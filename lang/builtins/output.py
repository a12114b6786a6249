"""`print`, and where its lines go.

Strategy: `print` joins its arguments' `to_str` with spaces and hands the line (without its
newline) to one sink; the runtime swaps the sink (`set_print_sink`) to route script output
through its own per-request bound and logging.
"""
from __future__ import annotations

import sys

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
    _print_sink(" ".join(map(to_str, args)))
