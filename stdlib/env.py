"""`import env`: read the environment variables the operator allowed.

Strategy: no ambient authority. The module is built per server from the settings
(`module(config)`): it snapshots, once at start, the values of exactly the names listed by
`--allow-env NAME` / `env = [...]` in rt.toml, so a script can never reach any other variable
(secrets of the host, `PATH`, cloud credentials) and a value cannot change under a running
server. Reading any other name is a `PermissionError` that names the setting to change, so
the fix is obvious; a name that is allowed but unset gives `default`.
"""
from __future__ import annotations

import os

from rtserve.lang.errors import ScriptError
from rtserve.lang.values import Module

from . import _args


def module(config) -> Module:
    allowed = tuple(getattr(config, "allow_env", ()) or ())
    values = {name: os.environ.get(name) for name in allowed}

    def get(name, default=None):
        name = _args.text("env.get", "name", name)
        if name not in values:
            raise ScriptError("PermissionError",
                              f"env.get(): {name!r} is not an allowed environment variable; allow it "
                              f"with --allow-env {name} (or env = [\"{name}\"] in rt.toml)")
        value = values[name]
        return default if value is None else value

    return Module.of("env", [get])
