"""Differential tests: where the language agrees with Python, it must compute what Python does.

Random expression trees over ints, floats and strings, with arithmetic, comparisons,
conditionals and `and`/`or`, are printed once as script source and once as Python source;
the compiled script must give the same value, or fail with the matching error kind where
Python raises (ZeroDivisionError -> ValueError, TypeError -> TypeError).
"""
import math

from hypothesis import given, settings, strategies as st

from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.loader import Loader
from rtserve.lang.values import translate_exception

ints = st.integers(min_value=-10**6, max_value=10**6)
floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda f: f == 0 or abs(f) > 1e-6)
strings = st.text(alphabet="abcxyz ", max_size=5)


def literal(value):
    if isinstance(value, str):
        return f'"{value}"', repr(value)
    text = repr(value)
    if isinstance(value, int) and value < 0 or isinstance(value, float) and math.copysign(1, value) < 0:
        return f"({text})", f"({text})"
    return text, text


leaves = st.one_of(ints, floats, strings).map(literal)
ARITH = ["+", "-", "*", "/", "//", "%"]
COMPARE = ["<", "<=", ">", ">=", "==", "!="]


def comparison(children):
    return st.tuples(st.sampled_from(COMPARE), children, children).map(
        lambda t: (f"({t[1][0]} {t[0]} {t[2][0]})", f"({t[1][1]} {t[0]} {t[2][1]})"))


def combine(children):
    # Bools come only from comparisons and are only tested, never computed with or compared
    # to numbers: that is where the language parts from Python (`true == 1` is false).
    arithmetic = st.tuples(st.sampled_from(ARITH), children, children).map(
        lambda t: (f"({t[1][0]} {t[0]} {t[2][0]})", f"({t[1][1]} {t[0]} {t[2][1]})"))
    logical = st.tuples(st.sampled_from(["and", "or"]), children, children).map(
        lambda t: (f"({t[1][0]} {t[0]} {t[2][0]})", f"({t[1][1]} {t[0]} {t[2][1]})"))
    conditional = st.tuples(comparison(children), children, children).map(
        lambda t: (f"({t[0][0]} ? {t[1][0]} : {t[2][0]})", f"({t[1][1]} if {t[0][1]} else {t[2][1]})"))
    negate = children.map(lambda c: (f"(-{c[0]})", f"(-{c[1]})"))
    return st.one_of(arithmetic, logical, conditional, negate)


values = st.recursive(leaves, combine, max_leaves=8)
expressions = st.one_of(values, comparison(values))
_PY_TO_KIND = {ZeroDivisionError: "ValueError", TypeError: "TypeError", OverflowError: "ValueError"}


def run_script(expr: str, tmp="/tmp/rt_eval_prop.script"):
    try:
        script = Loader().load(tmp, source=f"let result = {expr}\n")
    except Exception as exc:  # what a script sees of an error is its translation
        raise translate_exception(exc) from None
    return script.exports["result"]


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_expressions_agree_with_python(pair):
    script_src, python_src = pair
    try:
        expected = eval(python_src, {"__builtins__": {}})
    except (ZeroDivisionError, TypeError, OverflowError) as exc:
        kind = _PY_TO_KIND[type(exc)]
        try:
            got = run_script(script_src)
        except ScriptError as err:
            assert err.kind == kind, (script_src, err)
            return
        except LimitError:
            return  # a string the script refused to build: a limit, not a disagreement
        raise AssertionError(f"{script_src} gave {got!r}; Python raised {exc!r}")
    if isinstance(expected, str) and len(expected) > 16 * 1024 * 1024:
        return
    try:
        got = run_script(script_src)
    except ScriptError as err:
        # Python formats strings with %; the language refuses it. Everything else must agree.
        assert "%" in script_src and err.kind == "TypeError", (script_src, err)
        return
    assert same(got, expected), (script_src, got, expected)
