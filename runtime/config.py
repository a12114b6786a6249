"""Server settings: every knob declared once, on the `Settings` dataclass, and everything else
(the flags of `rt serve`, the `rt.toml` keys, the `RT_<NAME>` environment variables, the
validation, docs/settings.md) generated from that declaration.

Strategy. Each field is declared with `setting(default, help=..., group=..., lo=..., hi=...)`,
which stores the metadata on the `dataclasses.field`. `SPECS` reads it back as one `Spec` per
setting (its name, type, flag, environment variable, bounds, unit, help). A value from any
source goes through the same two steps: `Spec.parse` turns text (a flag, an environment
variable) or a TOML value into the field's type, and `Spec.check` holds it to the declared
bounds: numbers finite and within [lo, hi], strings free of control characters, `host` an
address or a host name, a choice one of its choices. A bad value is a `ConfigError` whose one
line names the setting and where it came from; the CLI prints it and exits 2.

Sources, strongest first: flags > `RT_<NAME>` environment variables > `rt.toml` (or
`--config PATH`) > the defaults declared here. Durations are seconds (float), sizes bytes (a
flag, variable or TOML string may say `64MiB`, `512KiB`, `1GiB`).

Adding a setting: one `setting(...)` line on `Settings`, typed bool, int, float, str (each
possibly `| None`, for "off") or tuple[str, ...]. The flag, the key, the variable, the check,
the `--help` line and the row in docs/settings.md follow (regenerate the table between the
markers there with `reference_markdown()`; a test compares them).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from rtserve.lang.errors import RtError

__all__ = ["Settings", "ConfigError", "Spec", "SPECS", "GROUPS", "setting", "load_toml",
           "toml_settings", "from_env", "from_flags", "resolve", "default_threads"]


class ConfigError(RtError):
    """A setting that cannot be used: one line naming the setting and where it came from."""

    exit_code = 2


# The groups of `rt serve --help` and docs/settings.md, in order, with their titles.
GROUPS = {
    "server": "server: where to listen, how many processes and threads",
    "limits": "limits: what a client may send and how long it may take",
    "scripts": "scripts: what one request's script may use",
    "state": "state: where data lives",
    "security": "security: what scripts may reach outside rt",
    "logs": "logs",
}

_UNITS = {"seconds": "S", "bytes": "BYTES", "count": "N", "path": "DIR", "dir": "DIR", "url": "URL",
          "module": "MODULE", "host": "HOST", "port": "PORT", "name": "NAME",
          "target": "HOST[:PORT]"}


def setting(default: Any = dataclasses.MISSING, *, help: str, group: str,
            lo: float | None = None, hi: float | None = None, unit: str | None = None,
            flag: str | None = None, choices: tuple[str, ...] | None = None,
            default_factory: Callable[[], Any] | None = None, shown_default: str | None = None,
            check: Callable[[Any], str | None] | None = None) -> Any:
    """A Settings field with its metadata. `lo`/`hi` bound numbers: an int within [lo, hi], a
    float (a duration) above lo and at most hi; `unit` says what a number counts (seconds,
    bytes, count), `flag` overrides the flag/key/variable stem (`async` for `async_mode`),
    `choices` lists the allowed strings, `check` adds a field-specific test returning an error
    text or None, `shown_default` describes a computed default in --help and the docs."""
    if group not in GROUPS:
        raise ValueError(f"setting(): unknown group {group!r} (one of {', '.join(GROUPS)})")
    metadata = {"help": help, "group": group, "lo": lo, "hi": hi, "unit": unit, "flag": flag,
                "choices": choices, "shown_default": shown_default, "check": check}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def default_threads() -> int:
    """DESIGN.md: 4 x cores, at least 8."""
    return max(8, 4 * (os.cpu_count() or 1))


_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _check_host(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if len(value) <= 253 and _HOSTNAME.fullmatch(value):
        return None
    return "must be an IP address or a host name"


def _check_dir(value: str | None) -> str | None:
    if value is not None and not os.path.isdir(value):
        return "must be an existing folder"
    return None


def _check_url(url: str, schemes: tuple[str, ...]) -> str | None:
    if url.startswith(schemes):
        return None
    return f"must be a {' or '.join(schemes)} URL (leave it out for SQLite in --data-dir)"


def _check_env_names(names: tuple[str, ...]) -> str | None:
    bad = [n for n in names if "=" in n]
    return f"names environment variables, not {bad[0]!r}" if bad else None


def _check_fetch_targets(entries: tuple[str, ...]) -> str | None:
    from rtserve.stdlib._fetch_policy import Policy, PolicyError  # the one parser of them
    try:
        Policy(entries)
    except PolicyError as exc:
        return f"entry {exc}"
    return None


KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3


@dataclass(frozen=True, slots=True)
class Settings:
    # -- server
    host: str = setting("127.0.0.1", group="server", unit="host", check=_check_host,
                        help="address to bind (0.0.0.0 or :: for every interface)")
    port: int = setting(8080, group="server", lo=0, hi=65535, unit="port",
                        help="TCP port (0 picks a free one)")
    workers: int = setting(1, group="server", lo=1, hi=256, unit="count",
                           help="server processes sharing the port (SO_REUSEPORT)")
    async_mode: bool = setting(False, group="server", flag="async",
                               help="run script handlers on a thread pool so the event loop "
                                    "never waits for them")
    threads: int = setting(group="server", lo=1, hi=1024, unit="count",
                           default_factory=default_threads, shown_default="4 x cores, at least 8",
                           help="thread pool size for --async")
    queue: int = setting(1024, group="server", lo=1, hi=1_000_000, unit="count",
                         help="requests waiting for a thread before 503 + Retry-After")
    backlog: int = setting(2048, group="server", lo=1, hi=65535, unit="count",
                           help="pending connections the kernel queues before accept")
    max_connections: int = setting(10_000, group="server", lo=1, hi=1_000_000, unit="count",
                                   help="open connections; new ones past it are closed at once")
    drain: float = setting(30.0, group="server", lo=0, hi=3600, unit="seconds",
                           help="on SIGTERM/SIGINT, in-flight requests get this long to finish")
    admin_port: int = setting(0, group="server", lo=0, hi=65535, unit="port",
                              help="serve /health, /ready and /metrics on this port (0: off; "
                                   "see docs/operations.md)")
    admin_host: str = setting("127.0.0.1", group="server", unit="host", check=_check_host,
                              help="address the admin port binds (keep it private)")
    reload: bool = setting(False, group="server",
                           help="load the new version when a script changes (development)")
    # -- limits
    keep_alive: float = setting(5.0, group="limits", lo=0, hi=3600, unit="seconds",
                                help="close a keep-alive connection idle this long")
    head_timeout: float = setting(10.0, group="limits", lo=0, hi=3600, unit="seconds",
                                  help="the request head must arrive within this, else 408")
    body_timeout: float = setting(10.0, group="limits", lo=0, hi=3600, unit="seconds",
                                  help="a request body stalled this long (no bytes) gets 408")
    body_deadline: float = setting(60.0, group="limits", lo=0, hi=86400, unit="seconds",
                                   help="the whole request body must arrive within this, else 408")
    write_timeout: float = setting(30.0, group="limits", lo=0, hi=3600, unit="seconds",
                                   help="a client that reads none of a response this long is "
                                        "disconnected")
    max_body: int = setting(1 * MiB, group="limits", lo=0, hi=64 * GiB, unit="bytes",
                            help="larger request bodies get 413 (decided from Content-Length)")
    max_head: int = setting(64 * KiB, group="limits", lo=1 * KiB, hi=16 * MiB, unit="bytes",
                            help="larger request heads get 431")
    max_headers: int = setting(100, group="limits", lo=1, hi=10_000, unit="count",
                               help="more request header fields than this get 431")
    # -- scripts
    deadline: float = setting(30.0, group="scripts", lo=0, hi=86400, unit="seconds",
                              help="a handler running longer gets 503 (counted from its start)")
    max_steps: int = setting(10_000_000, group="scripts", lo=1, hi=10 ** 12, unit="count",
                             help="script step budget per request (loop iterations, calls, "
                                  "work); past it 500 and a LimitError in the log")
    max_memory: int = setting(64 * MiB, group="scripts", lo=64 * KiB, hi=64 * GiB, unit="bytes",
                              help="bytes of values one request's script may build; past it "
                                   "500 and a LimitError in the log")
    lib: str | None = setting(None, group="scripts", unit="dir", check=_check_dir,
                              help="a folder scripts may also import from (besides the served "
                                   "script's own folder)")
    native: tuple[str, ...] = setting((), group="scripts", unit="module",
                                      help="Python module (file path or importable name) whose "
                                           "setup(app) registers native handlers; repeatable")
    # -- state
    data_dir: str | None = setting(None, group="state", unit="path", shown_default="./.rt-data",
                                   help="where kv and db keep their SQLite files")
    kv: str | None = setting(None, group="state", unit="url", shown_default="SQLite in --data-dir",
                             check=lambda url: _check_url(url, ("redis://", "rediss://")),
                             help="keep kv in Redis: redis://host:port/N (scripts then run on "
                                  "the thread pool)")
    db: str | None = setting(None, group="state", unit="url", shown_default="SQLite in --data-dir",
                             check=lambda url: _check_url(url, ("postgresql://", "postgres://")),
                             help="keep db in PostgreSQL: postgresql://user@host/dbname (scripts "
                                  "then run on the thread pool)")
    migrations: str | None = setting(None, group="state", unit="path",
                                     shown_default="migrations/ beside the script",
                                     help="NNN_name.sql files applied once each, in order, "
                                          "before `on start`")
    backend_timeout: float = setting(5.0, group="state", lo=0, hi=600, unit="seconds",
                                     help="the longest a kv or db call waits for its backend "
                                          "(then a catchable BackendError)")
    db_max_rows: int = setting(10_000, group="state", lo=1, hi=10_000_000, unit="count",
                               help="rows one db query may return (past it a LimitError)")
    # -- security
    allow_env: tuple[str, ...] = setting((), group="security", unit="name", check=_check_env_names,
                                         help="an environment variable scripts may read with env.get; "
                                              "repeatable (rt.toml: env = [...])")
    allow_fetch: tuple[str, ...] = setting((), group="security", unit="target",
                                           check=_check_fetch_targets,
                                           help="HOST[:PORT], IP address or range http.fetch may reach; "
                                                "repeatable; a loopback, private or link-local address "
                                                "only when named itself (`localhost[:PORT]` names "
                                                "loopback)")
    fetch_max_body: int = setting(8 * MiB, group="security", lo=0, hi=16 * MiB, unit="bytes",
                                  help="http.fetch response bodies larger than this fail")
    # -- logs
    log_format: str = setting("text", group="logs", choices=("text", "json"),
                              help="log lines as text or as JSON objects")
    access_log: bool = setting(False, group="logs", help="log one line per request")

    def replace(self, **changes: Any) -> "Settings":
        """A copy with `changes` (field names, Python values), checked like any source."""
        for name, value in changes.items():
            if name not in SPECS:
                raise ConfigError(f"unknown setting {name!r}")
            SPECS[name].check(value, "")
        merged = dataclasses.replace(self, **changes) if changes else self
        merged.validate()
        return merged

    def validate(self) -> None:
        """Every field within its declared bounds, and the settings consistent together."""
        for spec in SPECS.values():
            spec.check(getattr(self, spec.name), "")
        if self.admin_port and self.admin_port == self.port:
            raise ConfigError(f"setting 'admin_port' must differ from 'port' ({self.port}): "
                              "the admin port is a listener of its own")
        if self.reload and self.workers > 1:
            raise ConfigError("setting 'reload' is for development and works with one worker "
                              "(drop 'workers' or 'reload')")

    def network_backends(self) -> tuple[str, ...]:
        """The settings that put kv or db on the network ('kv', 'db'): their calls wait on
        sockets, so script handlers run on the bridge even without --async."""
        return tuple(name for name in ("kv", "db") if getattr(self, name) is not None)


@dataclass(frozen=True, slots=True)
class Spec:
    """What one setting is, read from its field's metadata."""
    name: str        # the field name: async_mode
    key: str         # the flag, rt.toml key and variable stem: async
    kind: str        # bool | int | float | str | list
    optional: bool   # None allowed (off / not given): `int | None`, `str | None`
    default: Any
    help: str
    group: str
    lo: float | None
    hi: float | None
    unit: str | None
    choices: tuple[str, ...] | None
    shown_default: str | None
    extra_check: Callable[[Any], str | None] | None

    @property
    def flag(self) -> str:
        return "--" + self.key

    @property
    def env(self) -> str:
        return "RT_" + self.key.replace("-", "_").upper()

    @property
    def metavar(self) -> str:
        return _UNITS.get(self.unit or "", "VALUE")

    def default_text(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.kind == "bool":
            return "off" if not self.default else "on"
        if self.default is None or self.default == ():
            return "none"
        if self.unit == "bytes":
            return _size_text(self.default)
        if self.kind == "float":
            return f"{self.default:g} s"
        if self.kind == "int" and self.unit == "count":
            return f"{self.default:,}"
        return str(self.default)

    def bounds_text(self) -> str:
        if self.choices:
            return " or ".join(self.choices)
        if self.lo is None and self.hi is None:
            return ""
        show = _size_text if self.unit == "bytes" else (lambda v: f"{v:,}" if isinstance(v, int) else f"{v:g}")
        if self.kind == "float":
            return f"more than {show(self.lo)}, at most {show(self.hi)}"
        return f"{show(self.lo)} to {show(self.hi)}"

    # -- parsing and checking ------------------------------------------------------------------

    def parse(self, raw: Any, where: str) -> Any:
        """`raw` (text from a flag or variable, or a TOML value) as this setting's type."""
        kind = self.kind
        if raw is None and self.optional:  # (TOML has no null; a program may pass None)
            return None
        if isinstance(raw, str) and kind not in ("str", "list"):
            return self.parse_text(raw, where)
        if kind == "bool":
            ok = isinstance(raw, bool)
        elif kind == "int":
            ok = isinstance(raw, int) and not isinstance(raw, bool)
        elif kind == "float":
            ok = isinstance(raw, (int, float)) and not isinstance(raw, bool)
            raw = float(raw) if ok else raw
        elif kind == "str":
            ok = isinstance(raw, str)
        else:  # list
            raw = [raw] if isinstance(raw, str) else raw
            ok = isinstance(raw, list) and all(isinstance(v, str) for v in raw)
            raw = tuple(raw) if ok else raw
        if not ok:
            raise self.error(f"must be {_KIND_TEXT[kind]}, got {_show(raw)}", where)
        return raw

    def parse_text(self, text: str, where: str) -> Any:
        """Text from the command line or the environment as this setting's type."""
        kind = self.kind
        stripped = text.strip()
        if kind == "bool":
            value = _BOOLS.get(stripped.lower())
            if value is None:
                raise self.error(f"must be true or false (or 1/0, yes/no, on/off), got {_show(text)}", where)
            return value
        if kind in ("int", "float"):
            if self.unit == "bytes":
                value = _parse_size(stripped)
            elif kind == "int":
                value = int(stripped) if re.fullmatch(r"[+-]?\d[\d_]*", stripped) else None
            else:
                try:
                    value = float(stripped)
                except ValueError:
                    value = None
            if value is None:
                what = "a size in bytes (e.g. 1048576 or 1MiB)" if self.unit == "bytes" else _KIND_TEXT[kind]
                raise self.error(f"must be {what}, got {_show(text)}", where)
            return float(value) if kind == "float" else value
        if kind == "list":
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return text

    def check(self, value: Any, where: str) -> None:
        """Raise ConfigError unless `value` (already of this setting's type) is within bounds."""
        problem = self._problem(value)
        if problem is not None:
            raise self.error(problem, where)

    def _problem(self, value: Any) -> str | None:
        kind = self.kind
        if value is None and self.optional:
            return None
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    kind == "int" and not isinstance(value, int)):
                return f"must be {_KIND_TEXT[kind]}, got {_show(value)}"
            if isinstance(value, float) and not math.isfinite(value):
                return f"must be a finite number, got {value}"
            low_ok = self.lo is None or (value > self.lo if kind == "float" else value >= self.lo)
            if not low_ok or (self.hi is not None and value > self.hi):
                return f"must be {self.bounds_text()}, got {_show(value)}"
            return None
        if kind == "bool":
            return None if isinstance(value, bool) else f"must be true or false, got {_show(value)}"
        values = value if kind == "list" else (value,)
        if kind == "list" and not isinstance(value, tuple):
            return f"must be {_KIND_TEXT[kind]}, got {_show(value)}"
        for text in values:
            if not isinstance(text, str):
                return f"must be a string, got {_show(text)}"
            if not text:
                return "must not be empty"
            if _CONTROL.search(text):
                return f"must not contain control characters (got {_show(text)})"
            if len(text) > 4096:
                return "is too long (at most 4,096 characters)"
        if self.choices and value not in self.choices:
            return f"must be {' or '.join(repr(c) for c in self.choices)}, got {_show(value)}"
        return self.extra_check(value) if self.extra_check is not None else None

    def error(self, problem: str, where: str) -> ConfigError:
        """`where` is the source: a file, an environment variable, FLAG (the command line) or
        "" (a program setting fields directly)."""
        if where == FLAG:
            return ConfigError(f"{self.flag} {problem}")
        return ConfigError(f"{where + ': ' if where else ''}setting {self.key!r} {problem}")


