"""The layers of DESIGN.md hold: each part imports only the parts below it.

Strategy: import one part in a fresh interpreter and list which `rtserve` modules came with
it. `lang` (the compiler and values) loads neither `stdlib` nor `runtime`; the HTTP core
(`runtime.http`) loads neither `lang`, `stdlib` nor the script glue (`runtime.scripts`); the
native API (`from rtserve import App`) loads neither `stdlib` nor the script glue.
"""
import subprocess
import sys

import pytest


def loaded_parts(statement: str) -> set[str]:
    """The second-level `rtserve` parts (e.g. 'lang', 'runtime.http') that `statement` loads."""
    probe = (f"import sys; {statement}; "
             "print('\\n'.join(m for m in sys.modules if m.startswith('rtserve.')))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, timeout=60,
                         capture_output=True, text=True).stdout.split()
    parts = set()
    for module in out:
        names = module.split(".")[1:]
        parts.add(".".join(names[:2]) if names[0] == "runtime" and len(names) > 1 else names[0])
    return parts


@pytest.mark.parametrize("statement, forbidden", [
    ("import rtserve.lang.values, rtserve.lang.builtins, rtserve.lang.compiler",
     {"stdlib", "runtime"}),
    ("import rtserve.stdlib", {"runtime"}),
    ("import rtserve.runtime.http.server, rtserve.runtime.http.protocol",
     {"lang", "stdlib", "runtime.scripts"}),
    ("from rtserve import App, Request, Response, HTTPError", {"stdlib", "runtime.scripts"}),
])
def test_a_part_loads_nothing_above_it(statement, forbidden):
    parts = loaded_parts(statement)
    assert parts, "the probe saw no rtserve module at all"
    assert not parts & forbidden, sorted(parts & forbidden)
