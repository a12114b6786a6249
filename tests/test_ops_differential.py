"""Compiled operators agree with lang/ops.py (issue 10 item 6).

Strategy: lang/ops.py holds the whole meaning of each operator (`add`, `sub`, `mul`, `modulo`,
`power`, `eq`, `ne`, `less`..., `contains`); the compiler emits native Python operations where
it believes Python agrees, and those helpers elsewhere. Hypothesis draws two operands of mixed
types (nil, bools, ints small and within a bit of the 4,096-bit cap, floats with infinities
and NaN, strings, bytes, lists, maps) and runs `a OP b` through every shape of compiled code
the compiler tells apart: both operands parameters, either one a literal, and an int held in
a `let` binding the compiler proves is an int. Each must give the reference's value or an
error of the same kind. `/` and `//` have no helper (native is their meaning): they are
checked against the rule of LANGUAGE.md §3 (numbers only, a bool counting as 0 or 1).
"""
from __future__ import annotations

import json
import math
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rtserve.lang import limits, ops
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.compiler import INT_FAST
from rtserve.lang.loader import Loader
from rtserve.lang.values import FrozenList, FrozenMap, repr_value, translate_exception

CAP = 2 ** 4096
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _divide(a, b, floor: bool):
    if type(a) not in (int, float, bool) or type(b) not in (int, float, bool):
        raise ScriptError("TypeError", "numbers only")
    return a // b if floor else a / b


REFERENCE = {
    "+": ops.add, "-": ops.sub, "*": ops.mul, "%": ops.modulo, "**": ops.power,
    "==": ops.eq, "!=": ops.ne, "<": ops.less, "<=": ops.less_equal, ">": ops.greater,
    ">=": ops.greater_equal, "in": lambda a, b: ops.contains(b, a),
    "not in": lambda a, b: not ops.contains(b, a),
    "/": lambda a, b: _divide(a, b, False), "//": lambda a, b: _divide(a, b, True),
}

near_cap = st.sampled_from([CAP - 1, -(CAP - 1), CAP // 2, -(CAP // 2), CAP // 2 - 1, 2 ** 4095 + 1])
ints = st.one_of(st.integers(-5, 5), st.integers(-2 ** 70, 2 ** 70), near_cap)
floats = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1.5, math.inf, -math.inf, math.nan, 1e308]))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, st.text("ab%d", max_size=4),
                    st.binary(max_size=3))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text("ab", max_size=2), st.integers(0, 2), st.booleans()),
                                            inner, max_size=3)),
    max_leaves=6)


def outcome(fn, *args):
    """("value", v) or ("error", kind), as a script sees it."""
    # A small memory budget: a huge repetition is the same LimitError on both sides.
    previous = limits.activate(limits.Budget(1_000_000, max_memory=1 << 20))
    try:
        return ("value", fn(*args))
    except (Exception, LimitError) as exc:  # noqa: B902 - what a script would see, sorted below
        err = translate_exception(exc)
        return ("error", err.kind if isinstance(err, (ScriptError, LimitError)) else type(err).__name__)
    finally:
        limits.activate(previous)


def same(x, y) -> bool:
    if x[0] != y[0]:
        return False
    if x[0] == "error":
        return x[1] == y[1]
    a, b = x[1], y[1]
    plain = {FrozenList: list, FrozenMap: dict}
    if plain.get(type(a), type(a)) is not plain.get(type(b), type(b)):
        return False
    return repr_value(a) == repr_value(b)  # tells 1 from 1.0 and true, -0.0 from 0.0; NaN is NaN


def literal(v) -> str | None:
    """`v` as script source, or None when it has no literal (bytes, inf, NaN, huge ints)."""
    t = type(v)
    if v is None:
        return "nil"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return (str(v) if v >= 0 else f"({v})") if abs(v) < 2 ** 62 else None
    if t is float:
        return repr(v) if math.isfinite(v) and math.copysign(1, v) > 0 and "e" not in repr(v) else None
    if t is str:
        return json.dumps(v)
    return None


@lru_cache(maxsize=None)
def compiled(source: str):
    return Loader().load(f"/tmp/rt_differential_{abs(hash(source))}.script", source=source).exports["f"]


def shapes(op: str, a, b):
    """(description, function, arguments) for each compiled shape of `a OP b`."""
    yield "params", compiled(f"fn f(a, b) {{ return a {op} b }}"), (a, b)
    if (la := literal(a)) is not None:
        yield f"left literal {la}", compiled(f"fn f(b) {{ return {la} {op} b }}"), (b,)
        if type(a) is int:
            yield "left int binding", compiled(f"fn f(b) {{ let x = {la}\n return x {op} b }}"), (b,)
    if (lb := literal(b)) is not None:
        yield f"right literal {lb}", compiled(f"fn f(a) {{ return a {op} {lb} }}"), (a,)
        if type(b) is int:
            yield "right int binding", compiled(f"fn f(a) {{ let y = {lb}\n return a {op} y }}"), (a,)
    yield "call result", compiled(f"fn id(v) {{ return v }}\nfn f(a, b) {{ return id(a) {op} id(b) }}"), (a, b)


def check(op: str, a, b) -> None:
    expected = outcome(REFERENCE[op], a, b)
    for shape, fn, args in shapes(op, a, b):
        got = outcome(fn, *args)
        assert same(got, expected), f"{a!r} {op} {b!r} ({shape}): compiled {got!r}, ops {expected!r}"


@pytest.mark.parametrize("op", sorted(REFERENCE))
@SETTINGS
@given(a=values, b=values)
def test_compiled_operators_agree_with_ops(op, a, b):
    check(op, a, b)


@pytest.mark.parametrize("op, a, b", [
    ("%", "%05d", 42), ("%", "%2000000000d", 1), ("%", b"%d", 1),   # no printf formatting
    ("+", CAP - 1, 1), ("-", -(CAP - 1), 1), ("+", CAP // 2, CAP // 2),  # the int cap
    ("-", CAP // 2, -(CAP // 2)), ("<", True, 2), (">=", 1.5, False),  # bools do not order
    ("in", 1, [True]), ("in", True, [1]), ("==", [True], [1]),       # nor equal numbers
])
def test_the_drift_found_stays_fixed(op, a, b):
    check(op, a, b)


@pytest.mark.parametrize("op", ["+", "-"])
@pytest.mark.parametrize("a", [INT_FAST - 1, INT_FAST, -INT_FAST, 2 ** 62, 1.5e300, CAP - 2, -CAP + 2])
@pytest.mark.parametrize("b", [0, 1, 2, -1, -2, INT_FAST, 0.5])
def test_past_the_inline_bound_the_cap_is_exact(op, a, b):
    """Results past the compiled inline bound (one 30-bit digit) take the slow path, which
    must answer exactly as ops does, right up to the 4,096-bit cap and past it."""
    check(op, a, b)
