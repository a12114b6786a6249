"""Long scans in slices: searches and folds over big strings, bytes and lists done as a
Python loop of short C calls, so that no single call holds the interpreter lock for long.

Why. CPython runs `s.find(t)`, `t in s`, `min(xs)`... as ONE C call that holds the GIL for
the whole scan (a miss of "abc" in a 16 MB "abab..." takes 42 ms). Under `rt serve --async`
script handlers run on worker threads while the event loop thread answers everyone else; the
loop gets the lock back only at an eval-loop check between two calls. A script repeating a
charged and allowed 40 ms scan thousands of times starved the loop (/ping p99 1.5 s). Here
every such scan on a big operand becomes a loop of calls of about 1 ms each; the eval loop
hands the lock over between two of them (after the 5 ms switch interval, forced).

Strategy. The slice sizes are decided here, once, from measurements of the slowest case of
each kind on this machine's CPython 3.11 (tests/test_scans.py checks a slice stays short):

- TEXT_SLICE: characters (or bytes) one search call may cover. `find`/`count`/`in` of a short
  periodic needle that misses run at ~2.6 ns a character: 256 Ki characters is ~0.7 ms.
- ITEM_SLICE: list elements one call may visit. The slowest per element is `in` with a
  string needle (~16 ns) and collecting the element types for ordering (~30 ns): 16 Ki
  elements is at most ~0.5 ms.
- COMPARE_BYTES: bytes of text the comparisons of one call may read (memcmp runs at
  ~16 GB/s; 4 MiB is ~0.3 ms). A list search for a long string, or `min` over long strings,
  takes fewer elements per call so that it stays short.

Every function is the one-call Python operation it replaces, with IDENTICAL results
(tests/test_scans.py checks each against the direct call with tiny slices, by hypothesis):
start/end bounds are normalised as CPython does, the first of equal extremes is kept, a
fold carries its running value into the next slice (so NaN behaves as in one call). Small
operands take the direct call after one size check; the callers inline that check where the
call itself is hot (`ops.contains`).

`count` is the subtle one: it counts the greedy chain of non-overlapping occurrences from the
start. `s.count(sub, pos, x)` counts exactly the chain's elements that end at or before x
(a greedy chain restricted to a prefix is a prefix of the chain), so a window is counted
whole, and the next window starts where the chain may continue: past the end of the last
counted occurrence, or at the first start that could cross the window's end when that is
later (an occurrence starting earlier would have fitted and been counted). Finding that end
takes `rfind` and one check in the usual case; when the last occurrence found is not the
chain's (a needle that overlaps itself, "aa" in "aaaa"), a binary search over counts, each
one short and charged here (`limits.work_text`) as extra work.

Long needles: a window must be at least as long as the needle, so a search for an 8 MB
needle in a 16 MB text cannot be made of short calls without quadratic work. Windows of
about 2L starting every L keep the total linear; each call is then as long as ~2L
characters take (30 ms for L = 8 MB). CPython 3.11 hands the lock over like this: a thread
that waited the 5 ms switch interval sets the drop request, and the holder, at its next
eval-loop check, drops the lock and waits until the waiter has it. So after a long call the
event loop gets exactly one turn, and the worker takes the lock back as soon as the loop
blocks again, while a /ping needs several hand-overs (loop, the worker that runs /ping, loop):
measured, /ping p99 stayed at 120-260 ms. `time.sleep(0)` adds nothing (the switch is
already forced). So `paused`: on a --async worker (`limits.beside_a_loop()`), a call that
held the lock past the switch interval is followed by PAUSE (2 ms) with the lock free; p99
then 15-30 ms, at a cost under 10% of the long calls' time. `int`/`float` of a long text
(a regular expression match and a parse that cannot be sliced) go through it too.

Sliced (one call at the 16 MiB cap before; all measured on this machine): string `find`
(42 ms), `count` (42 ms), `in` for strings and bytes (46 ms), `isdigit` (20 ms), `strip`
family (5 ms for spaces; with a set of characters 75 ms, quadratic for a long set: a look-up
in the set per character), `split`/`replace` pre-counts (42 ms; a miss now returns without
the second scan), `startswith`/`endswith` with a list of affixes (one memcmp each, unbounded
count); lists (16M elements): `in` and `index` for strings and nil (120-270 ms), `min`/`max`
(167 ms), `sum` (75 ms), `any`/`all` (100 ms), the type scan of `min`/`max`/`sorted`
(500 ms), `reverse` (5.5 ms), `pop(0)` (6 ms, a memmove of the tail); and, though they
build their result, `upper`/`lower` of non-ASCII text (100-160 ms: three of them, all the
memory budget allows, still held the loop past the p99 bound), in pieces of 64 Ki characters (~1 ms with their
fresh result's page faults) cut where the final-sigma rule cannot see across (`case_spans`).

Left whole: `==` and `<` of two strings or bytes (memcmp, ~1 ms); one `startswith`/`endswith`
affix (memcmp, under 1 ms); list `==`/`<` (already a Python loop, lang/nested.py); sorting
(812 ms for 3M random floats: charged n log n and bounded by the memory budget to a call or
two a request; sorting runs of 8 Ki and merging them pairwise, measured, took twice as long
in all and its last merges were still 190 ms calls). Operations that build their result
(concatenation, repetition, slices, `join`, `replace`, the joining of case-mapped pieces)
are lang/builds.py's: built in pieces past 1 MiB beside a loop. What is charged is
decided by the callers (lang/limits rates); only work whose size shows as the scan goes (the
count search above, `strip` with a set of characters, affixes, `min` over strings) is charged
here, before the slice that does it.
"""
from __future__ import annotations

