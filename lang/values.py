"""Script values, and the operations on them that are not plain Python operators.

Strategy: script values ARE plain Python values, so compiled code can use native operations
on its hot paths: nil=None, bool, int, float, string=str, bytes, list, map=dict, and functions
are Python callables (compiled script closures are ordinary Python functions). What Python
lacks is supplied here:

- `FrozenList` / `FrozenMap`: list/dict subclasses whose every mutator raises
  `TypeError: cannot mutate a frozen list`. They stay `isinstance` list/dict, so reading,
  iteration and the C JSON encoder work on them unchanged.
- `ErrorValue` (what `catch err` binds), `Module` (an import), `Response` (§8): map-like
  classes. Every map-like value answers `get(name, default=None)`, because compiled code
  reads a field as `obj.get("name")`.
- `type_name`, `to_str`/`repr_value`, `equals` and `compare`: the language's own rules (§2),
  which differ from Python's (`true == 1` is false; `1 < "a"` is a TypeError).
- `freeze`/`freeze_all`: what happens to a script file's top-level bindings when it has loaded.
- size and integer limits, and `translate_exception`, which turns a Python exception raised by
  a native operation inside compiled code into what a script sees.

Invariants: nothing here hands a script a Python object it could use to reach internals;
every message uses the language's type names, never Python's.
"""
from __future__ import annotations

import re
import types
from json.encoder import encode_basestring as _json_quote  # C-accelerated "..." quoting

from . import nested
from .compiler import P as COMPILER_PREFIX
from .errors import Abort, LimitError, ScriptError

NoneType = type(None)

# --- limits -----------------------------------------------------------------------------

MAX_INT_BITS = 4096
MAX_SIZE = 16 * 1024 * 1024  # code points, bytes, list elements or map entries


def check_int(n: int) -> int:
    """Return `n`; raise LimitError if it needs more than MAX_INT_BITS bits."""
    if n.bit_length() > MAX_INT_BITS:
        raise LimitError(f"integer too large (over {MAX_INT_BITS} bits)")
    return n


def size_error(kind: str) -> LimitError:
    """The LimitError for a string/bytes/list/map past MAX_SIZE (`kind` is a type name)."""
    if kind in ("string", "bytes"):
        return LimitError(f"{kind} too large (over 16 MiB)")
    return LimitError(f"{kind} too large (over {MAX_SIZE} elements)")


def check_size(seq):
    """Return `seq`; raise LimitError if it is longer than MAX_SIZE."""
    if len(seq) > MAX_SIZE:
        raise size_error(type_name(seq))
    return seq


def check_length(length: int, kind: str) -> None:
    """Raise LimitError if a value of type `kind` about to be built would be too long.

    Call it BEFORE allocating, with the computed length (`range`, `join`, repetition).
    """
    if length > MAX_SIZE:
        raise size_error(kind)


def check_repeat(seq, times: int) -> None:
    """Raise LimitError before `seq * times` would build a string/bytes/list past MAX_SIZE."""
    if times > 0 and len(seq) * times > MAX_SIZE:
        raise size_error(type_name(seq))


# --- frozen containers ------------------------------------------------------------------

