"""Per-invocation limits: the step budget, the wall-clock deadline and the memory budget.

Strategy. Compiled code keeps a step *credit* in a closure cell of its module (the cheapest
counter Python offers): each call and loop iteration does `credit -= 1`, and a *check*, `if
credit < 0: credit = refill(credit)`, calls here only when the credit is spent. `refill`
charges what was used to the invocation running on this thread (`Budget`, kept in a
thread-local), raises `LimitError` when the budget is spent or `DeadlineExceeded` past the
deadline, and grants a new credit of at most `CHUNK` steps. So the budget is exact on one
thread, the deadline is checked every `CHUNK` steps, and the hot path never touches a
thread-local.

Where the checks sit (lang/compiler.py): a function's entry only takes its step; the check
comes before its first statement that may call a script function, and in each iteration of
a loop that may. A call that ends without calling (a leaf, a recursion's base case) thus
never checks, and every call that does call checks before it descends: between two checks
there is a bounded number of steps, however the calls branch. An invocation that ends
without a check leaves its steps overdrawn (a handler that calls nothing), and the credit is
the module's: the next invocation's first check would pay them, and after a million such
requests, a million. So an invocation's first check pays at most `CARRIED` steps of
overdraft: its own before that check are its entry's and a loop's (a `for` passes its length
apart), a few (`Budget.fresh`).

A `for` over a list, string, map or range charges its whole length up front
(`refill_loop`); when the budget cannot cover it, the loop instead counts each item, so a
loop that breaks early is not refused for the length it never ran.

A host that runs several invocations in turn on one thread (the `--async` bridge) learns
when the current one turns out slow through `set_on_slow`: the hook runs at every refill
(past the first ~250 steps, `CHUNK`) and before each blocking call (`blocking`, which `sleep` and
every other blocking standard-library call go through).

Work that one step does in proportion to its operands (formatting, comparing, sorting,
encoding, a module function's work) is charged up front with `charge(steps)`. The rates are
decided here, once: an element of a list or map, a node of a nested value or a comparison in a
sort is one step; `TEXT_PER_STEP` bytes of text copied or searched in C are one step; work up
to `SMALL_WORK` such units is part of the step that does it, so the hot paths of small values
never pay for a charge (`work_items`, `work_text`).

Memory. Each invocation has a budget of bytes (`--max-memory`); what it builds is counted
against it at CPython's real object sizes (the constants below, checked against
`sys.getsizeof` by tests/test_limits.py), never credited back when freed, so it bounds what one
request can hold at once. Two places charge, so that a loop that builds and drops small
temporaries never runs out:

- *Built*: an operation that builds a value whose size it knows up front charges it before
  building it (`allocate`, `list_bytes`, `text_bytes`...): repeating, joining, slicing,
  copying, `range`, `items`, `zip`, `sorted`, `split`... A builder of many fresh small
  objects (the pairs of `items`, the ints of `range`) charges them too.
- *Kept*: storing a value into a container (`append`, `insert`, `extend`, `m[k] = v`,
  `setdefault`, `update`, `map(f, xs)`'s results) charges the slot it takes
  (`GROWN_SLOT_BYTES` per list slot, with CPython's over-allocation; `MAP_ENTRY_BYTES` per new
  map entry, with the table's spare room and resizes) and, through `kept(value)`, the value's
  own size when it is a small value that nothing charged when it was built: an int, a float,
  a string or bytes of at most `KEPT_TEXT` characters, a list or map of at most `SMALL_WORK`
  elements together with what it holds (walked, at most `KEPT_NODES` containers: nested
  literals count; a small map's keys are not, being mostly literal names CPython shares).
  Bigger values were charged when built, so storing them costs their slot only. Replacing
  the value of an existing key or index (in a container past `SMALL_WORK`) charges what the
  new value is bigger than the old one (`kept`), nothing when it is not: a counter updated
  in place costs nothing.
- *Small containers* are free while they stay small (at most `SMALL_WORK` elements), like
  small work: a loop that builds and drops a little list or map per iteration charges
  nothing. A small container is charged when it is kept in another container (`kept` walks
  it), and when it grows past `SMALL_WORK` (`crossing`: everything it holds so far, keys
  included); from then on each store into it charges as above. A list grown by `append`
  charges its values by chunks of 64 (`kept_all`, at C speed for a chunk of one scalar
  kind), when the next chunk starts: it holds at most one chunk not yet charged. A chunk of
  small rows (lists and maps: walking each would cost more than building it) is charged by
  sampling: 8 of its 64 rows, from a random offset, counted 8 times each. The estimate is
  unbiased whatever the rows (the script cannot know the offset), exact when the rows have
  one shape (the common case: rows built by one literal), and, since a row is charged at
  most `KEPT_MAX`, what a budget's worth of chunks is charged is within a few percent of
  the exact sum (thousands of samples).

Double counting, the rule: a small value is charged each time it is stored, even when it is
the same object stored again (CPython shares it; telling fresh from shared would cost a walk
per store). The overcharge per store is bounded by `KEPT_MAX` (16 KiB; in practice a few
dozen bytes: a short string, a number, a small row), so a script that stores one small value
a million times is refused at most a few times earlier than what it really holds. Values
CPython always shares cost nothing: nil, booleans, ints -5..256, strings of one Latin-1
character, frozen (load-time) values. A list that hovers around a multiple of 64 elements
(append, pop, append) charges its last chunk again at each crossing.

Memory freed by a heavy invocation is handed back to the system when it ends
(`release_if_heavy`, below).

Call depth is Python's own recursion limit (one script call is one Python frame), set by
`depth_guard` around an invocation; RecursionError becomes LimitError where errors are
translated.
"""
from __future__ import annotations

