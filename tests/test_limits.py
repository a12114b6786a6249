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
