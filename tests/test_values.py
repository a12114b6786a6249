"""lang.values: frozen containers, freezing, type names, printing, equality, limits, and the
translation of Python exceptions into what scripts see."""
import json
import types

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang.compiler import P
from rtserve.lang.errors import Abort, DeadlineExceeded, LimitError, ScriptError
from rtserve.lang.values import (
    MAX_INT_BITS, MAX_SIZE, ErrorValue, FrozenList, FrozenMap, Module, Response, check_int,
    check_length, check_repeat, check_size, compare, equals, error_for_throw, freeze,
    freeze_all, repr_value, to_str, translate_exception, type_name,
)
import rtserve.runtime.scripts.record  # noqa: F401 - installs HTTP's answer rules into lang


def script_function(source: str, name: str, env: dict | None = None):
    """A Python function compiled from a `.script` file name, as the compiler makes them."""
    namespace = dict(env or {})
    exec(compile(source, "app.script", "exec"), namespace)
    return namespace[name]


# --- frozen containers ----------------------------------------------------------------------

LIST_MUTATIONS = {
    "append": lambda xs: xs.append(1),
    "extend": lambda xs: xs.extend([1]),
    "insert": lambda xs: xs.insert(0, 1),
    "pop": lambda xs: xs.pop(),
    "remove": lambda xs: xs.remove(1),
    "sort": lambda xs: xs.sort(),
    "reverse": lambda xs: xs.reverse(),
    "clear": lambda xs: xs.clear(),
    "setitem": lambda xs: xs.__setitem__(0, 9),
    "setslice": lambda xs: xs.__setitem__(slice(0, 1), [9]),
    "delitem": lambda xs: xs.__delitem__(0),
    "iadd": lambda xs: xs.__iadd__([1]),
    "imul": lambda xs: xs.__imul__(2),
}
MAP_MUTATIONS = {
    "update": lambda m: m.update({"b": 2}),
    "setdefault": lambda m: m.setdefault("b", 2),
    "pop": lambda m: m.pop("a"),
    "popitem": lambda m: m.popitem(),
    "clear": lambda m: m.clear(),
    "setitem": lambda m: m.__setitem__("a", 2),
    "delitem": lambda m: m.__delitem__("a"),
    "ior": lambda m: m.__ior__({"b": 2}),
}


@pytest.mark.parametrize("mutate", LIST_MUTATIONS.values(), ids=LIST_MUTATIONS.keys())
def test_every_frozen_list_mutator_raises_and_leaves_it_unchanged(mutate):
    xs = FrozenList([1, 2, 3])
    with pytest.raises(ScriptError) as info:
        mutate(xs)
    assert (info.value.kind, info.value.message) == ("TypeError", "cannot mutate a frozen list")
    assert xs == [1, 2, 3]


@pytest.mark.parametrize("mutate", MAP_MUTATIONS.values(), ids=MAP_MUTATIONS.keys())
def test_every_frozen_map_mutator_raises_and_leaves_it_unchanged(mutate):
    m = FrozenMap({"a": 1})
    with pytest.raises(ScriptError) as info:
        mutate(m)
    assert (info.value.kind, info.value.message) == ("TypeError", "cannot mutate a frozen map")
    assert m == {"a": 1}


def test_frozen_containers_read_like_list_and_dict():
    xs = FrozenList([3, 1, 2])
    m = FrozenMap({"a": 1})
    assert isinstance(xs, list) and isinstance(m, dict)
    assert xs[0] == 3 and xs[-1] == 2 and xs[1:] == [1, 2] and len(xs) == 3 and 1 in xs
    assert m.get("a") == 1 and m.get("zz") is None and list(m.items()) == [("a", 1)]
    assert json.dumps({"x": FrozenList([1, FrozenMap({"y": None})])}) == '{"x": [1, {"y": null}]}'
    fresh = xs.copy()
    fresh.append(4)
    assert type(fresh) is list and fresh == [3, 1, 2, 4]
    fresh_map = m.copy()
    fresh_map["b"] = 2
    assert type(fresh_map) is dict and fresh_map == {"a": 1, "b": 2}
    assert type(xs + [1]) is list  # operators build fresh, mutable values


def test_frozen_containers_survive_pickle_and_deepcopy():
    import copy
    import pickle
    value = freeze({"a": [1, {"b": 2}]})
    for clone in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
        assert type(clone) is FrozenMap and type(clone["a"]) is FrozenList and clone == value


