"""lang/builds.py: large results built in pieces are exactly the one-call results.

Each builder is checked by hypothesis against Python's own operation with tiny pieces (so
every boundary shows on small data: kinds of text that widen mid-way, steps, windows of
`replace` on periodic texts). Then the operators and builtins are checked to take the pieced
path on a --async worker (and only there, and only past the size threshold), with the same
charges as the one call, and each call of a big build to stay short.
"""
from __future__ import annotations

import functools
import time

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang import builds, limits, ops
from rtserve.lang.builtins import BUILTINS, call_method, set_print_sink
from rtserve.lang.errors import LimitError
from rtserve.lang.values import FrozenList


def with_tiny_pieces(test):
    """Pieces of a few bytes (patched per hypothesis example, undone after each)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        saved = builds.PIECE_BYTES, builds.RUN_ITEMS
        builds.PIECE_BYTES, builds.RUN_ITEMS = 8, 3
        try:
            return test(*args, **kwargs)
        finally:
            builds.PIECE_BYTES, builds.RUN_ITEMS = saved
    return run


texts = st.text(alphabet="ab\u00e9\u03a3\U0001f600", max_size=40)
ascii_texts = st.text(alphabet="ab", max_size=40) | st.builds(lambda n: "a" * n, st.integers(0, 40))
blobs = st.binary(max_size=40)
lists = st.lists(st.integers(-3, 3) | st.text(max_size=2), max_size=40)
any_seq = texts | blobs | lists
steps = st.none() | st.integers(-5, 5).filter(bool)
bounds = st.none() | st.integers(-50, 50)


def same(got, expected):
    assert type(got) is type(expected) and got == expected


@settings(max_examples=400, deadline=None)
@given(st.data())
@with_tiny_pieces
def test_concat_is_plus(data):
    kind = data.draw(st.sampled_from([texts, blobs, lists]))
    parts = data.draw(st.lists(kind, min_size=1, max_size=5))
    expected = parts[0]
    for part in parts[1:]:
        expected = expected + part
    same(builds.concat(parts), expected)
    if isinstance(parts[0], list):
        same(builds.concat([FrozenList(p) for p in parts]), expected)


@settings(max_examples=300, deadline=None)
@given(any_seq, st.integers(1, 30))
@with_tiny_pieces
def test_repeat_is_times(seq, n):
    expected = seq * n
    if seq:
        same(builds.repeat(seq, n), expected)


@settings(max_examples=400, deadline=None)
@given(any_seq, bounds, bounds, steps)
@with_tiny_pieces
def test_sliced_is_a_slice(seq, lower, upper, step):
    same(builds.sliced(seq, lower, upper, step), seq[lower:upper:step])


@settings(max_examples=300, deadline=None)
@given(st.data())
@with_tiny_pieces
def test_joined_is_join(data):
    if data.draw(st.booleans()):
        sep = data.draw(texts | st.text(alphabet="-", min_size=9, max_size=20))
        items = data.draw(st.lists(texts | st.builds(lambda n: "x" * n, st.integers(0, 30)), max_size=8))
    else:
        sep = data.draw(blobs)
        items = data.draw(st.lists(blobs, max_size=8))
    same(builds.joined(sep, items), sep.join(items))


@settings(max_examples=800, deadline=None)
@given(ascii_texts | texts, st.text(alphabet="ab", max_size=4) | st.builds(lambda n: "a" * n, st.integers(1, 9)),
       st.text(alphabet="xy\u00e9", max_size=12), st.integers(-1, 6))
@with_tiny_pieces
def test_replaced_is_replace(s, old, new, count):
    same(builds.replaced(s, old, new, count), s.replace(old, new, count))


@settings(max_examples=200, deadline=None)
@given(lists, lists)
@with_tiny_pieces
def test_extend_is_extend(xs, ys):
    expected = xs + ys
    builds.extend(xs, ys)
    assert xs == expected
    doubled = expected + expected
    builds.extend(expected, expected)  # extending a list with itself
    assert expected == doubled


# --------------------------------------------------------------------------- who takes it


@pytest.fixture
def worker(monkeypatch):
    """This thread as a --async worker (a slow hook set), with a generous budget."""
    limits.set_on_slow(lambda: None)
    previous = limits.activate(limits.Budget(max_steps=10 ** 9, max_memory=1 << 30))
    yield
    limits.activate(previous)
    limits.set_on_slow(None)


def _spy(monkeypatch):
    calls = []
    for name in ("concat", "repeat", "sliced", "joined", "replaced", "extend"):
        real = getattr(builds, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(builds, name, spy)
    return calls


def printed(*args) -> str:
    """The line `print(*args)` hands its sink."""
    lines = []
    previous = set_print_sink(lines.append)
    try:
        BUILTINS["print"](*args)
    finally:
        set_print_sink(previous)
    return lines[0]


BIG = "x" * (3 << 20)            # 3 MiB: past LARGE_BYTES
BIG_LIST = [1, "a"] * (1 << 18)  # 512 Ki slots: 4 MiB

OPERATIONS = [
    ("str +", lambda: ops.add(BIG, "yz"), "concat"),
    ("bytes +", lambda: ops.add(BIG.encode(), b"yz"), "concat"),
    ("list +", lambda: ops.add(BIG_LIST, [3]), "concat"),
    ("frozen list +", lambda: ops.add(FrozenList(BIG_LIST), [3]), "concat"),
    ("str *", lambda: ops.mul("ab", 3 << 20), "repeat"),
    ("list *", lambda: ops.mul([0, 1, 2], 1 << 19), "repeat"),
    ("slice", lambda: ops.slice_of(BIG, 5, None), "sliced"),
    ("list slice", lambda: ops.slice_of(BIG_LIST, 1, -1), "sliced"),
    ("join", lambda: call_method(",", "join", [BIG[:1000]] * 4000), "joined"),
    ("replace", lambda: call_method(BIG, "replace", "x", "yy"), "replaced"),
    ("upper", lambda: call_method("\u00df" * (1 << 20), "upper"), "concat"),
    ("reversed", lambda: BUILTINS["reversed"](BIG_LIST), "sliced"),
    ("list()", lambda: BUILTINS["list"](BIG_LIST), "sliced"),
    ("copy", lambda: call_method(BIG_LIST, "copy"), "sliced"),
    ("range", lambda: BUILTINS["range"](1 << 19), "sliced"),
    ("interpolation", lambda: ops.interpolate([BIG, "-", "\u00e9", BIG]), "joined"),
    ("print", lambda: printed(BIG, "\u00e9", BIG), "joined"),
]


@pytest.mark.parametrize("name,operation,builder", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_big_results_are_built_in_pieces_beside_a_loop(worker, monkeypatch, name, operation, builder):
    direct = operation()  # on this thread as it is, the one call...
    calls = _spy(monkeypatch)
    assert operation() == direct  # ...and the same answer in pieces
    assert builder in calls


@pytest.mark.parametrize("name,operation,builder", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_inline_and_small_results_take_the_one_call(monkeypatch, name, operation, builder):
    previous = limits.activate(limits.Budget(max_steps=10 ** 9, max_memory=1 << 30))
    try:
        calls = _spy(monkeypatch)
        operation()  # no loop beside this thread: one call
        limits.set_on_slow(lambda: None)
        ops.add("a" * 1000, "b" * 1000)
        ops.add([0] * 1000, [1] * 1000)
        call_method("ab" * 1000, "replace", "a", "c")
        assert calls == []
    finally:
        limits.set_on_slow(None)
        limits.activate(previous)


def test_extend_with_a_big_list_is_pieced(worker, monkeypatch):
    calls = _spy(monkeypatch)
    xs = [0] * 100
    call_method(xs, "extend", BIG_LIST)
    assert calls == ["extend"] and xs == [0] * 100 + BIG_LIST


def test_the_memory_charge_is_the_one_calls(worker):
    """The pieced path charges exactly what the one call charges, before building."""
    def charged(operation, beside: bool):
        limits.set_on_slow((lambda: None) if beside else None)
        budget = limits.Budget(max_steps=10 ** 9, max_memory=1 << 30)
        previous = limits.activate(budget)
        try:
            operation()
        finally:
            limits.activate(previous)
        return budget.max_memory - budget.memory_left, 10 ** 9 - budget.remaining
    for name, operation, _ in OPERATIONS:
        assert charged(operation, True) == charged(operation, False), name
    limits.set_on_slow(lambda: None)
    limits.activate(limits.Budget(max_steps=10 ** 9, max_memory=4 << 20))
    with pytest.raises(LimitError):  # refused before anything is built
        ops.add(BIG, BIG)


def test_each_call_of_a_big_build_is_short(worker, monkeypatch):
    """The longest gap between two pieces of a 64 MB list build (the list-doubling case) and
    a 16M-character string build stays a few milliseconds (generous for a loaded machine),
    where the one call takes tens."""
    xs = [1] * (4 << 20)
    s = "x" * (8 << 20)
    real_build = builds._build
    for operation in (lambda: ops.add(xs, xs), lambda: ops.add(s, s),
                      lambda: call_method("\u00df" * (4 << 20), "upper")):
        stamps = []

        def timed(like, pieces):
            def stamped():
                for piece in pieces:
                    stamps.append(time.perf_counter())
                    yield piece
            return real_build(like, stamped())
        monkeypatch.setattr(builds, "_build", timed)
        operation()
        gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
        assert len(gaps) > 100
        assert gaps[len(gaps) * 99 // 100] < 0.010, gaps[-5:]


@settings(max_examples=300, deadline=None)
@given(st.lists(texts | st.builds(lambda n: "y" * n, st.integers(0, 30)), max_size=12),
       st.sampled_from(["", ",", "--", "\u00e9"]))
@with_tiny_pieces
def test_joined_runs_cover_every_item_once(items, sep):
    same(builds.joined(sep, items), sep.join(items))


def test_str_of_a_big_list_is_joined_in_runs(worker, monkeypatch):
    from rtserve.lang.values import to_str
    xs = list(range(300000))
    expected = to_str(xs)
    calls = _spy(monkeypatch)
    assert to_str(xs) == expected == "[" + ", ".join(map(str, xs)) + "]"
    assert calls == ["joined"]