import sys
import time
from bisect import bisect_right
from functools import partial
from itertools import accumulate, chain, islice
from unicodedata import category

from . import limits

TEXT_SLICE = 1 << 18
ITEM_SLICE = 1 << 14
COMPARE_BYTES = 1 << 22
_FIRST_PIECE = 64  # characters `strip` looks at first; each next piece doubles, up to a slice
PAUSE = 0.002     # seconds a bridge worker leaves the lock free after a long needle's call


def paused(call, *args):
    """`call(*args)`, a C call that cannot be made short (a search for a needle longer than a
    slice; parsing a long number's text). On a thread beside the event loop, a call that held
    the lock past the switch interval is followed by a pause (the lock free for PAUSE), so
    the loop and the other workers run a whole turn, not just the one hand-over the forced
    switch gives; the jobs queued behind this one go to other workers first."""
    started = time.perf_counter()
    result = call(*args)
    if time.perf_counter() - started > sys.getswitchinterval() and limits.beside_a_loop():
        limits.blocking()  # the jobs waiting behind this one go to other workers
        time.sleep(PAUSE)
    return result


# --------------------------------------------------------------------------- text


def _span(n: int, start, end) -> tuple[int, int]:
    """start and end as CPython's str.find normalises them (start may stay past n)."""
    start = 0 if start is None else start
    end = n if end is None else end
    if end > n:
        end = n
    elif end < 0:
        end = max(0, end + n)
    if start < 0:
        start = max(0, start + n)
    return start, end


def _searchers(s, sub, *names) -> list:
    """`s`'s search methods `names`, each `paused` when `sub` is longer than a slice (a
    window must hold the needle, so their calls cannot be made short)."""
    calls = [getattr(s, name) for name in names]
    if len(sub) > TEXT_SLICE:
        return [partial(paused, call) for call in calls]
    return calls


def find(s, sub, start=None, end=None) -> int:
    """`s.find(sub, start, end)` for a str or bytes `s`, in windows of TEXT_SLICE starts."""
    if len(s) <= TEXT_SLICE:
        return s.find(sub, start, end)
    lo, hi = _span(len(s), start, end)
    width = len(sub)
    s_find, = _searchers(s, sub, "find")
    if width == 0 or hi - lo <= TEXT_SLICE + width:
        return s_find(sub, start, end)
    step = max(TEXT_SLICE, width)
    for first in range(lo, hi - width + 1, step):  # windows: starts in [first, first + step)
        found = s_find(sub, first, min(hi, first + step + width - 1))
        if found >= 0:
            return found
    return -1


def contains(s, sub) -> bool:
    """`sub in s` for two strings or two bytes."""
    return find(s, sub) >= 0


def count(s, sub, start=None, end=None) -> int:
    """`s.count(sub, start, end)`: non-overlapping occurrences, greedy from the start."""
    if len(s) <= TEXT_SLICE:
        return s.count(sub, start, end)
    lo, hi = _span(len(s), start, end)
    width = len(sub)
    s_count, s_rfind = _searchers(s, sub, "count", "rfind")
    if width == 0 or hi - lo <= TEXT_SLICE + width:
        return s_count(sub, start, end)
    step = max(TEXT_SLICE, 2 * width)
    total, pos = 0, lo
    while True:
        stop = min(hi, pos + step)
        found = s_count(sub, pos, stop)  # the chain's elements that end by `stop`
        total += found
        if stop >= hi:
            return total
        resume = stop - width + 1  # the first start whose occurrence could cross `stop`
        if found:
            last = s_rfind(sub, pos, stop)  # the chain's last element is at or before it
            if last + width > resume:
                limits.work_text(stop - pos)
                if s_count(sub, pos, last + width - 1) < found:
                    resume = last + width  # `last` is the chain's: it ends there
                else:
                    resume = _chain_end(s_count, sub, pos, resume, last + width - 1, found)
        pos = resume