# --- freeze ---------------------------------------------------------------------------------

def test_freeze_converts_nested_containers():
    value = {"a": [1, {"b": [2]}], "c": "s"}
    frozen = freeze(value)
    assert type(frozen) is FrozenMap
    assert type(frozen["a"]) is FrozenList and type(frozen["a"][1]) is FrozenMap
    assert type(frozen["a"][1]["b"]) is FrozenList
    assert frozen == value
    value["a"].append(3)  # the original stays mutable and separate
    assert len(frozen["a"]) == 2


def test_freeze_keeps_shared_values_shared():
    shared = [1, 2]
    frozen = freeze({"x": shared, "y": [shared, shared]})
    assert frozen["x"] is frozen["y"][0] is frozen["y"][1]


def test_freeze_keeps_cycles_cyclic():
    xs = [1]
    xs.append(xs)
    m = {"self": None}
    m["self"] = m
    frozen_list = freeze(xs)
    frozen_map = freeze(m)
    assert frozen_list[1] is frozen_list and type(frozen_list) is FrozenList
    assert frozen_map["self"] is frozen_map and type(frozen_map) is FrozenMap


def test_freeze_returns_scalars_and_frozen_values_as_is():
    for value in (None, True, 3, 2.5, "s", b"b", len):
        assert freeze(value) is value
    already = FrozenList([1])
    assert freeze(already) is already


def test_freeze_response_makes_a_frozen_copy():
    response = Response(201, {"x-a": "1"}, {"k": [1]})
    frozen = freeze(response)
    assert frozen is not response and frozen.frozen and not response.frozen
    assert type(frozen.headers) is FrozenMap and type(frozen.body["k"]) is FrozenList
    with pytest.raises(ScriptError, match="frozen response"):
        frozen["status"] = 500
    with pytest.raises(ScriptError, match="frozen map"):
        frozen.headers["x-b"] = "2"
    response["status"] = 500  # the original is untouched and still mutable
    assert frozen.status == 201


def test_freeze_function_freezes_captured_values_in_place():
    make = script_function(
        "def make():\n"
        "    items = [1, 2]\n"
        "    def add(x):\n"
        "        items.append(x)\n"
        "    return add, lambda: items\n", "make")
    add, read = make()
    add(3)
    assert freeze(add) is add
    with pytest.raises(ScriptError, match="cannot mutate a frozen list"):
        add(4)
    assert type(read()) is FrozenList and read() == [1, 2, 3]  # the cell is shared by both


def test_freeze_function_freezes_defaults_and_nested_functions():
    outer = script_function(
        "def make():\n"
        "    config = {'a': [1]}\n"
        "    def inner(): return config\n"
        "    def outer(x, opts=[1], *, extra={'k': 1}): return inner()\n"
        "    return outer\n", "make")()
    freeze(outer)
    assert type(outer.__defaults__[0]) is FrozenList
    assert type(outer.__kwdefaults__["extra"]) is FrozenMap
    assert type(outer(1)) is FrozenMap and type(outer(1)["a"]) is FrozenList


def test_freeze_function_handles_recursion_and_unbound_cells():
    make = script_function(
        "def make():\n"
        "    def f(n): return f(n - 1) if n else later\n"
        "    snapshot = f\n"
        "    return snapshot\n"
        "    later = [1]\n", "make")
    f = make()
    assert freeze(f) is f  # `f` captures itself; `later` is an unbound cell


def test_freeze_leaves_compiler_cells_and_python_functions_alone():
    make = script_function(
        "def make():\n"
        "    state = [0]\n"
        "    data = [1]\n"
        "    __mine = [2]\n"
        "    def f(): return state, data, __mine\n"
        "    return f\n", "make")
    f = make()
    # The compiler names its own cells with its prefix (lang/compiler.py P), which Python
    # source cannot spell (identifiers are NFKC-normalised): rename the cell in the code.
    names = tuple(P + n if n == "state" else n for n in f.__code__.co_freevars)
    f = types.FunctionType(f.__code__.replace(co_freevars=names), f.__globals__, "f", None, f.__closure__)
    freeze(f)
    state, data, mine = f()
    # Only the compiler's names (prefixed ᵣ) are exempt; a script's `__mine` is frozen too.
    assert type(state) is list and type(data) is FrozenList and type(mine) is FrozenList

    cache = {}

    def native():  # defined in a .py file: a builtin or native function
        return cache

    freeze(native)
    assert type(native()) is dict


