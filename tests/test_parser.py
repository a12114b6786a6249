"""The parser (lang.parser.parse): AST shapes, spans, newline rules, literals, errors.

Shapes are compared without spans (`shape` drops them) in a compact prefix notation, so a
test reads like the tree it expects; spans get their own tests. Error cases are a table of
(source, "line:col: message"), checked exactly.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rtserve.lang import nodes as n
from rtserve.lang.errors import ErrorList, Span
from rtserve.lang.parser import build_parser, parse

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "tests" / "data" / "conformance"  # copied from the shared spec folder


# ---------------------------------------------------------------- helpers

def shape(node):
    """A node as nested tuples (type name, fields...) without spans or source text."""
    if isinstance(node, n.Node):
        fields = [f.name for f in dataclasses.fields(node)
                  if f.name != "source" and not f.name.endswith(("span", "spans"))]
        return (type(node).__name__, *(shape(getattr(node, f)) for f in fields))
    if isinstance(node, tuple):
        return tuple(shape(x) for x in node)
    return node


def stmts(source):
    return shape(parse(source, "t.script").body)


def stmt(source):
    body = parse(source, "t.script").body
    assert len(body) == 1, body
    return body[0]


def expr(source):
    node = stmt(source)
    assert isinstance(node, n.ExprStmt), node
    return node.expr


def error(source):
    """The single error of a bad source, as "line:col: message"."""
    with pytest.raises(ErrorList) as info:
        parse(source, "t.script")
    errors = info.value.errors
    assert len(errors) == 1
    e = errors[0]
    return f"{e.span.line}:{e.span.col}: {e.message}"


# The notation: L(1) is Literal 1, N("x") Name x, B("+", l, r) Binary, and so on.
def L(v): return ("Literal", v)
def N(i): return ("Name", i)
def B(op, a, b): return ("Binary", op, a, b)
def G(op, a, b): return ("Logical", op, a, b)
def U(op, a): return ("Unary", op, a)
def C(t, a, b): return ("Conditional", t, a, b)
def F(o, name): return ("Field", o, name)
def I(o, i): return ("Index", o, i)
def S(o, a, b): return ("Slice", o, a, b)
def K(name, v): return ("Keyword", name, v)
def Call(f, *args, kw=()): return ("Call", f, tuple(args), tuple(kw))
def P(name, default=None): return ("Param", name, default)
def Blk(*body): return ("Block", tuple(body))
def E(e): return ("ExprStmt", e)


# ---------------------------------------------------------------- literals

@pytest.mark.parametrize("text, value", [
    ("42", 42), ("0", 0), ("1_000_000", 1000000), ("0xff", 255), ("0XFF", 255),
    ("0o17", 15), ("0b101", 5), ("0xf_f", 255),
    ("3.14", 3.14), ("1e-3", 0.001), ("1E5", 100000.0), ("2.5e+2", 250.0), ("1_0.5", 10.5),
    ("123456789012345678901234567890", 123456789012345678901234567890),
])
def test_numbers(text, value):
    node = expr(text)
    assert node == n.Literal(node.span, value) and type(node.value) is type(value)


@pytest.mark.parametrize("text", ["1__0", "1_", "0x", "0xfg", "12abc", "1.5x", "0b12"])
def test_invalid_numbers_point_at_the_number(text):
    assert error(f"x = {text}") == f"1:5: invalid number '{text}'"


@pytest.mark.parametrize("text, value", [
    (r'"a\nb"', "a\nb"), (r'"\t\r\\"', "\t\r\\"), (r'"\"q\""', '"q"'), (r"'\'q\''", "'q'"),
    (r'"\u{1F600}"', "\U0001F600"), (r'"\u{e9}"', "é"), (r'"\0"', "\0"),
    (r'"\${x}"', "${x}"), (r'"cost: $5"', "cost: $5"), (r'"$"', "$"),
    ("'single ${u.name}'", "single ${u.name}"), ('""', ""), ("''", ""),
    ('"héllo"', "héllo"), ("'it\"s'", 'it"s'),
    ('"""two\nlines"""', "two\nlines"), ("'''a 'quoted' \"x\"'''", "a 'quoted' \"x\""),
    ('"""has "quotes" inside"""', 'has "quotes" inside'),
])
def test_strings_decode(text, value):
    node = expr(text)
    assert isinstance(node, n.Literal) and node.value == value


@pytest.mark.parametrize("source, expected", [
    (r'x = "a\qb"', "1:7: unknown escape '\\q'"),
    (r'x = "\u{110000}"', "1:6: invalid unicode escape: write \\u{...} with 1 to 6 hex digits "
                          "naming a code point"),
    (r'x = "\u{D800}"', "1:6: invalid unicode escape: write \\u{...} with 1 to 6 hex digits "
                        "naming a code point"),
    (r'x = "\u00e9"', "1:6: invalid unicode escape: write \\u{...} with 1 to 6 hex digits "
                      "naming a code point"),
    ('x = "abc', "1:5: unterminated string"),
    ("x = 'abc\n'", "1:5: unterminated string"),
    ('x = 1\ny = """abc\n\n', "2:5: unterminated string"),
    ('x = "abc\\', "1:5: unterminated string"),
])
def test_string_errors(source, expected):
    assert error(source) == expected