FLAG = "<flag>"


_KIND_TEXT = {"bool": "true or false", "int": "an integer", "float": "a number",
              "str": "a string", "list": "a list of strings"}
_ALLOWED = {"host": "an IP address or a host name", "url": "a URL (see docs/state.md)", "dir": "an existing folder", "path": "a folder path",
            "module": "file paths or module names (RT_NATIVE: comma-separated)",
            "name": "environment variable names (RT_ALLOW_ENV: comma-separated)",
            "target": "host names (`*.example.com` for subdomains), IP addresses, CIDR ranges",
            None: None}
_BOOLS = {"1": True, "true": True, "yes": True, "on": True,
          "0": False, "false": False, "no": False, "off": False}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SIZE = re.compile(r"(\d[\d_]*)\s*(B|KiB|MiB|GiB|TiB)?", re.IGNORECASE)
_SIZE_UNITS = {None: 1, "b": 1, "kib": KiB, "mib": MiB, "gib": GiB, "tib": 1024 * GiB}


def _parse_size(text: str) -> int | None:
    m = _SIZE.fullmatch(text)
    if m is None:
        return None
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower() if m.group(2) else None]


def _size_text(n: float | None) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n and n % size == 0:
            return f"{int(n // size)} {unit}"
    return f"{n:,}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_of(annotation: Any) -> tuple[str, bool]:
    """(kind, optional) of a field's type: bool, int, float, str, tuple[str, ...], or one of
    the first four `| None`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and rest[0] in (bool, int, float, str):
            return _kind_of(rest[0])[0], True
    if annotation in (bool, int, float, str):
        return annotation.__name__, False
    if annotation == tuple[str, ...]:
        return "list", False
    raise TypeError(f"Settings: unsupported setting type {annotation!r}")


def _specs() -> dict[str, Spec]:
    hints = typing.get_type_hints(Settings)
    specs = {}
    for f in dataclasses.fields(Settings):
        m = f.metadata
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        kind, optional = _kind_of(hints[f.name])
        specs[f.name] = Spec(
            name=f.name, key=m["flag"] or f.name.replace("_", "-"), kind=kind, optional=optional,
            default=default, help=m["help"], group=m["group"], lo=m["lo"], hi=m["hi"],
            unit=m["unit"], choices=m["choices"], shown_default=m["shown_default"],
            extra_check=m["check"])
    return specs


SPECS: dict[str, Spec] = _specs()
# Every spelling a source may use (async, keep-alive, keep_alive) -> the field name.
_BY_KEY = {spelling: spec.name for spec in SPECS.values()
           for spelling in (spec.key, spec.key.replace("-", "_"), spec.name)}
_BY_KEY["env"] = "allow_env"  # STDLIB.md: `env = [...]` in rt.toml
_BY_ENV = {spec.env: spec.name for spec in SPECS.values()}


def lookup(key: str, where: str) -> Spec:
    """The setting a key names (dashes or underscores), or a ConfigError listing the known."""
    name = _BY_KEY.get(key)
    if name is None:
        known = ", ".join(sorted(spec.key for spec in SPECS.values()))
        raise ConfigError(f"{where + ': ' if where else ''}unknown setting {key!r} (known: {known})")
    return SPECS[name]


def load_toml(path: str) -> Settings:
    """Settings from a TOML file over the defaults (no environment, no flags)."""
    return resolve(toml_path=path, environ={})


def toml_settings(path: str) -> dict[str, Any]:
    """The settings a TOML file gives, checked, by field name. Raises ConfigError naming the
    file (and the key) for a missing file, bad TOML, an unknown key or a bad value."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    changes = {}
    for key, raw in data.items():
        spec = lookup(key, path)
        value = spec.parse(raw, path)
        spec.check(value, path)
        changes[spec.name] = value
    return changes


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings `RT_<NAME>` variables give (RT_MAX_BODY=2048), checked, by field name.
    Variables that name no setting are left alone (RT_CACHE_DIR, RT_DUMP are not settings)."""
    changes = {}
    for var, name in _BY_ENV.items():
        if var in environ:
            spec = SPECS[name]
            where = var
            value = spec.parse_text(environ[var], where)
            spec.check(value, where)
            changes[name] = value
    return changes


def from_flags(given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings flags give (argparse's text, or booleans and lists), checked."""
    changes = {}
    for name, raw in given.items():
        spec = SPECS[name]
        where = FLAG
        if spec.kind == "list":  # a repeated flag: one value each (a path may hold a comma)
            value = tuple(raw)
        elif isinstance(raw, str):
            value = spec.parse_text(raw, where)
        else:
            value = raw
        spec.check(value, where)
        changes[name] = value
    return changes


