"""The `rt` command: run, check, serve and list the routes of scripts.

Each subcommand is one small function; argparse builds the help a newcomer reads. Errors a
user can cause surface as `file:line:col: error: ...` on stderr and exit status 1, never as a
Python traceback.
"""
from __future__ import annotations

import argparse
import sys


def cmd_run(args: argparse.Namespace) -> int:
    from .http.server import configure_logging
    from .scripts.load import run_file
    configure_logging("text")  # log.* lines go to stderr (print goes to stdout)
    return run_file(args.file, max_steps=args.max_steps, lib=args.lib)


def cmd_check(args: argparse.Namespace) -> int:
    from .scripts.load import check_file
    return check_file(args.file, lib=args.lib)


def cmd_serve(args: argparse.Namespace) -> int:
    """Settings (flags > RT_<NAME> > rt.toml > defaults); native modules; the script; serve."""
    import logging
    import os
    from rtserve.lang.errors import RtError
    from .app import App
    from .config import SPECS, resolve
    from .native import load_native
    from .http.server import configure_logging

    try:
        config = args.config if args.config is not None else (
            "rt.toml" if os.path.isfile("rt.toml") else None)
        settings = resolve({k: v for k, v in vars(args).items() if k in SPECS}, os.environ, config)
    except RtError as exc:
        return _failed(exc)
    configure_logging(settings.log_format)
    network = settings.network_backends()
    if network and not settings.async_mode:
        settings = settings.replace(async_mode=True)
        logging.getLogger("rt").info(
            "--%s is on the network: script handlers run on the thread pool (as with --async) "
            "so the event loop never waits on it", " and --".join(network))
    app = App(settings)
    try:
        for module in settings.native:
            load_native(module, app)
        if args.file is not None:
            _mount_script(app, args.file, settings)
    except (RtError, OSError) as exc:
        return _failed(exc)
    if not app.router.routes():
        logging.getLogger("rt").warning("no routes are registered: every request gets 404")
    try:
        return app.serve()
    except RtError as exc:  # `on start` failed: its stack is logged already
        return _failed(exc)
    except OSError as exc:  # e.g. the port is taken
        where = getattr(exc, "address", f"{settings.host}:{settings.port}")
        return _failed(f"cannot listen on {where}: {exc.strerror or exc}")


