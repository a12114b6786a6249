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

from .checks import middleware_warnings, route_errors
from rtserve.lang.values import translate_exception


def new_loader(on_declaration=None, lib: str | None = None, config=None, modules=None) -> Loader:
    """A Loader with the standard library; imports may come from the script's folder and
    `lib` (the `--lib` folder). `config` (the server's Settings) decides what the granted
    modules (env, http, kv, db) may reach; None grants nothing. `modules`: the stdlib modules
    already built from `config` (a server builds them once, so kv and db keep one set of
    connections however often the script is loaded)."""
    return Loader(modules=modules if modules is not None else stdlib.modules(config),
                  on_declaration=on_declaration, lib=lib)


def describe_runtime_error(exc: BaseException) -> str:
    """`file:line:col: error: Kind: message`, the line, a caret and the script stack."""
    err = translate_exception(exc)
    if isinstance(err, (ScriptError, LimitError, Abort)):
        return err.render(exc)
    return format_error(type(err).__name__, str(err), exc)  # not ours: KeyboardInterrupt


def check_file(path: str, lib: str | None = None) -> int:
    """Every static error (route clashes included) and the warnings, on stderr; 1 if any error."""
    try:
        script = new_loader(lib=lib).check(path)
    except (ErrorList, StaticError) as e:
        print(e.render(), file=sys.stderr)
        return 1
    for warning in middleware_warnings(script.module):
        print(warning, file=sys.stderr)
    clashes = route_errors(script.module)
    if clashes:
        print(ErrorList(clashes).render(), file=sys.stderr)
        return 1
    return 0


def run_file(path: str, max_steps: int | None = None, lib: str | None = None) -> int:
    loader = new_loader(lib=lib)
    try:
        loader.check(path)
    except (ErrorList, StaticError) as e:
        print(e.render(), file=sys.stderr)
        return 1
    previous = limits.activate(limits.Budget(max_steps))
    try:
        with limits.depth_guard():
            loader.load(path)
    except RtError as e:
        print(e.render(), file=sys.stderr)
        return 1
    except (Exception, LimitError, Abort) as e:  # the script failed: its own report and stack
        sys.stdout.flush()
        print(describe_runtime_error(e), file=sys.stderr)
        return 1
    finally:
        limits.activate(previous)
        sys.stdout.flush()
    return 0


def mount_script(app, path: str, settings, migrate: bool = True):
    """Serve the script at `path` on `app` (see mount.py): its migrations first (they must be
    in place before its top level or `on start` touch the database), then its declarations,
    with the stdlib modules built once from `settings`."""
    from .migrate import run_migrations
    from .mount import mount_script as mount
    if migrate:
        run_migrations(path, settings)
    modules = stdlib.modules(settings)
    try:
        return mount(app, path, settings,
                     lambda: new_loader(lib=settings.lib, config=settings, modules=modules))
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
