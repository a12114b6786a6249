"""Property tests of the parser (hypothesis).

1. Token soup: any sequence of the language's tokens either parses or raises ErrorList whose
   errors point inside the source; never another exception.
2. Expression round trip: a random operator tree, printed by a small reference printer that
   adds only the parentheses precedence and associativity require (and sometimes a line
   break after an operator), parses back to the same tree.
3. Literals: random strings and integers, written with escapes / bases / underscores by a
   reference encoder, decode to the original value.
"""
from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtserve.lang import nodes as n
from rtserve.lang.errors import ErrorList
from rtserve.lang.parser import parse

# ---------------------------------------------------------------- 1. token soup

TOKENS = (
    "let fn return if else while for in break continue try catch throw true false nil and or "
    "not import as use on group static test assert get post any x y m req "
    "0 42 1_000 0xff 3.14 1e-3 "
    "+ - * / // % ** == != < <= > >= = += -= => ? ?? : . , ; ( ) [ ] { } { } \\ @ $"
).split() + ['"s"', "'q'", '"a ${x} b"', '"${', '"""t\n"""', '"', "\n", "\n", "\n", "#c\n",
             '"/p"', "${", "}",
             "\n\n\n\n\n\n", "        ", " # c   \n\n  # d\n", "\t\t"]

soup = st.lists(st.sampled_from(TOKENS), max_size=40).flatmap(
    lambda toks: st.lists(st.sampled_from([" ", "", "\n"]), min_size=len(toks),
                          max_size=len(toks)).map(lambda gaps: "".join(
                              t + g for t, g in zip(toks, gaps))))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(soup)
def test_token_soup_parses_or_reports_positioned_errors(source):
    try:
        parse(source, "soup.script")
    except ErrorList as e:
        lines = source.split("\n")
        assert e.errors
        for error in e.errors:
            span = error.span
            assert 1 <= span.line <= len(lines), (source, error)
            assert 1 <= span.col <= len(lines[span.line - 1]) + 1, (source, error)
            assert error.message and "Token" not in error.message and "__" not in error.message


# ---------------------------------------------------------------- 2. expression round trip
# A tree is ("leaf", text) | ("bin", op, left, right) | ("neg", x) | ("not", x)
# | ("cond", test, then, otherwise). Levels: higher binds tighter.

LEVEL = {"??": 1, "or": 2, "and": 3, "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
         "in": 5, "not in": 5, "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7, "**": 9}
NOT_LEVEL, NEG_LEVEL, ATOM_LEVEL, COND_LEVEL = 4, 8, 10, 0
LOGICAL = {"??", "or", "and"}


def level(tree) -> int:
    kind = tree[0]
    return {"leaf": ATOM_LEVEL, "neg": NEG_LEVEL, "not": NOT_LEVEL, "cond": COND_LEVEL}.get(
        kind, LEVEL[tree[1]] if kind == "bin" else 0)


def child_levels(op):
    """The least level each side of a binary operator may have without parentheses."""
    lv = LEVEL[op]
    if op == "**":
        return ATOM_LEVEL, NEG_LEVEL  # right-assoc; `2 ** -1`; `(-2) ** 2` needs parens
    if lv == 5:
        return 6, 6  # comparisons do not chain
    return lv, lv + 1  # left-assoc


def show(tree, need: int, breaks) -> str:
    text = _show(tree, breaks)
    return f"({text})" if level(tree) < need else text


def _show(tree, breaks) -> str:
    kind = tree[0]
    if kind == "leaf":
        return tree[1]
    if kind == "neg":
        return "-" + show(tree[1], NEG_LEVEL, breaks)
    if kind == "not":
        return "not " + show(tree[1], NOT_LEVEL, breaks)
    if kind == "cond":
        return (f"{show(tree[1], 1, breaks)} ? {show(tree[2], 0, breaks)} : "
                f"{show(tree[3], 0, breaks)}")
    op, left, right = tree[1], tree[2], tree[3]
    need_left, need_right = child_levels(op)
    gap = "\n  " if next(breaks) else " "
    return f"{show(left, need_left, breaks)} {op}{gap}{show(right, need_right, breaks)}"


def expected_shape(tree):
    kind = tree[0]
    if kind == "leaf":
        text = tree[1]
        return ("Literal", int(text)) if text.isdigit() else ("Name", text)
    if kind == "neg":
        return ("Unary", "-", expected_shape(tree[1]))
    if kind == "not":
        return ("Unary", "not", expected_shape(tree[1]))
    if kind == "cond":
        return ("Conditional", *map(expected_shape, tree[1:]))
    node = "Logical" if tree[1] in LOGICAL else "Binary"
    return (node, tree[1], expected_shape(tree[2]), expected_shape(tree[3]))


def shape(node):
    if isinstance(node, n.Node):
        return (type(node).__name__, *(shape(getattr(node, f.name)) for f in dataclasses.fields(node)
                                       if f.name != "span"))
    return node


leaves = st.one_of(st.sampled_from(["a", "b", "c", "xs"]), st.integers(0, 99).map(str)).map(
    lambda text: ("leaf", text))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.tuples(st.just("bin"), st.sampled_from(sorted(LEVEL)), inner, inner),
    st.tuples(st.just("neg"), inner),
    st.tuples(st.just("not"), inner),
    st.tuples(st.just("cond"), inner, inner, inner),
), max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(trees, st.lists(st.booleans(), min_size=1))
def test_printed_expressions_parse_back_to_the_same_tree(tree, break_choices):
    breaks = iter(break_choices * 50 + [False] * 100)
    source = "x = " + show(tree, 0, breaks)
    (stmt,) = parse(source, "expr.script").body
    assert shape(stmt.value) == expected_shape(tree), source


# ---------------------------------------------------------------- 3. literals

ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", '"': '\\"', "'": "\\'",
           "\0": "\\0", "$": "\\$"}


def encode(text: str, quote: str, draw_style) -> str:
    out = []
    for ch in text:
        style = draw_style()
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif style == 0 and ch.isprintable():
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return quote + "".join(out) + quote


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
       st.sampled_from(['"', "'"]), st.lists(st.integers(0, 1), min_size=1))
def test_string_literals_decode_to_what_was_encoded(text, quote, styles):
    choices = iter(styles * 40 + [0] * 100)
    source = "x = " + encode(text, quote, lambda: next(choices))
    (stmt,) = parse(source, "s.script").body
    assert isinstance(stmt.value, n.Literal) and stmt.value.value == text, source


def write_int(value: int, base: str, underscores: bool) -> str:
    digits = {"d": str(value), "x": format(value, "x"), "o": format(value, "o"),
              "b": format(value, "b")}[base]
    if underscores and len(digits) > 1:
        digits = "_".join(digits)  # one underscore between every pair of digits
    return digits if base == "d" else f"0{base}{digits}"


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 ** 80), st.sampled_from("dxob"), st.booleans())
def test_integer_literals_decode(value, base, underscores):
    source = "x = " + write_int(value, base, underscores)
    (stmt,) = parse(source, "n.script").body
    assert stmt.value.value == value and type(stmt.value.value) is int, source


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_float_literals_decode(value):
    text = repr(value)
    if "e" not in text and "." not in text:
        text += ".0"
    (stmt,) = parse("x = " + text.replace("e+", "e"), "f.script").body
    assert stmt.value.value == value
