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
# The same bounds in nanoseconds: requests are timed with perf_counter_ns (int arithmetic).
BUCKETS_NS = tuple(round(b * 1e9) for b in BUCKETS)
FIRST_NS = BUCKETS_NS[0]
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
        # (route pattern or None, method, status as b"200" or 200) -> a cell: the requests'
        # latency counts per bucket (len(BUCKETS) + 1, not cumulative; their sum is the
        # count), then the sum of their latencies in ns. One dict lookup per request.
        self.requests: dict[tuple, list] = {}
        self.in_flight = 0
        self.limit_hits: dict[str, int] = {}
        self.backend_calls: dict[str, list] = {}  # call -> a cell as above
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self._lock = threading.Lock()

    # -- requests (the event loop thread) -----------------------------------------------------

    def meter(self, dispatch: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`dispatch` counting every answer it gives."""
        requests, clock, slot, later = self.requests, time.perf_counter_ns, bisect_left, self._later
        bounds, first = BUCKETS_NS, FIRST_NS

        def metered(req: Any) -> Any:
            started = clock()
            out = dispatch(req)
            if out.__class__ is not bytes:
                return later(req, out, started)
            elapsed = clock() - started
            key = (req.route, req.method, out[9:12])
            cell = requests.get(key)
            if cell is None:
                cell = requests[key] = _cell()
            # Most answers fall in the first bucket: one comparison instead of a search.
            cell[0 if elapsed <= first else slot(bounds, elapsed)] += 1
            cell[-1] += elapsed
            return out
        return metered

    def observe(self, req: Any, status: Any, elapsed: int) -> None:
        """Count one answered request that took `elapsed` ns."""
        key = (req.route, req.method, status)
        cell = self.requests.get(key)
        if cell is None:
            cell = self.requests[key] = _cell()
        cell[bisect_left(BUCKETS_NS, elapsed)] += 1
        cell[-1] += elapsed

    def _later(self, req: Any, out: Any, started: float) -> Any:
        """An answer that is not finished bytes yet: counted when it is."""
        if out.__class__ is Streamed:  # its head (and status) is decided: counted now
            self.observe(req, out.status, time.perf_counter_ns() - started)
            return out
        self.in_flight += 1
        if out.__class__ is Deferred:
            relay = Deferred(out.loop)

            def settled(ok: bool, value: Any) -> None:
                self.in_flight -= 1
                self.observe(req, _status_of(value) if ok else 500,
                             time.perf_counter_ns() - started)
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
            self.observe(req, status, time.perf_counter_ns() - started)

    # -- from any thread ----------------------------------------------------------------------

    def count_limit(self, kind: str) -> None:
        """A script invocation ended on a limit of `kind` (steps, memory, deadline, ...)."""
        with self._lock:
            self.limit_hits[kind] = self.limit_hits.get(kind, 0) + 1

    def observe_backend(self, call: str, elapsed: int) -> None:
        """One kv/db call (`kv.get`) took `elapsed` ns, whatever its outcome."""
        with self._lock:
            cell = self.backend_calls.get(call)
            if cell is None:
                cell = self.backend_calls[call] = _cell()
            cell[bisect_left(BUCKETS_NS, elapsed)] += 1
            cell[-1] += elapsed

    # -- reading ------------------------------------------------------------------------------

    def snapshot(self, connections: int = 0, refused: int = 0, rejected: dict | None = None) -> dict:
        """Everything, as JSON-able data (what a worker hands its supervisor's scrape)."""
        requests: dict[tuple, int] = {}
        latency: dict[str, list] = {}
        for (route, method, status), cell in list(self.requests.items()):
            status = status.decode("ascii") if status.__class__ is bytes else str(status)
            route = UNMATCHED if route is None else route
            key = (route, method, status)
            requests[key] = requests.get(key, 0) + sum(cell[:-1])
            _add_histogram(latency, route, cell[:-1], cell[-1] / 1e9)
        with self._lock:
            limit_hits = dict(self.limit_hits)
            backend = {call: [cell[:-1], cell[-1] / 1e9]
                       for call, cell in self.backend_calls.items()}
        gauges = {}
        for name, (help_text, read) in list(self.gauges.items()):
            try:
                gauges[name] = [help_text, float(read())]
            except Exception:  # a gauge that cannot be read is left out, never a failed scrape
                continue
        return {"workers": 1, "per_worker": {},
                "requests": [[*key, n] for key, n in requests.items()], "latency": latency,
                "in_flight": self.in_flight, "connections": connections, "refused": refused,
                "rejected": {str(s): n for s, n in (rejected or {}).items()},
                "limit_hits": limit_hits, "backend": backend,
                "gauges": gauges}


def _cell() -> list:
    """Per-bucket counts (the last one +Inf), then the sum of the observed nanoseconds."""
    return [0] * (len(BUCKETS) + 2)


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
    per_worker: dict[str, int] = {}
    rejected: dict[str, int] = {}
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
        for worker, count in snap["per_worker"].items():
            per_worker[worker] = per_worker.get(worker, 0) + count
        for kind, count in snap["limit_hits"].items():
            limit_hits[kind] = limit_hits.get(kind, 0) + count
        for status, count in snap["rejected"].items():
            rejected[status] = rejected.get(status, 0) + count
        for name, (help_text, value) in snap["gauges"].items():
            gauges[name] = [help_text, gauges.get(name, [None, 0.0])[1] + value]
    return {**total, "per_worker": per_worker, "rejected": rejected,
            "requests": [[*key, n] for key, n in requests.items()], "latency": latency,
            "limit_hits": limit_hits, "backend": backend, "gauges": gauges}