def test_freeze_all_shares_one_memo_and_freezes_every_binding():
    shared = [1]
    frozen = freeze_all({"a": shared, "b": {"s": shared}, "__shared": [1]})
    assert frozen["a"] is frozen["b"]["s"]
    assert type(frozen["__shared"]) is FrozenList  # a script's name, however it is spelled


def test_closure_sees_frozen_list_after_freeze_all():
    captured = script_function(
        "def make():\n    items = [1, 2]\n    def add(x): items.append(x)\n    return add\n", "make")()
    frozen = freeze_all({"add": captured})
    with pytest.raises(ScriptError, match="cannot mutate a frozen list"):
        frozen["add"](3)


# --- type names -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, name", [
    (None, "nil"), (True, "bool"), (False, "bool"), (0, "int"), (1.5, "float"), ("s", "string"),
    (b"b", "bytes"), ([], "list"), (FrozenList(), "list"), ({}, "map"), (FrozenMap(), "map"),
    (len, "function"), (lambda: 1, "function"), (Response(), "response"),
    (ErrorValue("TypeError", "m"), "error"), (Module("json", {}), "module"),
])
def test_type_name(value, name):
    assert type_name(value) == name


# --- printing -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (None, "nil"), (True, "true"), (False, "false"), (42, "42"), (-7, "-7"), (2.5, "2.5"),
    (1e-05, "1e-05"), (float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"),
    ("a", '"a"'), ('q"\n\\é', '"q\\"\\n\\\\é"'), (b'a"\x00\n', 'b"a\\"\\x00\\n"'),
    ([1, "a"], '[1, "a"]'), ({"a": 1, 2: None}, '{"a": 1, 2: nil}'), ([], "[]"), ({}, "{}"),
    (FrozenList([FrozenMap({True: [1.5]})]), "[{true: [1.5]}]"),
    (Response(200), "<response 200>"), (ErrorValue("TypeError", "msg"), "<error TypeError: msg>"),
    (Module("json", {}), "<module json>"),
])
def test_repr_value(value, text):
    assert repr_value(value) == text


def test_to_str_shows_strings_bare_and_everything_else_as_repr():
    assert to_str("hi") == "hi"
    assert to_str([1, "a"]) == '[1, "a"]'
    assert to_str(None) == "nil"
    assert str(ErrorValue("ValueError", "bad")) == "ValueError: bad"


def test_functions_print_with_their_name():
    def greet():
        pass

    assert repr_value(greet) == "<fn greet>"
    assert to_str([len]) == "[<fn len>]"


def test_cycles_print_as_ellipsis():
    xs = [1]
    xs.append(xs)
    m = {"a": 1}
    m["self"] = m
    m["list"] = [m]
    assert repr_value(xs) == "[1, [...]]"
    assert repr_value(m) == '{"a": 1, "self": {...}, "list": [{...}]}'
    shared = [1]
    assert repr_value([shared, shared]) == "[[1], [1]]"  # shared is not cyclic