def cmd_routes(args: argparse.Namespace) -> int:
    """Print every route: method, path, kind (script, native, static), source location."""
    from rtserve.lang.errors import RtError
    from .app import App
    from .config import Settings
    from .native import load_native
    from .static import StaticFiles
    try:
        app = App(Settings().replace(lib=args.lib) if args.lib else Settings())
        for module in args.native or ():
            load_native(module, app)
        _mount_script(app, args.file, app.settings, migrate=False)
    except (RtError, OSError) as exc:
        return _failed(exc)
    rows = []
    for method, pattern, handler, source in app.router.routes():
        kind = "static" if isinstance(handler, StaticFiles) else getattr(handler, "kind", "native")
        rows.append(("ANY" if method == "*" else method, pattern, kind, source))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("METHOD", "PATH", "KIND"))]
    for row in [("METHOD", "PATH", "KIND", "SOURCE")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return 0


def _failed(problem) -> int:
    """Report what stopped a command on stderr and return its exit status: an rt error as it
    renders itself (with its own exit code), anything else as one `rt: error:` line."""
    from rtserve.lang.errors import RtError
    if isinstance(problem, RtError):
        print(problem.render(), file=sys.stderr)
        return problem.exit_code
    print(f"rt: error: {problem}", file=sys.stderr)
    return 1


def _mount_script(app, path: str, settings, migrate: bool = True) -> None:
    """Mount FILE's declarations (routes, middleware, lifecycle) on `app`, after applying its
    migrations when `migrate`. A missing file, a folder, FIFO or device is the loader's error
    (lang/sourcefile.py), like any import's."""
    from .scripts.load import mount_script
    mount_script(app, path, settings, migrate=migrate)


def _add_serve_parser(sub) -> None:
    from .config import GROUPS, SPECS
    p = sub.add_parser(
        "serve", help="serve a script's routes (and native handlers) over HTTP",
        description="Serve FILE's routes over HTTP/1.1 on uvloop. Stop with Ctrl-C or SIGTERM:\n"
                    "in-flight requests finish first (see --drain).\n\n"
                    "Every setting below is also an RT_<NAME> environment variable\n"
                    "(RT_MAX_BODY=2MiB) and an rt.toml key (max-body = 2097152). Flags win over\n"
                    "variables, variables over rt.toml, rt.toml over the defaults.",
        epilog="Examples:\n  rt serve app.script --port 8080\n"
               "  rt serve app.script --native fast.py --async --threads 16\n"
               "  rt serve --native examples/fast.py     (native handlers only)\n\n"
               "Durations are seconds; sizes are bytes or 512KiB / 64MiB / 1GiB.\n"
               "rt caches parser tables and compiled route tables in $RT_CACHE_DIR (default\n"
               "~/.cache/rt); deleting it is always safe. Every setting: docs/settings.md.\n"
               "RT_DUMP=script,router prints the Python generated for the script and the\n"
               "route table.",
        formatter_class=_HelpFormatter)
    p.add_argument("file", metavar="FILE", nargs="?", default=None,
                   help="the .script file whose routes to serve (optional with --native)")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="settings file (default: ./rt.toml when present)")
    groups = {name: p.add_argument_group(title) for name, title in GROUPS.items()}
    omit = argparse.SUPPRESS  # flags not given stay out of the namespace: the other sources decide
    for spec in SPECS.values():
        text = f"{spec.help} (default: {spec.default_text()})"
        group = groups[spec.group]
        if spec.kind == "bool":
            group.add_argument(spec.flag, dest=spec.name, action=argparse.BooleanOptionalAction,
                               default=omit, help=text)
        elif spec.kind == "list":
            group.add_argument(spec.flag, dest=spec.name, action="append", default=omit,
                               metavar=spec.metavar, help=text)
        else:
            # Parsed and checked by config.resolve, so every source gets the same one-line error.
            group.add_argument(spec.flag, dest=spec.name, default=omit, help=text,
                               metavar="|".join(spec.choices) if spec.choices else spec.metavar)
    p.set_defaults(func=cmd_serve)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Room for the flag column, so each setting's help starts on its own line's right."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _add_lib_flag(p: argparse.ArgumentParser) -> None:
    from .config import SPECS
    p.add_argument("--lib", default=None, metavar="DIR", help=SPECS["lib"].help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rt",
        description="rt serves HTTP routes written in a small, safe scripting language.",
        epilog="""examples:
  rt run hello.script              run a script's top level; print() goes to stdout
  rt check app.script              list every static error (file:line:col), run nothing
  rt serve app.script              serve its routes on http://127.0.0.1:8080
  rt serve app.script --async      ... with handlers on a thread pool (blocking calls ok)
  rt routes app.script             what would be served, and where each route is declared
  rt COMMAND --help                the flags of a command

Settings also come from ./rt.toml (keys are the flag names). Guides: README.md,
docs/language.md (the language) and docs/server.md (serving, limits, settings).""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run a script's top level (no server); print() goes to stdout",
                       description="Run FILE's top level, print() to stdout. Exit status 0, or 1 "
                                   "with the error and the script's stack on stderr.")
    p.add_argument("file", metavar="FILE", help="the .script file to run")
    p.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="stop with LimitError after N steps (loop iterations and calls); "
                        "unlimited by default for rt run")
    _add_lib_flag(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="report every static error in a script",
                       description="Parse and resolve FILE (and the scripts it imports) without "
                                   "running it: every error, route clashes included, and "
                                   "warnings (a middleware that can end without returning). "
                                   "Exit 1 with any error, 0 when clean.")
    p.add_argument("file", metavar="FILE")
    _add_lib_flag(p)
    p.set_defaults(func=cmd_check)

    _add_serve_parser(sub)

    p = sub.add_parser("routes", help="list a script's routes: method, path, kind, source",
                       description="Load FILE (running its top level, not its `on start`) and print "
                                   "every route it declares, with the native ones of --native "
                                   "modules: method, path, kind (script, native, static), source.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--native", action="append", metavar="MODULE",
                   help="also list the routes a native module registers (repeatable)")
    _add_lib_flag(p)
    p.set_defaults(func=cmd_routes)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
