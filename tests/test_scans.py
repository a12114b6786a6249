"""lang/scans.py: long scans in slices give exactly the one-call answer.

Each function is checked by hypothesis against the direct Python call with tiny slice sizes
(so windows, groups and carried folds cross many boundaries), on small alphabets and periodic
texts ("aaaa" and "aa" for count's greedy chain). Then the builtins and operators that use
them are checked to take the sliced path on big operands, and the slices to stay short.
"""
from __future__ import annotations

import functools
import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang import limits, scans
from rtserve.lang.builtins import BUILTINS, call_method
from rtserve.lang import ops
from rtserve.lang.errors import LimitError


@pytest.fixture
def tiny(monkeypatch):
    """Slices of a few characters or elements, so every boundary case shows on small data."""
    monkeypatch.setattr(scans, "TEXT_SLICE", 4)
    monkeypatch.setattr(scans, "ITEM_SLICE", 3)
    monkeypatch.setattr(scans, "COMPARE_BYTES", 8)
    monkeypatch.setattr(scans, "_FIRST_PIECE", 1)


def with_tiny_slices(test):
    """The hypothesis tests below patch the slices themselves (a function-scoped fixture does
    not reset between hypothesis examples); the patch is undone after each example."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        saved = scans.TEXT_SLICE, scans.ITEM_SLICE, scans.COMPARE_BYTES, scans._FIRST_PIECE
        scans.TEXT_SLICE, scans.ITEM_SLICE, scans.COMPARE_BYTES, scans._FIRST_PIECE = 4, 3, 8, 1
        try:
            return test(*args, **kwargs)
        finally:
            scans.TEXT_SLICE, scans.ITEM_SLICE, scans.COMPARE_BYTES, scans._FIRST_PIECE = saved
    return run


texts = st.text(alphabet="ab", max_size=60) | st.builds(lambda n, tail: "a" * n + tail,
                                                        st.integers(0, 60), st.sampled_from(["", "b", "ab", "ba"]))
needles = st.text(alphabet="ab", max_size=7) | st.builds(lambda n: "a" * n, st.integers(1, 30))
bounds = st.none() | st.integers(-70, 70)


@settings(max_examples=600, deadline=None)
@given(texts, needles, bounds, bounds)
@with_tiny_slices
def test_find_is_str_find(s, sub, start, end):
    assert scans.find(s, sub, start, end) == s.find(sub, start, end)
    b, bsub = s.encode(), sub.encode()
    assert scans.find(b, bsub, start, end) == b.find(bsub, start, end)


@settings(max_examples=800, deadline=None)
@given(texts, needles, bounds, bounds)
@with_tiny_slices
def test_count_is_str_count_greedy_across_boundaries(s, sub, start, end):
    assert scans.count(s, sub, start, end) == s.count(sub, start, end)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 200), st.integers(1, 12), st.sampled_from(["", "b", "ab"]), st.integers(0, 5))
@with_tiny_slices
def test_count_of_periodic_needles_in_periodic_texts(n, k, tail, shift):
    s = "b" * shift + "a" * n + tail
    for sub in ("a" * k, "a" * k + "b", "ab" * k, "aab" * k):
        assert scans.count(s, sub) == s.count(sub), (s, sub)


def test_count_examples(tiny):
    for s, sub in [("aaaa", "aa"), ("aaaaa", "aa"), ("a" * 41, "aaa"), ("abababab", "aba"),
                   ("aabaabaabaab", "aabaa"), ("abc" * 20, "cab")]:
        assert scans.count(s, sub) == s.count(sub), (s, sub)
    assert scans.count("abc" * 5, "", 5) == ("abc" * 5).count("", 5)
    assert scans.find("abc" * 5, "", 50) == -1 == ("abc" * 5).find("", 50)
    assert scans.count("abc" * 5, "", 50) == 0


@settings(max_examples=300, deadline=None)
@given(texts, needles)
@with_tiny_slices
def test_contains_is_in(s, sub):
    assert scans.contains(s, sub) == (sub in s)
    assert scans.contains(s.encode(), sub.encode()) == (sub.encode() in s.encode())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789a ", max_size=30))
@with_tiny_slices
def test_every_slice_is_a_fullmatch(s):
    digits = re.compile(r"[0-9]+", re.ASCII)
    assert scans.every_slice(digits.fullmatch, s) == (digits.fullmatch(s) is not None)


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(st.text(alphabet="ab", max_size=12), max_size=12))
@with_tiny_slices
def test_any_affix_is_startswith_and_endswith_of_a_tuple(s, affixes):
    assert scans.any_affix(s, affixes, str.startswith) == s.startswith(tuple(affixes))
    assert scans.any_affix(s, affixes, str.endswith) == s.endswith(tuple(affixes))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab \t\u3000", max_size=40), st.none() | st.text(alphabet="ab ", max_size=5))
@with_tiny_slices
def test_strip_bounds_are_strip(s, chars):
    for left, right, expected in ((True, True, s.strip(chars)), (True, False, s.lstrip(chars)),
                                  (False, True, s.rstrip(chars))):
        lo, hi = scans.strip_bounds(s, chars, left, right)
        assert s[lo:hi] == expected


values = st.one_of(st.none(), st.integers(-3, 3), st.text(alphabet="ab", max_size=4),
                   st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.none() | st.text(alphabet="ab", max_size=5), max_size=25),
       st.none() | st.text(alphabet="ab", max_size=5))
@with_tiny_slices
def test_list_index_is_list_index(xs, value):
    expected = xs.index(value) if value in xs else -1
    assert scans.list_index(xs, value) == expected


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(-5, 5) | st.floats(allow_nan=True, allow_infinity=True, width=16), min_size=1, max_size=25))
@with_tiny_slices
def test_extreme_is_min_and_max_to_the_same_object(xs):
    xs = [x for x in xs]  # distinct float objects: the same one must come back
    assert scans.extreme(min, xs) is min(xs)
    assert scans.extreme(max, xs) is max(xs)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab", max_size=9), min_size=1, max_size=25))
@with_tiny_slices
def test_extreme_of_strings_sliced_by_their_text(xs):
    assert scans.extreme(min, xs, None, xs) is min(xs)
    assert scans.extreme(max, xs, None, xs) is max(xs)
    keys = [x[::-1] for x in xs]
    assert scans.extreme(min, range(len(xs)), keys.__getitem__, keys) == min(range(len(xs)), key=keys.__getitem__)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(-2**70, 2**70) | st.floats(allow_nan=True, width=32), max_size=25),
       st.integers(-5, 5) | st.floats(width=16))
@with_tiny_slices
def test_total_is_sum_bit_for_bit(xs, start):
    assert repr(scans.total(xs, start)) == repr(sum(xs, start))


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=25))
@with_tiny_slices
def test_folds_and_types(xs):
    assert scans.any_true(xs) == any(xs)
    assert scans.all_true(xs) == all(xs)
    assert scans.types(xs) == set(map(type, xs))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(), max_size=80), st.integers(0, 79))
def test_reverse_and_pop_in_slices(monkeypatch_free_xs, where):
    saved = scans.ITEM_SLICE
    scans.ITEM_SLICE = 1  # 8 elements a slice
    try:
        xs, expected = list(monkeypatch_free_xs), list(monkeypatch_free_xs)
        scans.reverse(xs)
        expected.reverse()
        assert xs == expected
        if xs:
            index = where % len(xs) - (len(xs) if where % 2 else 0)  # negative ones too
            assert scans.pop(xs, index) == expected.pop(index)
            assert xs == expected
    finally:
        scans.ITEM_SLICE = saved


# --------------------------------------------------------------------------- the callers


def test_the_methods_and_operators_take_the_sliced_path(tiny):
    s = "ab" * 20 + "abc" + "a" * 30
    assert call_method(s, "find", "abc") == s.find("abc")
    assert call_method(s, "find", "abc", 3, -2) == s.find("abc", 3, -2)
    assert call_method(s, "count", "aa") == s.count("aa")
    assert call_method("a" * 30 + "b", "split", "b") == ["a" * 30, ""]
    assert call_method("a" * 30, "split", "b") == ["a" * 30]
    assert call_method("ab" * 20, "replace", "abc", "x") == "ab" * 20
    assert call_method("ab" * 20, "replace", "b", "xy") == "axy" * 20
    assert call_method("1" * 30, "isdigit") is True
    assert call_method("1" * 30 + "x", "isdigit") is False
    padded = "  xy" * 3 + " " * 2000
    assert call_method(padded, "strip") == padded.strip()
    assert call_method("ab" * 1000 + "c", "lstrip", "ba") == "c"
    assert call_method("c" + "ab" * 1000, "rstrip", "ab") == "c"
    assert call_method(s, "startswith", ["x", "ab"]) is True
    assert call_method(s, "endswith", ["x", "b"]) is False
    assert ops.contains(s, "abca") and not ops.contains(s, "abcb")
    assert ops.contains(s.encode(), b"abca")
    xs = [str(i) for i in range(20)]
    assert ops.contains(xs, "17") and not ops.contains(xs, "x")
    assert call_method(xs, "index", "17") == 17
    assert BUILTINS["min"](xs) == "0" and BUILTINS["max"](xs) == "9"
    assert BUILTINS["max"](list(range(20))) == 19
    assert BUILTINS["min"](xs, key=lambda x: -len(x)) == "10"
    assert BUILTINS["sum"](list(range(20))) == 190
    assert BUILTINS["any"]([0] * 19 + [1]) is True and BUILTINS["all"]([1] * 19 + [0]) is False
    ys = list(range(20))
    call_method(ys, "reverse")
    assert ys == list(range(19, -1, -1))


def test_strip_with_a_long_set_of_characters_is_charged_and_stops():
    """Each stripped character is a look-up in `chars`: quadratic in one C call before."""
    s = "a" * 200_000
    chars = "b" * 200_000 + "a"
    budget = limits.Budget(max_steps=100_000)
    previous = limits.activate(budget)
    started = time.monotonic()
    try:
        with pytest.raises(LimitError, match="step budget exhausted"):
            call_method(s, "strip", chars)
    finally:
        limits.activate(previous)
    assert time.monotonic() - started < 5


def test_a_strip_that_stops_early_is_charged_little():
    s = " x" + "y" * 1_000_000
    budget = limits.Budget(max_steps=1_000_000)
    previous = limits.activate(budget)
    try:
        assert call_method(s, "lstrip", " ") == s[1:]
        assert call_method(s, "rstrip", "zq") is s
    finally:
        limits.activate(previous)
    assert budget.remaining > 1_000_000 - 20_000  # the copy of the result, not a whole scan


_SLICE_MS = 5.0  # generous: a slice is ~1 ms of work on this machine, shared with others


def _longest_call(fn, *args) -> float:
    """The longest single C-level stretch inside fn, seen as the longest gap between two
    Python-level events while it runs (sys.setprofile sees every C call's return)."""
    import sys
    last, longest = [time.perf_counter()], [0.0]

    def profile(frame, event, arg):
        now = time.perf_counter()
        longest[0] = max(longest[0], now - last[0])
        last[0] = now
    sys.setprofile(profile)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return longest[0] * 1000


_BIG = {}


def _big():
    if not _BIG:
        _BIG.update(s="ab" * 4_000_000, a="a" * 8_000_000, xs=["x"] * 4_000_000, nums=list(range(4_000_000)),
                    zeros=[0] * 4_000_000)
    return _BIG


@pytest.mark.parametrize("name,fn", [
    ("find", lambda b: scans.find(b["s"], "abc")),
    ("count", lambda b: scans.count(b["s"], "abc")),
    ("count-periodic", lambda b: scans.count(b["a"], "aa")),
    ("in", lambda b: scans.contains(b["a"], "a" * 1000 + "c")),
    ("list-in", lambda b: scans.list_index(b["xs"], "y")),
    ("min", lambda b: scans.extreme(min, b["nums"])),
    ("sum", lambda b: scans.total(b["nums"], 0)),
    ("types", lambda b: scans.types(b["nums"])),
    ("any", lambda b: scans.any_true(b["zeros"])),
])
def test_no_single_call_runs_long(name, fn):
    big = _big()
    best = min(_longest_call(fn, big) for _ in range(3))
    assert best < _SLICE_MS, f"{name}: a {best:.1f} ms call"


def _charged(fn, *args, steps: int = 10**12) -> int:
    budget = limits.Budget(max_steps=steps)
    previous = limits.activate(budget)
    try:
        fn(*args)
    finally:
        limits.activate(previous)
    return steps - budget.remaining


def test_a_long_needle_call_is_followed_by_a_pause_on_a_worker_only(monkeypatch):
    """Beside an event loop (the bridge sets an on_slow hook), a call past the switch
    interval leaves the lock free for scans.PAUSE; on the loop's own thread, never."""
    monkeypatch.setattr("sys.getswitchinterval", lambda: 0.0)  # every call counts as long
    slept, announced = [], []
    monkeypatch.setattr(scans.time, "sleep", slept.append)
    s, needle = "a" * 2_000_000, "a" * 400_000 + "b"
    assert scans.find(s, needle) == -1 and slept == []
    limits.set_on_slow(lambda: announced.append(1))
    try:
        assert scans.find(s, needle) == -1
        assert scans.count(s, needle) == 0
    finally:
        limits.set_on_slow(None)
    assert slept and set(slept) == {scans.PAUSE} and len(announced) == len(slept)
    slept.clear()
    limits.set_on_slow(lambda: None)
    try:
        scans.find(s, "ab")  # a short needle: short calls, no pause
    finally:
        limits.set_on_slow(None)
    assert slept == []


def test_numbers_from_long_texts_are_charged_as_read():
    text = "1" * 1_000_000
    assert _charged(BUILTINS["float"], text) >= len(text) // limits.TEXT_PER_STEP
    with pytest.raises(LimitError):  # the digits are over the integer cap: charged first
        _charged(BUILTINS["int"], text, steps=100)
    with pytest.raises(LimitError, match="step budget"):
        _charged(BUILTINS["float"], text + "x", steps=100)


def test_min_of_strings_is_charged_by_the_text_compared():
    """values[0] says nothing of the others: strings sharing a long prefix read it each time."""
    p, q = "a" * 100_000 + "x", "a" * 100_000 + "y"
    values = ["b"] + [q, p] * 200
    assert _charged(BUILTINS["min"], values) >= 400 * 100_000 // limits.TEXT_PER_STEP


def test_pop_from_the_front_of_a_long_list_is_charged_the_slots_it_moves():
    xs = list(range(1_000_000))
    assert _charged(call_method, xs, "pop", 0) >= 1_000_000 * limits.SLOT_BYTES // limits.TEXT_PER_STEP
    assert _charged(call_method, xs, "pop") == 0


_CASE_ALPHABET = "aAßİΣσς ' \u0301\u00adΑ1.İ"


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=_CASE_ALPHABET, max_size=40))
@with_tiny_slices
def test_case_mapping_in_pieces_is_the_whole_strings(s):
    """Σ lower-cases to ς or σ by what surrounds it, over case-ignorable characters."""
    for method, lower in ((str.upper, False), (str.lower, True)):
        pieces = [method(s[lo:hi]) for lo, hi in scans.case_spans(s, lower)]
        assert "".join(pieces) == method(s)
        assert sum(hi - lo for lo, hi in scans.case_spans(s, lower)) == len(s)


def test_upper_and_lower_of_long_text_in_pieces_and_capped(tiny, monkeypatch):
    from rtserve.lang.builtins import strings
    text = "ÄΣ ß" * 10 + "ΣΑ'Σ"
    assert call_method(text, "upper") == text.upper()
    assert call_method(text, "lower") == text.lower()
    monkeypatch.setattr(strings, "MAX_SIZE", 50)
    with pytest.raises(LimitError):  # İ lower-cases to two characters: past the cap, refused
        call_method("İ" * 30, "lower")