def _chain_end(s_count, sub, pos: int, low: int, high: int, found: int) -> int:
    """The smallest x in [low, high] with s.count(sub, pos, x) == found (which holds at
    high): the end of the chain's last element, or `low` if it ends before."""
    while low < high:
        middle = (low + high) // 2
        limits.work_text(middle - pos)
        if s_count(sub, pos, middle) == found:
            high = middle
        else:
            low = middle + 1
    return low


def every_slice(test, s) -> bool:
    """True if `test(piece)` holds for every TEXT_SLICE piece of a non-empty `s` (a
    `fullmatch` of a pattern `[...]+`: then it holds of the whole exactly when of each piece)."""
    if len(s) <= TEXT_SLICE:
        return test(s) is not None
    return all(test(s[i:i + TEXT_SLICE]) is not None for i in range(0, len(s), TEXT_SLICE))


def any_affix(s, affixes: list, test) -> bool:
    """`test(s, tuple(affixes))` (str.startswith or str.endswith with several affixes), in
    groups of affixes whose comparisons read at most COMPARE_BYTES; a longer affix alone."""
    for lo in range(0, len(affixes), ITEM_SLICE):
        group = affixes[lo:lo + ITEM_SLICE]
        if sum(map(len, group)) <= COMPARE_BYTES:
            if test(s, tuple(group)):
                return True
            continue
        for affix in group:
            limits.work_text(min(len(affix), len(s)))
            if test(s, affix):
                return True
    return False


