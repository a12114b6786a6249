"""A result another thread will produce, as the protocol waits for it.

Strategy: the HTTP core answers a request with bytes, an awaitable, or a `Deferred`: the
last is how a worker pool (the script bridge) hands its outcome back without a future per
request. It lives here, in the HTTP core, because the protocol must recognise it; whoever
runs jobs on threads creates and settles it, on the event loop.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["Deferred"]


class Deferred:
    """A result a worker will produce. The event loop side either asks for a callback with
    `when_done(then)`, `then(ok, value)` being called on the loop as soon as the batch
    settles (no future, no extra loop hop: the protocol's fast path), or awaits it. An
    outcome that arrives before anyone waits is kept for whoever comes (a task awaiting it
    may start only after the job is done)."""
    __slots__ = ("then", "loop", "outcome")

    def __init__(self, loop) -> None:
        self.then: Callable[[bool, Any], None] | None = None
        self.loop = loop
        self.outcome: tuple[bool, Any] | None = None

    def when_done(self, then: Callable[[bool, Any], None]) -> None:
        if self.outcome is None:
            self.then = then
        else:
            then(*self.outcome)

    def settle(self, ok: bool, value: Any) -> None:
        """On the loop: the job's outcome."""
        then = self.then
        if then is None:
            self.outcome = (ok, value)
        else:
            then(ok, value)

    def __await__(self):
        if self.outcome is None:
            future = self.loop.create_future()

            def settle(ok: bool, value: Any) -> None:
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(value)
            self.then = settle
            return (yield from future.__await__())
        ok, value = self.outcome
        if ok:
            return value
        raise value