def test_triple_quoted_string_span_covers_its_lines():
    node = expr('"""one\ntwo\nthree"""')
    assert node.value == "one\ntwo\nthree"
    assert node.span == Span("t.script", 1, 1, 3, 9)


def test_constants():
    assert stmts("true; false; nil") == (E(L(True)), E(L(False)), E(L(None)))


# ---------------------------------------------------------------- interpolation

def test_interpolation_parts():
    node = expr('"Hello ${user.name}!"')
    assert shape(node) == ("Interpolated", ("Hello ", F(N("user"), "name"), "!"))


def test_interpolation_without_text_around():
    assert shape(expr('"${a}${b}"')) == ("Interpolated", (N("a"), N("b")))


@pytest.mark.parametrize("source, inner", [
    ('"${m["k"]}"', I(N("m"), L("k"))),
    ('"${ {"a": 1}.a }"', F(("MapLit", ((L("a"), L(1)),)), "a")),
    ('"${f("}")}"', Call(N("f"), L("}"))),
    ('"${f(\'}\')}"', Call(N("f"), L("}"))),
    ('"${"b ${c}"}"', ("Interpolated", ("b ", N("c")))),
    ('"${x ? "{" : "}"}"', C(N("x"), L("{"), L("}"))),
    ('"${fn (x) => x}"', ("FnExpr", (P("x"),), N("x"))),
    ('"${[1, {a: [2]}]}"', ("ListLit", (L(1), ("MapLit", ((L("a"), ("ListLit", (L(2),))),))))),
])
def test_interpolation_takes_any_expression(source, inner):
    assert shape(expr(source)) == ("Interpolated", (inner,))


def test_interpolation_in_triple_quoted_strings_may_span_lines():
    node = expr('"""a ${\n  x +\n  1\n} b"""')
    assert shape(node) == ("Interpolated", ("a ", B("+", N("x"), L(1)), " b"))


def test_interpolated_names_have_their_true_positions():
    node = stmt('let s = "ab ${usr.id} ${ f(q) }"').value
    field, call = node.parts[1], node.parts[3]
    assert field.obj.span == Span("t.script", 1, 15, 1, 18)
    assert call.args[0].span == Span("t.script", 1, 28, 1, 29)


def test_interpolation_positions_on_later_lines():
    node = stmt('let s = """\nline ${ab}\n  ${cd}"""').value
    assert node.parts[1].span == Span("t.script", 2, 8, 2, 10)
    assert node.parts[3].span == Span("t.script", 3, 5, 3, 7)


@pytest.mark.parametrize("source, expected", [
    ('x = "${}"', "1:8: expected an expression after '${'"),
    ('x = "${1 +}"', "1:11: expected an expression after '+'"),
    ('x = "${a b}"', "1:10: expected '}' to close the '${' opened at 1:6"),
    ('x = "${a\n}"', "1:9: expected '}' to close the '${' opened at 1:6"),
    ('x = "${a', "1:6: expected '}' to close the '${' opened at 1:6"),
    ('x = "${f(}"', "1:10: expected ')' to close the '(' opened at 1:9"),
    ('x = "${oops)}"', "1:12: expected '}' to close the '${' opened at 1:6"),
])
def test_interpolation_errors(source, expected):
    assert error(source) == expected


# ---------------------------------------------------------------- precedence

@pytest.mark.parametrize("source, tree", [
    ("1 + 2 * 3", B("+", L(1), B("*", L(2), L(3)))),
    ("(1 + 2) * 3", B("*", B("+", L(1), L(2)), L(3))),
    ("a - b - c", B("-", B("-", N("a"), N("b")), N("c"))),
    ("a / b // c % d", B("%", B("//", B("/", N("a"), N("b")), N("c")), N("d"))),
    ("-2 ** 2", U("-", B("**", L(2), L(2)))),
    ("2 ** 3 ** 2", B("**", L(2), B("**", L(3), L(2)))),
    ("2 ** -1", B("**", L(2), U("-", L(1)))),
    ("- -x", U("-", U("-", N("x")))),
    ("-x.y", U("-", F(N("x"), "y"))),
    ("a * -b", B("*", N("a"), U("-", N("b")))),
    ("a ?? b or c", G("??", N("a"), G("or", N("b"), N("c")))),
    ("a or b ?? c", G("??", G("or", N("a"), N("b")), N("c"))),
    ("a or b and c", G("or", N("a"), G("and", N("b"), N("c")))),
    ("a and b or c", G("or", G("and", N("a"), N("b")), N("c"))),
    ("not a == b", U("not", B("==", N("a"), N("b")))),
    ("not a and b", G("and", U("not", N("a")), N("b"))),
    ("a and not b", G("and", N("a"), U("not", N("b")))),
    ("not not a", U("not", U("not", N("a")))),
    ("a + 1 < b * 2", B("<", B("+", N("a"), L(1)), B("*", N("b"), L(2)))),
    ("a in b", B("in", N("a"), N("b"))),
    ("a not in b", B("not in", N("a"), N("b"))),
    ("not a in b", U("not", B("in", N("a"), N("b")))),
    ("a == b and c != d", G("and", B("==", N("a"), N("b")), B("!=", N("c"), N("d")))),
    ("c ? a : b", C(N("c"), N("a"), N("b"))),
    ("c ? a : d ? e : f", C(N("c"), N("a"), C(N("d"), N("e"), N("f")))),
    ("c ? d ? 1 : 2 : 3", C(N("c"), C(N("d"), L(1), L(2)), L(3))),
    ("a ?? b ? c : d", C(G("??", N("a"), N("b")), N("c"), N("d"))),
    ("x.y[0](1)", Call(I(F(N("x"), "y"), L(0)), L(1))),
    ("f(a)(b)", Call(Call(N("f"), N("a")), N("b"))),
    ("[1][0]", I(("ListLit", (L(1),)), L(0))),
    ("'ab'[1]", I(L("ab"), L(1))),
    ("fn (x) => x * 2", ("FnExpr", (P("x"),), B("*", N("x"), L(2)))),
    ("fn (x) => c ? x : 0", ("FnExpr", (P("x"),), C(N("c"), N("x"), L(0)))),
])
def test_precedence_and_associativity(source, tree):
    assert shape(expr(source)) == tree