def _frozen_list_error(self, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen list")


def _frozen_map_error(self, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen map")


class FrozenList(list):
    """A list that refuses every mutation. Build it with `FrozenList(items)` or `freeze`."""
    __slots__ = ()
    append = extend = insert = pop = remove = sort = reverse = clear = _frozen_list_error
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _frozen_list_error

    def copy(self) -> list:
        return list(self)

    def __reduce__(self):  # pickle/deepcopy would otherwise rebuild it through `extend`
        return (FrozenList, (list(self),))


class FrozenMap(dict):
    """A dict that refuses every mutation. Build it with `FrozenMap(items)` or `freeze`."""
    __slots__ = ()
    update = setdefault = pop = popitem = clear = _frozen_map_error
    __setitem__ = __delitem__ = __ior__ = _frozen_map_error

    def copy(self) -> dict:
        return dict(self)

    def __reduce__(self):
        return (FrozenMap, (dict(self),))


nested.bind(FrozenList, FrozenMap)


# --- map-like values --------------------------------------------------------------------

class ErrorValue:
    """What `catch err` binds: `err.kind`, `err.message`, `err.value` (what was thrown).

    Also what the `error(...)` builtin returns; `throw` of an ErrorValue rethrows its kind.
    """
    __slots__ = ("kind", "message", "value")

    def __init__(self, kind: str, message: str, value=None):
        self.kind = kind
        self.message = message
        self.value = value

    @classmethod
    def from_error(cls, exc: ScriptError) -> "ErrorValue":
        return cls(exc.kind, exc.message, exc.value)

    def get(self, name, default=None):
        if name == "kind":
            return self.kind
        if name == "message":
            return self.message
        if name == "value":
            return self.value
        return default

    __getitem__ = get

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def __repr__(self) -> str:
        return f"<error {self.kind}: {self.message}>"


def error_for_throw(value) -> ScriptError:
    """The ScriptError that `throw value` raises.

    An ErrorValue rethrows with its own kind; a string becomes the message of a UserError;
    any other value is a UserError whose message is `str(value)` and whose `value` is it.
    """
    if type(value) is ErrorValue:
        return ScriptError(value.kind, value.message, value.value if value.value is not None else value.message)
    if type(value) is str:
        return ScriptError("UserError", value, value)
    return ScriptError("UserError", to_str(value), value)


class Module:
    """An imported module (stdlib or another script): read-only named members."""
    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict):
        self.name = name
        self.members = members

    @classmethod
    def of(cls, name: str, functions: list, constants: dict | None = None) -> "Module":
        """A module of plain Python functions, each renamed to its script name (a trailing
        underscore, used to dodge Python's keywords and builtins, is dropped) so scripts see
        `<fn floor>`, and qualified with the module's name so that Python's own argument
        errors (missing, extra or unknown arguments) name the script function as every other
        error does: `math.floor() takes 1 positional argument but 2 were given`."""
        members: dict = {}
        for fn in functions:
            script_name = fn.__name__.rstrip("_")
            fn.__name__ = script_name
            fn.__qualname__ = f"{name}.{script_name}"
            members[script_name] = fn
        members.update(constants or {})
        return cls(name, members)

    def get(self, name, default=None):
        return self.members.get(name, default)

    __getitem__ = get

    def __repr__(self) -> str:
        return f"<module {self.name}>"


_RESPONSE_FIELDS = ("status", "headers", "body")


# --- what an answer may carry ---------------------------------------------------------------
# HTTP decides which statuses and headers an answer may carry (runtime/http/wire.py:
# `status_problem`, `header_problem`). lang may not import the runtime, so the runtime
# installs those rules here (runtime/scripts/record.py does, on import) and a script's
# response values apply them where the script sets a status or a header: the mistake is an
# error at that line. Until they are installed (lang on its own) only types are checked.

class _AnswerRules:
    status = None  # (status) -> why it cannot be an answer's status, or None
    header = None  # (name, value, type_name) -> why it cannot be a header, or None


def set_answer_rules(status_problem, header_problem) -> None:
    _AnswerRules.status, _AnswerRules.header = status_problem, header_problem


def check_status(status, fname: str | None = None) -> int:
    """`status` when an answer may carry it, else a ScriptError (`fname()` names a builtin)."""
    prefix = f"{fname}(): " if fname else ""
    if type(status) is not int:
        raise ScriptError("TypeError", f"{prefix}a response status must be an int, not {type_name(status)}")
    rule = _AnswerRules.status
    problem = rule(status) if rule is not None else None
    if problem is not None:
        raise ScriptError("ValueError", prefix + problem)
    return status


_HEADER_SCALARS = (str, int, float)


def check_header(name, value, fname: str | None = None):
    """The header `name: value` as a response keeps it (a number as its text, a list as a
    plain list of strings), else a ScriptError: TypeError for a name that is no string or a
    value that is no string, number or list of strings, ValueError for text HTTP refuses."""
    prefix = f"{fname}(): " if fname else ""
    if type(name) is not str:
        raise ScriptError("TypeError", f"{prefix}a header name must be a string, not {type_name(name)}")
    kind = type(value)
    if kind is list or kind is FrozenList:
        value = list(value)
        bad = next((item for item in value if type(item) is not str), _NONE)
        if bad is not _NONE:
            raise ScriptError("TypeError", f"{prefix}header {repr_value(name)} must be a string, a number "
                                           f"or a list of strings, not a list holding {type_name(bad)}")
    elif kind is not str and kind is not int and kind is not float:
        raise ScriptError("TypeError", f"{prefix}header {repr_value(name)} must be a string, a number "
                                       f"or a list of strings, not {type_name(value)}")
    rule = _AnswerRules.header
    problem = rule(name, value, type_name) if rule is not None else None
    if problem is not None:
        raise ScriptError("ValueError", prefix + problem)
    return to_str(value) if kind is int or kind is float else value


_NONE = object()


def _check_status(status) -> int:
    return check_status(status)


def _normalize_headers(headers) -> dict:
    if not isinstance(headers, dict):
        raise ScriptError("TypeError", f"response headers must be a map, not {type_name(headers)}")
    normalized = {}
    changed = False
    for name, value in headers.items():
        checked = check_header(name, value)
        lowered = name.lower()
        changed = changed or checked is not value or lowered != name
        normalized[lowered] = checked
    # the script's own map is kept when nothing changed (the common case)
    return normalized if changed else headers


class Response:
    """A response value (§8): `status` (int), `headers` (map, lower-case names), `body` (any).

    Map-like: `res.get("status")`, and `res["status"] = 201` (what `res.status = 201`
    compiles to). A frozen response (from `freeze`) refuses every assignment, and its headers
    are a FrozenMap. Header names added later through `res.headers[...]` are not re-lowered
    here: whoever serializes the response lower-cases them.
    """
    __slots__ = ("status", "headers", "body", "frozen")

    def __init__(self, status: int = 200, headers: dict | None = None, body=None, frozen: bool = False):
        self.status = status
        self.headers = {} if headers is None else headers
        self.body = body
        self.frozen = frozen

    def get(self, name, default=None):
        if name == "status":
            return self.status
        if name == "headers":
            return self.headers
        if name == "body":
            return self.body
        return default

    __getitem__ = get

    def __contains__(self, name) -> bool:
        return name in _RESPONSE_FIELDS

    def __setitem__(self, name, value) -> None:
        if self.frozen:
            raise ScriptError("TypeError", "cannot mutate a frozen response")
        if name == "status":
            self.status = _check_status(value)
        elif name == "headers":
            self.headers = _normalize_headers(value)
        elif name == "body":
            self.body = value
        else:
            raise ScriptError("TypeError", f"a response has no field {repr_value(name)} (only status, headers, body)")

    def __repr__(self) -> str:
        return f"<response {self.status}>"


# --- type names -------------------------------------------------------------------------

_TYPE_NAMES = {
    NoneType: "nil", bool: "bool", int: "int", float: "float", str: "string", bytes: "bytes",
    list: "list", FrozenList: "list", dict: "map", FrozenMap: "map",
    types.FunctionType: "function", types.BuiltinFunctionType: "function",
    types.MethodType: "function",
    Response: "response", ErrorValue: "error", Module: "module",
}


def type_name(value) -> str:
    """The language's name for the type of `value` (§2): "nil", "bool", "int", ..."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    # exact-type lookup first (so bool is never taken for int), then the odd subclass
    if callable(value):
        return "function"
    for base, base_name in _TYPE_NAMES.items():
        if isinstance(value, base):
            return base_name
    return "native"


# --- printing ---------------------------------------------------------------------------

_BYTE_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"}


def _repr_bytes(b: bytes) -> str:
    parts = []
    for byte in b:
        escape = _BYTE_ESCAPES.get(byte)
        if escape is not None:
            parts.append(escape)
        elif 32 <= byte < 127:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    return 'b"' + "".join(parts) + '"'


def _repr_function(f) -> str:
    return f"<fn {getattr(f, '__name__', 'fn')}>"


# Leaf printers: value -> text. Containers are walked by lang/nested.py (cycles, depth, charging).
_LEAF_REPR = {
    NoneType: lambda v: "nil",
    bool: lambda v: "true" if v else "false",
    int: int.__repr__,
    float: float.__repr__,  # Python already spells these 2.5, 1e-05, inf, -inf, nan
    str: _json_quote,
    bytes: _repr_bytes,
    types.FunctionType: _repr_function,
    types.BuiltinFunctionType: _repr_function,
    types.MethodType: _repr_function,
    Response: Response.__repr__,
    ErrorValue: ErrorValue.__repr__,
    Module: Module.__repr__,
}


def _repr_other(value) -> str:
    if isinstance(value, list):
        return repr_value(list(value))
    if isinstance(value, dict):
        return repr_value(dict(value))
    if callable(value):
        return _repr_function(value)
    return f"<{type_name(value)}>"


def _leaf_text(value):
    leaf = _LEAF_REPR.get(type(value))
    return None if leaf is None else leaf(value)

_CONTAINER_TYPES = frozenset((list, FrozenList, dict, FrozenMap))


def repr_value(value) -> str:
    """The source-like form of a value: `"a"`, `nil`, `true`, `[1, "a"]`, `{"a": 1}`.

    Strings are double-quoted with JSON escapes; cyclic containers print `[...]`/`{...}`.
    Raises LimitError if the text would be past MAX_SIZE (before building it, for
    containers: lang/nested.py walks them, charged per node).
    """
    kind = type(value)
    leaf = _LEAF_REPR.get(kind)
    if leaf is not None:
        if (kind is str or kind is bytes) and len(value) > MAX_SIZE:
            raise size_error("string")
        text = leaf(value)
        if len(text) > MAX_SIZE:
            raise size_error("string")
        return text
    if kind in _CONTAINER_TYPES:
        return nested.render(value, _leaf_text, _repr_other, MAX_SIZE)
    return _repr_other(value)


def to_str(value) -> str:
    """What `print`, `str()` and `"${...}"` show: strings bare, anything else as repr_value."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:  # the common interpolation, and never longer than 1234 digits
        return int.__repr__(value)
    return repr_value(value)


# --- equality and ordering --------------------------------------------------------------



equals = nested.equals    # `==` (§2), walked without recursion and charged per node
compare = nested.compare  # `<` and friends (§2), likewise


# --- freezing ---------------------------------------------------------------------------

def is_script_function(f) -> bool:
    """Whether freezing may rewrite `f`'s closure cells and defaults.

    Compiled script functions are compiled with the script's own file name; functions from
    Python source files (builtins, stdlib, native modules) are never touched.
    """
    return not f.__code__.co_filename.endswith(".py")


def freeze(value, memo: dict | None = None):
    """The frozen version of `value` (§2 Freezing).

    Lists and maps become FrozenList/FrozenMap recursively; shared and cyclic structures stay
    shared and cyclic (memo by id). A response becomes a frozen copy. A script function is
    frozen IN PLACE: each closure cell's contents and its default values are replaced by
    their frozen versions (cells whose variable name starts with `__` are the compiler's own
    and left alone); the same function is returned. Everything else is returned as is.
    """
    freezer = _FREEZERS.get(type(value))
    if freezer is None:
        return value
    if memo is None:
        memo = {}
    done = memo.get(id(value))
    if done is not None:
        return done[0]
    return freezer(value, memo)


def _remember(memo: dict, original, frozen) -> None:
    # keep `original` alive in the memo so its id cannot be reused during this freeze
    memo[id(original)] = (frozen, original)


def _freeze_list(xs: list, memo: dict) -> FrozenList:
    frozen = FrozenList()
    _remember(memo, xs, frozen)
    list.extend(frozen, [freeze(x, memo) for x in xs])
    return frozen


def _freeze_map(m: dict, memo: dict) -> FrozenMap:
    frozen = FrozenMap()
    _remember(memo, m, frozen)
    dict.update(frozen, {k: freeze(v, memo) for k, v in m.items()})
    return frozen


def _freeze_response(r: Response, memo: dict) -> Response:
    if r.frozen:
        return r
    frozen = Response(r.status, None, None, frozen=True)
    _remember(memo, r, frozen)
    frozen.headers = freeze(_normalize_headers(r.headers), memo)
    frozen.body = freeze(r.body, memo)
    return frozen


def _freeze_error(e: ErrorValue, memo: dict) -> ErrorValue:
    frozen = ErrorValue(e.kind, e.message, None)
    _remember(memo, e, frozen)
    frozen.value = freeze(e.value, memo)
    return frozen


def _freeze_function(f, memo: dict):
    _remember(memo, f, f)
    if not is_script_function(f):
        return f
    cells = f.__closure__
    if cells:
        for name, cell in zip(f.__code__.co_freevars, cells):
            if name.startswith(COMPILER_PREFIX):  # the compiler's own state, not a value
                continue
            if name.endswith("ᵣfrozen"):  # a captured variable's companion (lang/compiler.py)
                cell.cell_contents = True
                continue
            try:
                contents = cell.cell_contents
            except ValueError:  # not bound yet
                continue
            frozen = freeze(contents, memo)
            if frozen is not contents:
                cell.cell_contents = frozen
    if f.__defaults__:
        f.__defaults__ = tuple(freeze(d, memo) for d in f.__defaults__)
    if f.__kwdefaults__:
        f.__kwdefaults__ = {k: freeze(v, memo) for k, v in f.__kwdefaults__.items()}
    return f


_FREEZERS = {
    list: _freeze_list, dict: _freeze_map,
    Response: _freeze_response, ErrorValue: _freeze_error,
    types.FunctionType: _freeze_function,
}


def freeze_all(bindings: dict) -> dict:
    """A new dict with every value of a module's top-level bindings frozen (one shared memo,
    so values shared between bindings stay shared). Every binding is the script's, however it
    is spelled (`__shared` too): the compiler's own state lives in closure cells named with its
    prefix, which `_freeze_function` leaves alone."""
    memo: dict = {}
    try:
        return {name: freeze(value, memo) for name, value in bindings.items()}
    except RecursionError:  # freezing follows nesting with Python's own recursion
        raise LimitError("a top-level value is nested too deeply to freeze") from None


# --- Python exceptions -> what scripts see -----------------------------------------------

_PY_TYPE_NAMES = {
    "NoneType": "nil", "dict": "map", "FrozenMap": "map", "str": "string", "FrozenList": "list",
    "list": "list", "int": "int", "float": "float", "bool": "bool", "bytes": "bytes",
    "function": "function", "builtin_function_or_method": "function", "method": "function",
    "Response": "response", "ErrorValue": "error", "Module": "module",
}
_QUOTED_TYPE = re.compile(r"""(['"])(%s)\1""" % "|".join(sorted(_PY_TYPE_NAMES, key=len, reverse=True)))
_CONCAT = re.compile(r'can only concatenate (\w+) \(not "(\w+)"\) to (\w+)')


def _ours(py_name: str) -> str:
    return _PY_TYPE_NAMES.get(py_name, py_name)


def _type_error_message(message: str) -> str:
    concat = _CONCAT.fullmatch(message)
    if concat:
        return f"cannot add {_ours(concat.group(2))} to {_ours(concat.group(1))}"
    message = _QUOTED_TYPE.sub(lambda m: m.group(1) + _ours(m.group(2)) + m.group(1), message)
    # a script passes "named" arguments; one that is a Python keyword carries the compiler's
    # suffix (`withʹ`), which the script never wrote
    message = message.replace("keyword argument", "named argument").replace("\u02b9'", "'")
    return message.replace("unsupported operand type(s)", "unsupported operand types")


def _from_type_error(exc: TypeError) -> BaseException:
    return ScriptError("TypeError", _type_error_message(str(exc)))


def _from_attribute_error(exc: AttributeError) -> BaseException:
    obj = getattr(exc, "obj", None)
    name = getattr(exc, "name", None)
    what = type_name(obj)
    if name == "get":  # compiled field access `x.get("name")` on something that is not map-like
        return ScriptError("TypeError", f"{what} has no fields" if obj is not None else "cannot read a field of nil")
    return ScriptError("TypeError", f"{what} has no field or method '{name}'")


def _from_key_error(exc: KeyError) -> BaseException:
    if exc.args:
        return ScriptError("KeyError", f"key {repr_value(exc.args[0])} not found", exc.args[0])
    return ScriptError("KeyError", "key not found")


_TRANSLATIONS = {
    RecursionError: lambda e: LimitError("call depth exceeded"),
    MemoryError: lambda e: LimitError("out of memory"),
    ZeroDivisionError: lambda e: ScriptError("ValueError", "division by zero"),
    TypeError: _from_type_error,
    AttributeError: _from_attribute_error,
    IndexError: lambda e: ScriptError("IndexError", "index out of range"),
    KeyError: _from_key_error,
    UnicodeError: lambda e: ScriptError("ValueError", f"invalid text encoding: {e.reason}"
                                        if hasattr(e, "reason") else "invalid text encoding"),
    ValueError: lambda e: ScriptError("ValueError", str(e)),
    OverflowError: lambda e: ScriptError("ValueError", f"number out of range ({e})"
                                         if str(e) else "number out of range"),
    AssertionError: lambda e: ScriptError("AssertionError", str(e) or "assertion failed"),
}
_PASS_THROUGH = (ScriptError, LimitError, Abort)


def translate_exception(exc: BaseException) -> BaseException:
    """What a script sees for `exc`, a Python exception raised by a native operation inside
    compiled code. ScriptError, LimitError (incl. DeadlineExceeded) and Abort pass through;
    RecursionError and MemoryError become LimitError; Python's built-in errors become the
    ScriptError kind of the same meaning, with our type names in the message.
    """
    if isinstance(exc, _PASS_THROUGH):
        return exc
    for cls in type(exc).__mro__:
        translate = _TRANSLATIONS.get(cls)
        if translate is not None:
            return translate(exc)
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: not ours to catch
        return exc
    return ScriptError("TypeError", str(exc))
