"""The thread-pool bridge (`--async`): run script invocations off the event loop.

Strategy. A bounded pool of worker threads takes jobs from one bounded queue. `submit`
is called on the event loop: when the queue is full it says so at once (the caller answers
503 + Retry-After) instead of letting latency grow. A worker runs the job and hands back an
*outcome*, a plain (ok, value) pair: nothing raises in a worker, so a worker never dies. On
the loop the outcome goes to the job's `Deferred`: the protocol's callback (the fast path)
or an awaiting coroutine; a failed one (a bug, since invocations turn script errors into
responses themselves) is answered as a 500 like any handler's.

Hand-offs are cheap and batched, because each one costs a GIL switch and a loop wake-up:
jobs go through a C-level SimpleQueue (no Python locks on the way in); on the way back,
finished outcomes go to one list and only the worker that finds it empty wakes the loop
(`call_soon_threadsafe`), which then settles every job in the batch.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from queue import SimpleQueue
from typing import Any, Callable

__all__ = ["Bridge", "Deferred", "QueueFull"]

log = logging.getLogger("rt")


class QueueFull(Exception):
    """The bridge's queue is at its bound: answer 503 now."""


_NO_ARG = object()


class Deferred:
    """A result a worker will produce. The event loop side either sets `then(ok, value)`,
    called on the loop as soon as the batch settles (no future, no extra loop hop: the
    protocol's fast path), or awaits it."""
    __slots__ = ("then", "loop")

    def __init__(self, loop) -> None:
        self.then: Callable[[bool, Any], None] | None = None
        self.loop = loop

    def __await__(self):
        future = self.loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            if not future.done():
                future.set_result(value) if ok else future.set_exception(value)
        self.then = settle
        return future.__await__()


class Bridge:
    def __init__(self, threads: int, queue: int, name: str = "rt-worker") -> None:
        self.threads = threads
        self.queue_size = queue
        self._jobs: SimpleQueue = SimpleQueue()  # C-level: put/get cost no Python locks
        self._done: list = []
        self._done_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[threading.Thread] = []
        self._name = name
        self.busy = 0  # jobs taken by a worker and not finished (approximate: for tests/metrics)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, name=f"{self._name}-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def submit(self, job: Callable[[], Any]) -> Deferred:
        """Queue `job`; a Deferred of what it returns (or of the exception it raised, so a
        failing job is a 500 for its request, never a dead worker or a request left waiting).
        Raises QueueFull when the queue is at its bound."""
        if self._jobs.qsize() >= self.queue_size:
            raise QueueFull()
        deferred = Deferred(self._loop)
        self._jobs.put((job, _NO_ARG, deferred))
        return deferred

    def submit_call(self, fn: Callable[[Any], Any], arg: Any) -> Deferred:
        """`submit(lambda: fn(arg))` without making the lambda (the per-request path)."""
        if self._jobs.qsize() >= self.queue_size:
            raise QueueFull()
        deferred = Deferred(self._loop)
        self._jobs.put((fn, arg, deferred))
        return deferred

    def stop(self, timeout: float = 5.0) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        for t in self._workers:
            t.join(timeout)

    # -- worker side --------------------------------------------------------------------------

    def _worker(self) -> None:
        get, done_lock = self._jobs.get, self._done_lock
        while True:
            item = get()
            if item is None:
                return
            job, arg, deferred = item
            self.busy += 1
            try:
                outcome = (True, job() if arg is _NO_ARG else job(arg))
            except BaseException as exc:  # noqa: B036 - handed to the loop as data: the worker lives on
                outcome = (False, exc if isinstance(exc, Exception) else
                           RuntimeError(f"a bridge job ended with {type(exc).__name__}: {exc}"))
            with done_lock:
                self.busy -= 1
                first = not self._done
                self._done.append((deferred, outcome))
            if first:
                try:
                    self._loop.call_soon_threadsafe(self._settle)
                except RuntimeError:  # the loop closed while we worked: nobody is waiting
                    return

    def _settle(self) -> None:
        """On the loop: settle every finished job of this batch."""
        with self._done_lock:
            done, self._done = self._done, []
        for deferred, (ok, value) in done:
            then = deferred.then
            if then is not None:  # None: nobody waits any more (the client went away)
                try:
                    then(ok, value)
                except Exception:  # one broken waiter must not strand the rest of the batch
                    log.exception("settling a bridge result failed")
