"""`static "/prefix" "./dir"`: files under a directory, as a native handler.

Strategy. The router gives the rest of the path (percent-decoded) as the `path` parameter.
The file is found with `realpath` and must lie inside the directory's own realpath, which
refuses `..`, encoded `..%2f`, absolute paths and symlinks that lead out, all alike (404:
nothing is said about what exists outside). Validators are the file's mtime and size:
`ETag` and `Last-Modified`, answered with `304` on `If-None-Match` / `If-Modified-Since`.
A single `Range: bytes=a-b` gets `206` (several ranges: the whole file, as RFC 9110
allows; unsatisfiable: `416`). Small files are read at once; larger ones are streamed in
64 KiB pieces, so a file is never held whole in memory.
"""
from __future__ import annotations

import mimetypes
import os
import stat
from email.utils import formatdate, parsedate_to_datetime

from .http.response import NOT_FOUND, Response

PIECE = 64 * 1024
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


class StaticFiles:
    """A GET handler serving files below `directory` (relative to the script's folder)."""

    def __init__(self, directory: str) -> None:
        self.root = os.path.realpath(directory)

    def __call__(self, req) -> Response:
        relative = req.params.get("path", "")
        if "\x00" in relative or "\\" in relative:
            return _not_found()
        full = os.path.realpath(os.path.join(self.root, relative.lstrip("/")))
        if full != self.root and not full.startswith(self.root + os.sep):
            return _not_found()
        try:
            st = os.stat(full)
            if stat.S_ISDIR(st.st_mode):
                full = os.path.join(full, "index.html")
                st = os.stat(full)
        except OSError:
            return _not_found()
        if not stat.S_ISREG(st.st_mode):
            return _not_found()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        headers = {"ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True),
                   "Accept-Ranges": "bytes"}
        if _not_modified(req.headers, etag, st.st_mtime):
            return Response(None, status=304, headers=headers)
        size = st.st_size
        start, end, status = 0, size - 1, 200
        wanted = req.headers.get("range")
        if wanted and _if_range_ok(req.headers.get("if-range"), etag):
            parsed = _parse_range(wanted, size)
            if parsed == "unsatisfiable":
                return Response(b"", status=416, headers={"Content-Range": f"bytes */{size}"})
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1 if size else 0
        content_type = _content_type(full)
        if length <= PIECE:
            with open(full, "rb") as f:
                f.seek(start)
                body = f.read(length)
            return Response(body, status=status, headers=headers, content_type=content_type)
        return Response(_pieces(full, start, length), status=status, headers=headers,
                        content_type=content_type)


def _not_found() -> Response:
    return Response({"error": NOT_FOUND.message}, status=NOT_FOUND.status)


def _content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    guessed = guessed or "application/octet-stream"
    if guessed.startswith(_TEXT_TYPES) and "charset" not in guessed:
        guessed += "; charset=utf-8"
    return guessed


def _not_modified(headers: dict, etag: str, mtime: float) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def _if_range_ok(if_range: str | None, etag: str) -> bool:
    return if_range is None or if_range.strip() == etag


def _parse_range(value: str, size: int):
    """(start, end) inclusive for one satisfiable range; None to send the whole file;
    "unsatisfiable" for 416."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start < 0 or end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def _pieces(path: str, start: int, length: int):
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0:
            piece = f.read(min(PIECE, length))
            if not piece:
                return
            length -= len(piece)
            yield piece
