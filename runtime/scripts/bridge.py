"""The thread-pool bridge (`--async`): run script invocations off the event loop.

Strategy. A bounded pool of worker threads runs jobs submitted on the event loop. `submit`
says at once when the jobs waiting for a worker are at their bound (the caller answers 503 +
Retry-After) instead of letting latency grow. A worker runs a job and hands back an
*outcome*, a plain (ok, value) pair: nothing raises in a worker, so a worker never dies. On
the loop the outcome goes to the job's `Deferred`: the protocol's callback (the fast path)
or an awaiting coroutine; a failed one (a bug, since invocations turn script errors into
responses themselves) is answered as a 500 like any handler's.

Every hand-off between threads costs a wake-up and a GIL switch, so they go in batches both
ways. In: the jobs submitted during one turn of the event loop are handed over together, as
one list through a C-level SimpleQueue, and one worker runs them in turn. A job that turns
out slow hands the rest of its batch back to the pool, where idle workers take them, so
nothing waits behind a sleeper or a long computation: a script announces it through
`lang.limits` (before a blocking call such as `time.sleep`, and past its first ~250
steps), other work by taking longer than LONG_JOB. Out: finished outcomes go to one list and
only the worker that finds it empty wakes the loop (`call_soon_threadsafe`), which then
settles every job in that list.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from queue import SimpleQueue
from typing import Any, Callable

from rtserve.lang import limits
from ..http.deferred import Deferred

__all__ = ["Bridge", "Deferred", "QueueFull"]

log = logging.getLogger("rt")


class QueueFull(Exception):
    """The bridge's queue is at its bound: answer 503 now."""


_NO_ARG = object()

# A job that ran longer than this hands the rest of its batch back to the pool.
LONG_JOB = 0.002


class Bridge:
    def __init__(self, threads: int, queue: int, name: str = "rt-worker") -> None:
        self.threads = threads
        self.queue_size = queue
        self._batches: SimpleQueue = SimpleQueue()  # lists of jobs; None stops a worker
        self._turn: list = []  # this loop turn's jobs, not yet handed over
        # Jobs waiting = submitted - started, counted without a lock: the loop alone counts
        # submissions, each worker its own starts in its own slot. The loop re-adds the
        # starts only when its last sum says the queue may be full (starts only grow).
        self._submitted = 0
        self._started = [0] * threads
        self._finished = [0] * threads  # likewise, each worker's finished jobs (for metrics)
        self._started_seen = 0
        self._done: list = []
        self._done_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[threading.Thread] = []
        self._name = name

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the bridge settles its results on (None before `start`)."""
        return self._loop

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, args=(i,), name=f"{self._name}-{i}",
                                 daemon=True)
            t.start()
            self._workers.append(t)

    def submit(self, job: Callable[[], Any]) -> Deferred:
        """Queue `job`; a Deferred of what it returns (or of the exception it raised, so a
        failing job is a 500 for its request, never a dead worker or a request left waiting).
        Raises QueueFull when the jobs not yet started are at the bound."""
        return self.submit_call(job, _NO_ARG)

    def submit_call(self, fn: Callable[[Any], Any], arg: Any) -> Deferred:
        """`submit(lambda: fn(arg))` without making the lambda (the per-request path)."""
        if self._submitted - self._started_seen >= self.queue_size:
            self._started_seen = sum(self._started)
            if self._submitted - self._started_seen >= self.queue_size:
                raise QueueFull()
        deferred = Deferred(self._loop)
        turn = self._turn
        if not turn:  # the first of this loop turn: hand them all over at its end
            self._loop.call_soon(self._hand_over)
        turn.append((fn, arg, deferred))
        self._submitted += 1
        return deferred

    def waiting(self) -> int:
        """Jobs submitted that no worker has started yet (a reading for metrics)."""
        return max(0, self._submitted - sum(self._started))

    def busy(self) -> int:
        """Worker threads running a job now (a reading for metrics)."""
        return max(0, sum(self._started) - sum(self._finished))

    def _hand_over(self) -> None:
        batch, self._turn = self._turn, []
        self._batches.put(batch)

    def stop(self, timeout: float = 5.0) -> None:
        for _ in self._workers:
            self._batches.put(None)
        for t in self._workers:
            t.join(timeout)

    # -- worker side --------------------------------------------------------------------------

    def _worker(self, index: int) -> None:
        get, started_by_worker, monotonic = self._batches.get, self._started, time.monotonic
        finished_by_worker = self._finished
        batch: list = []
        position = 0  # the next job of `batch` to run

        def hand_back_the_rest() -> None:
            nonlocal position
            if position < len(batch):
                rest = batch[position:]
                position = len(batch)
                self._batches.put(rest)

        limits.set_on_slow(hand_back_the_rest)
        while True:
            batch = get()
            if batch is None:
                return
            position = 0
            while position < len(batch):
                fn, arg, deferred = batch[position]
                position += 1
                started_by_worker[index] += 1  # this worker's slot: no other thread writes it
                started = monotonic()
                try:
                    outcome = (True, fn() if arg is _NO_ARG else fn(arg))
                except BaseException as exc:  # noqa: B036 - handed to the loop as data: the worker lives on
                    outcome = (False, exc if isinstance(exc, Exception) else
                               RuntimeError(f"a bridge job ended with {type(exc).__name__}: {exc}"))
                finished_by_worker[index] += 1
                if not self._publish(deferred, outcome):
                    return
                if monotonic() - started > LONG_JOB:
                    hand_back_the_rest()

    def _publish(self, deferred: Deferred, outcome: tuple) -> bool:
        """Pass an outcome to the loop; False when the loop is gone."""
        with self._done_lock:
            first = not self._done
            self._done.append((deferred, outcome))
        if first:
            try:
                self._loop.call_soon_threadsafe(self._settle)
            except RuntimeError:  # the loop closed while we worked: nobody is waiting
                return False
        return True

    def _settle(self) -> None:
        """On the loop: settle every finished job of this batch."""
        with self._done_lock:
            done, self._done = self._done, []
        for deferred, (ok, value) in done:
            try:
                deferred.settle(ok, value)
            except Exception:  # one broken waiter must not strand the rest of the batch
                log.exception("settling a bridge result failed")
