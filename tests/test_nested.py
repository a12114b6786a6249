"""lang/nested.py: the loop-based walks agree with the plain recursive definitions.

Strategy: the recursive definitions of `==`, ordering and printing (LANGUAGE.md §2, what
values.py did before the walks were made iterative and charged) are the reference model;
hypothesis draws nested values of every kind, with shared substructure and bools next to
numbers, and checks that `equals`, `compare` and `repr_value` give the same answers, and that
`measure` is a lower bound of the real JSON text and tells cycles from depth.
"""
from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang import limits
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.nested import MAX_NESTING, measure
from rtserve.lang.values import FrozenList, FrozenMap, compare, equals, repr_value

SETTINGS = settings(max_examples=200, deadline=None)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2),
                    st.sampled_from([math.nan, math.inf, 0.0, 1.0]), st.text("ab\"\n", max_size=3),
                    st.binary(max_size=2))
keys = st.one_of(st.none(), st.booleans(), st.integers(0, 2), st.sampled_from([0.0, 1.0]), st.text("ab", max_size=2))


def _containers(inner):
    lists = st.lists(inner, max_size=3)
    maps = st.dictionaries(keys, inner, max_size=3)
    return st.one_of(lists, lists.map(FrozenList), maps, maps.map(FrozenMap))


values = st.recursive(scalars, _containers, max_leaves=10)


def ref_equals(a, b) -> bool:
    if a is b and isinstance(a, (list, dict)):
        return True  # a container is equal to itself, NaN inside or not
    ta, tb = type(a), type(b)
    number = (int, float)
    if ta in number and tb in number:
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(ref_equals(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            match = [k2 for k2 in b if k2 == k and (type(k2) is bool) == (type(k) is bool)]
            if not match or not ref_equals(v, b[match[0]]):
                return False
        return True
    if ta is not tb:
        return False
    return a == b


def ref_compare(a, b) -> int:
    ta, tb = type(a), type(b)
    if (ta in (int, float, bool) and tb in (int, float, bool)) or (ta is str and tb is str):
        return (a > b) - (a < b)
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b):
            if not ref_equals(x, y):
                return ref_compare(x, y)
        return (len(a) > len(b)) - (len(a) < len(b))
    raise ScriptError("TypeError", "cannot compare")


def ref_repr(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(ref_repr, v)) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{ref_repr(k)}: {ref_repr(x)}" for k, x in v.items()) + "}"
    return repr_value(v)  # a scalar: not what the walks changed


def outcome(fn, *args):
    try:
        return fn(*args)
    except ScriptError as exc:
        return exc.kind


@SETTINGS
@given(values, values)
def test_equals_and_compare_agree_with_the_recursive_definitions(a, b):
    assert equals(a, b) == ref_equals(a, b)
    assert equals(a, a) == ref_equals(a, a)
    assert outcome(compare, a, b) == outcome(ref_compare, a, b)


@SETTINGS
@given(values)
def test_shared_substructure_is_walked_like_a_copy(v):
    shared = [v, v, [v]]
    copy = [v, v, [v]]
    assert equals(shared, copy) == ref_equals(shared, copy)
    assert repr_value(shared) == ref_repr(shared)


@SETTINGS
@given(values)
def test_printing_agrees_with_the_recursive_definition(v):
    assert repr_value(v) == ref_repr(v)


@SETTINGS
@given(values)
def test_measure_is_a_lower_bound_of_the_json_text(v):
    try:
        text = json.dumps(v, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or infinity: the encoders refuse them, not measure
        return
    except TypeError:  # bytes: the encoder refuses them, not measure
        return
    assert measure(v, 1 << 30) <= len(text.encode("utf-8"))


shallow_values = st.one_of(
    st.lists(st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(keys, scalars, max_size=4)),
             max_size=6),
    st.dictionaries(keys, st.one_of(scalars, st.dictionaries(keys, scalars, max_size=4)), max_size=6),
).flatmap(lambda v: st.sampled_from([v, FrozenList(v) if type(v) is list else FrozenMap(v)]))


@SETTINGS
@given(st.one_of(shallow_values, values))
def test_the_shallow_path_measures_as_the_walk_does(v):
    # The commonest answers take a shortcut of a few C calls: its bound is the walk's, exactly.
    import rtserve.lang.nested as nested
    shortcut = measure(v, 1 << 30)
    previous = nested._SHALLOW
    nested._SHALLOW = -1  # no value is shallow: the general walk
    try:
        assert shortcut == measure(v, 1 << 30)
    finally:
        nested._SHALLOW = previous


def test_the_nesting_cap_is_exact():
    previous = limits.activate(limits.Budget())
    try:
        ok = []
        for _ in range(MAX_NESTING - 1):
            ok = [ok]
        assert equals(ok, json.loads(json.dumps(ok)))
        assert repr_value(ok).count("[") == MAX_NESTING
        assert measure(ok, 1 << 30) <= len(json.dumps(ok, separators=(",", ":"))) == 2 * MAX_NESTING
        too_deep = [ok]
        for walk in (repr_value, lambda v: measure(v, 1 << 30), lambda v: equals(v, json.loads(json.dumps(v)))):
            with pytest.raises(LimitError, match="nested more than"):
                walk(too_deep)
    finally:
        limits.activate(previous)


def test_a_cycle_is_told_from_depth():
    previous = limits.activate(limits.Budget())
    try:
        xs = [1]
        xs.append([xs])
        with pytest.raises(ScriptError, match="cyclic"):
            measure(xs, 1 << 30)
        m = {}
        m["self"] = m
        with pytest.raises(ScriptError, match="cyclic"):
            measure({"a": [m]}, 1 << 30)
    finally:
        limits.activate(previous)


@settings(max_examples=20, deadline=None)
@given(values, st.integers(4097, 9000))
def test_shared_containers_met_many_times_are_measured_by_their_count(v, times):
    shared = [[v, "ab"]] * times  # one list met `times` times: measured once, counted each time
    try:
        text = json.dumps(shared, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return
    assert measure(shared, 1 << 30) <= len(text.encode("utf-8"))
    assert measure(shared, 1 << 30) >= times * 4  # at least each ["ab"] met: brackets, quotes, comma


def test_a_dag_is_refused_at_once():
    previous = limits.activate(limits.Budget(10 ** 9))
    try:
        m = {"leaf": "x"}
        for _ in range(40):
            m = {"l": m, "r": m}
        started = time.monotonic()
        with pytest.raises(LimitError, match="too large"):
            measure(m, 16 * 1024 * 1024)
        assert time.monotonic() - started < 1.0
    finally:
        limits.activate(previous)
