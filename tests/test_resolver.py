"""The resolver: every static error reported at its position, and scoping that compiles right."""
import pytest

from rtserve.lang.builtins import BUILTINS
from rtserve.lang.errors import ErrorList
from rtserve.lang.loader import Loader
from rtserve.lang.parser import parse
from rtserve.lang.resolver import resolve


def errors_of(source: str) -> list[str]:
    try:
        resolve(parse(source, "t.script"), BUILTINS)
    except ErrorList as e:
        return [f"{err.span.line}:{err.span.col} {err.message}" for err in e.errors]
    return []


def run(source: str) -> dict:
    return Loader().load("/tmp/rt_resolver_case.script", source=source).exports


@pytest.mark.parametrize("source, expected", [
    ("print(nope)", "1:7 undefined name 'nope'"),
    ("x = 1", "1:1 assignment to undeclared name 'x' (declare it with 'let')"),
    ("len = 1", "1:1 cannot assign to builtin 'len'"),
    ("import json\njson = 1", "2:1 cannot assign to imported module 'json'"),
    ("let a = 1\nlet a = 2", "2:5 'a' is already declared in this block (at 1:5)"),
    ("fn f(a, a) { }", "1:9 duplicate parameter 'a'"),
    ("break", "1:1 'break' outside a loop"),
    ("while true { fn f() { continue } }", "1:23 'continue' outside a loop"),
    ("return 1", "1:1 'return' outside a function"),
    ("fn f() { print(y); let y = 1 }", "1:16 'y' is used before its declaration at 1:24"),
    ("for i in [1] { }\nprint(i)", "2:7 undefined name 'i'"),
    ("try { } catch e { }\nprint(e)", "2:7 undefined name 'e'"),
])
def test_each_static_error(source, expected):
    assert expected in errors_of(source)


def test_every_error_is_reported_not_only_the_first():
    found = errors_of("print(a)\nprint(b)\nfn f() { return c }\nbreak")
    assert [e.split()[0] for e in found] == ["1:7", "2:7", "3:17", "4:1"]


def test_clean_script_has_no_errors():
    assert errors_of("let x = 1\nfn f(y) { return x + y }\nprint(f(2))") == []


def test_functions_see_later_top_level_names_and_each_other():
    ex = run("fn a() { return b() + LATER }\nfn b() { return 1 }\nlet LATER = 10\nlet r = a()")
    assert ex["r"] == 11


def test_shadowing_in_sibling_blocks_keeps_outer_reference_right():
    ex = run("let x = 'outer'\nfn f() {\n  if true { let x = 'inner' }\n  return x\n}\nlet r = f()")
    assert ex["r"] == "outer"


def test_names_that_are_python_keywords_work():
    ex = run("let class = 1\nlet None = 2\nfn def(lambda = 3) { return lambda }\nlet r = [class, None, def(), def(lambda: 4)]")
    assert ex["r"] == [1, 2, 3, 4]


def test_top_level_cannot_be_reassigned_after_load():
    ex = run("let count = 0\nfn bump() { count += 1; return count }\nlet during_load = bump()")
    assert ex["during_load"] == 1
    from rtserve.lang.errors import ScriptError
    with pytest.raises(ScriptError, match="cannot reassign top-level binding 'count'"):
        ex["bump"]()


def test_a_closure_frozen_at_load_cannot_change_what_it_captured():
    from rtserve.lang.errors import ScriptError
    ex = run("fn make() {\n  let n = 0\n  return fn () { n += 1; return n }\n}\n"
             "let counter = make()\nlet during_load = [counter(), counter()]\n"
             "fn fresh() { let k = make(); return [k(), k()] }")
    assert ex["during_load"] == [1, 2]
    with pytest.raises(ScriptError, match="cannot reassign 'n'"):
        ex["counter"]()
    assert ex["fresh"]() == [1, 2]  # closures made after load are fresh and mutable


def test_int_inference_only_trusts_variables_that_hold_ints():
    # `total` and `i` hold only ints (native arithmetic); `s` once holds a string, so its
    # `+` keeps the size check, and `x /= 2` makes a float.
    ex = run("fn f() {\n  let total = 0\n  let i = 0\n  while i < 5 { total += i; i += 1 }\n"
             "  let s = 0\n  s = 'ab'\n  s = s + s\n  let x = 4\n  x /= 2\n"
             "  return [total, s, x, x == 2, true == 1]\n}")
    assert ex["f"]() == [10, "abab", 2.0, True, False]


def test_doubling_a_string_held_by_a_once_int_variable_still_hits_the_size_cap():
    from rtserve.lang.errors import LimitError
    with pytest.raises(LimitError):
        run("let s = 0\ns = 'ab'\nwhile true { s = s + s }")
