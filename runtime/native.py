"""Loading a native fast-path module (`rt serve --native MODULE`) and calling its `setup(app)`.

Strategy: MODULE is a file path when it names an existing file or ends in `.py`, otherwise an
importable module name. MODULE missing is "not found"; MODULE found but importing a package
that is not installed says so, naming that package. Loading or setup failures become `NativeError` with a one-line message
naming the module (the CLI prints it and exits 1); a route conflict raised by the router
inside `setup` is passed through unchanged because its message already names both handlers.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from rtserve.lang.errors import RtError

__all__ = ["NativeError", "load_native", "import_native"]


class NativeError(RtError):
    """A native module that cannot be imported or has no usable `setup(app)`."""


def import_native(spec: str) -> ModuleType:
    """Import MODULE by file path or by name. Raises NativeError."""
    if spec.endswith(".py") or os.path.isfile(spec):
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise NativeError(f"native module {spec!r}: file not found")
        name = "rt_native_" + os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise NativeError(f"native module {spec!r}: cannot be loaded as Python")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except ModuleNotFoundError as exc:
            sys.modules.pop(name, None)
            raise NativeError(_missing_dependency(spec, exc)) from None
        except Exception as exc:
            sys.modules.pop(name, None)
            raise NativeError(f"native module {spec!r} failed to import: "
                              f"{type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if _names_the_module_itself(exc.name, spec):
            raise NativeError(f"native module {spec!r} not found (neither a file nor an "
                              f"importable module name)") from None
        raise NativeError(_missing_dependency(spec, exc)) from None
    except Exception as exc:
        raise NativeError(f"native module {spec!r} failed to import: "
                          f"{type(exc).__name__}: {exc}") from exc


def _names_the_module_itself(missing: str | None, spec: str) -> bool:
    """Whether the module Python could not find is MODULE or a package on its path
    (`a.b.c` is missing when `a`, `a.b` or `a.b.c` is), not something MODULE imports."""
    return missing is not None and (spec == missing or spec.startswith(missing + "."))


def _missing_dependency(spec: str, exc: ModuleNotFoundError) -> str:
    missing = exc.name or str(exc)
    return (f"native module {spec!r} was found but failed to import: it imports "
            f"{missing!r}, which is not installed (pip install it, or check the name)")


def load_native(spec: str, app: Any) -> ModuleType:
    """Import MODULE and call its `setup(app)`. Raises NativeError, or the router's
    RouteConflict/RoutePatternError for bad registrations."""
    module = import_native(spec)
    setup = getattr(module, "setup", None)
    if not callable(setup):
        raise NativeError(f"native module {spec!r} has no setup(app) function")
    try:
        setup(app)
    except RtError:
        raise
    except Exception as exc:
        raise NativeError(f"native module {spec!r}: setup(app) failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    return module
