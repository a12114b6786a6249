"""Assembly of the language with the standard library: `rt run`, `rt check`.

This is the one place where stdlib modules are handed to the language's Loader. Errors a
user can cause are printed in the language's own form (position, source line, caret, and
the script's stack for runtime errors) and become exit status 1.
"""
from __future__ import annotations

import sys

from rtserve import stdlib
from rtserve.lang import limits
from rtserve.lang.errors import Abort, ErrorList, LimitError, RtError, ScriptError, StaticError
from rtserve.lang.loader import Loader
from rtserve.lang.stack import format_error
from rtserve.lang.values import translate_exception


def new_loader(on_declaration=None, modules=None) -> Loader:
    """A Loader with the standard library: `modules` as `stdlib.modules(settings)` built
    them for a server, or the defaults (for `rt run` and `rt check`)."""
    return Loader(modules=modules if modules is not None else stdlib.modules(),
                  on_declaration=on_declaration)


def describe_runtime_error(exc: BaseException) -> str:
    """`file:line:col: error: Kind: message`, the line, a caret and the script stack."""
    err = translate_exception(exc)
    if isinstance(err, Abort):
        kind, message = "Abort", f"abort({err.status}) outside a request"
    else:
        kind = getattr(err, "kind", "Error")
        message = getattr(err, "message", str(err))
    return format_error(kind, message, exc)


def check_file(path: str) -> int:
    try:
        new_loader().check(path)
    except (ErrorList, StaticError) as e:
        print(e.render(), file=sys.stderr)
        return 1
    return 0


def run_file(path: str, max_steps: int | None = None) -> int:
    loader = new_loader()
    try:
        loader.check(path)
    except (ErrorList, StaticError) as e:
        print(e.render(), file=sys.stderr)
        return 1
    previous = limits.activate(limits.Budget(max_steps))
    try:
        with limits.depth_guard():
            loader.load(path)
    except (ErrorList, RtError) as e:
        print(e.render() if hasattr(e, "render") else str(e), file=sys.stderr)
        return 1
    except (ScriptError, LimitError, Abort, Exception, RecursionError, MemoryError) as e:
        sys.stdout.flush()
        print(describe_runtime_error(e), file=sys.stderr)
        return 1
    finally:
        limits.activate(previous)
        sys.stdout.flush()
    return 0


def mount_script(app, path: str, settings, migrate: bool = True):
    """Serve the script at `path` on `app` (see runtime/scripts/mount.py): its migrations
    first (they must be in place before its top level or `on start` touch the database),
    then its declarations, with the stdlib modules built once from `settings`."""
    from .migrate import run_migrations
    from .mount import mount_script as mount
    if migrate:
        run_migrations(path, settings)
    modules = stdlib.modules(settings)
    try:
        return mount(app, path, settings, lambda: new_loader(modules=modules))
    except (ErrorList, RtError):
        raise
    except (Exception, LimitError, Abort) as e:  # the script's top level failed while loading
        raise ScriptLoadError(describe_runtime_error(e)) from None


class ScriptLoadError(RtError):
    """The script's top level raised while the server loaded it."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report

    def render(self) -> str:
        return self.report