@pytest.mark.parametrize("source, expected", [
    ("a < b < c", "1:7: comparisons cannot be chained: write 'a < b and b < c'"),
    ("a == b != c", "1:8: comparisons cannot be chained: write 'a < b and b < c'"),
    ("a in b in c", "1:8: comparisons cannot be chained: write 'a < b and b < c'"),
    ("a == not b", "1:6: 'not' needs parentheses here: write '(not ...)'"),
    ("a + not b", "1:5: 'not' needs parentheses here: write '(not ...)'"),
    ("x = +1", "1:5: '+' cannot start an expression"),
    ("f(+1)", "1:3: '+' cannot start an expression"),
])
def test_operator_errors(source, expected):
    assert error(source) == expected


# ---------------------------------------------------------------- postfix, calls, collections

@pytest.mark.parametrize("source, tree", [
    ("x[:]", S(N("x"), None, None)), ("x[1:]", S(N("x"), L(1), None)),
    ("x[:2]", S(N("x"), None, L(2))), ("x[a:b]", S(N("x"), N("a"), N("b"))),
    ("x[-1]", I(N("x"), U("-", L(1)))),
    ("x[c ? 1 : 2]", I(N("x"), C(N("c"), L(1), L(2)))),
    ("f()", Call(N("f"))),
    ("f(1, 2,)", Call(N("f"), L(1), L(2))),
    ("f(1, k: 2, j: 3)", Call(N("f"), L(1), kw=(K("k", L(2)), K("j", L(3))))),
    ("f(in: 1, if: 2, type: 3, any: 4, map: 5)",
     Call(N("f"), kw=(K("in", L(1)), K("if", L(2)), K("type", L(3)), K("any", L(4)),
                      K("map", L(5))))),
    ("response(b, status: 404, headers: {})",
     Call(N("response"), N("b"), kw=(K("status", L(404)), K("headers", ("MapLit", ()))))),
])
def test_postfix(source, tree):
    assert shape(expr(source)) == tree


@pytest.mark.parametrize("source, expected", [
    ("f(a: 1, 2)", "1:9: a positional argument cannot follow a named one"),
    ("f(a: 1, a: 2)", "1:9: argument 'a' is given twice"),
    ("f(1 2)", "1:5: expected ')' to close the '(' opened at 1:2"),
    ("x[1 2]", "1:5: expected ']' to close the '[' opened at 1:2"),
])
def test_call_errors(source, expected):
    assert error(source) == expected


@pytest.mark.parametrize("source, tree", [
    ("[]", ("ListLit", ())), ("[1, 2,]", ("ListLit", (L(1), L(2)))),
    ("x = {}", ("MapLit", ())),
    ('x = {"a": 1, b: 2, 3: "x"}', ("MapLit", ((L("a"), L(1)), (L("b"), L(2)), (L(3), L("x"))))),
    ("x = {-1: 1, 2.5: 2, nil: 3, true: 4, false: 5}",
     ("MapLit", ((L(-1), L(1)), (L(2.5), L(2)), (L(None), L(3)), (L(True), L(4)),
                 (L(False), L(5))))),
    ("x = {(k): 1, [k + 1]: 2}", ("MapLit", ((N("k"), L(1)), (B("+", N("k"), L(1)), L(2))))),
    ("x = {if: 1, in: 2, get: 3, static: 4}",
     ("MapLit", ((L("if"), L(1)), (L("in"), L(2)), (L("get"), L(3)), (L("static"), L(4))))),
    ('x = {"k": [1, {"j": nil}],}',
     ("MapLit", ((L("k"), ("ListLit", (L(1), ("MapLit", ((L("j"), L(None)),))))),))),
])
def test_collections(source, tree):
    node = stmt(source)
    value = node.value if isinstance(node, n.Assign) else node.expr
    assert shape(value) == tree


def test_map_key_must_be_simple():
    assert error('x = {"a" + "b": 1}') == "1:10: unexpected '+'"


# ---------------------------------------------------------------- functions

def test_duplicate_names_are_left_to_the_resolver():
    assert stmts("fn f(a, a) { }") == (("FnDecl", "f", (P("a"), P("a")), Blk()),)
    assert stmts("for x, x in m { }") == (("For", ("x", "x"), N("m"), Blk()),)


