"""stdlib `re` on RE2: results, errors naming positions, the cache, linear time, charging, and
agreement with Python's `re` on patterns both engines read the same way."""
import re as pyre
import time as pytime

import pytest
from hypothesis import given, settings, strategies as st

import rtserve.stdlib.re as re_module
from rtserve.lang.errors import LimitError
from stdlib_helpers import budget, functions, raises, run_script

re = functions("re")


def test_test_match_and_search():
    assert re("test")(r"\d+", "abc123") is True and re("test")(r"^\d+$", "abc123") is False
    assert re("match")(r"\d+", "abc123") is None  # anchored at the start
    assert re("match")(r"(\w)(\d)?", "ab") == {"text": "a", "start": 0, "end": 1, "groups": ["a", None], "named": {}}
    found = re("search")(r"(?P<user>[a-z]+)@(?P<host>[a-z.]+)(:\d+)?", "mail: bob@example.org now")
    assert found == {"text": "bob@example.org", "start": 6, "end": 21,
                     "groups": ["bob", "example.org", None], "named": {"user": "bob", "host": "example.org"}}
    assert re("search")("x", "abc") is None


def test_positions_count_code_points():
    assert re("search")("é+", "aaéé😀")["start"] == 2
    found = re("search")("😀(.)", "é😀x")
    assert (found["start"], found["end"], found["groups"]) == (1, 3, ["x"])


def test_find_all_replace_split():
    assert re("find_all")(r"\d+", "a1b22c333") == ["1", "22", "333"]
    assert re("find_all")(r"\d", "123456", limit=2) == ["1", "2"]
    assert len(re("find_all")("a", "a" * 1500)) == 1000  # the default limit
    assert len(re("find_all")("a", "a" * 1500, limit=0)) == 1500  # 0: all, as in split and replace
    assert re("find_all")("a*", "baac") == ["", "aa", "", ""]
    assert re("replace")(r"(\w+)@(?P<host>\w+)", "bob@x and al@y", r"\g<host>:\1") == "x:bob and y:al"
    assert re("replace")("a", "banana", "o", count=2) == "bonona"
    assert re("replace")("a", "banana", r"\\") == "b\\n\\n\\"
    assert re("split")(r",\s*", "a, b,c") == ["a", "b", "c"]
    assert re("split")(",", "a,b,c", limit=1) == ["a", "b,c"]
    assert re("split")("(-)|(_)", "a-b") == ["a", "-", None, "b"]


@pytest.mark.parametrize("pattern, position, reason", [
    ("a(b", 1, "missing \\)"),
    (r"(a)\1", 3, "invalid escape sequence"),
    ("x(?=y)", 1, "invalid perl operator"),
    ("[z-a]", 1, "invalid character class range"),
    ("a{2,1}", 2, "invalid repetition size"),
    ("ab\\", 2, "trailing"),
])
def test_a_bad_pattern_is_a_value_error_naming_the_position(pattern, position, reason):
    with raises("ValueError", rf"re.search\(\): invalid pattern at position {position}: .*{reason}"):
        re("search")(pattern, "text")


def test_bad_patterns_are_not_written_to_stderr(capfd):
    with raises("ValueError", "invalid pattern"):
        re("test")("((", "x")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("call, kind, match", [
    (lambda: re("test")(1, "x"), "TypeError", r"re.test\(\): pattern must be a string, not int"),
    (lambda: re("match")("x", b"x"), "TypeError", r"re.match\(\): text must be a string, not bytes"),
    (lambda: re("find_all")("x", "x", limit=-1), "ValueError", r"re.find_all\(\): limit must be from 0"),
    (lambda: re("split")("x", "x", limit=-1), "ValueError", r"re.split\(\): limit must be at least 0"),
    (lambda: re("replace")("x", "x", None), "TypeError", r"re.replace\(\): with must be a string, not nil"),
    (lambda: re("replace")("(x)", "x", r"\2"), "ValueError", r"re.replace\(\): invalid replacement: the pattern has no group 2"),
    (lambda: re("replace")("(x)", "x", r"\g<nope>"), "ValueError", r"no group named 'nope'"),
    (lambda: re("replace")("x", "x", r"\q"), "ValueError", r"unknown escape \\q at position 0"),
    (lambda: re("replace")("x", "x", "a\\"), "ValueError", r"a lone backslash at position 1"),
    (lambda: re("replace")("x", "x", "y", count=-1), "ValueError", r"re.replace\(\): count must be at least 0"),
    (lambda: re("test")("a" * 70_000, "x"), "ValueError", r"re.test\(\): pattern longer than"),
    (lambda: re("test")("(?:a{1000}){1000}", "x"), "ValueError", r"re.test\(\): invalid pattern at position \d+: invalid repetition size"),
])
def test_argument_errors(call, kind, match):
    with raises(kind, match):
        call()


