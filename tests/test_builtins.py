"""lang.builtins: every global builtin and every method, their argument errors, the size caps,
`call_method` dispatch, and the safety of `format`."""
import pytest

import rtserve.lang.builtins as builtins_module
import rtserve.lang.values as values_module
from rtserve.lang.builtins import BUILTINS, call_method, set_print_sink
from rtserve.lang.errors import Abort, LimitError, ScriptError
from rtserve.lang.values import ErrorValue, FrozenList, FrozenMap, Module, Response, freeze
import rtserve.runtime.scripts.record  # noqa: F401 - installs HTTP's answer rules into lang

B = BUILTINS


def script_error(kind: str, match: str = ""):
    """pytest.raises for a ScriptError of `kind` whose message contains `match`."""
    class _Checker:
        def __enter__(self):
            self.raises = pytest.raises(ScriptError, match=match)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.raises.__exit__(*exc)  # False: another exception propagates
            if suppressed:
                assert self.info.value.kind == kind, self.info.value
            return suppressed
    return _Checker()


@pytest.fixture
def small_limits(monkeypatch):
    """MAX_SIZE of 10, so the caps can be reached without building 16 MiB values."""
    monkeypatch.setattr(values_module, "MAX_SIZE", 10)
    for job in (builtins_module.strings, builtins_module.lists, builtins_module.maps):
        monkeypatch.setattr(job, "MAX_SIZE", 10)


@pytest.fixture
def printed():
    lines = []
    previous = set_print_sink(lines.append)
    yield lines
    set_print_sink(previous)


def test_the_global_names_are_exactly_the_spec_list():
    spec = ("print len str int float bool type range min max sum abs round sorted reversed "
            "enumerate zip keys values items list map any all error response json html text "
            "redirect abort").split()
    assert sorted(B) == sorted(spec)
    for name, fn in B.items():
        assert fn.__name__ == name


# --- print / str / type / bool --------------------------------------------------------------

def test_print_joins_with_spaces_through_the_sink(printed):
    B["print"]("a", 1, [1, "a"], {"a": 1}, None, True)
    B["print"]()
    assert printed == ['a 1 [1, "a"] {"a": 1} nil true', ""]


def test_print_default_sink_writes_lines_to_stdout(capsys):
    B["print"]("hello", 2)
    assert capsys.readouterr().out == "hello 2\n"


def test_str_type_bool():
    assert B["str"](10) == "10" and B["str"]("s") == "s" and B["str"]([1, "a"]) == '[1, "a"]'
    assert B["type"](True) == "bool" and B["type"](B["len"]) == "function"
    assert [B["bool"](v) for v in (None, False, 0, 0.0, "", [], {}, 1, "x", [0], {"a": None})] == \
        [False] * 7 + [True] * 4


# --- len / int / float -----------------------------------------------------------------------

def test_len():
    assert B["len"]("héllo") == 5 and B["len"]([1, 2]) == 2 and B["len"]({"a": 1}) == 1
    assert B["len"](b"ab") == 2 and B["len"](FrozenList([1])) == 1
    with script_error("TypeError", "len\\(\\) takes a string, list, map or bytes, not int"):
        B["len"](1)
    with script_error("TypeError", "not nil"):
        B["len"](None)


def test_int():
    assert B["int"]("42") == 42 and B["int"](" -7 ") == -7 and B["int"]("1_000") == 1000
    assert B["int"](3.9) == 3 and B["int"](-3.9) == -3 and B["int"](True) == 1 and B["int"](5) == 5
    for bad in ("0x1f", "1.5", "", "abc", "١٢", "1e3", "--1"):
        with script_error("ValueError", "cannot parse"):
            B["int"](bad)
    with script_error("ValueError", "cannot convert inf"):
        B["int"](float("inf"))
    with script_error("TypeError", "int\\(\\) takes a number, bool or string, not list"):
        B["int"]([])
    with pytest.raises(LimitError):
        B["int"]("9" * 2000)
    with pytest.raises(LimitError):
        B["int"]("9" * 1250)  # parses, but is over 4096 bits