def test_function_forms():
    assert shape(expr("fn (a, b = 1) { return a + b }")) == (
        "FnExpr", (P("a"), P("b", L(1))), Blk(("Return", B("+", N("a"), N("b")))))
    assert shape(expr("fn () => 1")) == ("FnExpr", (), L(1))
    assert shape(expr("fn (x) => {\"v\": x}")) == ("FnExpr", (P("x"),), ("MapLit", ((L("v"), N("x")),)))
    assert stmts("fn f(a, b = 2,) {\n  return a\n}") == (
        ("FnDecl", "f", (P("a"), P("b", L(2))), Blk(("Return", N("a")))),)
    assert shape(expr("fn (x) { return x }(3)")) == Call(
        ("FnExpr", (P("x"),), Blk(("Return", N("x")))), L(3))


@pytest.mark.parametrize("source, expected", [
    ("fn f(a = 1, b) { }", "1:13: parameter 'b' needs a default value, since a parameter before it has one"),
    ("fn (1) { }", "1:5: unexpected number 1"),
    ("fn f(a b) { }", "1:8: expected ')' to close the '(' opened at 1:5"),
    ("fn f { }", "1:6: unexpected '{'"),
])
def test_function_errors(source, expected):
    assert error(source) == expected


# ---------------------------------------------------------------- statements

def test_let_and_assignments():
    assert stmts("let x = 1\nx = 2\nx += 1\nx -= 1\nx *= 2\nx /= 2") == (
        ("Let", "x", L(1)), ("Assign", N("x"), None, L(2)), ("Assign", N("x"), "+", L(1)),
        ("Assign", N("x"), "-", L(1)), ("Assign", N("x"), "*", L(2)),
        ("Assign", N("x"), "/", L(2)))
    assert stmts('m["k"] = v; m.k = v; xs[0] += 1') == (
        ("Assign", I(N("m"), L("k")), None, N("v")), ("Assign", F(N("m"), "k"), None, N("v")),
        ("Assign", I(N("xs"), L(0)), "+", L(1)))


@pytest.mark.parametrize("source, expected", [
    ("1 = 2", "1:1: cannot assign to a literal"),
    ("f() = 2", "1:1: cannot assign to a function call"),
    ("x[1:2] = y", "1:1: cannot assign to a slice"),
    ("a + b = 1", "1:1: cannot assign to an operator expression"),
    ("x = y = 1", "1:7: expected a newline or ';' between statements"),
    ("let x += 1", "1:7: unexpected '+='"),
    ("let x", "1:6: unexpected end of file"),
])
def test_assignment_errors(source, expected):
    assert error(source) == expected


def test_if_chains():
    assert stmts("if a { x } else if b { y } else { z }") == (
        ("If", N("a"), Blk(E(N("x"))), ("If", N("b"), Blk(E(N("y"))), Blk(E(N("z"))))),)
    assert stmts("if a {\n} \n\n# note\nelse {\n  y\n}") == (
        ("If", N("a"), Blk(), Blk(E(N("y")))),)
    assert stmts("if (a) { }") == (("If", N("a"), Blk(), None),)
    assert stmts("if x == {} { }") == (("If", B("==", N("x"), ("MapLit", ())), Blk(), None),)


def test_loops_and_jumps():
    assert stmts("while i < 3 { i += 1; if i { break } else { continue } }") == (
        ("While", B("<", N("i"), L(3)), Blk(
            ("Assign", N("i"), "+", L(1)),
            ("If", N("i"), Blk(("Break",)), Blk(("Continue",))))),)
    assert stmts("for x in xs { }") == (("For", ("x",), N("xs"), Blk()),)
    assert stmts('for k, v in {"a": 1} { print(k) }') == (
        ("For", ("k", "v"), ("MapLit", ((L("a"), L(1)),)), Blk(E(Call(N("print"), N("k"))))),)


def test_return_forms():
    body = lambda src: shape(stmt(src).body.body)  # noqa: E731
    assert body("fn f() { return }") == (("Return", None),)
    assert body("fn f() { return\n}") == (("Return", None),)
    assert body("fn f() { return; x }") == (("Return", None), E(N("x")))
    assert body("fn f() {\n  return\n  x\n}") == (("Return", None), E(N("x")))
    assert body("fn f() { return {} }") == (("Return", ("MapLit", ())),)
    assert body("fn f() { return a +\n b }") == (("Return", B("+", N("a"), N("b"))),)


def test_try_throw_assert():
    assert stmts("try { throw \"x\" } catch err { }") == (
        ("Try", Blk(("Throw", L("x"))), "err", Blk()),)
    assert stmts("try { }\ncatch { }") == (("Try", Blk(), None, Blk()),)
    assert stmts('assert a\nassert a == 1, "msg"') == (
        ("Assert", N("a"), None), ("Assert", B("==", N("a"), L(1)), L("msg")))


# ---------------------------------------------------------------- newlines

@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=",
                                ">", ">=", "??", "and", "or", "in", "not in"])
def test_newline_after_a_binary_operator_continues(op):
    node = stmt(f"x = a {op}\n\n   # comment\n  b")
    assert isinstance(node, n.Assign) and node.value.span.end_line == 4


