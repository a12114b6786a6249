"""What the scripting layer tells the admin port: limit hits, the bridge, the backends.

Strategy: the HTTP core's `Metrics` and readiness checks (runtime/http/admin.py) know nothing
of scripts; this module feeds them from the script side, in one place:

- `limit_kind(exc)` names the limit a `LimitError` reports (steps, memory, deadline, size,
  depth, rows, other), for `rt_limit_hits_total{kind}`; mount.py calls `limit_hit(exc)`
  wherever it turns one into an answer (an invocation that ended on it, a result too large
  or too deep to encode), which counts it into the served app's metrics.
- `install(script_app)` registers the --async bridge's queue depth and busy threads as
  gauges, a readiness check for each backend a loaded script imports (`kv`, `db`), and, with
  the admin port on, the observer timing each backend call (stdlib.backends.OBSERVER).
"""
from __future__ import annotations

from typing import Any, Callable

from rtserve.lang.errors import DeadlineExceeded, LimitError
from rtserve.lang.values import Module
from rtserve.stdlib import backends, middleware

__all__ = ["limit_kind", "limit_hit", "install"]

# The served app's `Metrics.count_limit` (one app serves per process), set by `install`.
_count_limit: Callable[[str], None] | None = None

# The start of a LimitError's message -> its kind (lang/ and stdlib/ raise these).
_KINDS = (("step budget", "steps"), ("memory budget", "memory"), ("out of memory", "memory"),
          ("call depth", "depth"), ("value nested", "depth"),
          ("a top-level value is nested", "depth"))


def limit_kind(exc: BaseException) -> str:
    """The kind of limit `exc` (a LimitError) reports."""
    if isinstance(exc, DeadlineExceeded):
        return "deadline"
    if isinstance(exc, RecursionError):  # a result nested past what encoding can walk
        return "depth"
    message = getattr(exc, "message", "") if isinstance(exc, LimitError) else ""
    for start, kind in _KINDS:
        if message.startswith(start):
            return kind
    if "too large" in message:
        return "size"
    if message.startswith("db.") and "rows" in message:
        return "rows"
    return "other"


def limit_hit(exc: BaseException) -> None:
    """An answer was made of the LimitError `exc`: count it by kind."""
    count = _count_limit
    if count is not None:
        count(limit_kind(exc))


def imported_stdlib(loader: Any) -> set[str]:
    """The names of the stdlib modules any script the loader loaded imports."""
    return {target.name for script in loader.scripts.values() for _, target in script.imports
            if isinstance(target, Module)}


def install(script_app: Any) -> None:
    """Feed the app's metrics and readiness checks from a mounted script (see above)."""
    global _count_limit
    app, settings = script_app.app, script_app.settings
    _count_limit = app.metrics.count_limit
    bridge = script_app.bridge
    if bridge is not None:
        app.metrics.gauges.update({
            "rt_bridge_threads": ("Threads of the --async pool.", lambda: bridge.threads),
            "rt_bridge_queue_depth": ("Script invocations waiting for an --async thread.",
                                      bridge.waiting),
            "rt_bridge_busy_threads": ("--async threads running a script invocation now.",
                                       bridge.busy),
        })
    used = imported_stdlib(script_app.loader)
    if "middleware" in used and middleware.RATE_LIMITS_MADE[0]:
        used.add("kv")  # rate_limit keeps its buckets in kv: a request may wait on it
    checks = [(name, backends.pinger(name, settings)) for name in ("kv", "db") if name in used]
    ours = {name for name, _ in checks} | {"kv", "db"}
    app.ready_checks[:] = [c for c in app.ready_checks if c[0] not in ours] + checks
    if getattr(settings, "admin_port", 0):
        backends.OBSERVER = app.metrics.observe_backend