def strip_bounds(s, chars, left: bool, right: bool) -> tuple[int, int]:
    """The span `s.strip(chars)` (or lstrip, rstrip) keeps, found in pieces: each stripped
    character costs a look-up in `chars`, so pieces are smaller as `chars` is longer. Pieces
    grow from _FIRST_PIECE, doubling, so a strip that stops early pays for little; each is
    charged before it is looked at."""
    n = len(s)
    width = 1 if chars is None else max(1, len(chars))
    largest = max(1, TEXT_SLICE // width)
    lo, hi = 0, n
    if left:
        size = _FIRST_PIECE
        while lo < n:
            piece = s[lo:lo + min(size, largest)]
            limits.work_text(len(piece) * width)
            kept = len(piece.lstrip(chars))
            lo += len(piece) - kept
            if kept:
                break
            size *= 2
    if right:
        size = _FIRST_PIECE
        while hi > lo:
            piece = s[max(lo, hi - min(size, largest)):hi]
            limits.work_text(len(piece) * width)
            kept = len(piece.rstrip(chars))
            hi -= len(piece) - kept
            if kept:
                break
            size *= 2
    return lo, hi


_SIGMA = "\u03a3"
_CASE_SAFE = frozenset(("Lu", "Ll", "Lt", "Lo", "Nd", "Zs"))  # never Case_Ignorable
_SAFE_SEARCH = 256  # characters looked at for a safe end of a piece before giving it up


def case_spans(s: str, lower: bool):
    """(lo, hi) pieces of about a quarter of TEXT_SLICE characters (mapping one costs ~9 ns,
    its fresh result's pages as much again: ~1 ms a piece) whose case mappings, joined, are the
    whole string's. Upper-casing is per character. Lower-casing is too except for capital
    sigma, which becomes final sigma by what surrounds it (CPython looks back and forward over
    case-ignorable characters): with a Σ in `s`, a piece ends only between two characters that
    are letters, digits or spaces (never case-ignorable) and not Σ, where no Σ's look can
    cross. Where none is near the planned end, the piece goes on to the next chance (a text
    with a Σ and only case-ignorable characters for megabytes maps in one call)."""
    n = len(s)
    careful = lower and contains(s, _SIGMA)
    size = max(1, TEXT_SLICE // 4)
    lo = 0
    while lo < n:
        hi = min(n, lo + size)
        while careful and hi < n:
            cut = _safe_cut(s, hi)
            if cut is not None:
                hi = cut
                break
            hi = min(n, hi + size)
        yield lo, hi
        lo = hi


def _safe_cut(s: str, at: int):
    """The first index in [at, at + _SAFE_SEARCH) between two safe characters, or None."""
    window = s[at - 1:at + _SAFE_SEARCH]
    safe = [c != _SIGMA and category(c) in _CASE_SAFE for c in window]
    for k in range(1, len(window)):
        if safe[k - 1] and safe[k]:
            return at - 1 + k
    return None


# --------------------------------------------------------------------------- lists


def list_index(xs, value) -> int:
    """`xs.index(value)`, or -1 when it is absent: Python's `==` (callers use it only where
    that is the language's). A long string needle makes each comparison read up to its
    length, so a slice then holds fewer elements."""
    n = len(xs)
    size = ITEM_SLICE
    if type(value) is str or type(value) is bytes:
        size = max(1, min(ITEM_SLICE, COMPARE_BYTES // max(1, len(value))))
    for lo in range(0, n, size):
        try:
            return xs.index(value, lo, lo + size)
        except ValueError:
            pass
    return -1


def _spans(n: int, texts=None):
    """(lo, hi) spans of ITEM_SLICE elements; when `texts` (a list of strings, the values
    compared) is given, also of at most COMPARE_BYTES of their text (at least one element)."""
    for lo in range(0, n, ITEM_SLICE):
        hi = min(n, lo + ITEM_SLICE)
        if texts is None:
            yield lo, hi
            continue
        totals = list(accumulate(map(len, texts[lo:hi])))
        start, before = 0, 0
        while start < len(totals):
            cut = max(start + 1, bisect_right(totals, before + COMPARE_BYTES, start))
            limits.work_text(totals[cut - 1] - before)  # what the span's comparisons may read
            yield lo + start, lo + cut
            before, start = totals[cut - 1], cut


def extreme(pick, values, key=None, texts=None):
    """`pick(values, key=key)` for pick = min or max over a non-empty sequence: the running
    extreme is carried into each next slice as its first element, so the fold is the one
    call's (the first of equal extremes wins; NaN behaves the same). `texts`: the strings
    being compared, when they are strings (they bound the work of a slice)."""
    n = len(values)
    if n <= ITEM_SLICE and texts is None:
        return pick(values, key=key)
    if n <= ITEM_SLICE and (length := sum(map(len, texts))) <= COMPARE_BYTES:
        limits.work_text(length)
        return pick(values, key=key)
    items = iter(values)
    best = _NOTHING = object()
    for lo, hi in _spans(n, texts):
        part = islice(items, hi - lo)
        best = pick(part if best is _NOTHING else chain((best,), part), key=key)
    return best


def total(values, start):
    """`sum(values, start)`: a left fold, so a running total carried on is the same sum."""
    if len(values) <= ITEM_SLICE:
        return sum(values, start)
    items = iter(values)
    for _ in range(0, len(values), ITEM_SLICE):
        start = sum(islice(items, ITEM_SLICE), start)
    return start


def any_true(values) -> bool:
    if len(values) <= ITEM_SLICE:
        return any(values)
    items = iter(values)
    return any(any(islice(items, ITEM_SLICE)) for _ in range(0, len(values), ITEM_SLICE))


def all_true(values) -> bool:
    if len(values) <= ITEM_SLICE:
        return all(values)
    items = iter(values)
    return all(all(islice(items, ITEM_SLICE)) for _ in range(0, len(values), ITEM_SLICE))


def types(values) -> set:
    """The set of the Python types of `values`."""
    if len(values) <= ITEM_SLICE:
        return set(map(type, values))
    found: set = set()
    items = iter(values)
    for _ in range(0, len(values), ITEM_SLICE):
        found.update(map(type, islice(items, ITEM_SLICE)))
    return found


def _moved_items() -> int:
    """Elements `reverse` and `pop` move per call: half a slice, so that the temporary slices
    (64 KiB) stay under the mmap threshold and reuse heap memory; 1 MiB ones were fresh pages
    each time, faulted in with the lock held (6M elements reversed: 70 ms in all, 18 ms so)."""
    return max(1, ITEM_SLICE // 2)


def reverse(xs: list) -> None:
    """`xs.reverse()` in place, swapping slices from both ends."""
    n = len(xs)
    block = _moved_items()
    if n <= 8 * ITEM_SLICE:  # one short call
        xs.reverse()
        return
    half = n // 2
    for lo in range(0, half, block):
        k = min(block, half - lo)
        front, back = xs[lo:lo + k], xs[n - lo - k:n - lo]
        front.reverse()
        back.reverse()
        xs[lo:lo + k] = back
        xs[n - lo - k:n - lo] = front


def pop(xs: list, index: int):
    """`xs.pop(index)` (index already checked in range): the elements after it move down a
    slice at a time instead of in one memmove of the whole tail."""
    n = len(xs)
    block = _moved_items()
    if index < 0:
        index += n
    if n - index <= 8 * ITEM_SLICE:
        return xs.pop(index)
    value = xs[index]
    for lo in range(index, n - 1, block):
        hi = min(n - 1, lo + block)
        xs[lo:hi] = xs[lo + 1:hi + 1]
    xs.pop()
    return value