import gc
import random
import sys
import threading
import time

from .errors import DeadlineExceeded, LimitError

CHUNK = 250  # at most 256: the credit stays a small int, cached by CPython: no allocation
CARRIED = 16  # the most an invocation's first check pays of an overdraft (see `refill`)
UNLIMITED = 1 << 62
DEFAULT_MAX_DEPTH = 500
MAX_OUTPUT_LINES = 100        # print + log lines per invocation (STDLIB.md "log")
MAX_OUTPUT_BYTES = 64 * 1024
TEXT_PER_STEP = 64       # bytes of text copied or searched in C that make one step
SMALL_WORK = 64          # work up to this many units is part of the step that does it


class Budget:
    """What one invocation may still spend: steps left, bytes of values it may still build,
    and the monotonic deadline."""
    __slots__ = ("remaining", "deadline", "max_steps", "memory_left", "max_memory",
                 "lines_left", "output_left", "context", "fresh")

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
        self.fresh = True  # no credit check yet in this invocation (see `refill`)

    def begin(self, context=None) -> None:
        """A host that reuses this Budget for a new invocation (one per request) restarts
        its output bound here and says what it runs for (log lines read the request id)."""
        self.lines_left = MAX_OUTPUT_LINES
        self.output_left = MAX_OUTPUT_BYTES
        self.context = context
        self.fresh = True

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class _Local(threading.local):
    def __init__(self) -> None:  # runs once in each thread: every thread its own Budget
        self.budget = Budget()
        # Called when the invocation on this thread turns out slow: before it blocks (sleep;
        # later db and kv calls) and at each refill, i.e. past its first ~250 steps. A
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
    if budget.fresh:
        budget.fresh = False
        if credit < -CARRIED:  # an overdraft left by invocations before this one
            credit = -CARRIED
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
    if budget.fresh:  # what the credit was overdrawn before the loop, as `refill` bounds it
        budget.fresh = False
        if credit + len(items) < -CARRIED:
            credit = -CARRIED - len(items)
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


# --- memory: CPython's real sizes --------------------------------------------------------
# 64-bit CPython 3.11, checked against sys.getsizeof by tests/test_limits.py. pymalloc rounds
# every small object up to 16 bytes (`_real`); lists and maps carry the collector's 16-byte
# header, which getsizeof includes.
SLOT_BYTES = 8           # a pointer: a slot of a list built at its final size
LIST_BYTES = 56          # sys.getsizeof([]): a list's header
GROWN_SLOT_BYTES = 10    # a slot of a list grown by appends: 8 and CPython's over-allocation (<= 1/8 + 6 slots)
MAP_ENTRY_BYTES = 64     # a new map entry: hash, key and value pointers, its index slot and the
#                          table's spare room (measured worst 60 right after a resize)
INT_BYTES = 32           # an int under 2**60 (28 bytes, rounded); bigger: its getsizeof
FLOAT_BYTES = 32         # a float (24 bytes, rounded)
STR_BYTES = 49           # sys.getsizeof(""): a compact ASCII string's header (+1 per char)
BYTES_BYTES = 33         # sys.getsizeof(b"")
_WIDE_STR_BYTES = 72     # the header of a non-ASCII string (then 1, 2 or 4 bytes per char and a NUL)
PAIR_BYTES = 80          # a fresh 2-element list (72 bytes, rounded): `items`, `enumerate`
KEPT_TEXT = 512          # strings and bytes up to this length are charged when stored, longer
#                          ones when built (every builder of longer text charges it)
KEPT_NODES = 64          # containers `kept` walks in a small nested value
KEPT_MAX = 16 * 1024     # what one store can be charged at most (the double-counting bound)

