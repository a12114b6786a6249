"""Per-invocation limits: the step budget and the wall-clock deadline.

Strategy. Compiled code keeps a step *credit* in a closure cell of its module (the cheapest
counter Python offers): each call and loop back-edge does `credit -= 1` and, only when the
credit goes negative, calls `refill(credit)` here. `refill` charges what was used to the
invocation running on this thread (`Budget`, kept in a thread-local), raises `LimitError`
when the budget is spent or `DeadlineExceeded` past the deadline, and grants a new credit of
at most `CHUNK` steps. So the budget is exact on one thread, the deadline is checked every
`CHUNK` steps, and the hot path never touches a thread-local.

A `for` over a list, string, map or range charges its whole length up front
(`refill_loop`); when the budget cannot cover it, the loop instead counts each item, so a
loop that breaks early is not refused for the length it never ran.

A host that runs several invocations in turn on one thread (the `--async` bridge) learns
when the current one turns out slow through `set_on_slow`: the hook runs at every refill
(past the first ~1,000 steps) and before each blocking call (`blocking`, which `sleep` and
every other blocking standard-library call go through).

Work that one step does in proportion to its operands (formatting, comparing, sorting,
encoding, a module function's work) is charged up front with `charge(steps)`, and the bytes of
a value about to be built with `allocate(nbytes)` against the invocation's memory budget.
The rates are decided here, once: an element of a list or map, a node of a nested value or a
comparison in a sort is one step; `TEXT_PER_STEP` bytes of text copied or searched in C are one
step; work up to `SMALL_WORK` such units is part of the step that does it, so the hot paths of
small values never pay for a charge (`work_items`, `work_text`). The memory budget counts the
bytes a request builds (`allocate`; `allocate_items` for list slots and map entries), never
what it frees, so it bounds what one request can hold at once.

Call depth is Python's own recursion limit (one script call is one Python frame), set by
`depth_guard` around an invocation; RecursionError becomes LimitError where errors are
translated.
"""
from __future__ import annotations

import sys
import threading
import time

from .errors import DeadlineExceeded, LimitError

CHUNK = 1000
UNLIMITED = 1 << 62
DEFAULT_MAX_STEPS = 10_000_000
DEFAULT_MAX_DEPTH = 500
MAX_OUTPUT_LINES = 100        # print + log lines per invocation (STDLIB.md "log")
MAX_OUTPUT_BYTES = 64 * 1024
TEXT_PER_STEP = 64       # bytes of text copied or searched in C that make one step
SMALL_WORK = 64          # work up to this many units is part of the step that does it
ITEM_BYTES = 8           # what a list slot or map entry is charged against the memory budget


class Budget:
    """What one invocation may still spend: steps left, bytes of values it may still build,
    and the monotonic deadline."""
    __slots__ = ("remaining", "deadline", "max_steps", "memory_left", "max_memory",
                 "lines_left", "output_left", "context")

    def __init__(self, max_steps: int | None = None, deadline: float | None = None,
                 max_memory: int | None = None):
        self.max_steps = max_steps
        self.remaining = UNLIMITED if max_steps is None else max_steps
        self.deadline = deadline  # time.monotonic() value, or None
        self.max_memory = max_memory
        self.memory_left = UNLIMITED if max_memory is None else max_memory
        self.lines_left = MAX_OUTPUT_LINES   # print and log lines this invocation may emit
        self.output_left = MAX_OUTPUT_BYTES
        self.context = None  # what the host runs the invocation for (the runtime: its request)

    def begin(self, context=None) -> None:
        """A host that reuses this Budget for a new invocation (one per request) restarts
        its output bound here and says what it runs for (log lines read the request id)."""
        self.lines_left = MAX_OUTPUT_LINES
        self.output_left = MAX_OUTPUT_BYTES
        self.context = context

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class _Local(threading.local):
    def __init__(self) -> None:  # runs once in each thread: every thread its own Budget
        self.budget = Budget()
        # Called when the invocation on this thread turns out slow: before it blocks (sleep;
        # later db and kv calls) and at each refill, i.e. past its first ~1,000 steps. A
        # thread that runs several invocations in turn then hands the ones still waiting to
        # other threads (runtime/bridge.py).
        self.on_slow = None


_local = _Local()


def current() -> Budget:
    return _local.budget


def activate(budget: Budget) -> Budget:
    """Make `budget` the one this thread charges; returns the previous one to restore."""
    previous = _local.budget
    _local.budget = budget
    return previous


def refill(credit: int) -> int:
    """Charge an overdrawn credit (credit < 0) to this thread's budget; grant a new one."""
    if _local.on_slow is not None:
        _local.on_slow()
    budget = _local.budget
    budget.remaining += credit
    if budget.remaining < 0:
        budget.remaining = 0
        raise LimitError(f"step budget exhausted ({budget.max_steps:,} steps)")
    if budget.deadline is not None and time.monotonic() > budget.deadline:
        raise DeadlineExceeded("deadline exceeded")
    grant = CHUNK if budget.remaining > CHUNK else budget.remaining
    budget.remaining -= grant
    return grant


