"""Flow control for one connection: when to stop reading requests from a client.

Strategy: reading is paused for either of two reasons and resumed only when neither holds:
the transport's write buffer went over its high-water mark (`pause_writing` from asyncio: the
client is not reading its responses), or too many parsed requests are waiting for their turn
(a client pipelining far ahead of the server). Because httptools parses everything in the
bytes it is given, the number of waiting requests is bounded by one read's worth of bytes,
and once reading is paused no further bytes arrive: memory per connection stays bounded
however the client behaves. `drained` lets a streaming writer wait until the buffer drains.
"""
from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["FlowControl", "PIPELINE_LIMIT"]

# Requests parsed ahead of the one being answered before reading pauses.
PIPELINE_LIMIT = 16


class FlowControl:
    __slots__ = ("_transport", "reading_paused", "writing_paused", "_queue_full", "_waiter")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.reading_paused = False
        self.writing_paused = False
        self._queue_full = False
        self._waiter: asyncio.Future | None = None

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._update()

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        self._update()

    def queue_length(self, length: int) -> None:
        """Tell how many parsed requests wait; reading pauses at PIPELINE_LIMIT."""
        full = length >= PIPELINE_LIMIT
        if full is not self._queue_full:
            self._queue_full = full
            self._update()

    def _update(self) -> None:
        should_pause = self.writing_paused or self._queue_full
        if should_pause is self.reading_paused:
            return
        self.reading_paused = should_pause
        try:
            if should_pause:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()
        except (RuntimeError, AttributeError):  # transport already closing
            pass

    async def drained(self) -> None:
        """Wait until the transport's buffer is below the low-water mark."""
        if not self.writing_paused:
            return
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    def release(self) -> None:
        """Wake a waiting writer when the connection is lost."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._waiter = None
