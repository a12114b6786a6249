"""Reading a script file safely: a regular file, of bounded size, read without blocking.

Strategy: `read_script(path)` stats the path before opening it (a FIFO, a device, a folder or
a socket is refused without being opened, so `/dev/zero` cannot grow the process and a FIFO
cannot hang the loader), opens the resolved path non-blocking and without following a symlink, checks
again on the open descriptor (the file may have been swapped since the stat), and reads at most
`MAX_SCRIPT_BYTES + 1` bytes, so a file that grows while being read is still refused whole.
Errors are `ScriptFileError` whose message names the file and never quotes its contents.
"""
from __future__ import annotations

import os
import stat

__all__ = ["MAX_SCRIPT_BYTES", "ScriptFileError", "read_script"]

MAX_SCRIPT_BYTES = 1024 * 1024  # 1 MiB: far past any hand-written script


class ScriptFileError(Exception):
    """A script file that cannot be read as a script; the message never quotes the file.
    `at` is the (line, column) in the file the error is about, when there is one."""

    def __init__(self, message: str, at: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.at = at


def read_script(path: str, limit: int = MAX_SCRIPT_BYTES) -> str:
    """The text of the regular file at `path` (UTF-8, at most `limit` bytes). Symlinks are
    resolved first (whoever checked where the file lies checked the resolved path)."""
    shown, path = path, os.path.realpath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScriptFileError(f"no such script: {shown}") from None
    except OSError as exc:
        raise ScriptFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    _check_kind(shown, info, limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ScriptFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        _check_kind(shown, os.fstat(fd), limit)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ScriptFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise ScriptFileError(f"{shown}: too large for a script (more than {limit:,} bytes)")
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        raise ScriptFileError(f"not UTF-8 text (byte {exc.start} is not valid), so not a script",
                              at=(data.count(b"\n", 0, exc.start) + 1, column)) from None


def _check_kind(path: str, info: os.stat_result, limit: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ScriptFileError(f"{path}: is a folder, not a script file")
    if not stat.S_ISREG(info.st_mode):
        raise ScriptFileError(f"{path}: not a regular file (a device, pipe or socket), "
                              "so not a script")
    if info.st_size > limit:
        raise ScriptFileError(f"{path}: too large for a script ({info.st_size:,} bytes; "
                              f"at most {limit:,})")
