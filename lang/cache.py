"""The per-user cache directory rt keeps derived artifacts in (parser tables, compiled route
tables): `$RT_CACHE_DIR`, else `$XDG_CACHE_HOME/rt` or `~/.cache/rt`, else a private folder
in the system temp directory. Only a directory this user alone can write is used, since
what is cached there is loaded as code; with none usable, callers build without a cache.
Writes go through a temporary file and a rename, so a reader never sees half a file.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["cache_dir", "write_atomically"]


def cache_dir() -> Path | None:
    """A directory only this user can write, or None."""
    for directory in _candidates():
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = directory.stat()
            if info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) \
                    and os.access(directory, os.W_OK):
                return directory
        except (OSError, RuntimeError):
            continue
    return None


def _candidates():
    if os.environ.get("RT_CACHE_DIR"):
        yield Path(os.environ["RT_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    yield Path(xdg) / "rt" if xdg else Path.home() / ".cache" / "rt"
    import tempfile  # only for this last resort: importing it costs a few ms at startup
    yield Path(tempfile.gettempdir()) / f"rt-cache-{os.getuid()}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one.
    Failing to write a cache is not an error: it is left to the next start."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