@pytest.mark.parametrize("source", [
    "x = c ?\n a :\n b", "x =\n 1", "f(a,\n b)", "x = not\n a", "x = m.\n k",
    "let f = fn (x) =>\n x", "x = [\n 1,\n 2\n]", "x = {\n a: 1,\n\n b: 2\n}",
    "x = (\n 1\n +\n 2\n)", "f(\n k:\n 1\n)", "x[\n 1\n :\n 2\n]", "x += \n 1",
    "for k,\n v in\n m { }",
])
def test_continuation_lines(source):
    assert len(parse(source, "t").body) == 1


def test_newlines_separate_statements_in_blocks_and_files():
    assert stmts("\n\n# top\nx\n\n  y ; z;\n\n") == (E(N("x")), E(N("y")), E(N("z")))
    assert stmts("if a {\n\n  x\n  # c\n  y\n\n}") == (("If", N("a"), Blk(E(N("x")), E(N("y"))), None),)
    assert stmts("x;;;y") == (E(N("x")), E(N("y")))
    assert stmts("") == () and stmts("\n# only a comment\n") == ()


def test_block_inside_parentheses_keeps_its_newlines():
    node = expr("app(fn (req) {\n  let x = 1\n  return x\n}, 2)")
    assert len(node.args[0].body.body) == 2 and node.args[1] == n.Literal(node.args[1].span, 2)


def test_map_versus_block_braces():
    assert stmts('let f = fn (x) => {"v": x}\nfor k in {"a": 1} { }') == (
        ("Let", "f", ("FnExpr", (P("x"),), ("MapLit", ((L("v"), N("x")),)))),
        ("For", ("k",), ("MapLit", ((L("a"), L(1)),)), Blk()))
    assert stmts("x = c ? {} : {a: 1}") == (
        ("Assign", N("x"), None, C(N("c"), ("MapLit", ()), ("MapLit", ((L("a"), L(1)),)))),)
    assert stmts("while not {} { }") == (("While", U("not", ("MapLit", ())), Blk()),)
    assert stmts('if true {\n  {"a": 1}\n}') == (("If", L(True), Blk(E(("MapLit", ((L("a"), L(1)),)))), None),)
    assert stmts('throw {"code": 1}') == (("Throw", ("MapLit", ((L("code"), L(1)),))),)


def test_a_line_may_not_start_with_a_binary_operator():
    assert error("x = a\n  ?? b") == ("2:3: a line cannot start with '??': put the operator at "
                                      "the end of the previous line to continue it")
    assert error("x = a\n  .b") == ("2:3: a line cannot start with '.': put the operator at "
                                    "the end of the previous line to continue it")


# ---------------------------------------------------------------- route words and declarations

def test_route_words_are_names_outside_declarations():
    source = "\n".join([
        "let get = 1", "kv.get(x)", "m.delete(1)", "x.static", "m.test", "fn test() { }",
        "test()", "let static = any", "m.in", "m.on", "m.use", "m.type", "m.any",
        "m.map", "post = put + patch", "fn f(head) { return options }",
        "let group = 1", "group(1)", "static(\"/x\")",
    ])
    kinds = [type(s).__name__ for s in parse(source, "t").body]
    assert "Route" not in kinds and "Static" not in kinds and "Group" not in kinds
    assert shape(parse("m.test", "t").body[0].expr) == F(N("m"), "test")


def test_routes():
    assert stmts('get "/users/:id" (r) { return r }\nany "/x" { }\nPOST = 1') == (
        ("Route", "get", "/users/:id", "r", Blk(("Return", N("r")))),
        ("Route", "any", "/x", "req", Blk()),
        ("Assign", N("POST"), None, L(1)))
    for method in ("get", "post", "put", "patch", "delete", "head", "options", "any"):
        assert stmt(f"{method} '/' {{ }}").method == method


def test_route_spans():
    route = stmt('get "/u/:id" (req) {\n  return 1\n}')
    assert route.span == Span("t.script", 1, 1, 3, 2)
    assert route.path_span == Span("t.script", 1, 5, 1, 13)
    assert route.param_span == Span("t.script", 1, 15, 1, 18)
    default = stmt('get "/" { }')
    assert default.param == "req" and default.param_span == Span("t.script", 1, 1, 1, 4)


def test_other_declarations():
    source = "\n".join([
        "import json", "import json as j", 'import "./lib/users.script" as users',
        'static "/assets" "./public"',
        'group "/api" {', "  use auth", '  get "/me" { }', '  static "/s" "./s"',
        '  group "/v1" { post "/x" (q) { } }', "}",
        "use fn (req, next) { return next(req) }",
        "on start { }", "on stop { x() }", "on error (req, err) { return 1 }",
        'test "adds" { assert 1 + 1 == 2 }',
    ])
    assert stmts(source) == (
        ("Import", "json", None, "json"), ("Import", "json", None, "j"),
        ("Import", None, "./lib/users.script", "users"),
        ("Static", "/assets", "./public"),
        ("Group", "/api", (("Use", N("auth")), ("Route", "get", "/me", "req", Blk()),
                           ("Static", "/s", "./s"),
                           ("Group", "/v1", (("Route", "post", "/x", "q", Blk()),)))),
        ("Use", ("FnExpr", (P("req"), P("next")), Blk(("Return", Call(N("next"), N("req")))))),
        ("On", "start", (), Blk()), ("On", "stop", (), Blk(E(Call(N("x"))))),
        ("On", "error", (P("req"), P("err")), Blk(("Return", L(1)))),
        ("Test", "adds", Blk(("Assert", B("==", B("+", L(1), L(1)), L(2)), None))),
    )


