"""`obj.name(...)` in compiled code: the one dispatch for methods and callable members.

Strategy: one table per receiver type, `METHODS[type(obj)][name]`; frozen receivers get
tables whose mutators raise before doing any work. `call_method` is the only way compiled
code calls `obj.name(...)`: one dict lookup on the exact type, one on the name, then the
call; anything else map-like (a map of functions, a module, a record the runtime
registered) is called through its `get`.
"""
from __future__ import annotations

import re

from ..errors import ScriptError
from ..values import ErrorValue, FrozenList, FrozenMap, Module, Response, type_name
from .checks import python_type
from .lists import LIST_METHODS, LIST_MUTATORS
from .maps import MAP_METHODS, MAP_MUTATORS
from .strings import STRING_METHODS


def _frozen_list_method(xs, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen list")


def _frozen_map_method(m, *args, **kwargs):
    raise ScriptError("TypeError", "cannot mutate a frozen map")


FROZEN_LIST_METHODS = {**LIST_METHODS, **{name: _frozen_list_method for name in LIST_MUTATORS}}
FROZEN_MAP_METHODS = {**MAP_METHODS, **{name: _frozen_map_method for name in MAP_MUTATORS}}

METHODS = {
    str: STRING_METHODS,
    list: LIST_METHODS, FrozenList: FROZEN_LIST_METHODS,
    dict: MAP_METHODS, FrozenMap: FROZEN_MAP_METHODS,
}

# name each method after itself, so Python's own argument errors name the method
for _table in METHODS.values():
    for _name, _fn in _table.items():
        if _fn not in (_frozen_list_method, _frozen_map_method):
            _fn.__name__ = _fn.__qualname__ = _name


def call_method(obj, name: str, /, *args, **kwargs):
    """`obj.name(...)` in compiled code: a method of a string, list or map, or else the
    function stored under `name` in a map-like value (a map of functions, a module)."""
    table = METHODS.get(python_type(obj))
    if table is not None:
        method = table.get(name)
        if method is not None:
            try:
                return method(obj, *args, **kwargs)
            except TypeError as exc:
                if exc.__traceback__.tb_next is not None:
                    raise  # raised inside the method (or a callback), not by its call
                raise _method_arity_error(exc, obj, name) from None
    return _member_function(obj, name)(*args, **kwargs)


def _member_function(obj, name):
    getter = _MEMBER_GETTERS.get(python_type(obj))
    if getter is None:
        raise ScriptError("TypeError", f"{type_name(obj)} has no method '{name}'")
    member = getter(obj, name)
    if member is None:
        raise ScriptError("TypeError", f"{type_name(obj)} has no method '{name}'")
    if not callable(member):
        raise ScriptError("TypeError", f"'{name}' is not a function (it is {type_name(member)})")
    return member


# Values whose non-method names are fields: `obj.name(...)` calls the field's function.
_MEMBER_GETTERS = {
    dict: dict.get, FrozenMap: dict.get,
    Module: Module.get, ErrorValue: ErrorValue.get, Response: Response.get,
}

_ARITY = re.compile(r"(\w+)\(\) takes (?:from (\d+) to )?(\d+) positional arguments? but (\d+) (?:were|was) given")


def _method_arity_error(exc: TypeError, obj, name: str) -> ScriptError:
    """Python counts the receiver as an argument; say what the script author wrote instead."""
    message = str(exc)
    receiver = type_name(obj)
    arity = _ARITY.fullmatch(message)
    if arity is None:
        return ScriptError("TypeError", f"{receiver}.{message}")
    low, high, given = arity.group(2), int(arity.group(3)) - 1, int(arity.group(4)) - 1
    takes = f"{int(low) - 1} to {high}" if low else str(high)
    plural = "" if (high == 1 and not low) else "s"
    return ScriptError("TypeError", f"{receiver}.{name}() takes {takes} argument{plural} but {given} {'was' if given == 1 else 'were'} given")


def register_record_type(cls, name: str) -> None:
    """Let scripts see a host type (the request, say) as a read-only record named `name`:
    `x.field` and `x.method()` both go through `cls.get`, `type(x)` gives `name`."""
    from .. import values
    values._TYPE_NAMES[cls] = name
    values._PY_TYPE_NAMES[cls.__name__] = name
    _MEMBER_GETTERS[cls] = cls.get