def test_float():
    assert B["float"]("1.5") == 1.5 and B["float"](" -2e3 ") == -2000.0 and B["float"](3) == 3.0
    assert B["float"]("inf") == float("inf") and B["float"](".5") == 0.5 and B["float"](False) == 0.0
    for bad in ("x", "1.5.5", "", "0x10", "1_0"):
        with script_error("ValueError", "cannot parse"):
            B["float"](bad)
    with script_error("TypeError", "float\\(\\) takes"):
        B["float"](None)
    with script_error("ValueError", "too large"):
        B["float"](10 ** 400)


# --- numbers ---------------------------------------------------------------------------------

def test_abs_round_sum():
    assert B["abs"](-3) == 3 and B["abs"](-2.5) == 2.5
    assert B["round"](2.567, 2) == 2.57 and B["round"](2.5) == 2 and B["round"](3.7) == 4
    assert type(B["round"](3.7)) is int and B["round"](1234, -2) == 1200
    assert B["sum"]([1, 2, 3]) == 6 and B["sum"]([0.5, 1]) == 1.5 and B["sum"]([], 10) == 10
    with script_error("TypeError", "abs\\(\\) takes a number, not string"):
        B["abs"]("1")
    with script_error("TypeError", "abs\\(\\) takes a number, not bool"):
        B["abs"](True)
    with script_error("TypeError", "round"):
        B["round"](1.5, 1.5)
    assert B["round"](1.5, 10 ** 30) == 1.5
    with script_error("ValueError", "cannot round inf"):
        B["round"](float("inf"))
    with script_error("TypeError", "list of numbers, not a list containing string"):
        B["sum"]([1, "a"])
    with pytest.raises(LimitError):
        B["sum"]([2 ** 4095, 2 ** 4095])


def test_min_max():
    assert B["min"]([4, 2, 8]) == 2 and B["max"](4, 9) == 9 and B["max"]("b", "a", "c") == "c"
    assert B["min"]([[1, 2], [1], [0, 9]]) == [0, 9] and B["max"]([1, 2.5]) == 2.5
    assert B["min"](["bb", "a"], key=len) == "a" and B["max"]([[1], [1, 0]], key=lambda x: x) == [1, 0]
    with script_error("ValueError", "min\\(\\) of an empty list"):
        B["min"]([])
    with script_error("TypeError", "cannot compare int with string"):
        B["max"]([1, "a"])
    assert B["max"]([True, False]) is True and B["min"]([True, 0.5]) == 0.5  # bools order as 0 and 1
    with script_error("TypeError", "cannot compare bool with string"):
        B["max"]([True, "a"])
    with script_error("TypeError", "min\\(\\) takes a list or at least two values"):
        B["min"]()
    with script_error("TypeError", "key must be a function"):
        B["min"]([1, 2], key=3)


# --- lists and iteration ---------------------------------------------------------------------

def test_range():
    assert B["range"](5) == [0, 1, 2, 3, 4] and B["range"](2, 10, 3) == [2, 5, 8]
    assert B["range"](5, 0, -2) == [5, 3, 1] and B["range"](0) == []
    with script_error("ValueError", "step must not be zero"):
        B["range"](1, 5, 0)
    with script_error("TypeError", "range\\(\\) takes ints, not float"):
        B["range"](1.5)
    with script_error("TypeError", "not bool"):
        B["range"](True)


def test_range_refuses_huge_lengths_before_allocating():
    with pytest.raises(LimitError, match="list too large"):
        B["range"](10 ** 9)
    with pytest.raises(LimitError, match="list too large"):
        B["range"](-10 ** 30, 10 ** 30)


