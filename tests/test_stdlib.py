"""stdlib: the json, time and math modules as scripts see them."""
import math as pymath
import time as pytime

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.values import Module, equals, freeze, repr_value
from rtserve.stdlib import modules
from rtserve.stdlib.json import encode_compact

MODULES = modules()
json = MODULES["json"].get
time = MODULES["time"].get
math = MODULES["math"].get


def test_modules_are_named_modules_of_named_functions():
    assert {"json", "math", "time"} <= set(MODULES)
    for name, module in MODULES.items():
        assert isinstance(module, Module) and module.name == name
    assert repr_value(json("encode")) == "<fn encode>" and repr_value(time("format")) == "<fn format>"
    assert repr_value(math("pow")) == "<fn pow>"
    assert MODULES["json"].get("__class__") is None  # members only, never attributes


# --- json ------------------------------------------------------------------------------------

def test_json_encode_is_compact_like_the_conformance_case():
    assert json("encode")({"a": [1, 2.5, True, None], "b": "x"}) == '{"a":[1,2.5,true,null],"b":"x"}'
    assert json("encode")('quote"d') == '"quote\\"d"'
    assert json("encode")("héllo ☃") == '"héllo ☃"'
    assert json("encode")(freeze({"k": [1, {"z": False}]})) == '{"k":[1,{"z":false}]}'
    assert json("encode")({1: "a", None: "b", 2.5: "c"}) == '{"1":"a","null":"b","2.5":"c"}'
    assert json("encode")([]) == "[]" and json("encode")(None) == "null"


def test_json_encode_with_indent():
    assert json("encode")({"a": [1]}, indent=2) == '{\n  "a": [\n    1\n  ]\n}'
    with pytest.raises(ScriptError, match="indent must be an int"):
        json("encode")(1, indent="  ")


@pytest.mark.parametrize("value, kind, match", [
    (float("nan"), "ValueError", "NaN or infinity"),
    ([float("inf")], "ValueError", "NaN or infinity"),
    ({"f": len}, "TypeError", "cannot encode function as JSON"),
    (b"bytes", "TypeError", "cannot encode bytes as JSON"),
    ({"e": None, "r": Module("m", {})}, "TypeError", "cannot encode module"),
])
def test_json_encode_refuses_what_json_cannot_hold(value, kind, match):
    with pytest.raises(ScriptError, match=match) as info:
        json("encode")(value)
    assert info.value.kind == kind


def test_json_encode_refuses_cycles():
    xs = [1]
    xs.append(xs)
    with pytest.raises(ScriptError, match="cyclic") as info:
        encode_compact(xs)
    assert info.value.kind == "ValueError"
    with pytest.raises(ScriptError, match="cyclic"):
        json("encode")(xs, indent=1)


def test_json_decode():
    value = json("decode")('{"k": [1, 2, {"z": false}], "f": 1.5, "n": null, "s": "\\u00e9"}')
    assert value == {"k": [1, 2, {"z": False}], "f": 1.5, "n": None, "s": "é"}
    assert type(value) is dict and type(value["k"]) is list  # fresh and mutable
    assert json("decode")(b'[1, "x"]') == [1, "x"]


