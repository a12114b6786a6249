"""The `rt` command: run, check, serve and list the routes of scripts.

Each subcommand is one small function; argparse builds the help a newcomer reads. Errors a
user can cause surface as `file:line:col: error: ...` on stderr and exit status 1, never as a
Python traceback.
"""
from __future__ import annotations

import argparse
import sys


def cmd_run(args: argparse.Namespace) -> int:
    from .scripts.load import run_file
    return run_file(args.file, max_steps=args.max_steps)


def cmd_check(args: argparse.Namespace) -> int:
    from .scripts.load import check_file
    return check_file(args.file)


def cmd_serve(args: argparse.Namespace) -> int:
    """Settings from rt.toml then flags; native modules; the script's routes; serve."""
    import logging
    import os
    from rtserve.lang.errors import RtError
    from .app import App
    from .config import ConfigError, Settings, load_toml
    from .native import load_native
    from .http.server import configure_logging

    given = {key: value for key, value in vars(args).items() if key in _SERVE_SETTINGS}
    try:
        config = args.config if args.config is not None else (
            "rt.toml" if os.path.isfile("rt.toml") else None)
        settings = load_toml(config) if config is not None else Settings()
        if "native" in given:
            given["native"] = settings.native + tuple(given["native"])
        settings = settings.replace(**given)
    except ConfigError as exc:
        print(f"rt: error: {exc}", file=sys.stderr)
        return exc.exit_code
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
    except RtError as exc:
        print(exc.render() if hasattr(exc, "render") else f"rt: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except OSError as exc:
        print(f"rt: error: {exc}", file=sys.stderr)
        return 1
    if not app.router.routes():
        logging.getLogger("rt").warning("no routes are registered: every request gets 404")
    try:
        return app.serve()
    except OSError as exc:  # e.g. the port is taken
        print(f"rt: error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1


def cmd_routes(args: argparse.Namespace) -> int:
    """Print every route: method, path, kind (script, native, static), source location."""
    from rtserve.lang.errors import RtError
    from .app import App
    from .config import Settings
    from .native import load_native
    from .static import StaticFiles
    app = App(Settings())
    try:
        for module in args.native or ():
            load_native(module, app)
        _mount_script(app, args.file, app.settings, migrate=False)
    except RtError as exc:
        print(exc.render() if hasattr(exc, "render") else f"rt: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"rt: error: {exc}", file=sys.stderr)
        return 1
    rows = []
    for method, pattern, handler, source in app.router.routes():
        kind = "static" if isinstance(handler, StaticFiles) else getattr(handler, "kind", "native")
        rows.append(("ANY" if method == "*" else method, pattern, kind, source))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("METHOD", "PATH", "KIND"))]
    for row in [("METHOD", "PATH", "KIND", "SOURCE")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return 0


def _mount_script(app, path: str, settings, migrate: bool = True) -> None:
    """Mount FILE's declarations (routes, middleware, lifecycle) on `app`, after applying
    its migrations when `migrate`."""
    import os
    from .scripts.load import mount_script
    if not os.path.isfile(path):
        raise OSError(f"{path}: file not found")
    mount_script(app, path, settings, migrate=migrate)


# Flags of `rt serve` that are Settings fields (argparse leaves out the ones not given).
_SERVE_SETTINGS = frozenset({
    "host", "port", "async_mode", "threads", "queue", "workers", "native", "keep_alive",
    "head_timeout", "body_timeout", "deadline", "drain", "max_body", "max_head",
    "max_headers", "max_steps", "reload", "data_dir", "log_format", "access_log",
    "kv", "db", "migrations", "backend_timeout", "db_max_rows",
})


def _add_serve_parser(sub) -> None:
    omit = argparse.SUPPRESS  # flags not given stay out of the namespace: rt.toml decides
    p = sub.add_parser(
        "serve", help="serve a script's routes (and native handlers) over HTTP",
        description="Serve FILE's routes over HTTP/1.1 on uvloop. Settings come from rt.toml "
                    "(or --config), and flags override them. Stop with Ctrl-C or SIGTERM: "
                    "in-flight requests finish first (see --drain).",
        epilog="Examples:\n  rt serve app.script --port 8080\n"
               "  rt serve app.script --native fast.py --async --threads 16\n"
               "  rt serve --native examples/fast.py     (native handlers only)\n\n"
               "rt caches parser tables and compiled route tables in $RT_CACHE_DIR (default\n"
               "~/.cache/rt); deleting it is always safe. RT_DUMP=script,router prints the\n"
               "Python generated for the script and the route table. More in docs/server.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", nargs="?", default=None,
                   help="the .script file whose routes to serve (optional with --native)")
    g = p.add_argument_group("where to listen")
    g.add_argument("--host", default=omit, help="address to bind (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=omit, help="TCP port (default 8080; 0 picks a free one)")
    g.add_argument("--workers", type=int, default=omit, metavar="N",
                   help="server processes sharing the port (default 1)")
    g = p.add_argument_group("handlers")
    g.add_argument("--native", action="append", default=omit, metavar="MODULE",
                   help="Python module (file path or importable name) whose setup(app) "
                        "registers native handlers; repeatable")
    g.add_argument("--async", dest="async_mode", action="store_true", default=omit,
                   help="run script handlers on a thread pool so the event loop never waits")
    g.add_argument("--threads", type=int, default=omit, metavar="N",
                   help="thread pool size for --async (default 4 x cores, at least 8)")
    g.add_argument("--queue", type=int, default=omit, metavar="N",
                   help="requests waiting for a thread before 503 (default 1024)")
    g.add_argument("--deadline", type=float, default=omit, metavar="S",
                   help="seconds a handler may run before 503 (default 30)")
    g.add_argument("--max-steps", type=int, default=omit, metavar="N",
                   help="script step budget per request (default 10,000,000)")
    g = p.add_argument_group("limits and timeouts")
    g.add_argument("--keep-alive", type=float, default=omit, metavar="S",
                   help="close a keep-alive connection idle this long (default 5)")
    g.add_argument("--head-timeout", type=float, default=omit, metavar="S",
                   help="the request head must arrive within S seconds, else 408 (default 10)")
    g.add_argument("--body-timeout", type=float, default=omit, metavar="S",
                   help="a request body stalled S seconds gets 408 (default 10)")
    g.add_argument("--max-body", type=int, default=omit, metavar="BYTES",
                   help="larger request bodies get 413 (default 1048576)")
    g.add_argument("--max-head", type=int, default=omit, metavar="BYTES",
                   help="larger request heads get 431 (default 65536)")
    g.add_argument("--max-headers", type=int, default=omit, metavar="N",
                   help="more request headers than this get 431 (default 100)")
    g.add_argument("--drain", type=float, default=omit, metavar="S",
                   help="on SIGTERM/SIGINT, give in-flight requests S seconds (default 30)")
    g = p.add_argument_group("configuration and logs")
    g.add_argument("--config", default=None, metavar="PATH",
                   help="settings file (default: ./rt.toml when present); flags override it")
    g.add_argument("--reload", action="store_true", default=omit,
                   help="restart when the script changes (development)")
    g.add_argument("--log-format", choices=("text", "json"), default=omit,
                   help="log lines as text (default) or JSON")
    g.add_argument("--access-log", action="store_true", default=omit,
                   help="log one line per request")
    g = p.add_argument_group("state (kv and db; docs/state.md)")
    g.add_argument("--data-dir", default=omit, metavar="DIR",
                   help="where kv and db keep their SQLite files (default ./.rt-data)")
    g.add_argument("--kv", default=omit, metavar="URL",
                   help="keep kv in Redis: redis://host:port/N (default: SQLite in --data-dir)")
    g.add_argument("--db", default=omit, metavar="URL",
                   help="keep db in PostgreSQL: postgresql://user@host/dbname "
                        "(default: SQLite in --data-dir)")
    g.add_argument("--migrations", default=omit, metavar="DIR",
                   help="NNN_name.sql files applied once each before `on start` "
                        "(default: migrations/ beside the script, when present)")
    g.add_argument("--backend-timeout", type=float, default=omit, metavar="S",
                   help="a kv/db call waits at most S seconds for its backend (default 5)")
    g.add_argument("--db-max-rows", type=int, default=omit, metavar="N",
                   help="rows one db query may return (default 10,000)")
    p.set_defaults(func=cmd_serve)


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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="report every static error in a script",
                       description="Parse and resolve FILE (and the scripts it imports) without "
                                   "running it. Exit 1 with every error, 0 when clean.")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_check)

    _add_serve_parser(sub)

    p = sub.add_parser("routes", help="list a script's routes: method, path, kind, source",
                       description="Load FILE (running its top level, not its `on start`) and print "
                                   "every route it declares, with the native ones of --native "
                                   "modules: method, path, kind (script, native, static), source.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--native", action="append", metavar="MODULE",
                   help="also list the routes a native module registers (repeatable)")
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