def test_sorted_reversed():
    assert B["sorted"]([3, 1, 2]) == [1, 2, 3] and B["sorted"](["b", "a"]) == ["a", "b"]
    assert B["sorted"]([3, 1, 2], reverse=True) == [3, 2, 1]
    assert B["sorted"](["ccc", "a", "bb"], key=len) == ["a", "bb", "ccc"]
    assert B["sorted"]([[2, "x"], [1, "y"]]) == [[1, "y"], [2, "x"]]
    assert B["sorted"]([[1, "b"], [0, "a"], [1, "a"]], key=lambda p: p[0]) == [[0, "a"], [1, "b"], [1, "a"]]
    assert B["sorted"]("cab") == ["a", "b", "c"] and B["sorted"]({"b": 1, "a": 2}) == ["a", "b"]
    frozen = FrozenList([2, 1])
    assert B["sorted"](frozen) == [1, 2] and frozen == [2, 1] and type(B["sorted"](frozen)) is list
    with script_error("TypeError", "cannot compare"):
        B["sorted"]([1, "a"])
    with script_error("TypeError", "cannot compare"):
        B["sorted"]([None, None])
    with script_error("TypeError", "reverse must be a bool"):
        B["sorted"]([1], reverse=1)
    with script_error("TypeError", "sorted\\(\\) takes a list, string or map, not int"):
        B["sorted"](5)
    assert B["reversed"]([1, 2, 3]) == [3, 2, 1] and B["reversed"]("ab") == ["b", "a"]
    assert type(B["reversed"](FrozenList([1]))) is list
    with script_error("TypeError", "reversed"):
        B["reversed"](None)


def test_enumerate_zip_list():
    assert B["enumerate"](["x", "y"]) == [[0, "x"], [1, "y"]]
    assert B["enumerate"](["x"], 1) == [[1, "x"]]
    assert B["zip"]([1, 2], ["a", "b"]) == [[1, "a"], [2, "b"]] and B["zip"]([1, 2, 3], "ab") == [[1, "a"], [2, "b"]]
    assert B["zip"]() == []
    assert B["list"]("ab") == ["a", "b"] and B["list"]({"k": 1}) == ["k"] and B["list"]() == []
    copied = FrozenList([1])
    assert type(B["list"](copied)) is list and B["list"](copied) is not copied
    with script_error("TypeError", "zip\\(\\) takes a list, string or map, not int"):
        B["zip"]([1], 2)
    with script_error("TypeError", "list\\(\\) takes"):
        B["list"](3)


def test_keys_values_items():
    m = {"x": 1, "y": 2}
    assert B["keys"](m) == ["x", "y"] and B["values"](m) == [1, 2] and B["items"](m) == [["x", 1], ["y", 2]]
    assert B["keys"](FrozenMap(m)) == ["x", "y"]
    for name in ("keys", "values", "items"):
        with script_error("TypeError", f"{name}\\(\\) takes a map, not list"):
            B[name]([1])


def test_map_applies_a_function_or_builds_a_map():
    assert B["map"](lambda x: x * 2, [1, 2]) == [2, 4]
    assert B["map"](B["str"], "ab") == ["a", "b"]
    assert B["map"]() == {}
    assert B["map"]([["a", 1], [2, None]]) == {"a": 1, 2: None}
    assert B["map"](B["items"]({"a": 1})) == {"a": 1}
    source = FrozenMap({"a": 1})
    assert type(B["map"](source)) is dict and B["map"](source) == source
    with script_error("TypeError", "list of \\[key, value\\] pairs"):
        B["map"]([[1, 2, 3]])
    with script_error("TypeError", "map key must be"):
        B["map"]([[[1], 2]])
    with script_error("TypeError", "map\\(\\) takes"):
        B["map"](1, 2, 3)
    with script_error("TypeError", "map\\(\\) takes a list of"):
        B["map"](5)


def test_any_all():
    assert B["any"]([0, 1]) is True and B["all"]([1, 0]) is False
    assert B["any"]([]) is False and B["all"]([]) is True and B["any"]("a") is True
    with script_error("TypeError", "any"):
        B["any"](None)


# --- errors and responses --------------------------------------------------------------------

def test_error_builds_an_error_value():
    err = B["error"]("bad input")
    assert (err.kind, err.message, err.value) == ("UserError", "bad input", None)
    err = B["error"]("nope", kind="ValueError", value={"field": "x"})
    assert (err.kind, err.value) == ("ValueError", {"field": "x"})
    with script_error("TypeError", "string message"):
        B["error"](5)
    with script_error("TypeError", "kind must be a name"):
        B["error"]("x", kind="not a name")
    with script_error("ValueError", "reserved"):
        B["error"]("x", kind="LimitError")