@pytest.mark.parametrize("text, match", [
    ("{bad", "line 1 column 2"),
    ("[1,]", "line 1 column 4"),
    ("", "line 1 column 1"),
    ("NaN", "NaN is not valid JSON"),
    ("[Infinity]", "Infinity is not valid JSON"),
    ("1 2", "Extra data"),
    (b"\xff", "invalid UTF-8"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_json_decode_errors_name_the_position(text, match):
    with pytest.raises(ScriptError, match=match) as info:
        json("decode")(text)
    assert info.value.kind == "ValueError"


def test_json_decode_takes_text():
    with pytest.raises(ScriptError, match="json.decode\\(\\) takes a string, not int") as info:
        json("decode")(5)
    assert info.value.kind == "TypeError"


def test_json_encode_output_is_capped(monkeypatch):
    import rtserve.stdlib.json as json_module
    monkeypatch.setattr(json_module, "MAX_SIZE", 5)
    with pytest.raises(LimitError):
        encode_compact(["abcdef"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_json_round_trips(value):
    assert equals(json("decode")(json("encode")(value)), value)
    assert equals(json("decode")(json("encode")(freeze(value))), value)
    assert equals(json("decode")(json("encode")(value, indent=1)), value)


# --- time ------------------------------------------------------------------------------------

def test_time_now_and_monotonic():
    before = pytime.time()
    now = time("now")()
    assert type(now) is float and before - 1 <= now <= pytime.time() + 1
    first = time("monotonic")()
    assert time("monotonic")() >= first


def test_time_sleep_blocks_for_about_that_long():
    start = pytime.monotonic()
    assert time("sleep")(0.05) is None
    assert pytime.monotonic() - start >= 0.045
    time("sleep")(0)


@pytest.mark.parametrize("seconds, kind", [
    (-1, "ValueError"), (3601, "ValueError"), (float("nan"), "ValueError"),
    ("1", "TypeError"), (True, "TypeError"), (None, "TypeError"),
])
def test_time_sleep_refuses_bad_durations(seconds, kind):
    with pytest.raises(ScriptError) as info:
        time("sleep")(seconds)
    assert info.value.kind == kind


def test_time_format_is_utc():
    assert time("format")(0) == "1970-01-01T00:00:00Z"
    assert time("format")(1_700_000_000.7) == "2023-11-14T22:13:20Z"
    assert time("format")(86400, "%Y/%m/%d %H") == "1970/01/02 00"


@pytest.mark.parametrize("args, kind", [
    ((1e30,), "ValueError"), (("0",), "TypeError"), ((0, 5), "TypeError"),
    ((0, "%Y" * 1000), "ValueError"), ((float("nan"),), "ValueError"),
])
def test_time_format_errors(args, kind):
    with pytest.raises(ScriptError) as info:
        time("format")(*args)
    assert info.value.kind == kind


# --- math ------------------------------------------------------------------------------------

def test_math_functions():
    assert math("floor")(2.7) == 2 and type(math("floor")(2.7)) is int and math("floor")(-2.5) == -3
    assert math("ceil")(2.1) == 3 and math("ceil")(5) == 5
    assert math("sqrt")(16) == 4.0 and math("exp")(0) == 1.0
    assert math("log")(pymath.e) == pytest.approx(1.0) and math("log")(8, 2) == pytest.approx(3.0)
    assert math("sin")(0) == 0.0 and math("cos")(0) == 1.0 and math("pow")(2, 10) == 1024.0
    assert math("pi") == pymath.pi and math("e") == pymath.e and math("inf") == float("inf")


@pytest.mark.parametrize("name, args, kind, match", [
    ("sqrt", (-1,), "ValueError", "math.sqrt\\(-1\\): math domain error"),
    ("log", (0,), "ValueError", "math domain error"),
    ("log", (8, 1), "ValueError", "math.log"),
    ("exp", (1000,), "ValueError", "result out of range"),
    ("pow", (10.0, 400), "ValueError", "result out of range"),
    ("floor", (float("inf"),), "ValueError", "out of range"),
    ("floor", (float("nan"),), "ValueError", "math.floor"),
    ("sqrt", ("4",), "TypeError", "math.sqrt\\(\\) takes a number, not string"),
    ("cos", (True,), "TypeError", "not bool"),
    ("pow", (2, None), "TypeError", "not nil"),
])
def test_math_errors(name, args, kind, match):
    with pytest.raises(ScriptError, match=match) as info:
        math(name)(*args)
    assert info.value.kind == kind


def test_math_floor_and_ceil_of_the_largest_floats_are_ints():
    assert math("floor")(1.7e308) == int(1.7e308) and math("ceil")(-1e300) == int(-1e300)
