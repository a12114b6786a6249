"""Server settings: one frozen dataclass with DESIGN.md's defaults, loaded from `rt.toml` and
overridden by command-line flags (flags win).

Strategy: `Settings` is the single description of every knob; `rt.toml` keys are the field
names (dashes or underscores, as in the flags: `keep-alive = 2`), values are type-checked
against the field types, and an unknown key or a wrong type is a `ConfigError` that names the
key and the file (the CLI prints it and exits 2). Durations are seconds (float), sizes bytes.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Settings", "ConfigError", "load_toml", "default_threads"]


class ConfigError(Exception):
    """A settings file or flag value that cannot be used; the message names the key."""

    exit_code = 2


def default_threads() -> int:
    """DESIGN.md: 4 x cores, at least 8."""
    return max(8, 4 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    async_mode: bool = False           # --async: script handlers on the bridge's thread pool
    threads: int = field(default_factory=default_threads)
    queue: int = 1024                  # bridge queue; full -> 503 + Retry-After
    workers: int = 1                   # processes sharing the port (SO_REUSEPORT)
    native: tuple[str, ...] = ()       # modules whose setup(app) registers native handlers
    keep_alive: float = 5.0            # idle keep-alive connection closed after this
    head_timeout: float = 10.0         # whole request head must arrive within this (408)
    body_timeout: float = 10.0         # a request body stalled this long -> 408
    deadline: float = 30.0             # handler deadline (scripts) -> 503
    drain: float = 30.0                # graceful shutdown: in-flight requests get this long
    max_body: int = 1024 * 1024        # 413 past it, decided from Content-Length
    max_head: int = 64 * 1024          # request head bytes -> 431 past it
    max_headers: int = 100             # request header count -> 431 past it
    max_steps: int = 10_000_000        # script step budget
    log_format: str = "text"           # text | json
    access_log: bool = False
    data_dir: str | None = None        # kv/db's SQLite files; None: ./.rt-data
    reload: bool = False
    backlog: int = 2048
    kv: str | None = None              # redis://host:port/N; None: SQLite in data_dir
    db: str | None = None              # postgresql://...; None: SQLite in data_dir
    migrations: str | None = None      # NNN_name.sql files; None: migrations/ beside the script
    backend_timeout: float = 5.0       # longest wait for kv/db before a BackendError
    db_max_rows: int = 10_000          # rows one db query may return (LimitError past it)

    def replace(self, **changes: Any) -> "Settings":
        unknown = [k for k in changes if k not in _FIELDS]
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}")
        merged = self if not changes else dataclasses.replace(self, **changes)
        merged.validate()
        return merged

    def validate(self) -> None:
        """Raises ConfigError for values that cannot work (negative sizes, bad formats)."""
        for name in ("keep_alive", "head_timeout", "body_timeout", "deadline", "drain",
                     "backend_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"setting {_flag(name)!r} must be a positive number of seconds")
        for name in ("max_body", "max_head", "max_headers", "threads", "queue", "workers",
                     "max_steps", "backlog", "db_max_rows"):
            if getattr(self, name) < (0 if name == "max_body" else 1):
                raise ConfigError(f"setting {_flag(name)!r} is too small: {getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"setting 'port' must be between 0 and 65535, got {self.port}")
        if self.reload and self.workers > 1:
            raise ConfigError("setting 'reload' is for development and works with one worker "
                              "(drop 'workers' or 'reload')")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"setting 'log-format' must be 'text' or 'json', got {self.log_format!r}")
        if self.kv is not None and not self.kv.startswith(("redis://", "rediss://")):
            raise ConfigError(f"setting 'kv' must be a redis:// or rediss:// URL, got {self.kv!r} "
                              "(leave it out for SQLite in --data-dir)")
        if self.db is not None and not self.db.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"setting 'db' must be a postgresql:// URL, got {self.db!r} "
                              "(leave it out for SQLite in --data-dir)")

    def network_backends(self) -> tuple[str, ...]:
        """The settings that put kv or db on the network ('kv', 'db'): their calls wait on
        sockets, so script handlers run on the bridge even without --async."""
        return tuple(name for name in ("kv", "db") if getattr(self, name) is not None)


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# TOML/flag spelling -> field name where they differ beyond dashes.
_ALIASES = {"async": "async_mode"}


def _flag(name: str) -> str:
    return {"async_mode": "async"}.get(name, name).replace("_", "-")


def _coerce(key: str, value: Any, where: str) -> Any:
    """Check a TOML value against the field's type; ints are accepted for float fields."""
    kind = _FIELDS[key].type
    expected = {"str": str, "int": int, "float": (int, float), "bool": bool,
                "str | None": str, "tuple[str, ...]": (list, str)}[kind]
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, expected):
        raise ConfigError(f"{where}: setting {_flag(key)!r} must be {kind}, got {value!r}")
    if kind == "float":
        return float(value)
    if kind == "tuple[str, ...]":
        values = [value] if isinstance(value, str) else value
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{where}: setting {_flag(key)!r} must be a list of strings")
        return tuple(values)
    return value


def settings_fields() -> tuple[str, ...]:
    return tuple(_FIELDS)


def load_toml(path: str, base: Settings | None = None) -> Settings:
    """Settings from a TOML file over `base` (defaults if None). Raises ConfigError naming the
    file and key for a missing file, bad TOML, an unknown key or a wrongly typed value."""
    base = base if base is not None else Settings()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    changes = {}
    for raw_key, value in data.items():
        key = _ALIASES.get(raw_key, raw_key.replace("-", "_"))
        if key not in _FIELDS:
            raise ConfigError(f"{path}: unknown setting {raw_key!r} "
                              f"(known: {', '.join(sorted(_flag(k) for k in _FIELDS))})")
        changes[key] = _coerce(key, value, path)
    try:
        return base.replace(**changes)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