def test_response_builders():
    r = B["response"]("hi", status=201, headers={"X-Trace": "1", "x-n": 5}, type="text/csv")
    assert (r.status, r.body) == (201, "hi")
    assert r.headers == {"x-trace": "1", "x-n": "5", "content-type": "text/csv"}
    assert B["response"]().status == 200 and B["response"]().headers == {} and B["response"]().body is None
    j = B["json"]({"a": 1}, status=202)
    assert (j.status, j.headers, j.body) == (202, {"content-type": "application/json"}, {"a": 1})
    h = B["html"]("<b>x</b>")
    assert (h.status, h.headers["content-type"], h.body) == (200, "text/html; charset=utf-8", "<b>x</b>")
    t = B["text"]("plain", status=404)
    assert (t.status, t.headers["content-type"]) == (404, "text/plain; charset=utf-8")
    redirect = B["redirect"]("/login")
    assert (redirect.status, redirect.headers, redirect.body) == (302, {"location": "/login"}, None)
    assert B["redirect"]("/x", status=301).status == 301


def test_response_builders_validate():
    with script_error("TypeError", "an int status"):
        B["json"](1, status="200")
    with script_error("ValueError", "between 200 and 599"):
        B["response"]("x", status=99)
    for informational in (100, 101, 199):  # a 1xx would pair pipelined answers wrongly
        with script_error("ValueError", "between 200 and 599"):
            B["abort"](informational)
    with script_error("ValueError", "between 200 and 599"):  # no interim statuses
        B["json"](1, status=101)
    with script_error("ValueError", "between 300 and 399"):
        B["redirect"]("/x", status=200)
    with script_error("TypeError", "headers must be a map"):
        B["response"]("x", headers=[1])
    with script_error("TypeError", "header name"):
        B["response"]("x", headers={1: "a"})
    with script_error("TypeError", "must be a string, a number or a list of strings"):
        B["response"]("x", headers={"a": [1]})
    with script_error("TypeError", "must be a string, a number or a list of strings, not map"):
        B["response"]("x", headers={"a": {}})
    # a list of strings is one field line each (several set-cookie; STDLIB.md)
    assert B["response"]("x", headers={"Set-Cookie": ["a=1", "b=2"]}).headers == {"set-cookie": ["a=1", "b=2"]}
    with script_error("TypeError", "html\\(\\) takes a string, not int"):
        B["html"](5)
    with script_error("TypeError", "text\\(\\) takes a string"):
        B["text"](None)
    with script_error("TypeError", "unexpected named argument 'colour'"):
        try:
            B["json"](1, colour=2)
        except TypeError as exc:  # Python's own argument check, as compiled code would see it
            raise values_module.translate_exception(exc) from None


def test_abort_raises_uncatchable_abort():
    with pytest.raises(Abort) as info:
        B["abort"](404, {"error": "missing"})
    assert (info.value.status, info.value.body) == (404, {"error": "missing"})
    assert not isinstance(info.value, Exception)  # `try` in scripts catches Exception only
    with script_error("ValueError", "between 200 and 599"):
        B["abort"](42)
    with script_error("ValueError", "between 200 and 599"):
        B["abort"](100)


# --- string methods --------------------------------------------------------------------------

@pytest.mark.parametrize("receiver, name, args, kwargs, result", [
    ("abc", "upper", (), {}, "ABC"), ("ABC", "lower", (), {}, "abc"),
    ("  pad ", "strip", (), {}, "pad"), ("xxaxx", "strip", ("x",), {}, "a"),
    ("  a ", "lstrip", (), {}, "a "), ("  a ", "rstrip", (), {}, "  a"),
    ("a,b,c", "split", (",",), {}, ["a", "b", "c"]), ("a b  c", "split", (), {}, ["a", "b", "c"]),
    ("a,b,c", "split", (",", 1), {}, ["a", "b,c"]),
    ("-", "join", (["x", "y"],), {}, "x-y"), ("", "join", ([],), {}, ""), (",", "join", ("ab",), {}, "a,b"),
    ("Hello World", "replace", ("World", "There"), {}, "Hello There"),
    ("aaa", "replace", ("a", "b", 2), {}, "bba"),
    ("abc", "startswith", ("ab",), {}, True), ("abc", "startswith", (["x", "a"],), {}, True),
    ("abc", "endswith", ("bc",), {}, True), ("abc", "endswith", ("b",), {}, False),
    ("abcabc", "find", ("c",), {}, 2), ("abcabc", "find", ("c", 3), {}, 5), ("abc", "find", ("z",), {}, -1),
    ("abcabc", "count", ("b",), {}, 2),
    ("123", "isdigit", (), {}, True), ("12a", "isdigit", (), {}, False), ("", "isdigit", (), {}, False),
    ("²", "isdigit", (), {}, False),
])
def test_string_methods(receiver, name, args, kwargs, result):
    assert call_method(receiver, name, *args, **kwargs) == result