_getsizeof = sys.getsizeof
_BIG_INT = 1 << 60


def _real(nbytes: int) -> int:
    """What CPython's allocator really takes for an object of `nbytes` (16-byte granules)."""
    return (nbytes + 15) & ~15


def kept(value) -> int:
    """The bytes charged when `value` is stored into a container: its own size when it is a
    small value that nothing charged when it was built (see "Memory" above), else 0."""
    t = type(value)
    if t is int:
        return 0 if -5 <= value <= 256 else (INT_BYTES if -_BIG_INT < value < _BIG_INT else _real(_getsizeof(value)))
    if t is str or t is bytes:
        n = len(value)
        if n > KEPT_TEXT or n == 0 or (n == 1 and (t is bytes or value <= "\xff")):
            return 0  # long text was charged when built; "" and one Latin-1 char are shared
        return _real(_getsizeof(value))
    if t is float:
        return FLOAT_BYTES
    if (t is list or t is dict) and len(value) <= SMALL_WORK:
        total = _kept_container(value)
        return total if total < KEPT_MAX else KEPT_MAX
    return 0


def _kept_container(value) -> int:
    """A small list or map and what it holds, walked to at most KEPT_NODES containers (in
    all: a value that shares structure is not walked path by path). `kept`, inlined for the
    scalars: this runs for each small row a script keeps."""
    total, nodes, stack = 0, 0, [value]
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > KEPT_NODES:
            break
        total += (_getsizeof(node) + 15) & ~15
        for item in (node.values() if type(node) is dict else node):
            t = type(item)
            if t is str:
                n = len(item)
                if 1 < n <= KEPT_TEXT or (n == 1 and item > "\xff"):
                    total += (_getsizeof(item) + 15) & ~15
            elif t is int:
                if item > 256 or item < -5:
                    total += INT_BYTES if -_BIG_INT < item < _BIG_INT else kept(item)
            elif t is list or t is dict:
                if len(item) <= SMALL_WORK:
                    stack.append(item)
            elif t is float:
                total += FLOAT_BYTES
            elif t is bytes:
                total += kept(item)
    return total


_SHARED_INTS = frozenset(range(-5, 257))
_NoneType = type(None)
_CONTAINERS = frozenset((list, dict))
SAMPLED_CHUNK, SAMPLE_EVERY = 64, 8  # SAMPLE_EVERY == 1 << 3: the random offset's bits
_random_bits = random.getrandbits


