"""Big JSON answers: made in parts, charged as they grow, and never one long call.

lang/builds.py `json_text` cuts a JSON text past a piece into parts, each made by one call of
the encoder. By hypothesis, with parts of a few bytes, it gives exactly the one call's text
(bytes for handler answers, a string for `json.encode`) and reports every byte it makes.
`nested.measure` counts the digits of big ints, so a list of 4,096-bit ints is refused past
the string cap before it is encoded. Then over HTTP, served by the hostile harness with
--async: big answers are sent whole and right while /ping keeps its p99, and answers whose
real text is past the memory budget (floats, whose text the bound undercounts) are refused.
"""
from __future__ import annotations

import functools
import json
import math
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from hostile_harness import HostileServer, run_case
from serverproc import call
from rtserve.lang import builds, limits
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.nested import indentation, measure
from rtserve.lang.values import MAX_SIZE
from rtserve.runtime.http import wire
from rtserve.stdlib import json as script_json


def with_tiny_pieces(test):
    @functools.wraps(test)
    def run(*args, **kwargs):
        saved = builds.PIECE_BYTES
        builds.PIECE_BYTES = 8
        try:
            return test(*args, **kwargs)
        finally:
            builds.PIECE_BYTES = saved
    return run


def bound(value, level: int = 0) -> int:
    return measure(value, MAX_SIZE)


def has_float(value) -> bool:
    if isinstance(value, dict):
        return any(map(has_float, value.values()))
    if isinstance(value, list):
        return any(map(has_float, value))
    return type(value) is float


def same_json(got, expected, value) -> None:
    """The same text; where floats are, the same JSON value (orjson writes a float under 1e-4
    as 0.0000x where the reference writes 1e-05: a part orjson takes may differ so)."""
    if has_float(value):
        assert json.loads(got) == json.loads(expected)
    else:
        assert got == expected


scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.integers(-2**200, 2**200)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet="ab\"\\\n\u00e9\u03a3\U0001f600", max_size=30))
keys = st.text(alphabet="kx\"\u00e9", max_size=6) | st.integers(-50, 50) | st.none()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=12)
                      | st.dictionaries(keys, inner, max_size=8), max_leaves=60)


@settings(max_examples=400, deadline=None)
@given(values)
@with_tiny_pieces
def test_parts_make_the_one_calls_bytes(value):
    spent: list[int] = []
    got = builds.json_text(value, wire.dumps_json, bound, spent.append)
    expected = wire.dumps_json(value)
    same_json(got, expected, value)
    assert sum(spent) == len(got)


@settings(max_examples=300, deadline=None)
@given(values)
@with_tiny_pieces
def test_parts_make_the_one_calls_text(value):
    spent: list[int] = []
    got = builds.json_text(value, script_json._COMPACT.encode, bound, spent.append, kind=str)
    expected = script_json._COMPACT.encode(value)
    assert type(got) is str
    same_json(got, expected, value)
    assert sum(spent) == len(got)


@pytest.mark.parametrize("encode, kind", [(wire.dumps_json, bytes), (script_json._COMPACT.encode, str)])
@with_tiny_pieces
def test_a_part_that_cannot_be_encoded_refuses_the_whole(encode, kind):
    value = {"a": [1.5] * 40, "b": ["x" * 30, [math.nan]]}
    with pytest.raises(ValueError):
        builds.json_text(value, encode, bound, lambda n: None, kind=kind)


@with_tiny_pieces
def test_spend_can_refuse_the_text_while_it_grows():
    made = []

    def spend(n):
        made.append(n)
        if sum(made) > 100:
            raise LimitError("too much")

    with pytest.raises(LimitError):
        builds.json_text(["abcdefgh"] * 1000, wire.dumps_json, bound, spend)
    assert sum(made) < 200  # stopped near the refusal, not after the whole 11 KB


# --------------------------------------------------------------------------- indented


def indented_bound(indent: int):
    def size_of(value, level: int = 0) -> int:
        return measure(value, MAX_SIZE) + indentation(value, indent, level)
    return size_of


def one_call(value, indent: int) -> str:
    """The reference: Python's encoder, the whole value in one call."""
    return json.dumps(value, indent=indent, ensure_ascii=False, separators=(",", ": "))


indents = st.integers(0, 16)
levels = st.integers(0, 5)


@settings(max_examples=300, deadline=None)
@given(values, indents, levels)
def test_indentation_is_exactly_the_whitespace_indent_adds(value, indent, level):
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = one_call(value, indent).replace("\n", "\n" + " " * (indent * level))
    assert indentation(value, indent, level) == len(text) - len(compact)


def test_indentation_counts_shared_structure_each_time_it_is_met():
    row = {"a": [1, {"b": []}], "c": {}}
    value = [row, [row, row]] * 3000  # wide enough for the shared walk
    assert indentation(value, 3, 2) == (len(one_call(value, 3).replace("\n", "\n" + " " * 6))
                                        - len(json.dumps(value, separators=(",", ":"))))


@settings(max_examples=400, deadline=None)
@given(values, indents)
@with_tiny_pieces
def test_indented_parts_make_the_one_calls_text(value, indent):
    spent: list[int] = []
    encoder = script_json._encoder(indent)
    got = builds.json_text(value, encoder.encode, indented_bound(indent), spent.append,
                           kind=str, indent=indent)
    assert got == one_call(value, indent)
    assert sum(spent) == len(got)