@pytest.mark.parametrize("source, expected", [
    ('fn f() {\n  get "/x" { }\n}', "2:3: a route can only appear at the top level of a script or in a group"),
    ('if a { static "/a" "./b" }', "1:8: 'static' can only appear at the top level of a script or in a group"),
    ("fn f() { import json }", "1:10: 'import' can only appear at the top level of a script"),
    ("fn f() { on start { } }", "1:10: 'on' can only appear at the top level of a script"),
    ('fn f() { test "x" { } }', "1:10: 'test' can only appear at the top level of a script"),
    ("fn f() { use x }", "1:10: 'use' can only appear at the top level of a script or in a group"),
    ('group "/a" {\n  let x = 1\n}', "2:3: only routes, 'use', 'static' and groups can appear in a group"),
    ('group "/a" { on start { } }', "1:14: only routes, 'use', 'static' and groups can appear in a group"),
    ("on foo { }", "1:4: unknown event 'foo' (expected start, stop or error)"),
    ("on error (req, err = 1) { }", "1:22: parameters of 'on error' take no defaults"),
    ('get "/x" (1) { }', "1:11: expected a name after '('"),
    ('get "/x"', "1:9: unexpected end of file"),
    ('static "/x"', "1:12: unexpected end of file"),
    ("import 1", "1:8: unexpected number 1"),
    ('import "./x.script"', "1:20: unexpected end of file"),
    ("let if = 1", "1:5: expected a name after 'let'"),
    ('get "/x/${id}" { }', "1:5: this string cannot contain '${...}' (write '\\${' for a literal '${')"),
])
def test_declaration_errors(source, expected):
    assert error(source) == expected


# ---------------------------------------------------------------- spans

def test_spans_of_representative_nodes():
    module = parse("let total = price * 2 + fee(a, k: 1)\nfor i, x in xs { }\n", "app.script")
    let, loop = module.body
    assert let.span == Span("app.script", 1, 1, 1, 37)
    assert let.name_span == Span("app.script", 1, 5, 1, 10)
    binary = let.value
    assert binary.span == Span("app.script", 1, 13, 1, 37)
    assert binary.left.span == Span("app.script", 1, 13, 1, 22)
    call = binary.right
    assert call.span == Span("app.script", 1, 25, 1, 37)
    assert call.kwargs[0].span == Span("app.script", 1, 32, 1, 36)
    assert loop.name_spans == (Span("app.script", 2, 5, 2, 6), Span("app.script", 2, 8, 2, 9))
    assert module.span.line == 1 and module.source.startswith("let total")


def test_conformance_undefined_name_position():
    source = (CONFORMANCE / "11_undefined.script").read_text()
    fn = parse(source, "11_undefined.script").body[1]
    name = fn.body.body[0].value
    assert name == n.Name(Span("11_undefined.script", 2, 21, 2, 33), "missing_name")


def test_crlf_and_byte_order_mark():
    module = parse('\ufefflet s = """a\r\nb"""\r\nlet t = x\r\n', "w.script")
    assert module.body[0].value.value == "a\nb"
    assert module.body[1].value.span == Span("w.script", 3, 9, 3, 10)


def test_columns_count_code_points():
    node = stmt('let s = "héllo😀" + x').value
    assert node.left.span == Span("t.script", 1, 9, 1, 17)
    assert node.right.span == Span("t.script", 1, 20, 1, 21)


def test_every_conformance_case_parses_except_the_syntax_error():
    for path in sorted(CONFORMANCE.glob("*.script")):
        if path.name == "12_syntax.script":
            continue
        parse(path.read_text(), path.name)


# ---------------------------------------------------------------- syntax errors

