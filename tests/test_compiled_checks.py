"""Where compiled code checks its budgets, and what it may leave out (lang/compiler.py).

- A function's entry takes one step; the credit check comes before its first statement that
  may call, and in each iteration of a loop that calls. Every call is still one step, and a
  recursion of any shape is stopped by the budget and the deadline.
- The runtime's `Budget.begin` forgives what invocations left overdrawn without a check.
- A guard (`if n < 2 { return n }`) bounds `n` below: `n - 1` then needs no int-cap test;
  without an exiting guard, or on a variable that is reassigned, the test stays.
- `s += "literal"` on every iteration of a `for` is charged before the loop, for all of it.
"""
import math
import time

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang import limits
from rtserve.lang.errors import DeadlineExceeded, LimitError
from rtserve.lang.loader import Loader
from rtserve.lang.values import translate_exception
from test_limits import call_with

CAP = 1 << 4096  # an int result of this magnitude or more is refused (values.MAX_INT_BITS)


def load(source: str):
    return Loader().load("/tmp/rt_compiled_checks.script", source=source)


def call(fn, *args, budget=None):
    return call_with(budget or limits.Budget(10**9), fn, *args)


# --------------------------------------------------------------------------- steps

FIB = "fn fib(n) { if n < 2 { return n }\n return fib(n - 1) + fib(n - 2) }"


def calls_of_fib(n: int) -> int:
    return 1 if n < 2 else 1 + calls_of_fib(n - 1) + calls_of_fib(n - 2)


RUN_FIB = FIB + "\nfn run(n) { let r = fib(n)\n let i = 0\n while i < 1 { i += 1 }\n return r }"


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 12))
def test_every_call_is_one_step(n):
    # run(n): its entry, fib's calls, one `while` step whose check charges what fib left.
    steps = 1 + calls_of_fib(n) + 1
    assert call(load(RUN_FIB).exports["run"], n, budget=limits.Budget(steps)) == reference_fib(n)
    with pytest.raises(LimitError, match="step budget exhausted"):
        call(load(RUN_FIB).exports["run"], n, budget=limits.Budget(steps - 1))


def test_a_branching_recursion_is_stopped_by_the_budget():
    fib = load(FIB).exports["fib"]
    with pytest.raises(LimitError, match="step budget exhausted"):
        call(fib, 30, budget=limits.Budget(10_000))


def test_a_branching_recursion_is_stopped_by_the_deadline():
    fib = load(FIB).exports["fib"]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        call(fib, 60, budget=limits.Budget(None, deadline=time.monotonic() + 0.2))
    assert time.monotonic() - started < 5


def test_a_loop_that_calls_a_leaf_is_checked_on_each_iteration():
    # The leaf never checks; the loop body does, before its call.
    source = "fn leaf(x) { return x }\nfn spin(n) { let i = 0\n while i < n { leaf(i)\n i += 1 } }\n" \
             "fn each(xs) { for x in xs { leaf(x) } }"
    ex = load(source).exports
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        call(ex["each"], range(10**9), budget=limits.Budget(None, deadline=time.monotonic() + 0.2))
    assert time.monotonic() - started < 5
    # 1 (each) + 300 iterations + 300 leaf calls: refused within the budget's check interval.
    with pytest.raises(LimitError):
        call(ex["each"], list(range(300)), budget=limits.Budget(450))


def test_what_invocations_left_unchecked_is_carried_only_a_little():
    # `quick` answers without calling: its entry step is never checked, and the credit is
    # the module's. The next invocation's first check pays at most CARRIED of it.
    ex = load("fn quick() { return 1 }\nfn spin(n) { let i = 0\n while i < n { i += 1 }\n return i }").exports
    for _ in range(5000):
        budget = limits.Budget(None)
        budget.begin()
        call(ex["quick"], budget=budget)
    assert limits.CARRIED < 100
    budget = limits.Budget(200)  # 1 + 100 steps, and at most CARRIED of the 5,000 before
    budget.begin()
    assert call(ex["spin"], 100, budget=budget) == 100


# --------------------------------------------------------------------------- guards

