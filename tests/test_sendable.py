"""lang.sendable: the one boundary where values cross threads (LANGUAGE.md §12).

Strategy: hypothesis builds sendable values (nested lists and maps of nil, bool, int, float,
string and bytes, each container frozen or not, shared substructures included) and checks
that `to_sendable` gives an equal (`lang.values.equals`) value that is frozen all the way
down and shares no mutable container with the input, so mutating the input afterwards
cannot reach it. Unsendable values are built by hiding one bad part (a function, a cycle, a
bytes map key, a foreign object) at a random depth inside an otherwise sendable value; each
must raise NotSendable.
"""
from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings, strategies as st

import rtserve.lang.sendable as sendable
from rtserve.lang.loader import Loader
from rtserve.lang.sendable import NotSendable, to_sendable
from rtserve.lang.values import ErrorValue, FrozenList, FrozenMap, Response, equals

SETTINGS = settings(max_examples=150, deadline=None)

# --------------------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**200, 2**200),
    st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=20),
)
map_keys = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False),
                     st.text(max_size=8))


def _containers(children):
    lists = st.lists(children, max_size=5)
    maps = st.dictionaries(map_keys, children, max_size=5)
    return st.one_of(lists, lists.map(FrozenList), maps, maps.map(FrozenMap),
                     st.tuples(children).map(lambda t: [t[0], t[0]]))  # shared, not cyclic


sendables = st.recursive(scalars, _containers, max_leaves=25)


def _script_function():
    script = Loader().load("sendable_test.script", source="fn double(x) { return x * 2 }\n")
    return script.exports["double"]


FUNCTIONS = [lambda: 1, len, print, _script_function()]


def _hidden(bad):
    """Values that contain something drawn from `bad` somewhere inside sendable values."""
    def wrap(inner):
        around = st.lists(sendables, max_size=3)
        in_list = st.tuples(around, inner, around).map(lambda t: t[0] + [t[1]] + t[2])
        in_map = st.tuples(st.dictionaries(st.text(max_size=5), sendables, max_size=3),
                           st.text(max_size=5), inner).map(lambda t: {**t[0], t[1]: t[2]})
        return st.one_of(in_list, in_list.map(FrozenList), in_map, in_map.map(FrozenMap),
                         in_map.map(lambda m: Response(200, {}, m)))
    return st.recursive(bad, wrap, max_leaves=4)


def _cycles():
    """A list or map that reaches itself, directly or through other containers."""
    def build(kind_and_content):
        kind, content = kind_and_content
        if kind == "list":
            xs = list(content)
            xs.append(xs)
            return xs
        if kind == "map":
            m = {"items": list(content)}
            m["self"] = m
            return m
        xs = list(content)
        xs.append({"back": [xs]})  # list -> map -> list -> the first list
        return xs
    return st.tuples(st.sampled_from(["list", "map", "mixed"]),
                     st.lists(sendables, max_size=3)).map(build)


def _bytes_keyed():
    return st.tuples(st.binary(max_size=4), sendables, st.booleans()).map(
        lambda t: FrozenMap({t[0]: t[1]}) if t[2] else {t[0]: t[1]})


# --------------------------------------------------------------------------- helpers


def walk(value):
    """Every value reachable from `value` (containers and leaves), depth first."""
    yield value
    if isinstance(value, list):
        for item in value:
            yield from walk(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, Response):
        yield from walk(value.headers)
        yield from walk(value.body)


def mutable_ids(value) -> set[int]:
    return {id(v) for v in walk(value) if type(v) in (list, dict)}


def is_deeply_frozen(value) -> bool:
    for v in walk(value):
        if isinstance(v, list) and type(v) is not FrozenList:
            return False
        if isinstance(v, dict) and type(v) is not FrozenMap:
            return False
        if isinstance(v, Response) and not v.frozen:
            return False
    return True


