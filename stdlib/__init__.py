"""The standard library modules a script can `import NAME` (LANGUAGE.md §9, STDLIB.md).

Strategy: each module is a Python file exposing either `MODULE`, a `lang.values.Module` built
with `Module.of` from plain Python functions named like their script names (so `<fn encode>`
and argument errors read right), or, for a module that reaches something only the operator
may grant (the environment, the disk, a backend, the network), `module(config) -> Module`,
built once per server from `config`: the runtime's settings, read by attribute (`allow_env`,
`data_dir`, `kv`, `db`, ...), so stdlib never imports runtime. `modules(config)` is the one
place the runtime asks for them; `lang` never imports stdlib (the dependency points one way:
lang <- stdlib <- runtime).
"""
from __future__ import annotations

from typing import Any

from rtserve.lang.values import Module

from . import (base64, crypto, db, env, http, json, jwt, kv, log, math, middleware, random, re,
               text, time, uuid)

# Modules that need nothing from the operator: shared, read-only Module objects.
_PURE = (json, time, math, crypto, base64, uuid, random, text, re, jwt)
# Modules built per server from what the operator granted: each has `module(config)`.
_GRANTED = (env, log, http, middleware, kv, db)


def modules(config: Any = None) -> dict[str, Module]:
    """The importable stdlib modules by name. `config` is the server's settings (attributes
    as in runtime/config.py's Settings); None means the defaults (nothing granted)."""
    found = {m.MODULE.name: m.MODULE for m in _PURE}
    for m in _GRANTED:
        module = m.module(config)
        found[module.name] = module
    return found