def test_catastrophic_backtracking_pattern_answers_in_linear_time():
    text = "a" * 100_000 + "b"
    re("test")(r"(a+)+$", "warm the cache")
    best = min(_timed(lambda: re("test")(r"(a+)+$", text)) for _ in range(5))
    assert best < 0.05, best  # the bound; RE2 takes well under a millisecond here
    assert re("test")(r"(a+)+$", text) is False and re("test")(r"(a+)+b$", text) is True
    # Meaningful: a backtracking engine needs longer than that bound on just 22 a's.
    assert _timed(lambda: pyre.search(r"(a+)+$", "a" * 22 + "b")) > 0.05


def _timed(fn) -> float:
    start = pytime.perf_counter()
    fn()
    return pytime.perf_counter() - start


def test_compiled_patterns_are_cached_and_the_cache_is_bounded():
    re_module._compile_cached.cache_clear()
    re("test")("cached", "x")
    re("test")("cached", "y")
    info = re_module._compile_cached.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    for i in range(re_module.CACHE_SIZE + 50):
        re("test")(f"p{i}", "x")
    assert re_module._compile_cached.cache_info().currsize == re_module.CACHE_SIZE


def test_matching_is_charged_by_the_text_scanned_and_results_by_their_size():
    with budget(steps=500):
        with pytest.raises(LimitError, match="step budget"):
            re("test")("z", "a" * 100_000)
    with budget(memory=10_000):
        with pytest.raises(LimitError, match="memory budget"):
            re("find_all")("a", "a" * 5000, limit=5000)
    with budget(memory=10_000):  # a template that multiplies the text is refused before it is built
        with pytest.raises(LimitError, match="memory budget"):
            re("replace")("", "a" * 1000, "xxxxxxxxxx")


def test_from_a_script_errors_are_catchable():
    exports = run_script('''
import re
let m = re.search("(?P<id>[0-9]+)", "order 42")
let id = m.named.id
let err = ""
try { re.test("(", "x") } catch e { err = e.kind + ": " + e.message }
''')
    assert exports["id"] == "42"
    assert exports["err"] == "ValueError: re.test(): invalid pattern at position 0: missing ): ("


# --- differential: RE2 against Python's re on patterns both read the same way ---------------
# Literals, classes, `.`, greedy and lazy repetition, alternation, non-capturing groups and
# `^`: a fragment both engines give the same meaning (no `$`, which differs before "\n"; no
# captures in repetition, where the engines may differ on empty iterations).

atoms = st.sampled_from(["a", "b", "c", ".", "[ab]", "[^a]", r"\d", "x"])


def _patterns():
    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
            st.tuples(inner, st.sampled_from(["*", "+", "?", "*?", "+?", "{1,2}"])).map(
                lambda p: f"(?:{p[0]}){p[1]}"),
        )
    return st.recursive(atoms, extend, max_leaves=6)


def _matches(pattern: str, text: str) -> list:
    """The documented iteration, modelled with Python's re: each search starts where the
    last match ended, or one character later after an empty match (as in JavaScript; Python
    3.7+ would instead retry the same position for a non-empty match)."""
    compiled, found, at = pyre.compile(pattern), [], 0
    while at <= len(text):
        m = compiled.search(text, at)
        if m is None:
            break
        found.append(m)
        at = m.end() + (m.end() == m.start())
    return found


def _model_split(pattern: str, text: str) -> list:
    out, at = [], 0
    for m in _matches(pattern, text):
        out.append(text[at:m.start()])
        out.extend(m.groups())
        at = m.end()
    return out + [text[at:]]


@settings(max_examples=300, deadline=None)
@given(_patterns(), st.booleans(), st.text(alphabet="abcx1 ", max_size=12))
def test_agrees_with_python_re(pattern, anchored, text):
    if anchored:
        pattern = "^" + pattern
    found = pyre.search(pattern, text)
    assert re("test")(pattern, text) == (found is not None)
    ours = re("search")(pattern, text)
    assert (ours and (ours["start"], ours["end"], ours["text"])) == (found and (found.start(), found.end(), found.group()))
    matches = _matches(pattern, text)
    assert re("find_all")(pattern, text) == [m.group() for m in matches]
    expected, at = [], 0
    for m in matches:
        expected += [text[at:m.start()], "<", m.group(), ">"]
        at = m.end()
    assert re("replace")(pattern, text, "<\\g<0>>") == "".join(expected) + text[at:]
    assert re("split")(pattern, text) == _model_split(pattern, text)
    if pyre.fullmatch(pattern, "") is None:  # no empty matches: Python's own functions agree
        assert re("find_all")(pattern, text) == pyre.findall(f"(?:{pattern})", text)
        assert re("replace")(pattern, text, "<\\g<0>>") == pyre.sub(pattern, "<\\g<0>>", text)
        assert re("split")(pattern, text) == pyre.split(pattern, text)
    captured = f"({pattern})"
    ours = re("match")(captured, text)
    theirs = pyre.match(captured, text)
    assert (ours and ours["groups"]) == (theirs and list(theirs.groups()))
