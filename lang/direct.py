"""Method calls compiled code makes directly, without `call_method`'s lookups per call.

Strategy. `xs.append(x)` in a script means "the method `append` of whatever `xs` holds",
which `builtins.call_method` finds per call: two table lookups, the arguments packed into a
tuple and unpacked again, and a `try` to reword Python's argument-count errors. Most calls
name a method of one receiver type and pass a fitting number of arguments, so the compiler
asks `direct_method(name, nargs)` here and, when it answers, emits a guarded direct call:

    (ᵣm_list_append(ᵣt, x) if (ᵣt := xs).__class__ is ᵣlist else ᵣcall_method(ᵣt, "append", x))

The function called is the method table's own (builtins.METHODS, the single definition of
each method and of what it checks and charges), so the fast path cannot drift from it: the
guard is the exact type `call_method` would look up, and the argument count is one the
function accepts, so the only difference is that no lookup table is consulted per call. Any
other receiver (a frozen list, a map of functions, a module) takes `call_method` as before.

One call goes further: `xs.append(x)` charges nothing except when the list's length is at a
chunk boundary (lang/builtins/lists.py APPEND_FREE_BITS), so the compiler tests that too and
calls the list's own `append` between boundaries (`inline_append`).
"""
from __future__ import annotations

import inspect
from functools import cache

# Receiver types tried for a method name, in order: the guard tests one exact type.
_RECEIVERS = ((list, "list"), (dict, "dict"), (str, "strtype"))


def _arity(fn) -> tuple[int, float]:
    """How many arguments after the receiver `fn` takes: (least, most)."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    least = sum(1 for p in params if p.default is p.empty and p.kind in
                (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return least, float("inf")
    return least, sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@cache
def _tables() -> tuple[dict, dict]:
    """(method name -> (type global, function global, arity), the globals they name). Built
    on first use: the method tables import lang.values, which imports the compiler."""
    from .builtins import METHODS
    from .compiler import P
    direct: dict[str, tuple[str, str, tuple]] = {}
    names: dict[str, object] = {}
    for cls, type_name in _RECEIVERS:
        names[P + type_name] = cls
        for name, fn in METHODS[cls].items():
            if name not in direct:
                fn_global = f"{P}m_{type_name}_{name}"
                names[fn_global] = fn
                direct[name] = (P + type_name, fn_global, _arity(fn))
    return direct, names


def method_globals() -> dict[str, object]:
    """What compiled code's globals need for these calls (the loader adds them)."""
    return dict(_tables()[1])


def inline_append() -> tuple[str, int]:
    """The global naming the list type and the length bits that, when any is set, make an
    append nothing but CPython's `list.append`."""
    from .builtins.lists import APPEND_FREE_BITS
    from .compiler import P
    return P + "list", APPEND_FREE_BITS


def direct_method(name: str, nargs: int) -> tuple[str, str] | None:
    """For `obj.name(...)` with `nargs` positional arguments and no keywords: the global
    naming the receiver type to test and the global naming the function to call, or None
    when the call must go through `call_method`."""
    entry = _tables()[0].get(name)
    if entry is None:
        return None
    type_global, fn_global, (least, most) = entry
    return (type_global, fn_global) if least <= nargs <= most else None
