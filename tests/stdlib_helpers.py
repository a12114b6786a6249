"""Helpers for the stdlib tests: a module's functions by name, script runs, error checks."""
from __future__ import annotations

import os
import tempfile

import pytest

from rtserve.lang import limits
from rtserve.lang.errors import ScriptError
from rtserve.lang.loader import Loader
from rtserve.stdlib import modules


def functions(name: str, config=None):
    """`fn("hash")` -> the module's member, as a script sees it."""
    return modules(config)[name].get


def raises(kind: str, match: str):
    """pytest.raises for a ScriptError of `kind` whose message matches `match`."""
    class _Check:
        def __enter__(self):
            self.cm = pytest.raises(ScriptError, match=match)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.cm.__exit__(*exc)
            if suppressed:
                assert self.info.value.kind == kind, (self.info.value.kind, self.info.value.message)
            return suppressed
    return _Check()


def run_script(source: str, config=None, max_steps: int | None = None) -> dict:
    """Load `source` as a script with the stdlib (built from `config`); its exports."""
    path = os.path.join(tempfile.mkdtemp(prefix="rt-stdlib-"), "t.script")
    previous = limits.activate(limits.Budget(max_steps))
    try:
        with limits.depth_guard():
            return Loader(modules=modules(config)).load(path, source).exports
    finally:
        limits.activate(previous)


class budget:
    """Run a block under a Budget of `steps` and `memory` bytes."""

    def __init__(self, steps: int | None = None, memory: int | None = None):
        self.budget = limits.Budget(steps, max_memory=memory)

    def __enter__(self):
        self.previous = limits.activate(self.budget)
        return self.budget

    def __exit__(self, *exc):
        limits.activate(self.previous)
        return False