@pytest.mark.parametrize("receiver, name, args, kind, match", [
    ("a", "split", ("",), "ValueError", "empty separator"),
    ("a", "split", (1,), "TypeError", "string.split\\(\\) takes a string, not int"),
    (",", "join", ([1, 2],), "TypeError", "list of strings, not a list containing int"),
    (",", "join", (5,), "TypeError", "join"),
    ("a", "replace", (1, "b"), "TypeError", "takes a string"),
    ("a", "startswith", (1,), "TypeError", "a string or a list of strings"),
    ("a", "find", ("a", 1.5), "TypeError", "int"),
    ("a", "strip", (1,), "TypeError", "takes a string"),
    ("a", "upper", (1,), "TypeError", "string.upper\\(\\) takes 0 arguments but 1 was given"),
    ("a", "find", (), "TypeError", "missing 1 required positional argument"),
    ("a", "nope", (), "TypeError", "string has no method 'nope'"),
    ("a", "__class__", (), "TypeError", "string has no method '__class__'"),
])
def test_string_method_errors(receiver, name, args, kind, match):
    with script_error(kind, match):
        call_method(receiver, name, *args)


def test_string_building_methods_check_size_first(small_limits):
    with pytest.raises(LimitError, match="string too large"):
        call_method(",", "join", ["aaaa", "bbbb", "cc"])
    assert call_method(",", "join", ["aaa", "bbb", "c"]) == "aaa,bbb,c"
    with pytest.raises(LimitError, match="string too large"):
        call_method("aaaa", "replace", "a", "xyz")
    with pytest.raises(LimitError, match="string too large"):
        call_method("ab", "replace", "", "----")
    assert call_method("aaaa", "replace", "a", "xyz", 1) == "xyzaaa"
    with pytest.raises(LimitError, match="string too large"):
        call_method("{}{}{}", "format", "abcd", "efgh", "ijkl")


def test_replace_checks_size_on_real_limit():
    big = "a" * (1024 * 1024)
    with pytest.raises(LimitError):
        call_method(big, "replace", "a", "a" * 17)


# --- format ----------------------------------------------------------------------------------

@pytest.mark.parametrize("template, args, kwargs, result", [
    ("x={} y={}", (1, "two"), {}, "x=1 y=two"),
    ("{1}-{0}-{1}", ("a", "b"), {}, "b-a-b"),
    ("{name} is {age}", (), {"name": "Ann", "age": 30}, "Ann is 30"),
    ("{{}} {{{}}}", (5,), {}, "{} {5}"),
    ("{} {} {}", ([1, "a"], None, True), {}, '[1, "a"] nil true'),
    ("{!r} {!s}", ("q", "q"), {}, '"q" q'),
    ("{:.2f}|{:>5}|{:<4}|{:05d}|{:,}", (3.14159, "ab", "x", 42, 1234567), {}, "3.14|   ab|x   |00042|1,234,567"),
    ("{0:x} {0:b}", (255,), {}, "ff 11111111"),
    ("{:^7}", ([1],), {}, "  [1]  "),
    ("no fields", (1,), {}, "no fields"),
    ("{template}", (), {"template": "t"}, "t"),
])
def test_format(template, args, kwargs, result):
    assert call_method(template, "format", *args, **kwargs) == result


@pytest.mark.parametrize("template, args, kind, match", [
    ("{0.__class__}", ("x",), "ValueError", "bad placeholder"),
    ("{0[0]}", (["x"],), "ValueError", "bad placeholder"),
    ("{.__init__.__globals__}", ("x",), "ValueError", "bad placeholder"),
    ("{", (), "ValueError", "single '\\{'"),
    ("}", (), "ValueError", "single '\\}'"),
    ("{} {0}", (1,), "ValueError", "cannot mix"),
    ("{} {}", (1,), "IndexError", "no argument 1"),
    ("{missing}", (), "KeyError", "no named argument"),
    ("{:d}", ("s",), "ValueError", "does not apply to string"),
    ("{:%Y}", (1,), "ValueError", "bad format spec"),
])
def test_format_errors(template, args, kind, match):
    with script_error(kind, match):
        call_method(template, "format", *args)


