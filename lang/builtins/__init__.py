"""The global builtin functions (§9) and the methods of strings, lists and maps.

Strategy: one module per job; this package only gathers them, so `from
rtserve.lang.builtins import BUILTINS, call_method, set_print_sink, register_record_type`
is the whole interface:

- checks: the `BUILTINS` registry and the argument checks every builtin shares;
- output: `print` and its sink;  conversions: len, str, type, bool, int, float;
- numbers: abs, round, sum, min, max;  sequences: range, sorted, zip, map, ...;
- errors: `error(...)`;  responses: response, json, html, text, redirect, abort (§8);
- strings, lists, maps: the methods of each;  methods: the `call_method` dispatch.

Rules every function here keeps:
- arguments are validated and wrong types raise ScriptError("TypeError", "len() takes a
  string, list, map or bytes, not int"), in the language's type names;
- anything that builds a string, list or map checks MAX_SIZE before allocating when the size
  can be computed in advance (range, join, replace, repetition), and after otherwise;
- no builtin ever reaches a Python attribute by a script-controlled name, and `format` is our
  own implementation (Python's str.format allows `{0.__class__}`: a sandbox escape);
- frozen receivers get tables whose mutators raise before doing any work.
"""
from __future__ import annotations

# Importing a job module registers its builtins, in this (the spec's) order.
from . import output, conversions, numbers, sequences, errors, responses  # noqa: F401
from .checks import BUILTINS, check_map_key
from .methods import METHODS, call_method, register_record_type
from .output import set_print_sink

__all__ = ["BUILTINS", "METHODS", "call_method", "check_map_key", "register_record_type",
           "set_print_sink"]
