"""Every stdlib function called with hostile arguments gives the script an error it can
catch (ScriptError) or a limit error, never a Python exception (STDLIB.md "Arguments are
checked").

Strategy: hypothesis draws argument lists (positional, and named with the documented names)
from a pool of awkward values (nil, bools, zero, negative and huge numbers, NaN, empty and
non-ASCII text, lone surrogates, bytes, lists, maps, functions) and calls each function of
each module in-process, under a short deadline and a small memory budget; what comes back is
either a value or one of the errors a script sees.
"""
import inspect
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rtserve import stdlib
from rtserve.lang import limits
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.values import FrozenList, FrozenMap
from rtserve.runtime.config import Settings

POOL = [None, True, False, 0, 1, -1, 7, 1024, 1025, 2 ** 63, -(2 ** 70), 0.5, -0.0, math.nan, math.inf,
        "", "a", "é日\U0001F600", "\ud800", "x" * 600, "k" * 40, "HS256", "sha1", "(a", "\\1", "/", "*",
        b"", b"\xff\x00", [], [1, "a"], ["HS256", "RS256"], {}, {"a": 1}, {"a": [1, {"b": None}]},
        FrozenList([1]), FrozenMap({"k": "v"}), lambda *a, **k: None]
_NAMES = ["algo", "url", "limit", "count", "end", "default", "ttl", "by", "prefix", "leeway",
          "algs", "alg", "expires_in", "method", "headers", "body", "json", "timeout", "max_age",
          "path", "domain", "secure", "http_only", "same_site", "origins", "methods", "credentials",
          "min_size", "level", "users", "realm", "rate", "per", "burst", "key", "k", "n", "audience",
          "issuer", "require", "now"]


@pytest.fixture(scope="module")
def functions(tmp_path_factory):
    mods = stdlib.modules(Settings(data_dir=str(tmp_path_factory.mktemp("hostile")),
                                   allow_env=["HOME"]))
    found = []
    for name, module in sorted(mods.items()):
        for fname, fn in sorted(module.members.items()):
            if callable(fn) and not (name == "db" and fname == "transaction"):
                found.append((f"{name}.{fname}", fn))
    return found


def _named(fn) -> list[str]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return []
    return [p for p in params if p in _NAMES]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_arguments_give_script_errors(functions, data):
    for qualified, fn in functions:
        args = data.draw(st.lists(st.sampled_from(POOL), max_size=4), label=qualified)
        names = _named(fn)
        named = data.draw(st.dictionaries(st.sampled_from(names), st.sampled_from(POOL), max_size=2)
                          if names else st.just({}), label=qualified + " named")
        budget = limits.Budget(200_000, deadline=time.monotonic() + 0.3, max_memory=8 * 1024 * 1024)
        previous = limits.activate(budget)
        try:
            fn(*args, **named)
        except (ScriptError, LimitError):
            pass
        except TypeError as exc:  # Python's own argument-count errors: the runtime translates
            assert str(exc).startswith(qualified + "()"), (qualified, args, named, exc)
        except Exception as exc:  # noqa: BLE001 - exactly what must not happen
            raise AssertionError(f"{qualified}{tuple(args)} {named}: {type(exc).__name__}: {exc}") from None
        finally:
            limits.activate(previous)