GUARDS = load("""
fn below(n) { if n < 2 { return nil }
 return n - 1 }
fn mirrored(n) { if 2 > n { return nil }
 return n - 2 }
fn inside(n) { if n >= 0 and n != 5 { return n - 3 }
 return nil }
fn failing_or(n) { if n < 0 or n == 7 { return nil }
 return n - 1 }
fn above(n) { if n > 10 { return nil }
 return n + 1 }
fn not_exiting(n) { if n < 2 { let x = 1 }
 return n - 1 }
fn reassigned(n, m) { if n < 2 { return nil }
 n = m
 return n - 1 }
fn in_a_loop(xs) { let out = []
 for x in xs { if x < 1 { continue }
  out.append(x - 1) }
 return out }
""").exports


def reference(name: str, n, m=None):
    """What the language says, the cap included (LimitError past it)."""
    def sub(a, b):
        r = a - b
        if isinstance(r, int) and abs(r) >= CAP:
            raise LimitError("integer too large")
        return r
    if name == "below":
        return None if n < 2 else sub(n, 1)
    if name == "mirrored":
        return None if 2 > n else sub(n, 2)
    if name == "inside":
        return sub(n, 3) if n >= 0 and n != 5 else None
    if name == "failing_or":
        return None if n < 0 or n == 7 else sub(n, 1)
    if name == "above":
        return None if n > 10 else sub(n, -1)
    if name == "not_exiting":
        return sub(n, 1)
    if name == "reassigned":
        return None if n < 2 else sub(m, 1)
    raise AssertionError(name)


numbers = st.one_of(
    st.integers(-20, 20),
    st.sampled_from([CAP - 1, -(CAP - 1), -(CAP - 2), CAP - 2, 2**62, -(2**62)]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["below", "mirrored", "inside", "failing_or", "above", "not_exiting", "reassigned"]),
       numbers, numbers)
def test_guarded_arithmetic_matches_the_language(name, n, m):
    args = (n, m) if name == "reassigned" else (n,)
    try:
        expected = reference(name, *args)
    except LimitError:
        with pytest.raises(LimitError, match="integer too large"):
            call(GUARDS[name], *args)
        return
    got = call(GUARDS[name], *args)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)


def test_a_guard_that_does_not_exit_keeps_the_cap():
    with pytest.raises(LimitError, match="integer too large"):
        call(GUARDS["not_exiting"], -(CAP - 1))
    with pytest.raises(LimitError, match="integer too large"):
        call(GUARDS["reassigned"], 5, -(CAP - 1))


def test_guards_hold_per_iteration():
    assert call(GUARDS["in_a_loop"], [0, 3, -(CAP - 1), 1]) == [2, 0]


def script_error(fn, *args):
    """The error a script sees for calling fn (compiled code raises Python's own)."""
    with pytest.raises(Exception) as info:
        call(fn, *args)
    return translate_exception(info.value)


def test_a_guard_admits_only_numbers():
    for bad in ("x", [1], {"a": 1}, None):
        assert script_error(GUARDS["below"], bad).kind == "TypeError"


# --------------------------------------------------------------------------- appends

APPENDS = load("""
fn build(n) { let s = ""
 for i in range(n) { s += "ab" }
 return s }
fn each(xs) { let s = ">"
 for x in xs { s += "€"
  s += "." }
 return s }
fn early(n) { let s = ""
 for i in range(n) { s += "x"
  if len(s) >= 10 { break } }
 return s }
fn reset(n) { let s = ""
 for i in range(n) { s = ""
  s += "x" }
 return s }
fn not_a_string(n) { let s = 5
 for i in range(n) { s += "x" }
 return s }
""").exports


def test_appends_in_a_loop_are_charged_before_it_runs():
    assert call(APPENDS["build"], 1000) == "ab" * 1000
    assert call(APPENDS["each"], [1, 2, 3]) == ">" + "€." * 3
    # Past the string cap: refused before the first iteration, not 8M iterations in.
    started = time.process_time()
    with pytest.raises(LimitError, match="string too large"):
        call(APPENDS["build"], 9 * 1024 * 1024)
    assert time.process_time() - started < 0.25  # appending them one by one takes most of a second
    # Past the memory budget, at the real width of the text: 2 bytes a character of "€".
    with pytest.raises(LimitError, match="memory budget"):
        call(APPENDS["each"], list(range(200_000)), budget=limits.Budget(None, max_memory=500_000))
    assert len(call(APPENDS["build"], 100_000, budget=limits.Budget(None, max_memory=300_000))) == 200_000


