"""The pure parts under kv and db: the stored-value codec (backends/codec.py) and the `?`
placeholder tokenizer (backends/sqltext.py), property-tested against reference models."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang.values import FrozenList, FrozenMap, equals
from rtserve.stdlib.backends import codec, sqltext

# -- the codec ---------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(1 << 200), 1 << 200)
           | st.floats(allow_nan=False) | st.text() | st.binary())
keys = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(keys, inner, max_size=5), max_leaves=30)


def same(a, b) -> bool:
    """`==` in the language, and the same types all the way down (1 stays an int, 1.0 a
    float, bytes stay bytes)."""
    if type(a) in (list, FrozenList):
        return type(b) is list and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) in (dict, FrozenMap):
        return (type(b) is dict and list(a) == list(b)
                and all(type(k) is type(j) for k, j in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    return type(a) is type(b) and (equals(a, b) or (type(a) is float and a == b))


@given(values)
def test_what_is_decoded_equals_what_was_encoded(value):
    assert same(value, codec.decode(codec.encode(value)))


def test_frozen_containers_come_back_fresh_and_mutable():
    stored = FrozenList([1, FrozenMap({"a": FrozenList([b"x"])})])
    back = codec.decode(codec.encode(stored))
    assert type(back) is list and type(back[1]) is dict and type(back[1]["a"]) is list
    assert equals(back, stored)


@pytest.mark.parametrize("n", [0, 7, -3, 2**63 - 1, -(2**63)])
def test_an_int_is_stored_as_its_decimal_so_redis_incrby_can_count_it(n):
    assert codec.encode(n) == str(n).encode()
    assert codec.decode(str(n).encode()) == n


def test_floats_keep_their_bits():
    for f in (0.1, -0.0, 1e308, float("inf"), -float("inf")):
        back = codec.decode(codec.encode(f))
        assert type(back) is float and (back == f and math.copysign(1, back) == math.copysign(1, f))
    assert math.isnan(codec.decode(codec.encode(float("nan"))))


@pytest.mark.parametrize("value, match", [
    (lambda: 1, "cannot be stored"),
    ([print], "cannot be stored"),
    ("x" * (codec.MAX_VALUE + 1), "larger than"),
])
def test_what_cannot_be_stored_is_refused_by_name(value, match):
    with pytest.raises(codec.NotStorable, match=match):
        codec.encode(value)


def test_a_cycle_or_deep_nesting_is_refused():
    xs: list = []
    xs.append(xs)
    with pytest.raises(codec.NotStorable, match="contains itself"):
        codec.encode(xs)
    deep: list = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(codec.NotStorable, match="nested"):
        codec.encode(deep)


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_decoding_foreign_bytes_is_a_value_or_a_codec_error(data):
    try:
        codec.decode(data)
    except codec.CodecError:
        pass


# -- the placeholder tokenizer -----------------------------------------------------------------

# SQL text as pieces whose kind is known: code (words, operators, placeholders) and the
# places where `?` and `%` are text: literals, quoted identifiers, comments.
inner = st.text(alphabet="ab ?%;-*/$\n\\", max_size=8)
code = st.sampled_from(["SELECT ", " ", "x", ",", "(", ")", " = ", "?", "?", " %", "$1", "a$b", "-", "/", "*"])
literals = st.one_of(
    inner.filter(lambda s: "'" not in s).map(lambda s: "'" + s + "'"),
    inner.map(lambda s: "'" + s.replace("'", "''") + "''x'"),
    inner.filter(lambda s: '"' not in s).map(lambda s: '"' + s + '"'),
    inner.filter(lambda s: "\n" not in s).map(lambda s: "--" + s + "\n"),
    inner.filter(lambda s: "*" not in s and "/" not in s).map(lambda s: "/*" + s + "*/"),
    inner.filter(lambda s: "*" not in s and "/" not in s).map(lambda s: "/* /*" + s + "*/ ? */"),
    inner.filter(lambda s: "$" not in s).map(lambda s: "$$" + s + "$$"),
    inner.filter(lambda s: "$" not in s).map(lambda s: " $q$" + s + "$q$"),
    inner.filter(lambda s: "'" not in s).map(lambda s: " E'" + s.replace("\\", "\\\\") + "\\''"),
)
pieces = st.lists(st.tuples(st.just(True), code) | st.tuples(st.just(False), literals), max_size=12)


def _joined(parts):
    """The pieces as one text, spaced where two would otherwise merge into a token the
    model does not mean: `-` `-` (a comment), `'a'` `'b'` (one literal with a quote)."""
    text = ""
    for is_code, chunk in parts:
        if text and not text[-1].isspace() and (not is_code or text[-1] in "-/$'\"*"):
            text += " "
        text += chunk
    return text


@settings(max_examples=400)
@given(pieces)
def test_placeholders_are_counted_only_in_code(parts):
    text = _joined(parts)
    expected = sum(chunk.count("?") for is_code, chunk in parts if is_code)
    assert sqltext.placeholders(text) == expected


@settings(max_examples=400)
@given(pieces)
def test_pyformat_rewrites_code_placeholders_and_keeps_literals_byte_for_byte(parts):
    text = _joined(parts)
    out = sqltext.to_pyformat(text)
    # Undo psycopg's view: %% -> %, and %s are the placeholders.
    assert out.count("%s") - out.count("%%s") >= 0
    rebuilt = []
    for is_code, chunk in sqltext.split(text):
        rebuilt.append(chunk)
    assert "".join(rebuilt) == text
    literal_chunks = [c for is_code, c in parts if not is_code]
    for chunk in literal_chunks:
        assert chunk.replace("%", "%%") in out
    assert out.replace("%s", "?").replace("%%", "%") == text


@pytest.mark.parametrize("sql, count", [
    ("SELECT ?", 1),
    ("SELECT '?' , ?", 1),
    ("SELECT 'it''s ?', ?", 1),
    ('SELECT "a?b" FROM t WHERE x = ?', 1),
    ("SELECT ? -- why?\n, ?", 2),
    ("SELECT /* ? /* ? */ ? */ ?", 1),
    ("SELECT $$ ? $$, $tag$ ? $$ ? $tag$, ?", 1),
    ("SELECT E'\\' ?', ?", 1),
    ("SELECT $1, a$b, ?", 1),
    ("SELECT 'unterminated ?", 0),
])
def test_placeholder_examples(sql, count):
    assert sqltext.placeholders(sql) == count


def test_pyformat_doubles_percent_everywhere():
    assert sqltext.to_pyformat("SELECT '%?' || ? WHERE a LIKE '%x'") == "SELECT '%%?' || %s WHERE a LIKE '%%x'"