def test_format_refuses_huge_widths():
    with pytest.raises(LimitError):
        call_method("{:>99999999999}", "format", 1)
    with pytest.raises(LimitError):
        call_method("{:.999999999f}", "format", 1.5)


# --- list methods ----------------------------------------------------------------------------

def test_list_methods():
    xs = [3, 1, 2]
    assert call_method(xs, "append", 5) is None and xs == [3, 1, 2, 5]
    call_method(xs, "sort")
    assert xs == [1, 2, 3, 5]
    call_method(xs, "sort", reverse=True)
    assert xs == [5, 3, 2, 1]
    call_method(xs, "sort", key=lambda x: x % 3)
    assert xs == [3, 5, 2, 1] or xs == [3, 1, 5, 2]
    xs = [1, 2]
    call_method(xs, "extend", [3, 4])
    call_method(xs, "insert", 0, 0)
    assert xs == [0, 1, 2, 3, 4]
    assert call_method(xs, "pop") == 4 and call_method(xs, "pop", 0) == 0 and xs == [1, 2, 3]
    assert call_method(xs, "index", 2) == 1 and call_method(xs, "index", 2.0) == 1
    call_method(xs, "remove", 2)
    assert xs == [1, 3]
    call_method(xs, "reverse")
    assert xs == [3, 1]
    copy = call_method(xs, "copy")
    copy.append(9)
    assert xs == [3, 1] and copy == [3, 1, 9]


def test_list_methods_use_script_equality():
    xs = [True, 1]
    assert call_method(xs, "index", 1) == 1
    call_method(xs, "remove", 1)
    assert xs == [True] and type(xs[0]) is bool


@pytest.mark.parametrize("receiver, name, args, kind, match", [
    ([], "pop", (), "IndexError", "pop from an empty list"),
    ([1], "pop", (5,), "IndexError", "index out of range"),
    ([1], "pop", ("0",), "TypeError", "list.pop\\(\\) takes an int, not string"),
    ([1], "remove", (2,), "ValueError", "2 is not in the list"),
    ([1], "index", ([1],), "ValueError", "not in the list"),
    ([1], "insert", (1.5, 2), "TypeError", "int"),
    ([1], "extend", (5,), "TypeError", "list.extend\\(\\) takes a list, string or map, not int"),
    ([1, "a"], "sort", (), "TypeError", "cannot compare int with string"),
    ([1], "append", (), "TypeError", "missing 1 required positional argument"),
    ([1], "append", (1, 2), "TypeError", "list.append\\(\\) takes 1 argument but 2 were given"),
    ([1], "upper", (), "TypeError", "list has no method 'upper'"),
])
def test_list_method_errors(receiver, name, args, kind, match):
    with script_error(kind, match):
        call_method(receiver, name, *args)


def test_list_growth_is_capped(small_limits):
    xs = list(range(10))
    with pytest.raises(LimitError, match="list too large"):
        call_method(xs, "append", 1)
    with pytest.raises(LimitError, match="list too large"):
        call_method(xs, "insert", 0, 1)
    with pytest.raises(LimitError, match="list too large"):
        call_method([1], "extend", list(range(10)))
    assert len(xs) == 10


@pytest.mark.parametrize("name, args", [
    ("append", (1,)), ("extend", ([1],)), ("insert", (0, 1)), ("pop", ()), ("remove", (1,)),
    ("sort", ()), ("reverse", ()),
])
def test_frozen_list_mutating_methods_raise(name, args):
    xs = freeze([1, 2])
    with script_error("TypeError", "cannot mutate a frozen list"):
        call_method(xs, name, *args)
    assert xs == [1, 2]


def test_frozen_list_reading_methods_work():
    xs = freeze([2, 1])
    assert call_method(xs, "index", 1) == 1
    copy = call_method(xs, "copy")
    copy.append(3)
    assert type(copy) is list and copy == [2, 1, 3]


