"""stdlib audit against STDLIB.md: cases found wrong by calling every function as a script
would (one test per discrepancy fixed)."""
import pytest

from stdlib_helpers import run_script


def _caught(call: str, imports: str) -> str:
    exports = run_script(f'''
{imports}
let got = nil
try {{ {call} }} catch e {{ got = e.kind + ": " + e.message }}
''')
    return exports["got"]


@pytest.mark.parametrize("imports, call, expected", [
    ("import crypto", "crypto.hash()",
     "TypeError: crypto.hash() missing 1 required positional argument: 'data'"),
    ("import crypto", 'crypto.hash("x", "sha1", "extra")',
     "TypeError: crypto.hash() takes from 1 to 2 positional arguments but 3 were given"),
    ("import crypto", 'crypto.hash("x", algorithm: "sha1")',
     "TypeError: crypto.hash() got an unexpected named argument 'algorithm'"),
    ("import uuid", "uuid.v4(1)", "TypeError: uuid.v4() takes 0 positional arguments but 1 was given"),
    ("import random", "random.int(1)", "TypeError: random.int() missing 1 required positional argument: 'hi'"),
    ("import math", "math.floor(1, 2)", "TypeError: math.floor() takes 1 positional argument but 2 were given"),
])
def test_argument_count_and_name_errors_name_the_module_function(imports, call, expected):
    # STDLIB.md: "the message names the script-level function" -- Python's own argument
    # errors included, and in the language's words ("named", not "keyword", arguments)
    assert _caught(call, imports) == expected
