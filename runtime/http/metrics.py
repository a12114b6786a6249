"""The numbers the admin port reports, collected in one process.

Strategy: one `Metrics` per App. Requests are counted in exactly one place, a wrapper around
the function that answers every request (`App.dispatcher()`), put there by the server only
when the admin port is on (`meter`): with it off, the request path is untouched and pays
nothing. Every route kind (script, native, static, unmatched, middleware) answers through
that function, so every request is counted once, by the route *pattern* the router matched
(never the raw path: the label set stays bounded), its method and the status of the answer.
A sync answer is counted as it is returned (finished bytes: the status is read from the
status line); an async one (an awaitable, the --async bridge's `Deferred`) when it settles,
and is "in flight" meanwhile. Everything runs on the event loop thread, so plain dict and int
updates suffice; the few counters other threads feed (limit hits, backend calls) take a lock,
being rare or far slower than the lock.

A `snapshot()` is plain JSON-able data; `merge()` sums snapshots (the workers of a
supervisor); `exposition.py` turns one into Prometheus text. Gauges that live elsewhere (the
bridge's queue) are callables registered in `gauges` and read at snapshot time.
"""
from __future__ import annotations

import threading
import time
from bisect import bisect_left
from typing import Any, Callable

from .deferred import Deferred
from .response import Streamed

__all__ = ["Metrics", "BUCKETS", "UNMATCHED", "merge"]

# Upper bounds (seconds) of the latency histograms' buckets; +Inf follows.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The route label of a request no route matched (404, 405, or answered by top-level `use`).
UNMATCHED = "<unmatched>"


def _status_of(out: Any) -> Any:
    """The status of an answer: finished bytes (its status line), a Streamed response."""
    if out.__class__ is bytes:
        return out[9:12]
    return getattr(out, "status", 500)