SYNTAX_ERRORS = [
    ("let x = (1 + 2\nprint(x)", "2:1: expected ')' to close the '(' opened at 1:9"),
    ("if x {\n  let y = 1\n", "2:12: expected '}' to close the block opened at 1:6"),
    ("if x {\n  let y = [1,\n", "2:14: expected ']' to close the '[' opened at 2:11"),
    ("x = {a: 1,\n", "1:11: expected '}' to close the '{' opened at 1:5"),
    ("else { }", "1:1: unexpected 'else'"),
    ("x = 1\nelse { }", "2:1: unexpected 'else'"),
    ("try { } x = 1", "1:9: unexpected name 'x'"),
    ("catch { }", "1:1: unexpected 'catch'"),
    ("let x = 1 +", "1:12: expected an expression after '+'"),
    ("let x = 1 +\n\n", "1:12: expected an expression after '+'"),
    ("x = 1 + * 2", "1:9: expected an expression after '+'"),
    ("x = ", "1:4: expected an expression after '='"),
    ("if { }", "1:4: expected an expression after 'if'"),
    ("throw\nx", "1:6: expected an expression after 'throw'"),
    ("let x = 1 let y = 2", "1:11: expected a newline or ';' between statements"),
    ("print(x) print(y)", "1:10: expected a newline or ';' between statements"),
    ("if a { x = 1 y = 2 }", "1:14: expected a newline or ';' between statements"),
    ("let x = )", "1:9: unexpected ')'"),
    ("}", "1:1: unexpected '}'"),
    ("let x = (1]", "1:11: expected ')' to close the '(' opened at 1:9"),
    ("f(x", "1:4: expected ')' to close the '(' opened at 1:2"),
    ("f(x  # comment\n", "1:4: expected ')' to close the '(' opened at 1:2"),
    ("let 1 = 2", "1:5: expected a name after 'let'"),
    ("x.", "1:3: expected a name after '.'"),
    ("x.1", "1:3: expected a name after '.'"),
    ("for 1 in x { }", "1:5: expected a name after 'for'"),
    ("let x = @", "1:9: unexpected character '@'"),
    ("let x = 1 ! 2", "1:11: unexpected character '!'"),
    ("x = `a`", "1:5: unexpected character '`'"),
    ("x = é", "1:5: unexpected character 'é'"),
    ("x = (1;2)", "1:7: expected ')' to close the '(' opened at 1:5"),
    ("x = [;]", "1:6: unexpected ';'"),
    ("if a { } elif b { }", "1:10: expected a newline or ';' between statements"),
    ("x = 1 2", "1:7: expected a newline or ';' between statements"),
    ("fn f(x)\n{ }", "1:8: expected '{' on this line (a line break here ends the statement)"),
    ("if a\n{ }", "1:5: expected '{' on this line (a line break here ends the statement)"),
    ("fn f(x)", "1:8: unexpected end of file"),
    ("(" * 101, "1:101: nested too deeply (more than 100 levels of brackets)"),
    ("x = " + "not " * 3000 + "x", "1:1: the script is nested too deeply"),
]


@pytest.mark.parametrize("source, expected", SYNTAX_ERRORS)
def test_syntax_errors(source, expected):
    assert error(source) == expected


def test_the_conformance_syntax_case():
    source = (CONFORMANCE / "12_syntax.script").read_text()
    with pytest.raises(ErrorList) as info:
        parse(source, "12_syntax.script")
    assert str(info.value).startswith(
        "12_syntax.script:2:1: error: expected ')' to close the '(' opened at 1:9")


def test_errors_render_with_a_caret():
    with pytest.raises(ErrorList) as info:
        parse("let x = 1\nlet y = (2 +\n", "a.script")
    assert info.value.render("let x = 1\nlet y = (2 +\n") == (
        "a.script:2:13: error: expected an expression after '+'\n"
        "    let y = (2 +\n"
        "                ^")


def test_an_earlier_syntax_error_wins_over_a_later_lexical_one():
    assert error('let x = 1 2\nlet y = "unterminated') == \
        "1:11: expected a newline or ';' between statements"
    assert error('let x = 1\nlet y = "unterminated') == "2:9: unterminated string"


# ---------------------------------------------------------------- robustness

PROGRAM = '''\
import json
let users = {"ann": {"age": 30, tags: ["a", "b"]}}
fn age(name, default = 0) {
    let u = users[name] ?? (name == "" ? {} : nil)
    return u.age ?? default
}
get "/users/:name" (req) {
    let n = req.params.name
    if n not in users { abort(404) } else if n == "" { return nil }
    try { assert len(n) > 0, "empty" } catch err { throw err }
    for k, v in users[n] { print("${k}=${v}") }
    return json({"name": n, "age": age(n) * 2 ** -1, ok: not false})
}
group "/api" {
    use fn (req, next) { return next(req) }
    post "/x" { return [1, 2,][0:1] }
}
on error (req, err) { return text("""oops ${err.message}""", status: 500) }
test "age" { assert age("ann") == 30 }
'''


def test_the_robustness_program_parses():
    assert [type(s).__name__ for s in parse(PROGRAM, "p.script").body] == [
        "Import", "Let", "FnDecl", "Route", "Group", "On", "Test"]


def _check_errors_inside(source, info):
    lines = source.split("\n")
    for e in info.value.errors:
        assert 1 <= e.span.line <= len(lines), e
        assert 1 <= e.span.col <= len(lines[e.span.line - 1]) + 1, e


def test_every_prefix_parses_or_gives_a_positioned_error():
    for end in range(len(PROGRAM) + 1):
        prefix = PROGRAM[:end]
        try:
            parse(prefix, "p.script")
        except ErrorList as info:
            _check_errors_inside(prefix, pytest.ExceptionInfo.from_exc_info(
                (ErrorList, info, info.__traceback__)))


@pytest.mark.parametrize("garbage", [")", "}", "]", "else", "+", "= 1", "@", '"', "'''",
                                     "${", "fn", 'get "/x"', "x y", "\\", "\x00", "1e", "..."])
def test_trailing_garbage_gives_a_positioned_error(garbage):
    source = PROGRAM + garbage
    with pytest.raises(ErrorList) as info:
        parse(source, "p.script")
    _check_errors_inside(source, info)
    assert info.value.errors[0].span.line >= PROGRAM.count("\n") + 1


