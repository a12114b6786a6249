"""The `rt` command: run, check, serve and list the routes of scripts.

Each subcommand is one small function; argparse builds the help a newcomer reads. Errors a
user can cause surface as `file:line:col: error: ...` on stderr and exit status 1, never as a
Python traceback.
"""
from __future__ import annotations

import argparse
import sys


def cmd_run(args: argparse.Namespace) -> int:
    from .scripting import run_file
    return run_file(args.file, max_steps=args.max_steps)


def cmd_check(args: argparse.Namespace) -> int:
    from .scripting import check_file
    return check_file(args.file)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rt",
        description="rt serves HTTP routes written in a small, safe scripting language.",
        epilog="Quick start: rt serve examples/app.script --port 8080",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