@settings(max_examples=150, deadline=None)
@given(values, st.none() | indents)
def test_json_encode_in_parts_is_the_one_call_path(value, indent):
    """json.encode itself, forced onto the parts path (every text is big, parts are tiny),
    against json.encode on its one-call path: the same text and the same refusals."""
    def encode():
        try:
            return script_json.encode(value, indent=indent)
        except ScriptError as exc:
            return exc.kind, exc.message
    with limits_for_test():
        expected = encode()
        saved = builds.PIECE_BYTES, builds.LARGE_BYTES
        builds.PIECE_BYTES, builds.LARGE_BYTES = 8, 0
        try:
            got = encode()
        finally:
            builds.PIECE_BYTES, builds.LARGE_BYTES = saved
    assert got == expected


class limits_for_test:
    def __enter__(self):
        self.previous = limits.activate(limits.Budget(max_memory=1 << 40))

    def __exit__(self, *exc):
        limits.activate(self.previous)


def test_an_indented_text_is_charged_and_refused_while_it_grows():
    """A deep value's indentation is far more than its compact text: the bound counts it, so
    the text is refused past the string cap before it is made, and past the memory budget
    after a part or so of it is made (not after the whole)."""
    deep = [0] * 1000
    for _ in range(200):
        deep = [deep]  # 1,000 zeros 201 levels deep: 7 KB compact, 3.2 MB at indent 16
    tracemalloc.start()
    try:
        with limits_for_test():
            with pytest.raises(LimitError, match="string"):
                script_json.encode([deep] * 6, indent=16)  # ~19.4M characters: past the cap
        assert tracemalloc.get_traced_memory()[1] < 1 << 20  # refused before it was made
        tracemalloc.reset_peak()
        previous = limits.activate(limits.Budget(max_memory=1 << 20))
        try:
            with pytest.raises(LimitError, match="memory"):
                script_json.encode([deep, deep], indent=16)  # 6.4 MB against 1 MiB
        finally:
            limits.activate(previous)
        assert tracemalloc.get_traced_memory()[1] < 3 << 20  # refused about where it went past
    finally:
        tracemalloc.stop()


def test_measure_counts_the_digits_of_big_ints():
    big = 2 ** 4000
    ints = [big] * 1000
    text = len(json.dumps(ints))
    assert text * 0.95 < measure(ints, MAX_SIZE) <= text
    with pytest.raises(LimitError):
        measure([big] * 20_000, MAX_SIZE)  # 24.7M characters: past the cap before encoding
    shared = [[big, -big]] * 3000  # the shared-structure walk counts them too
    assert measure(shared, MAX_SIZE) > 2 * 3000 * 1200


def test_json_encode_refuses_a_float_text_past_the_cap():
    previous = limits.activate(limits.Budget(max_memory=1 << 40))
    try:
        with pytest.raises(LimitError):
            script_json.encode([1.0 / 3] * 1_000_000)  # bound ~2M, text ~19.5M characters
    finally:
        limits.activate(previous)


# --------------------------------------------------------------------------- over HTTP

SCRIPT = """\
import json
get "/ping" { return "pong" }
let third = 1.0 / 3
any "/h/floats" { return [third] * 1000000 }
any "/h/records" (req) {
    let xs = []
    for i in range(100000) { xs.append({id: i, name: "item-${i}"}) }
    return xs
}
any "/h/big-ints" { return [2 ** 4000] * 9000 }
any "/h/wide-string" { return {"s": "\u00e9" * 6000000, "n": 1} }
any "/h/encoded" { return json.encode([third] * 400000) }
any "/h/floats-past-budget" { return [third] * 3000000 }
any "/h/ints-past-cap" { return [2 ** 4000] * 20000 }
let page = "x" * 8000000
let wide_page = "\u00e9\u20ac" * 1500000
any "/h/big-text" { return page }
any "/h/big-wide-text" { return text(wide_page) }
"""

SENT = {
    "/h/floats": [1.0 / 3] * 1000000,
    "/h/records": [{"id": i, "name": f"item-{i}"} for i in range(100000)],
    "/h/big-ints": [2 ** 4000] * 9000,
    "/h/wide-string": {"s": "\u00e9" * 6000000, "n": 1},
    "/h/encoded": json.dumps([1.0 / 3] * 400000, separators=(",", ":")),
    "/h/big-text": "x" * 8000000,  # encoded in pieces beside the loop (test_text_answers.py)
    "/h/big-wide-text": "\u00e9\u20ac" * 1500000,  # in pieces anywhere: not ASCII
}
REFUSED = ["/h/floats-past-budget", "/h/ints-past-cap"]


@pytest.fixture(scope="module", params=["async", "inline"])
def host(request):
    with tempfile.TemporaryDirectory(prefix="rt-big-answers-") as folder:
        script = Path(folder) / "answers.script"
        script.write_text(SCRIPT)
        server = HostileServer(script, async_mode=request.param == "async")
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize("path", sorted(SENT))
def test_a_big_answer_is_sent_whole_while_others_are_served(host, path):
    verdict = run_case(host, path, statuses=(200,), method="GET", body=b"")
    assert not verdict.problems, verdict.summary()
    status, headers, body = call(host.ensure(), path, timeout=30)
    assert status == 200
    expected = SENT[path]
    if isinstance(expected, str):
        assert headers["content-type"].startswith("text/plain")
        assert body.decode() == expected
    else:
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == expected


@pytest.mark.parametrize("path", REFUSED)
def test_an_answer_past_its_budgets_is_refused(host, path):
    verdict = run_case(host, path, statuses=(500,), method="GET", body=b"")
    assert not verdict.problems, verdict.summary()