def refill_loop(credit: int, items):
    """A `for` loop charged its length and overdrew. Returns (credit, items to iterate)."""
    budget = _local.budget
    if budget.remaining + credit >= 0:
        return refill(credit), items
    # The budget cannot cover every item: give the charge back and count item by item, so
    # a loop that breaks early still runs. `credit + len(items)` is the credit before the loop.
    budget.remaining += credit + len(items)
    return 0, _counted(items, budget)


def _counted(items, budget: Budget):
    for n, item in enumerate(items, 1):
        budget.remaining -= 1
        if budget.remaining < 0:
            budget.remaining = 0
            raise LimitError(f"step budget exhausted ({budget.max_steps:,} steps)")
        if n % CHUNK == 0 and budget.deadline is not None and time.monotonic() > budget.deadline:
            raise DeadlineExceeded("deadline exceeded")
        yield item


def charge(steps: int) -> None:
    """Charge `steps` of work to this thread's invocation before doing it (an operator or
    builtin whose work is proportional to its operands), and check the deadline."""
    budget = _local.budget
    budget.remaining -= steps
    if budget.remaining < 0:
        budget.remaining = 0
        raise LimitError(f"step budget exhausted ({budget.max_steps:,} steps)")
    if budget.deadline is not None and time.monotonic() > budget.deadline:
        raise DeadlineExceeded("deadline exceeded")


def work_items(n: int) -> None:
    """Charge `n` elements, nodes or comparisons of work, unless it is small."""
    if n > SMALL_WORK:
        charge(n)


def work_text(nbytes: int) -> None:
    """Charge copying or searching `nbytes` of text in C, unless it is small."""
    if nbytes > SMALL_WORK * TEXT_PER_STEP:
        charge(nbytes // TEXT_PER_STEP)


def kept_bytes(container) -> int:
    """What a fresh list or map occupies (its header and slots, not its elements): the
    estimate charged when one is kept (CPython: 56 + 8 per slot; a map about 64 + 48 per entry)."""
    n = len(container)
    return 56 + 8 * n if type(container) is list else 64 + 48 * n


def allocate_items(n: int) -> None:
    """Count a list or map of `n` slots about to be built against the memory budget."""
    if n > SMALL_WORK:
        allocate(n * ITEM_BYTES)


def allocate(nbytes: int) -> None:
    """Count `nbytes` of a value about to be built against this invocation's memory budget."""
    budget = _local.budget
    budget.memory_left -= nbytes
    if budget.memory_left < 0:
        budget.memory_left = 0
        raise LimitError(f"memory budget exhausted ({budget.max_memory:,} bytes)")


def output(nbytes: int) -> str:
    """Account one line of print/log output of `nbytes`. Returns "emit", "drop-notice" (the
    first line past the per-invocation bound: emit one "lines dropped" notice instead) or
    "drop"."""
    budget = _local.budget
    if budget.lines_left > 0 and budget.output_left >= nbytes:
        budget.lines_left -= 1
        budget.output_left -= nbytes
        return "emit"
    if budget.lines_left >= 0:
        budget.lines_left = -1
        return "drop-notice"
    return "drop"


def set_on_slow(hook) -> None:
    """Have this thread call `hook()` when its invocation turns out slow (None: nothing)."""
    _local.on_slow = hook


def beside_a_loop() -> bool:
    """Is this thread one a host runs invocations on beside its event loop (the --async
    bridge's workers, which set an on_slow hook)? Such a thread may yield the interpreter
    lock after a long C call; the loop's own thread never should."""
    return _local.on_slow is not None


def blocking() -> None:
    """Every blocking call the standard library makes for a script announces itself here."""
    if _local.on_slow is not None:
        _local.on_slow()


def sleep(seconds: float) -> None:
    """Sleep, but never past the invocation's deadline (which then raises)."""
    blocking()
    left = _local.budget.time_left()
    if left is not None and seconds > left:
        time.sleep(max(0.0, left))
        raise DeadlineExceeded("deadline exceeded")
    time.sleep(seconds)


def stack_depth() -> int:
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


class depth_guard:
    """Within it, script calls may nest `max_depth` deep beyond the current stack.

    Python's recursion limit is process-wide, so the limit is raised (never lowered) to
    what the deepest caller needs; each thread still counts its own frames."""

    _lock = threading.Lock()
    _limit_needed = 0

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH):
        self.max_depth = max_depth

    def __enter__(self):
        needed = stack_depth() + self.max_depth + 5
        if needed > depth_guard._limit_needed:
            with depth_guard._lock:
                depth_guard._limit_needed = max(depth_guard._limit_needed, needed)
                sys.setrecursionlimit(depth_guard._limit_needed)
        return self

    def __exit__(self, *exc):
        return False
