"""Limits a script cannot escape: the step budget, the deadline, call depth, sizes."""
import time

import pytest

from rtserve.lang import limits
from rtserve.lang.errors import DeadlineExceeded, LimitError
from rtserve.lang.loader import Loader


def load(source: str):
    return Loader().load("/tmp/rt_limits_case.script", source=source).exports


def load_with_stdlib(source: str):
    from rtserve import stdlib
    return Loader(modules=stdlib.modules()).load("/tmp/rt_limits_stdlib.script", source=source).exports


def call_with(budget, fn, *args):
    previous = limits.activate(budget)
    try:
        with limits.depth_guard():
            return fn(*args)
    finally:
        limits.activate(previous)


COUNTER = """
fn spin(n) {
    let i = 0
    while i < n { i += 1 }
    return i
}
"""


def test_budget_is_exact_on_one_thread():
    spin = load(COUNTER)["spin"]
    # spin(n) costs 1 (the call) + n (loop iterations) steps.
    assert call_with(limits.Budget(101), spin, 100) == 100
    with pytest.raises(LimitError, match="step budget exhausted"):
        call_with(limits.Budget(101), spin, 101)


def test_try_cannot_catch_a_limit():
    ex = load("fn f() { try { while true { } } catch e { return 'caught' } }")
    with pytest.raises(LimitError):
        call_with(limits.Budget(10_000), ex["f"])


def test_for_loop_is_charged_up_front_or_item_by_item():
    ex = load("fn first_over(limit) { for i in range(1000000) { if i > limit { return i } } }\n"
              "fn all_of(xs) { let n = 0\n for x in xs { n += 1 }\n return n }")
    # A loop that breaks early runs even though its full length exceeds the budget...
    assert call_with(limits.Budget(100), ex["first_over"], 5) == 6
    # ...but one that really runs past the budget is stopped.
    with pytest.raises(LimitError):
        call_with(limits.Budget(100), ex["first_over"], 500)
    assert call_with(limits.Budget(1000), ex["all_of"], list(range(900))) == 900


def test_deadline_stops_a_loop_and_a_sleep():
    ex = load_with_stdlib("import time\nfn loop() { while true { } }\nfn nap() { time.sleep(10) }")
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        call_with(limits.Budget(None, time.monotonic() + 0.3), ex["loop"])
    with pytest.raises(DeadlineExceeded):
        call_with(limits.Budget(None, time.monotonic() + 0.3), ex["nap"])
    assert time.monotonic() - started < 5


def test_call_depth_is_limited_and_uncatchable():
    ex = load("fn down(n) { return down(n + 1) }\nfn guarded() { try { down(0) } catch e { return 'caught' } }")
    for name in ("down", "guarded"):
        with pytest.raises((LimitError, RecursionError)) as info:
            call_with(limits.Budget(None), ex[name], *((0,) if name == "down" else ()))
        from rtserve.lang.values import translate_exception
        assert isinstance(translate_exception(info.value), LimitError)


def test_recursion_to_depth_400_works():
    ex = load("fn depth(n) { return n == 0 ? 0 : 1 + depth(n - 1) }")
    assert call_with(limits.Budget(None), ex["depth"], 400) == 400


@pytest.mark.parametrize("expr", ['"x" * 100000000000', "[0] * 100000000000", "2 ** 100000",
                                  "10 ** 2000 * 10 ** 2000", 'range(100000000000)'])
def test_size_limits_fail_at_once(expr):
    started = time.monotonic()
    with pytest.raises(LimitError):
        load(f"let x = {expr}")
    assert time.monotonic() - started < 5  # refused before allocating, not after


# --------------------------------------------------------------------------- memory rates
# The memory budget's rates are CPython's real sizes (lang/limits.py "Memory"): each constant
# is checked here against sys.getsizeof, and the allocator's rounding against tracemalloc.

import sys  # noqa: E402
import tracemalloc  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402


def test_the_rates_are_cpythons_sizes():
    assert limits.LIST_BYTES == sys.getsizeof([])
    assert limits.SLOT_BYTES == sys.getsizeof([0]) - sys.getsizeof([])
    assert limits.INT_BYTES == limits._real(sys.getsizeof(1 << 59)) >= limits._real(sys.getsizeof(257))
    assert limits.FLOAT_BYTES == limits._real(sys.getsizeof(0.5))
    assert limits.STR_BYTES == sys.getsizeof("")
    assert limits.BYTES_BYTES == sys.getsizeof(b"")
    assert limits.PAIR_BYTES == limits._real(sys.getsizeof([1, 2]))
    for n in range(1, 9):
        assert limits.small_list_bytes(n) == limits._real(sys.getsizeof(list(tuple(range(n)))))  # a zip row


def test_a_list_grown_by_append_costs_at_most_its_slot_rate():
    xs, worst = [], 0.0
    for i in range(200_000):
        xs.append(i)
        if i > 64:
            worst = max(worst, (sys.getsizeof(xs) - limits.LIST_BYTES) / len(xs))
    assert 8 < worst <= limits.GROWN_SLOT_BYTES


def test_a_map_grown_by_stores_costs_at_most_its_entry_rate():
    m, worst = {}, 0.0
    for i in range(200_000):
        m[i] = i
        if i > 64:
            worst = max(worst, sys.getsizeof(m) / len(m))
    assert 40 < worst <= limits.MAP_ENTRY_BYTES


