"""The compiler's fast paths against the generic helpers they stand in for.

Method calls compiled as guarded direct calls (lang/direct.py) must do what
`builtins.call_method` does for every receiver, method name and argument count: the same
result, the same receiver afterwards, or the same error kind and message. Ints interpolated
without `str()` must read as `str()` shows them.
"""
import copy
import types

from hypothesis import given, settings, strategies as st

from rtserve.lang import limits
from rtserve.lang.builtins import METHODS, call_method
from rtserve.lang.errors import ScriptError
from rtserve.lang.loader import Loader
from rtserve.lang.values import FrozenList, FrozenMap, to_str, translate_exception

NAMES = sorted({name for table in METHODS.values() for name in table} | {"f", "nope"})
ARITIES = range(4)
ARGS = "abc"


def _source() -> str:
    lines = []
    for name in NAMES:
        for n in ARITIES:
            lines.append(f"fn call_{name}_{n}(r, a, b, c) {{ return r.{name}({', '.join(ARGS[:n])}) }}")
    lines.append('fn show(lo, hi) { let out = []\n for i in range(lo, hi) { out.append("<${i}|${i}>") }\n return out }')
    lines.append('fn kw(r) { return r.split(sep: ",") }')
    lines.append('fn append_all(xs, values) { for v in values { xs.append(v) } }')
    return "\n".join(lines) + "\n"


SCRIPT = Loader().load("/tmp/rt_fast_paths.script", source=_source())  # the path names it only


def _outcome(fn):
    try:
        result = fn()
    except Exception as exc:  # what a script would see of it
        err = translate_exception(exc)
        assert isinstance(err, ScriptError), err
        return ("error", err.kind, err.message)
    return ("ok", result)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text("ab,", max_size=3))
small = st.one_of(scalars, st.lists(scalars, max_size=3))
receivers = st.one_of(
    st.lists(small, max_size=4), st.lists(small, max_size=4).map(FrozenList),
    st.dictionaries(st.text("ab", max_size=2), small, max_size=3),
    st.dictionaries(st.text("ab", max_size=2), small, max_size=3).map(FrozenMap),
    st.text("ab, ", max_size=5), st.integers(), st.none(),
    st.just({"f": lambda *args: ["called", list(args)]}),
)


@settings(max_examples=600, deadline=None)
@given(receivers, st.sampled_from(NAMES), st.sampled_from(list(ARITIES)), st.lists(small, min_size=3, max_size=3))
def test_direct_method_calls_match_call_method(receiver, name, n, args):
    mine, theirs = copy.deepcopy(receiver), copy.deepcopy(receiver)
    mine_args, their_args = copy.deepcopy(args), copy.deepcopy(args)
    compiled = SCRIPT.exports[f"call_{name}_{n}"]
    got = _outcome(lambda: compiled(mine, *mine_args))
    expected = _outcome(lambda: call_method(theirs, name, *their_args[:n]))
    assert got == expected
    assert mine == theirs and mine_args == their_args


def test_keyword_calls_still_work():
    assert SCRIPT.exports["kw"]("a,b") == ["a", "b"]


def _names_used(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def test_method_calls_of_known_names_are_compiled_direct():
    names = _names_used(SCRIPT.compiled.code)
    assert {"ᵣm_list_append", "ᵣm_dict_get", "ᵣm_strtype_upper"} <= names
    # an unknown name, and a call with keywords, go through call_method
    assert "ᵣcall_method" in names


def _charged(fn) -> int:
    """The bytes `fn` charges to a fresh memory budget."""
    budget = limits.Budget(None, max_memory=1 << 40)
    previous = limits.activate(budget)
    try:
        fn()
    finally:
        limits.activate(previous)
    return (1 << 40) - budget.memory_left


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300), st.integers(0, 200), st.sampled_from(["ints", "strings"]))
def test_compiled_appends_charge_as_the_method_does(start, count, kind):
    """Compiled `xs.append(v)` skips the method's function between charging boundaries
    (lang/direct.py inline_append): the list and the bytes charged must be the method's."""
    values = [i * 1000 + 300 if kind == "ints" else "v" * (i % 40) for i in range(count)]
    mine, theirs = list(range(start)), list(range(start))
    append = METHODS[list]["append"]
    charged_mine = _charged(lambda: SCRIPT.exports["append_all"](mine, values))
    charged_theirs = _charged(lambda: [append(theirs, v) for v in values])
    assert mine == theirs and charged_mine == charged_theirs


@settings(max_examples=200, deadline=None)
@given(st.integers(-2**4000, 2**4000), st.integers(0, 3))
def test_interpolated_ints_read_as_str_shows_them(lo, count):
    assert SCRIPT.exports["show"](lo, lo + count) == [f"<{to_str(i)}|{to_str(i)}>" for i in range(lo, lo + count)]
