"""The standard library modules a script can `import NAME` (LANGUAGE.md §9).

Strategy: each module is a Python file exposing `MODULE`, a `lang.values.Module` built with
`Module.of` from plain Python functions named like their script names (so `<fn encode>` and
argument errors read right). `modules()` is the one place the runtime asks for them; `lang` never
imports stdlib (the dependency points one way: lang <- stdlib <- runtime).
"""
from __future__ import annotations

from rtserve.lang.values import Module

from . import json, math, time


def modules() -> dict[str, Module]:
    """The importable stdlib modules by name. The Module objects are shared and read-only."""
    return {module.name: module for module in (json.MODULE, time.MODULE, math.MODULE)}
