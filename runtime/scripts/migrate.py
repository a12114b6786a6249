"""Migrations: `NNN_name.sql` files applied once each, in order, before the script loads.

Strategy. `run_migrations` finds the directory (--migrations, else `migrations/` beside the
script when it exists), lists the files whose names are digits, `_`, a name and `.sql`
(ordered by their number; two files with one number, or a name that looks like a migration
but is not one, is an error rather than a guess), and hands them to the db backend's
`migrate`, which records each applied name in `rt_migrations` and applies each file in its
own transaction under a lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so
several workers or machines starting together apply each file exactly once. It runs in the
server's first process, before workers fork and before the script's top level and `on start`;
a failing migration stops the server with a message naming the file.
"""
from __future__ import annotations

import logging
import os
import re

from rtserve.lang.errors import RtError

log = logging.getLogger("rt")

_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_.-]+)\.sql$")


class MigrationError(RtError):
    """A migration directory or file that cannot be applied; the message names it."""


def migration_files(directory: str) -> list[tuple[str, str]]:
    """(name, sql) of each migration in `directory`, in order. Raises MigrationError."""
    found: dict[int, str] = {}
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".sql"):
            continue
        match = _NAME.match(entry)
        if match is None:
            raise MigrationError(f"{os.path.join(directory, entry)}: a migration's name must be "
                                 "NNN_name.sql (digits, an underscore, a name)")
        number = int(match.group(1))
        if number in found:
            raise MigrationError(f"{directory}: {found[number]} and {entry} have the same number")
        found[number] = entry
    files = []
    for number in sorted(found):
        path = os.path.join(directory, found[number])
        try:
            with open(path, encoding="utf-8") as fh:
                files.append((found[number], fh.read()))
        except (OSError, UnicodeDecodeError) as exc:
            raise MigrationError(f"{path}: cannot be read: {exc}") from None
    return files


def migrations_dir(script_path: str, settings) -> str | None:
    given = getattr(settings, "migrations", None)
    if given is not None:
        if not os.path.isdir(given):
            raise MigrationError(f"--migrations {given}: no such directory")
        return given
    beside = os.path.join(os.path.dirname(os.path.abspath(script_path)), "migrations")
    return beside if os.path.isdir(beside) else None


def run_migrations(script_path: str, settings) -> list[str]:
    """Apply the script's pending migrations; returns the names applied."""
    from rtserve.stdlib.backends import BackendDown, DbRefused, DEFAULT_TIMEOUT, open_db
    directory = migrations_dir(script_path, settings)
    if directory is None:
        return []
    files = migration_files(directory)
    if not files:
        return []
    backend = open_db(settings)
    timeout = getattr(settings, "backend_timeout", None) or DEFAULT_TIMEOUT
    try:
        applied = backend.migrate(files, timeout)
    except (BackendDown, DbRefused) as exc:
        raise MigrationError(f"migrations in {directory}: {exc}") from None
    for name in applied:
        log.info("migration %s applied (%s)", name, backend.describe())
    return applied