def kept_all(values: list) -> int:
    """What the values of a chunk of a list grown by appends are charged (`kept` of each): at
    C speed when they are all of one scalar kind; a full chunk of small rows (lists and maps)
    by sampling: an eighth of them, from a random offset, counted 8 times."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if kind is int:
            if max(values) < _BIG_INT and min(values) > -_BIG_INT:
                return INT_BYTES * (len(values) - sum(map(_SHARED_INTS.__contains__, values)))
        elif kind is str or kind is bytes:
            if max(map(len, values)) <= KEPT_TEXT:  # + 8: the allocator's rounding, on average
                return sum(map(_getsizeof, values)) + 8 * len(values)
        elif kind is float:
            return FLOAT_BYTES * len(values)
        elif kind is bool or kind is _NoneType:
            return 0
    if len(values) == SAMPLED_CHUNK and kinds <= _CONTAINERS:
        return SAMPLE_EVERY * sum(map(kept, values[_random_bits(3)::SAMPLE_EVERY]))
    return sum(map(kept, values))


def crossing(container) -> None:
    """A list or map growing past SMALL_WORK elements: charge what it holds so far (its
    table, its values, and a map's keys), which nothing charged while it was small."""
    nbytes = _kept_container(container)
    if type(container) is dict:
        nbytes += sum(map(kept, container))
    allocate(nbytes)


def kept_items(values) -> int:
    """What the elements of a small list or map are charged when they are stored elsewhere
    (`extend`, `update`): their own sizes (the container itself is not kept)."""
    if len(values) > SMALL_WORK:
        return 0
    return sum(map(kept, values.values() if type(values) is dict else values))


def small_list_bytes(n: int) -> int:
    """A fresh list object of `n` slots made from a tuple (a zip row): CPython gives it an even
    number of slots; rounded as the allocator does."""
    return _real(LIST_BYTES + SLOT_BYTES * ((n + 1) & ~1))


def list_bytes(n: int) -> int:
    """A list of `n` slots built at its final size (a copy, a slice, `sorted`, `*`)."""
    return LIST_BYTES + SLOT_BYTES * n


def map_bytes(m) -> int:
    """A copy of map `m` (CPython copies its table as it is)."""
    return _real(_getsizeof(m)) if type(m) is dict else MAP_ENTRY_BYTES * len(m) + 64


def char_width(s) -> int:
    """Bytes per character of a string (1, 2 or 4: CPython's compact kinds); 1 for bytes."""
    if type(s) is bytes or s.isascii():
        return 1
    return (_getsizeof(s) - _WIDE_STR_BYTES) // (len(s) + 1)


def text_bytes(s, n: int) -> int:
    """A string (or bytes) of `n` characters of `s`'s kind, about to be built."""
    if type(s) is bytes:
        return BYTES_BYTES + n
    if s.isascii():
        return STR_BYTES + n
    width = char_width(s)
    return _WIDE_STR_BYTES + width * (n + 1)  # the header of a non-ASCII string, its NUL


def allocate_items(n: int) -> None:
    """Count a list of `n` slots about to be built (at its final size) against the budget."""
    if n > SMALL_WORK:
        allocate(list_bytes(n))


def keep(value) -> None:
    """`value` is being stored into a container: charge it (`kept`), if it is anything."""
    nbytes = kept(value)
    if nbytes:
        allocate(nbytes)


def allocate(nbytes: int) -> None:
    """Count `nbytes` of a value about to be built against this invocation's memory budget."""
    budget = _local.budget
    budget.memory_left -= nbytes
    if budget.memory_left < 0:
        budget.memory_left = 0
        raise LimitError(f"memory budget exhausted ({budget.max_memory:,} bytes)")


class Meter:
    """A text made from a value whose size is known up front only as a lower bound (JSON, a
    string's UTF-8 bytes): `bound` bytes are charged before it is made (small ones are part of
    the step, as elsewhere); then `spend(n)`, told each part's (or the whole's) real size as
    it is made, charges what the text takes past what was charged, and refuses it past `cap`
    (with `refuse()`, e.g. the string cap's error). So a text is refused where it goes past
    the budget or the cap, never after it is whole; `made` is what was spent."""
    __slots__ = ("charged", "made", "cap", "refuse")

    def __init__(self, bound: int, cap: int | None = None, refuse=None) -> None:
        if bound > SMALL_WORK:
            allocate(bound)
        self.charged, self.made, self.cap, self.refuse = bound, 0, cap, refuse

    def spend(self, nbytes: int) -> None:
        made = self.made = self.made + nbytes
        if self.cap is not None and made > self.cap:
            raise self.refuse()
        if made > self.charged:
            allocate(made - self.charged)
            self.charged = made


# Memory a heavy invocation freed stays with the C allocator: with --async each worker thread
# has its own glibc arena, and what one thread freed is not reused by the next invocation on
# another, so RSS could sum several budgets. The server fixes glibc's thresholds once
# (runtime/http/server.py `settle_allocator`: large blocks mapped and unmapped on their
# own); and when an invocation that charged more than RELEASE_AFTER has ended and its values
# are dropped, the host calls `release_if_heavy()` (runtime/scripts/mount.py), which collects
# its cycles (a failed invocation's frames and exception) and hands the free pages of every
# arena back (malloc_trim). Elsewhere than glibc, only the collection.
RELEASE_AFTER = 16 * 1024 * 1024
_libc = None


def _glibc():
    """glibc, or False elsewhere."""
    global _libc
    if _libc is None:
        try:
            import ctypes
            libc = ctypes.CDLL("libc.so.6")
            _libc = libc if hasattr(libc, "malloc_trim") else False
        except OSError:
            _libc = False
    return _libc


def release_if_heavy() -> None:
    """After an invocation on this thread: if it was heavy, give what it freed back."""
    budget = _local.budget
    if budget.max_memory is None or budget.max_memory - budget.memory_left <= RELEASE_AFTER:
        return
    budget.memory_left = budget.max_memory  # released once
    gc.collect()
    libc = _glibc()
    if libc:
        libc.malloc_trim(0)


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