def test_loops_that_may_append_less_are_charged_as_they_grow():
    # A loop that breaks or reassigns is not charged for its whole length up front.
    assert call(APPENDS["early"], 20_000_000) == "x" * 10
    assert call(APPENDS["reset"], 100_000, budget=limits.Budget(None, max_memory=65_536)) == "x"


def test_appending_to_a_non_string_is_the_appends_error():
    error = script_error(APPENDS["not_a_string"], 3)
    assert error.kind == "TypeError" and "+" in error.message


# --------------------------------------------------------------------------- arithmetic functions

def arithmetic_fns(source: str) -> set:
    from rtserve.lang.compiler import Compiler
    from rtserve.lang.loader import BUILTINS
    from rtserve.lang.parser import parse
    from rtserve.lang.resolver import resolve
    module = parse(source, "/tmp/rt_facts.script")
    compiler = Compiler(resolve(module, BUILTINS), "/tmp/rt_facts.script")
    return {b.name for b in compiler.arithmetic_fns}


def test_functions_that_always_return_numbers_are_found():
    source = """
fn fib(n) { if n < 2 { return n }
 return fib(n - 1) + fib(n - 2) }
fn is_even(n) { if n == 0 { return true }
 return is_odd(n - 1) }
fn is_odd(n) { if n == 0 { return false }
 return is_even(n - 1) }
fn sign(x) { if x > 0 { return 1 } else if x < 0 { return -1 } else { return 0 } }
fn size(xs) { return len(xs) * 2 }
fn maybe(n) { if n < 2 { return "small" }
 return maybe(n - 1) + 1 }
fn falls_off(n) { if n < 2 { return n } }
fn passes_on(x) { return x }
fn unguarded(n) { if n == 2 { return n }
 return 0 }
fn uses_text(n) { if n < 2 { return n }
 return uses_text(n - 1) + maybe(n) }
"""
    assert arithmetic_fns(source) == {"fib", "is_even", "is_odd", "sign", "size"}


ARITH = load("""
fn fib(n) { if n < 2 { return n }
 return fib(n - 1) + fib(n - 2) }
fn sum(a, b) { if a < 0 or b < 0 { return 0 }
 return a + b }
fn odd(x) { return x % 2 == 1 }
fn count_odd(a, b) { return odd(a) + odd(b) }
fn text_or_number(x) { if x { return "ab" * 20000 }
 return 1 }
fn joined(x) { return text_or_number(x) + text_or_number(x) }
""").exports


def reference_fib(n):
    if n < 2:
        return n
    r = reference_fib(n - 1) + reference_fib(n - 2)
    if isinstance(r, int) and abs(r) >= CAP:
        raise LimitError("integer too large")
    return r


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(-5, 15), st.booleans(), st.floats(-5, 15), st.just(-math.inf)))
def test_native_addition_of_arithmetic_results_is_the_languages(n):
    expected = reference_fib(n)
    got = call(ARITH["fib"], n)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)


def test_native_addition_keeps_the_int_cap():
    # After the guard both are numbers, so `a + b` is native: still held to 4,096 bits.
    assert call(ARITH["sum"], 2**4095, 2**4095 - 1) == CAP - 1
    with pytest.raises(LimitError, match="integer too large"):
        call(ARITH["sum"], 2**4095, 2**4095)
    assert call(ARITH["sum"], 0.5, True) == 1.5


def test_bools_add_as_numbers_and_text_still_goes_through_ops():
    assert call(ARITH["count_odd"], 3, 5) == 2
    assert call(ARITH["joined"], True) == "ab" * 40000
    assert call(ARITH["joined"], False) == 2
    # Text is charged to the memory budget as it is built.
    with pytest.raises(LimitError, match="memory budget"):
        call(ARITH["joined"], True, budget=limits.Budget(None, max_memory=100_000))