def scribble(value) -> None:
    """Mutate every mutable container reachable from `value`."""
    for v in list(walk(value)):
        if type(v) is list:
            v.append("scribbled")
        elif type(v) is dict:
            v["scribbled"] = True


# --------------------------------------------------------------------------- round trips


@SETTINGS
@given(sendables)
def test_to_sendable_round_trips_to_an_equal_frozen_value(value):
    out = to_sendable(value)
    assert equals(out, value)
    assert is_deeply_frozen(out)
    assert not mutable_ids(value) & {id(v) for v in walk(out)}


@SETTINGS
@given(sendables)
def test_mutating_the_input_afterwards_does_not_reach_the_result(value):
    before = copy.deepcopy(value)
    out = to_sendable(value)
    scribble(value)
    assert equals(out, before)


@SETTINGS
@given(sendables)
def test_to_sendable_is_idempotent(value):
    once = to_sendable(value)
    assert equals(to_sendable(once), once)


def test_scalars_pass_through_unchanged():
    for value in (None, True, False, 0, -(2**300), 1.5, "", "héllo", b"\x00\xff"):
        out = to_sendable(value)
        assert out is value or (type(out) is type(value) and out == value)
    nan = to_sendable(float("nan"))
    assert math.isnan(nan)


def test_shared_substructure_is_not_a_cycle():
    shared = [1, {"a": 2}]
    out = to_sendable({"x": shared, "y": [shared, shared]})
    assert equals(out, {"x": [1, {"a": 2}], "y": [[1, {"a": 2}], [1, {"a": 2}]]})


@SETTINGS
@given(st.integers(100, 599), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
       sendables)
def test_responses_become_frozen_responses(status, headers, body):
    original = Response(status, dict(headers), body)
    out = to_sendable(original)
    assert type(out) is Response and out.frozen and out is not original
    assert out.status == status
    assert type(out.headers) is FrozenMap and equals(out.headers, headers)
    assert equals(out.body, body) and is_deeply_frozen(out.body)


# --------------------------------------------------------------------------- rejections


@SETTINGS
@given(_hidden(st.sampled_from(FUNCTIONS)))
def test_a_function_anywhere_is_not_sendable(value):
    with pytest.raises(NotSendable):
        to_sendable(value)


@SETTINGS
@given(_hidden(_cycles()))
def test_a_cycle_anywhere_is_not_sendable(value):
    with pytest.raises(NotSendable, match="contains itself"):
        to_sendable(value)


@SETTINGS
@given(_hidden(_bytes_keyed()))
def test_a_bytes_map_key_anywhere_is_not_sendable(value):
    with pytest.raises(NotSendable, match="map key"):
        to_sendable(value)


@pytest.mark.parametrize("bad", [object(), ErrorValue("UserError", "x", None), {1, 2}, (1, 2),
                                 bytearray(b"x")])
def test_other_python_objects_are_not_sendable(bad):
    with pytest.raises(NotSendable):
        to_sendable({"ok": [1, bad]})


def test_not_sendable_names_where_the_bad_part_is():
    with pytest.raises(NotSendable) as caught:
        to_sendable({"ok": [1, lambda: 2]})
    assert caught.value.where == "the value['ok'][1]"
    assert "function" in str(caught.value)


def test_size_caps(monkeypatch):
    monkeypatch.setattr(sendable, "MAX_SIZE", 8)
    assert to_sendable("x" * 8) == "x" * 8
    for too_big in ("x" * 9, b"x" * 9, [0] * 9, {i: i for i in range(9)}, [[0] * 9]):
        with pytest.raises(NotSendable, match="size cap"):
            to_sendable(too_big)


def test_nesting_depth_cap():
    def nested(depth):
        value = []
        for _ in range(depth):
            value = [value]
        return value
    assert equals(to_sendable(nested(150)), nested(150))
    with pytest.raises(NotSendable, match="nested"):
        to_sendable(nested(1000))