def ref_repr(v):
    """A simple reference printer for nil/bool/int/string/list/map values."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(ref_repr(x) for x in v) + "]"
    return "{" + ", ".join(f"{ref_repr(k)}: {ref_repr(x)}" for k, x in v.items()) + "}"


scalars = st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=8)
keys = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
nested = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(nested)
def test_repr_value_matches_reference_printer(value):
    assert repr_value(value) == ref_repr(value)


# --- equality and ordering ------------------------------------------------------------------

@pytest.mark.parametrize("a, b, same", [
    (1, 1.0, True), (True, 1, False), (False, 0, False), ([True], [1], False), (None, None, True),
    ("1", 1, False), ([1, [2]], [1, [2]], True), ([1], [2], False), ([1], [1, 1], False),
    ({"a": [1]}, FrozenMap({"a": FrozenList([1])}), True), ({1: "x"}, {True: "x"}, False),
    ({0: "x"}, {False: "x"}, False), ({1: "x"}, {1.0: "x"}, True), ({"a": 1}, {"b": 1}, False),
    (float("nan"), float("nan"), False), ([float("nan")], [float("nan")], False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True), (b"x", b"x", True), (b"x", "x", False),
    ([], {}, False), (len, len, True), (len, print, False),
])
def test_equals(a, b, same):
    assert equals(a, b) is same
    assert equals(b, a) is same


def test_equals_on_cyclic_identical_values_terminates():
    xs = [1]
    xs.append(xs)
    assert equals(xs, xs)


def ref_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def ref_equals(a, b):
    """Reference: same kind, then structural; map keys compared with their kind attached."""
    if ref_kind(a) != ref_kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(ref_equals(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        tagged_a = {(ref_kind(k), k): v for k, v in a.items()}
        tagged_b = {(ref_kind(k), k): v for k, v in b.items()}
        return tagged_a.keys() == tagged_b.keys() and all(ref_equals(v, tagged_b[k]) for k, v in tagged_a.items())
    return a == b


def perturb(value, choices):
    """A value equal or close to `value`: ints become floats, bools ints, lists frozen..."""
    choice = choices.draw(st.integers(0, 5))
    if isinstance(value, bool):
        return int(value) if choice == 0 else value
    if isinstance(value, int):
        return float(value) if choice == 0 and abs(value) < 2**50 else (value + 1 if choice == 1 else value)
    if isinstance(value, list):
        items = [perturb(x, choices) for x in value]
        return FrozenList(items) if choice == 0 else (items[:-1] if choice == 1 else items)
    if isinstance(value, dict):
        items = {k: perturb(v, choices) for k, v in value.items()}
        return FrozenMap(items) if choice == 0 else items
    return value


@settings(max_examples=300, deadline=None)
@given(nested, st.data())
def test_equals_matches_reference_on_near_values(value, data):
    other = perturb(value, data)
    assert equals(value, other) == ref_equals(value, other)


@settings(max_examples=150, deadline=None)
@given(nested, nested)
def test_equals_matches_reference_on_random_pairs(a, b):
    assert equals(a, b) == ref_equals(a, b)


@settings(max_examples=200, deadline=None)
@given(nested)
def test_freeze_preserves_equality(value):
    assert equals(freeze(value), value)
    assert repr_value(freeze(value)) == repr_value(value)


def test_compare_orders_numbers_strings_and_lists():
    assert compare(1, 2.5) == -1 and compare("b", "a") == 1 and compare(2, 2.0) == 0
    assert compare([1, 2], [1, 3]) == -1 and compare([1], [1, 0]) == -1 and compare([2], [1, 9]) == 1
    assert compare([None, 1], [None, 2]) == -1  # equal elements are skipped, as in Python
    assert compare(True, 1) == 0 and compare(False, 0.5) == -1  # a bool orders as 0 or 1
    for a, b in ((1, "a"), (True, "a"), (None, None), ({}, {}), ([1], ["a"])):
        with pytest.raises(ScriptError, match="cannot compare") as info:
            compare(a, b)
        assert info.value.kind == "TypeError"


# --- limits ---------------------------------------------------------------------------------

def test_check_int():
    assert check_int(2 ** MAX_INT_BITS - 1) == 2 ** MAX_INT_BITS - 1
    assert check_int(-(2 ** MAX_INT_BITS - 1)) < 0
    with pytest.raises(LimitError, match=r"integer too large \(over 4096 bits\)"):
        check_int(2 ** MAX_INT_BITS)


def test_check_size_and_length():
    assert check_size("abc") == "abc"
    check_length(MAX_SIZE, "string")
    with pytest.raises(LimitError, match=r"string too large \(over 16 MiB\)"):
        check_length(MAX_SIZE + 1, "string")
    with pytest.raises(LimitError, match="list too large"):
        check_length(MAX_SIZE + 1, "list")
    with pytest.raises(LimitError, match=r"bytes too large \(over 16 MiB\)"):
        check_repeat(b"ab", MAX_SIZE)
    check_repeat("ab", MAX_SIZE // 2)
    check_repeat("ab", -5)


def test_check_size_on_a_long_string():
    with pytest.raises(LimitError, match="string too large"):
        check_size("x" * (MAX_SIZE + 1))


# --- error values and responses -------------------------------------------------------------

def test_error_value_fields():
    err = ErrorValue("KeyError", "missing", {"k": 1})
    assert (err.get("kind"), err.get("message"), err.get("value")) == ("KeyError", "missing", {"k": 1})
    assert err.get("other") is None and err.get("other", 5) == 5
    caught = ErrorValue.from_error(ScriptError("TypeError", "bad"))
    assert (caught.kind, caught.message, caught.value) == ("TypeError", "bad", "bad")


def test_error_for_throw():
    thrown = error_for_throw("boom")
    assert (thrown.kind, thrown.message, thrown.value) == ("UserError", "boom", "boom")
    payload = {"code": 7}
    thrown = error_for_throw(payload)
    assert thrown.kind == "UserError" and thrown.value is payload and thrown.message == '{"code": 7}'
    thrown = error_for_throw(ErrorValue("ValueError", "nope", None))
    assert (thrown.kind, thrown.message) == ("ValueError", "nope")


def test_response_is_map_like():
    response = Response(200, {"content-type": "text/plain"}, "hi")
    assert response.get("status") == 200 and response["body"] == "hi" and response.get("nope") is None
    response["status"] = 201
    response["body"] = [1]
    response["headers"] = {"X-A": "1"}
    assert response.status == 201 and response.body == [1] and response.headers == {"x-a": "1"}
    assert "status" in response and "zz" not in response
    with pytest.raises(ScriptError, match="status must be between"):
        response["status"] = 1000
    with pytest.raises(ScriptError, match="status must be an int"):
        response["status"] = "200"
    with pytest.raises(ScriptError, match="headers must be a map"):
        response["headers"] = []
    with pytest.raises(ScriptError, match="no field"):
        response["colour"] = 1
    assert bool(Response()) is True


def test_module_members():
    module = Module("m", {"f": len, "pi": 3.14})
    assert module.get("f") is len and module.get("pi") == 3.14 and module.get("zz") is None


# --- translating Python exceptions ----------------------------------------------------------

def raised(operation):
    try:
        operation()
    except BaseException as exc:  # noqa: BLE001  (the point is to see every kind)
        return translate_exception(exc)
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize("operation, kind, message", [
    (lambda: 1 + "a", "TypeError", "unsupported operand types for +: 'int' and 'string'"),
    (lambda: "a" + 1, "TypeError", "cannot add int to string"),
    (lambda: None + 1, "TypeError", "unsupported operand types for +: 'nil' and 'int'"),
    (lambda: {} < {}, "TypeError", "'<' not supported between instances of 'map' and 'map'"),
    (lambda: FrozenList() < 1, "TypeError", "'<' not supported between instances of 'list' and 'int'"),
    (lambda: 1 // 0, "ValueError", "division by zero"),
    (lambda: 1.0 % 0, "ValueError", "division by zero"),
    (lambda: [1][5], "IndexError", "index out of range"),
    (lambda: {}["k"], "KeyError", 'key "k" not found'),
    (lambda: None.get("name"), "TypeError", "cannot read a field of nil"),
    (lambda: [1].get("name"), "TypeError", "list has no fields"),
    (lambda: int("x"), "ValueError", "invalid literal for int() with base 10: 'x'"),
    (lambda: 2.0 ** 5000, "ValueError", "number out of range ((34, 'Numerical result out of range'))"),
    (lambda: b"\xff".decode(), "ValueError", "invalid text encoding: invalid start byte"),
])
def test_translate_python_errors(operation, kind, message):
    translated = raised(operation)
    assert type(translated) is ScriptError
    assert (translated.kind, translated.message) == (kind, message)


def test_translate_limits_and_passthrough():
    def recurse():
        return recurse()

    assert type(raised(recurse)) is LimitError and raised(recurse).message == "call depth exceeded"
    assert type(translate_exception(MemoryError())) is LimitError
    for exc in (ScriptError("UserError", "x"), LimitError("steps"), DeadlineExceeded("late"), Abort(404)):
        assert translate_exception(exc) is exc
    odd = translate_exception(RuntimeError("strange"))
    assert (odd.kind, odd.message) == ("TypeError", "strange")
    interrupt = KeyboardInterrupt()
    assert translate_exception(interrupt) is interrupt


def test_translated_messages_carry_no_python_type_names():
    for operation in (lambda: None + 1, lambda: {} + {}, lambda: "a" - "b", lambda: len(5), lambda: [] * 1.5):
        message = raised(operation).message
        for python_name in ("NoneType", "'dict'", "'str'", "FrozenList"):
            assert python_name not in message