class Metrics:
    """The counters of one process (see the module docstring)."""

    def __init__(self) -> None:
        # (route pattern or None, method, status as b"200" or 200) -> requests answered
        self.requests: dict[tuple, int] = {}
        # route pattern -> per-bucket counts (len(BUCKETS) + 1, not cumulative); its sum
        self.latency: dict[Any, list] = {}
        self.latency_sum: dict[Any, float] = {}
        self.in_flight = 0
        self.limit_hits: dict[str, int] = {}
        self.backend_calls: dict[str, list] = {}
        self.backend_sum: dict[str, float] = {}
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self._lock = threading.Lock()

    # -- requests (the event loop thread) -----------------------------------------------------

    def meter(self, dispatch: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`dispatch` counting every answer it gives."""
        requests, latency, sums = self.requests, self.latency, self.latency_sum
        clock, slot, later = time.perf_counter, bisect_left, self._later
        width = len(BUCKETS) + 1

        def metered(req: Any) -> Any:
            started = clock()
            out = dispatch(req)
            if out.__class__ is not bytes:
                return later(req, out, started)
            elapsed = clock() - started
            route = req.route
            key = (route, req.method, out[9:12])
            requests[key] = requests.get(key, 0) + 1
            counts = latency.get(route)
            if counts is None:
                counts = latency[route] = [0] * width
                sums[route] = 0.0
            counts[slot(BUCKETS, elapsed)] += 1
            sums[route] += elapsed
            return out
        return metered

    def observe(self, req: Any, status: Any, elapsed: float) -> None:
        """Count one answered request."""
        route = req.route
        key = (route, req.method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0] * (len(BUCKETS) + 1)
            self.latency_sum[route] = 0.0
        counts[bisect_left(BUCKETS, elapsed)] += 1
        self.latency_sum[route] += elapsed

    def _later(self, req: Any, out: Any, started: float) -> Any:
        """An answer that is not finished bytes yet: counted when it is."""
        if out.__class__ is Streamed:  # its head (and status) is decided: counted now
            self.observe(req, out.status, time.perf_counter() - started)
            return out
        self.in_flight += 1
        if out.__class__ is Deferred:
            relay = Deferred(out.loop)

            def settled(ok: bool, value: Any) -> None:
                self.in_flight -= 1
                self.observe(req, _status_of(value) if ok else 500, time.perf_counter() - started)
                relay.settle(ok, value)
            out.when_done(settled)
            return relay
        return self._awaited(req, out, started)

    async def _awaited(self, req: Any, pending: Any, started: float) -> Any:
        status: Any = 500
        try:
            out = await pending
            status = _status_of(out)
            return out
        finally:
            self.in_flight -= 1
            self.observe(req, status, time.perf_counter() - started)

    # -- from any thread ----------------------------------------------------------------------

    def count_limit(self, kind: str) -> None:
        """A script invocation ended on a limit of `kind` (steps, memory, deadline, ...)."""
        with self._lock:
            self.limit_hits[kind] = self.limit_hits.get(kind, 0) + 1

    def observe_backend(self, call: str, elapsed: float) -> None:
        """One kv/db call (`kv.get`) took `elapsed` seconds, whatever its outcome."""
        with self._lock:
            counts = self.backend_calls.get(call)
            if counts is None:
                counts = self.backend_calls[call] = [0] * (len(BUCKETS) + 1)
                self.backend_sum[call] = 0.0
            counts[bisect_left(BUCKETS, elapsed)] += 1
            self.backend_sum[call] += elapsed

    # -- reading ------------------------------------------------------------------------------

    def snapshot(self, connections: int = 0, refused: int = 0) -> dict:
        """Everything, as JSON-able data (what a worker hands its supervisor's scrape)."""
        requests: dict[tuple, int] = {}
        for (route, method, status), count in list(self.requests.items()):
            status = status.decode("ascii") if status.__class__ is bytes else str(status)
            key = (UNMATCHED if route is None else route, method, status)
            requests[key] = requests.get(key, 0) + count
        latency: dict[str, list] = {}
        for route, counts in list(self.latency.items()):
            _add_histogram(latency, UNMATCHED if route is None else route, counts,
                           self.latency_sum[route])
        with self._lock:
            limit_hits = dict(self.limit_hits)
            backend = {call: [list(counts), self.backend_sum[call]]
                       for call, counts in self.backend_calls.items()}
        gauges = {}
        for name, (help_text, read) in list(self.gauges.items()):
            try:
                gauges[name] = [help_text, float(read())]
            except Exception:  # a gauge that cannot be read is left out, never a failed scrape
                continue
        return {"workers": 1, "requests": [[*key, n] for key, n in requests.items()],
                "latency": latency, "in_flight": self.in_flight, "connections": connections,
                "refused": refused, "limit_hits": limit_hits, "backend": backend,
                "gauges": gauges}


def _add_histogram(into: dict, label: str, counts: list, total: float) -> None:
    found = into.get(label)
    if found is None:
        into[label] = [list(counts), total]
    else:
        found[0] = [a + b for a, b in zip(found[0], counts)]
        found[1] += total


def merge(snapshots: list[dict]) -> dict:
    """The sum of several processes' snapshots (gauges and counters alike add up)."""
    requests: dict[tuple, int] = {}
    latency: dict[str, list] = {}
    backend: dict[str, list] = {}
    limit_hits: dict[str, int] = {}
    gauges: dict[str, list] = {}
    total = {"workers": 0, "in_flight": 0, "connections": 0, "refused": 0}
    for snap in snapshots:
        for key in total:
            total[key] += snap[key]
        for route, method, status, count in snap["requests"]:
            requests[(route, method, status)] = requests.get((route, method, status), 0) + count
        for label, (counts, s) in snap["latency"].items():
            _add_histogram(latency, label, counts, s)
        for label, (counts, s) in snap["backend"].items():
            _add_histogram(backend, label, counts, s)
        for kind, count in snap["limit_hits"].items():
            limit_hits[kind] = limit_hits.get(kind, 0) + count
        for name, (help_text, value) in snap["gauges"].items():
            gauges[name] = [help_text, gauges.get(name, [None, 0.0])[1] + value]
    return {**total, "requests": [[*key, n] for key, n in requests.items()], "latency": latency,
            "limit_hits": limit_hits, "backend": backend, "gauges": gauges}
