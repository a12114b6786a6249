"""lang/_measure.c: the C walk that bounds the JSON text of small values.

By hypothesis it gives exactly a Python model of the bound (nested.py's: children and
brackets, four characters and the key per map entry, strings' lengths, 0.3 x (bits - 1) digits
per int), visits shared structure each time it is met, bails out (None) past its depth or node
bound, and treats only list, dict and the frozen classes as containers. `nested.measure` with
it and without it refuses the same values and gives a lower bound of the real text either
way. The extension is optional for users without a C compiler, but not here: where a C
compiler is, the suite requires it built (an install that silently lost it would lose the
speed it is for).
"""
from __future__ import annotations

import json
import math
import shutil

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang import limits, nested
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.values import MAX_SIZE, FrozenList, FrozenMap

accel = nested._measure


def test_the_extension_is_built_where_a_compiler_is():
    if accel is None:
        assert shutil.which("cc") is None and shutil.which("gcc") is None, \
            "a C compiler is here but rtserve.lang._measure was not built (make clean; make test)"
        pytest.skip("no C compiler on this machine: measure runs in Python")


needs_accel = pytest.mark.skipif(accel is None, reason="rtserve.lang._measure not built (no C compiler)")


def model(value, depth: int = 1) -> tuple[int, int] | None:
    """The bound and the node count the C walk computes, in Python; None where it bails."""
    if depth > accel.MAX_DEPTH:
        return None
    if type(value) in (list, FrozenList):
        size, nodes, children = len(value), len(value) + 1, value
    else:
        size, nodes = 4 * len(value), len(value) + 1
        size += sum(len(k) for k in value if isinstance(k, str))
        children = value.values()
    for x in children:
        if type(x) is str:
            size += len(x)
        elif type(x) is int:
            bits = x.bit_length()
            size += (bits - 1) * 3 // 10 if bits > 1 else 0
        elif type(x) in (list, dict, FrozenList, FrozenMap):
            inner = model(x, depth + 1)
            if inner is None:
                return None
            size, nodes = size + inner[0], nodes + inner[1]
    return (size, nodes) if nodes <= accel.MAX_NODES else None


class Other(dict):
    """A dict subclass that is not a container of the language: a leaf to both walks."""


scalars = (st.none() | st.booleans() | st.integers() | st.integers(-2 ** 4096, 2 ** 4096)
           | st.floats() | st.text(max_size=12) | st.binary(max_size=4))
keys = st.text(max_size=6) | st.integers(-9, 9) | st.none() | st.booleans()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(keys, inner, max_size=6)
    | st.lists(inner, max_size=8).map(FrozenList) | st.dictionaries(keys, inner, max_size=6).map(FrozenMap)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3).map(Other),
    max_leaves=40)


@needs_accel
@settings(max_examples=600, deadline=None)
@given(values)
def test_the_c_walk_is_the_model(value):
    expected = model(value) if type(value) in (list, dict, FrozenList, FrozenMap) else None
    assert accel.walk(value) == expected


@needs_accel
def test_shared_structure_counts_each_time_and_the_bounds_bail_out():
    a: list = ["xy"]
    for _ in range(10):
        a = [a, a]
    size, nodes = accel.walk(a)
    # every path walked: 2**10 lists ["xy"] (2 nodes each), 2**10 - 1 pairs above them (3 each)
    assert (size, nodes) == model(a) and nodes == 2 * 2 ** 10 + 3 * (2 ** 10 - 1)
    for _ in range(10):
        a = [a, a]  # 2**20 leaves: past MAX_NODES
    assert accel.walk(a) is None
    deep: list = []
    for _ in range(accel.MAX_DEPTH + 1):
        deep = [deep]
    assert accel.walk(deep) is None
    cycle: list = []
    cycle.append(cycle)
    assert accel.walk(cycle) is None  # left to the Python walk, which names the cycle


def measured(value, with_accel: bool, monkeypatch) -> tuple[object, int]:
    """(measure's result or the error it raised, the steps it charged)."""
    monkeypatch.setattr(nested, "_measure", accel if with_accel else None)
    budget = limits.Budget(max_steps=10 ** 9, max_memory=1 << 40)
    previous = limits.activate(budget)
    try:
        try:
            result: object = nested.measure(value, MAX_SIZE)
        except (LimitError, ScriptError) as exc:
            result = type(exc).__name__
    finally:
        limits.activate(previous)
    return result, 10 ** 9 - budget.remaining


@needs_accel
@settings(max_examples=300, deadline=None)
@given(values)
def test_measure_is_a_lower_bound_with_and_without_the_walk(value):
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, _ = measured(value, True, monkeypatch)
        slow, _ = measured(value, False, monkeypatch)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True,
                          default=lambda x: "?" * 0)
    except (TypeError, ValueError):
        return  # a key or a leaf JSON cannot hold: the encoder's to refuse, after measure
    assert isinstance(fast, int) and isinstance(slow, int)
    assert fast <= len(text) + 2 and slow <= len(text) + 2


@needs_accel
def test_big_values_refused_alike(monkeypatch):
    big = 2 ** 4000
    for value in ([big] * 20_000, ["x" * 1_000_000] * 17, {"k": ["y" * 4_000_000] * 5}):
        assert measured(value, True, monkeypatch)[0] == measured(value, False, monkeypatch)[0] == "LimitError"
    cyclic: dict = {}
    cyclic["self"] = cyclic
    assert measured(cyclic, True, monkeypatch)[0] == "ScriptError"
    records = [{"id": i, "name": f"item-{i}", "even": i % 2 == 0} for i in range(20)]
    size, steps = measured(records, True, monkeypatch)
    assert size == model(records)[0] and steps >= 80  # one step per node, as the Python walk
    assert math.isclose(size, measured(records, False, monkeypatch)[0], rel_tol=0.05)