@pytest.mark.parametrize("text", ["ascii text", "latin-1: caf\u00e9", "bmp: \u20ac uro", "astral: \U0001F600"])
def test_text_bytes_is_getsizeof_for_every_kind_of_string(text):
    s = text * 50
    assert limits.text_bytes(s, len(s)) == sys.getsizeof(s)
    assert limits.text_bytes(s.encode(), len(s.encode())) == sys.getsizeof(s.encode())


def _traced(make, copies: int = 2000):
    """Bytes tracemalloc sees one `make()` allocate and keep (the mean of `copies`, so the
    interpreter's own first-call allocations and its free lists of floats, lists and maps,
    reused without an allocation tracemalloc sees, wash out), and one of the values."""
    keep = [None] * copies
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(copies):
            keep[i] = make()
        return (tracemalloc.get_traced_memory()[0] - before) // copies, keep[0]
    finally:
        tracemalloc.stop()


_SCALARS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False),
                     st.text(max_size=40), st.booleans(), st.none())
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=8), st.dictionaries(st.text(max_size=8), inner, max_size=8)), max_leaves=30)


def _copy(value):
    """A fresh deep copy: every object new, as a literal built at run time makes it."""
    t = type(value)
    if t is list:
        return [_copy(v) for v in value]
    if t is dict:
        return {k: _copy(v) for k, v in value.items()}
    if t is int:
        return int(str(value))
    if t is str:
        return "".join(list(value))
    if t is float:
        return float(repr(value))
    return value


@settings(max_examples=60, deadline=None)
@given(_VALUES)
def test_kept_is_the_real_size_of_a_fresh_small_value(value):
    """`kept` charges at least what tracemalloc sees a fresh copy allocate (its keys aside:
    a small map's keys are not counted, documented), and at most 16 bytes more per object
    (the allocator's rounding) or what CPython shares anyway."""
    real, copy = _traced(lambda: _copy(value))
    charged = limits.kept(copy)

    def keys(v):
        if type(v) is dict:
            return sum(limits.kept(k) for k in v) + sum(keys(x) for x in v.values())
        return sum(keys(x) for x in v) if type(v) is list else 0

    def objects(v):
        if type(v) in (list, dict):
            return 1 + sum(objects(x) for x in (v.values() if type(v) is dict else v))
        return 1
    assert charged + keys(copy) + 64 >= real
    assert charged <= real + 16 * objects(copy) + 64


def test_a_heavy_invocation_is_released_once_and_a_light_one_not(monkeypatch):
    calls = []
    monkeypatch.setattr(limits.gc, "collect", lambda: calls.append("collect"))
    budget = limits.Budget(max_memory=64 * 1024 * 1024)
    previous = limits.activate(budget)
    try:
        limits.allocate(limits.RELEASE_AFTER // 2)
        limits.release_if_heavy()
        assert calls == [] and budget.memory_left < budget.max_memory
        limits.allocate(limits.RELEASE_AFTER)
        limits.release_if_heavy()
        assert calls == ["collect"] and budget.memory_left == budget.max_memory
        limits.release_if_heavy()
        assert calls == ["collect"]
    finally:
        limits.activate(previous)


_ROWS = st.lists(st.one_of(
    st.lists(st.one_of(st.integers(-10**6, 10**6), st.text(max_size=12)), max_size=6),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.floats(), st.text(max_size=30)),
                    max_size=6)), min_size=64, max_size=64)


@settings(max_examples=40, deadline=None)
@given(_ROWS)
def test_a_sampled_chunk_of_rows_is_charged_exactly_on_average(monkeypatch_rows):
    """kept_all samples 8 of 64 rows from a random offset: over the 8 offsets the charge
    averages to the exact sum of `kept` (unbiased), and rows of one shape are exact."""
    rows = monkeypatch_rows
    exact = sum(map(limits.kept, rows))
    offsets = iter(range(limits.SAMPLE_EVERY))
    original = limits._random_bits
    limits._random_bits = lambda bits: next(offsets)
    try:
        charges = [limits.kept_all(rows) for _ in range(limits.SAMPLE_EVERY)]
    finally:
        limits._random_bits = original
    assert sum(charges) == limits.SAMPLE_EVERY * exact


def test_rows_of_one_shape_are_charged_exactly():
    rows = [{"id": i * 1000, "name": f"user {i}", "tags": [f"t{i}", "b"]} for i in range(64)]
    assert limits.kept_all(rows) == pytest.approx(sum(map(limits.kept, rows)), rel=0.02)


def test_a_meter_charges_its_bound_before_and_the_rest_as_it_grows():
    budget = limits.Budget(max_memory=10_000)
    previous = limits.activate(budget)
    try:
        meter = limits.Meter(4_000, cap=9_000, refuse=lambda: LimitError("past the cap"))
        assert budget.memory_left == 6_000  # the bound, before anything is made
        meter.spend(3_000)
        meter.spend(1_000)
        assert budget.memory_left == 6_000  # within the bound: charged already
        meter.spend(2_500)
        assert (budget.memory_left, meter.made) == (3_500, 6_500)  # past it: the difference
        with pytest.raises(LimitError, match="past the cap"):
            meter.spend(2_501)  # 9,001 made: the cap refuses before the budget is asked
        assert budget.memory_left == 3_500
        with pytest.raises(LimitError, match="memory budget"):
            limits.Meter(0).spend(3_501)
        limits.Meter(limits.SMALL_WORK)  # a small bound is part of the step: the spent budget is not asked
        assert budget.memory_left == 0
    finally:
        limits.activate(previous)