@pytest.mark.timeout(20)
@pytest.mark.parametrize("source", [
    "x = " + " " * 5000 + "@",
    "x = 1" + "\n" * 5000 + " " * 5000 + "@",
    "x = 1 #" + " " * 5000 + "\n" + "  # c  \n\n" * 2000 + "\t@",
    "if a { }" + "\n  # c\n" * 5000 + "elsewhere @",
])
def test_long_runs_of_blanks_and_comments_take_linear_time(source):
    """Regression: a backtracking blank-skipping regex took exponential time here."""
    with pytest.raises(ErrorList) as info:
        parse(source, "t")
    assert "unexpected" in info.value.errors[0].message


def test_the_ast_holds_only_nodes_and_plain_values():
    seen = set()

    def walk(value):
        if isinstance(value, n.Node):
            seen.add(type(value).__name__)
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, tuple):
            for item in value:
                walk(item)
        else:
            assert value is None or type(value) in (str, int, float, bool, Span), repr(value)

    walk(parse(PROGRAM + "x = 1; x[0] += 2; m.k = 3; while a { break; continue }", "p"))
    assert {"Route", "Group", "Use", "On", "Test", "Import", "Try", "Interpolated", "Slice",
            "Conditional", "Logical", "Keyword", "FnExpr", "FnDecl", "For", "While"} <= seen


def test_parses_in_parallel_threads():
    results, failures = [], []

    def work():
        try:
            for _ in range(20):
                results.append(shape(parse(PROGRAM, "p").body))
        except Exception as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(results) == 80 and all(r == results[0] for r in results)


# ---------------------------------------------------------------- the grammar cache

def test_grammar_has_no_lalr_conflicts():
    from lark import Lark
    from rtserve.lang.parser import _GRAMMAR_FILE, _FeedLexer
    Lark(_GRAMMAR_FILE.read_text(), parser="lalr", lexer=_FeedLexer,
         start=["module", "interp"], strict=True)


def _cached(directory):
    return sorted(p for p in directory.iterdir() if p.suffix == ".lark-cache")


def test_cache_is_written_once_and_reused(tmp_path):
    build_parser(cache_dir=tmp_path)
    files = _cached(tmp_path)
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    build_parser(cache_dir=tmp_path)
    assert _cached(tmp_path) == files and files[0].stat().st_mtime_ns == mtime


def test_a_corrupt_cache_is_rebuilt(tmp_path):
    build_parser(cache_dir=tmp_path)
    (cache,) = _cached(tmp_path)
    cache.write_bytes(cache.read_bytes()[:200])
    parser = build_parser(cache_dir=tmp_path)
    assert cache.stat().st_size > 200 and parser is not None


def test_unusable_cache_dir_still_builds(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    build_parser(cache_dir=missing)
    assert not missing.exists()


_CHILD = """
import sys
from rtserve.lang.parser import parse
m = parse('get "/" { return "ok" }', "x.script")
print(type(m.body[0]).__name__)
"""


def test_read_only_package_and_concurrent_first_starts(tmp_path):
    """Two processes start at once with an empty cache, from a read-only copy of `lang`."""
    package = tmp_path / "pkg"
    (package / "rtserve").mkdir(parents=True)
    (package / "rtserve" / "__init__.py").write_text("")
    subprocess.run(["cp", "-r", str(ROOT / "lang"), str(package / "rtserve" / "lang")], check=True)
    for path in package.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(package), "RT_CACHE_DIR": str(cache),
           "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        procs = [subprocess.Popen([sys.executable, "-c", _CHILD], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        assert [out.strip() for out, _ in outputs] == ["Route", "Route"]
        assert len(_cached(cache)) == 1
        # and a third start loads the cache
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "Route", out.stderr
    finally:
        for path in package.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


# ---------------------------------------------------------------- golden syntax errors

SYNTAX_CASES = ROOT / "tests" / "syntax"


@pytest.mark.parametrize("case", sorted(p.stem for p in SYNTAX_CASES.glob("*.script")))
def test_golden_syntax_error(case):
    """tests/syntax/NAME.script fails to parse with exactly the rendered NAME.err."""
    source = (SYNTAX_CASES / f"{case}.script").read_text()
    with pytest.raises(ErrorList) as info:
        parse(source, f"{case}.script")
    assert info.value.render(source) + "\n" == (SYNTAX_CASES / f"{case}.err").read_text()


def test_cache_dir_must_belong_to_the_user_alone(tmp_path, monkeypatch):
    from rtserve.lang.cache import cache_dir as _cache_dir
    private = tmp_path / "private"
    monkeypatch.setenv("RT_CACHE_DIR", str(private))
    assert _cache_dir() == private and (private.stat().st_mode & 0o777) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RT_CACHE_DIR", str(shared))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache_dir() == tmp_path / "xdg" / "rt"


def test_an_unexpected_multiline_string_is_quoted_on_one_line():
    """The message stays one `file:line:col: error:` line: a triple-quoted string is shown by
    its first line (found by tests/test_fuzz_lang.py's token soup)."""
    message = error('{ static\n"""t\nmore\n"""\n')
    assert "\n" not in message and message.endswith('unexpected string """t...')