def resolve(flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
            toml_path: str | None = None) -> Settings:
    """Settings from every source: flags > RT_<NAME> variables > the TOML file > defaults.
    List settings (`native`) add up across sources instead of replacing each other."""
    layers = [toml_settings(toml_path) if toml_path is not None else {},
              from_env(environ if environ is not None else os.environ),
              from_flags(flags or {})]
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            if SPECS[name].kind == "list" and name in merged:
                value = merged[name] + tuple(v for v in value if v not in merged[name])
            merged[name] = value
    settings = dataclasses.replace(Settings(), **merged)
    settings.validate()
    return settings


def reference_markdown() -> str:
    """The settings reference of docs/settings.md (a test keeps the page equal to this):
    one table per group, a row per setting with its flag, variable, default and bounds."""
    out = []
    for group, title in GROUPS.items():
        specs = [spec for spec in SPECS.values() if spec.group == group]
        if not specs:
            continue
        out += [f"### {title[0].upper()}{title[1:]}", "",
                "| flag / rt.toml key | variable | default | allowed | what it does |",
                "|---|---|---|---|---|"]
        for spec in specs:
            allowed = spec.bounds_text() or _ALLOWED.get(spec.unit) or _KIND_TEXT[spec.kind]
            out.append(f"| `{spec.flag}` / `{spec.key}` | `{spec.env}` | {spec.default_text()} "
                       f"| {allowed} | {spec.help} |")
        out.append("")
    return "\n".join(out)