# --- map methods -----------------------------------------------------------------------------

def test_map_methods():
    m = {"x": 1, "y": 2}
    assert call_method(m, "get", "x") == 1 and call_method(m, "get", "zz") is None and call_method(m, "get", "zz", 0) == 0
    assert call_method(m, "keys") == ["x", "y"] and call_method(m, "values") == [1, 2]
    assert call_method(m, "items") == [["x", 1], ["y", 2]]
    assert call_method(m, "pop", "x") == 1 and m == {"y": 2}
    assert call_method(m, "pop", "zz", "dflt") == "dflt"
    call_method(m, "update", {"z": 3})
    assert call_method(m, "setdefault", "w", 0) == 0 and call_method(m, "setdefault", "w", 5) == 0
    assert m == {"y": 2, "z": 3, "w": 0}
    copy = call_method(m, "copy")
    copy["new"] = 1
    assert "new" not in m


def test_map_methods_win_over_keys_of_the_same_name():
    m = {"keys": "shadow", "get": 1}
    assert call_method(m, "keys") == ["keys", "get"]


@pytest.mark.parametrize("receiver, name, args, kind, match", [
    ({}, "pop", ("k",), "KeyError", 'key "k" not found'),
    ({}, "update", ([1],), "TypeError", "map.update\\(\\) takes a map, not list"),
    ({}, "setdefault", ([1],), "TypeError", "map key must be"),
    ({}, "nope", (), "TypeError", "map has no method 'nope'"),
    ({"n": 1}, "n", (), "TypeError", "'n' is not a function \\(it is int\\)"),
])
def test_map_method_errors(receiver, name, args, kind, match):
    with script_error(kind, match):
        call_method(receiver, name, *args)


def test_map_growth_is_capped(small_limits):
    m = {i: i for i in range(10)}
    with pytest.raises(LimitError, match="map too large"):
        call_method(m, "setdefault", "new", 1)
    with pytest.raises(LimitError, match="map too large"):
        call_method(m, "update", {"a": 1})
    call_method(m, "update", {1: "overlap"})  # no new keys: fine at the cap
    assert m[1] == "overlap"


@pytest.mark.parametrize("name, args", [("pop", ("a",)), ("setdefault", ("b", 1)), ("update", ({"b": 1},))])
def test_frozen_map_mutating_methods_raise(name, args):
    m = freeze({"a": 1})
    with script_error("TypeError", "cannot mutate a frozen map"):
        call_method(m, name, *args)
    assert m == {"a": 1}


def test_frozen_map_reading_methods_work():
    m = freeze({"a": [1]})
    assert call_method(m, "get", "a") == [1] and call_method(m, "keys") == ["a"]
    copy = call_method(m, "copy")
    copy["b"] = 2
    assert type(copy) is dict and "b" not in m


# --- call_method on map-like values ----------------------------------------------------------

def test_call_method_calls_functions_stored_in_maps_and_modules():
    handlers = {"double": lambda x: x * 2}
    assert call_method(handlers, "double", 21) == 42
    assert call_method(freeze({"f": B["len"]}), "f", "abc") == 3
    module = Module("tools", {"greet": lambda name, greeting="Hi": f"{greeting} {name}", "pi": 3.14})
    assert call_method(module, "greet", "Ann", greeting="Yo") == "Yo Ann"
    with script_error("TypeError", "module has no method 'nope'"):
        call_method(module, "nope")
    with script_error("TypeError", "'pi' is not a function"):
        call_method(module, "pi")
    with script_error("TypeError", "'kind' is not a function"):
        call_method(ErrorValue("TypeError", "m"), "kind")
    with script_error("TypeError", "'status' is not a function"):
        call_method(Response(), "status")


@pytest.mark.parametrize("receiver", [None, 1, 2.5, True, b"x", len])
def test_call_method_on_values_without_methods(receiver):
    with script_error("TypeError", "has no method 'get'"):
        call_method(receiver, "get", "x")


def test_method_errors_from_inside_callbacks_are_not_rewritten():
    def key(x):
        raise TypeError("sort() takes something odd")  # a TypeError that is not about arity

    with pytest.raises(TypeError, match="takes something odd"):
        call_method([1, 2], "sort", key=key)


