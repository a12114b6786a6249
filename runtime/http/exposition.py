"""A metrics snapshot (metrics.py) as Prometheus text exposition format, version 0.0.4.

Strategy: one function per metric kind (counter, gauge, histogram) writes the `# HELP` and
`# TYPE` lines and the samples; label values are escaped as the format says (backslash,
double quote, line feed) and HELP text likewise (backslash, line feed). Histogram buckets
are written cumulative with `le` ending in "+Inf", followed by `_sum` and `_count`. Series
are sorted so two scrapes list them in the same order. The metric names and labels are
documented in docs/operations.md.
"""
from __future__ import annotations

from typing import Iterable

from .metrics import BUCKETS

__all__ = ["render", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{name}="{escape_label(str(value))}"' for name, value in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _head(out: list, name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {_escape_help(help_text)}")
    out.append(f"# TYPE {name} {kind}")


def _simple(out: list, name: str, kind: str, help_text: str,
            samples: Iterable[tuple[tuple, float]]) -> None:
    _head(out, name, kind, help_text)
    for labels, value in sorted(samples):
        out.append(f"{name}{_labels(labels)} {_number(value)}")


def _histogram(out: list, name: str, help_text: str, label: str, series: dict) -> None:
    _head(out, name, "histogram", help_text)
    bounds = [repr(b) for b in BUCKETS] + ["+Inf"]
    for value in sorted(series):
        counts, total = series[value]
        running = 0
        for bound, count in zip(bounds, counts):
            running += count
            out.append(f"{name}_bucket{_labels([(label, value), ('le', bound)])} {running}")
        out.append(f"{name}_sum{_labels([(label, value)])} {repr(float(total))}")
        out.append(f"{name}_count{_labels([(label, value)])} {running}")


def render(snap: dict) -> str:
    """The exposition text of a (merged) snapshot."""
    out: list[str] = []
    _simple(out, "rt_workers", "gauge", "Server processes whose numbers are summed here.",
            [((), snap["workers"])])
    _simple(out, "rt_worker_requests_total", "counter",
            "Requests answered by each server process (its worker slot, 0 to N-1).",
            [((("worker", w),), n) for w, n in snap["per_worker"].items()])
    _simple(out, "rt_requests_total", "counter",
            "Requests answered, by route pattern, method and status.",
            [((("route", r), ("method", m), ("status", s)), n) for r, m, s, n in snap["requests"]])
    _histogram(out, "rt_request_duration_seconds",
               "Time from a whole request to its answer, by route pattern.", "route",
               snap["latency"])
    _simple(out, "rt_requests_in_flight", "gauge",
            "Requests being answered (async handlers, the --async thread pool).",
            [((), snap["in_flight"])])
    _simple(out, "rt_open_connections", "gauge", "Client connections open on the app port.",
            [((), snap["connections"])])
    _simple(out, "rt_connections_refused_total", "counter",
            "Connections closed at once past --max-connections.", [((), snap["refused"])])
    _simple(out, "rt_protocol_errors_total", "counter",
            "Requests answered with a protocol error (malformed, too large, too slow), which "
            "reach no route, by status.",
            [((("status", s),), n) for s, n in sorted(snap["rejected"].items())])
    _simple(out, "rt_limit_hits_total", "counter",
            "Script invocations ended by a limit, by kind.",
            [((("kind", k),), n) for k, n in snap["limit_hits"].items()])
    _histogram(out, "rt_backend_call_duration_seconds",
               "Time of kv and db calls (the script function), whatever their outcome.", "call",
               snap["backend"])
    for name in sorted(snap["gauges"]):
        help_text, value = snap["gauges"][name]
        _simple(out, name, "gauge", help_text, [((), value)])
    return "\n".join(out) + "\n"
