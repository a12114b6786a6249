"""`static "/prefix" "./dir"`: files under a directory, as a native handler.

Strategy. The router gives the rest of the path (percent-decoded) as the `path` parameter.
The file is found with `realpath` and must lie inside the directory's own realpath, which
refuses `..`, encoded `..%2f`, absolute paths and symlinks that lead out, all alike (404:
nothing is said about what exists outside); a folder's `index.html` passes the same check,
and files are opened without following a symlink swapped in meanwhile. Validators are the file's mtime and size:
`ETag` and `Last-Modified`, answered with `304` on `If-None-Match` / `If-Modified-Since`.
`Range` is parsed strictly (`parse_range`, RFC 9110 14.1.1: ASCII digits only): one span,
or several that merge into one, gets `206`; disjoint spans or a malformed header get the
whole file (`200`, as RFC 9110 14.2 allows); no span inside the file gets `416`. Small files are read at once; larger ones are streamed in
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
        full = self._inside(os.path.join(self.root, relative.lstrip("/")))
        try:
            st = os.stat(full) if full is not None else None
            if st is not None and stat.S_ISDIR(st.st_mode):
                # The folder's index.html is resolved and confined like any file: it may be
                # a symlink too.
                full = self._inside(os.path.join(full, "index.html"))
                st = os.stat(full) if full is not None else None
        except OSError:
            return _not_found()
        if st is None or not stat.S_ISREG(st.st_mode):
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
            parsed = parse_range(wanted, size)
            if parsed == UNSATISFIABLE:
                return Response(b"", status=416, headers={"Content-Range": f"bytes */{size}"})
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1 if size else 0
        content_type = _content_type(full)
        if length <= PIECE:
            try:
                with _open(full) as f:
                    f.seek(start)
                    body = f.read(length)
            except OSError:
                return _not_found()
            return Response(body, status=status, headers=headers, content_type=content_type)
        return Response(_pieces(full, start, length), status=status, headers=headers,
                        content_type=content_type)

    def _inside(self, path: str) -> str | None:
        """`path` with every symlink resolved, when that lies inside the root; else None.
        The one confinement check: every path served passes it last."""
        full = os.path.realpath(path)
        if full != self.root and not full.startswith(self.root + os.sep):
            return None
        return full


def _open(full: str):
    """Open a resolved path for reading; O_NOFOLLOW refuses a symlink swapped in since it
    was resolved (confinement cannot be raced past on the last component)."""
    return os.fdopen(os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")


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


UNSATISFIABLE = "unsatisfiable"
# More range-specs than this in one Range header: ignored (RFC 9110 14.2 lets a server
# ignore a Range; many small ranges are a known denial-of-service shape).
MAX_RANGES = 100
# Positions longer than this many digits are beyond any file (and beyond int()'s limit on
# digits): they stand for "past the end".
_MAX_DIGITS = 18


def _position(text: str) -> int | None:
    """1*DIGIT (RFC 9110 14.1.1) as an int, or None. Only ASCII digits: int() alone would
    also take "1_0", "+1", " 1" and other scripts' digits."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= _MAX_DIGITS else 10 ** _MAX_DIGITS


def parse_range(value: str, size: int):
    """What a `Range` header asks of a `size`-byte file (RFC 9110 14.1.1, 14.2):
    (start, end) inclusive for the one span to send (206); None to send the whole file
    (200: a unit other than bytes, a malformed header, or several spans that do not merge
    into one, which rt does not answer as multipart/byteranges); UNSATISFIABLE when no range
    overlaps the file (416)."""
    unit, equals, spec = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    parts = [part.strip(" \t") for part in spec.split(",")]
    specs = [part for part in parts if part]  # the #rule allows empty list elements
    if not specs or len(specs) > MAX_RANGES:
        return None
    spans = []
    for part in specs:
        first, dash, last = part.partition("-")
        if not dash:
            return None
        if first == "":  # suffix-range: the last N bytes
            length = _position(last)
            if length is None:
                return None
            if length > 0 and size > 0:
                spans.append((max(0, size - length), size - 1))
            continue
        start = _position(first)
        end = _position(last) if last else start  # open-ended: to the end of the file
        if start is None or end is None or end < start:
            return None  # an invalid range-spec makes the whole header invalid: ignored
        if start < size:
            spans.append((start, size - 1 if not last else min(end, size - 1)))
    if not spans:
        return UNSATISFIABLE
    spans.sort()
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start > end + 1:
            return None  # disjoint spans: the whole file
        end = max(end, next_end)
    return start, end


def _pieces(path: str, start: int, length: int):
    with _open(path) as f:
        f.seek(start)
        while length > 0:
            piece = f.read(min(PIECE, length))
            if not piece:
                return
            length -= len(piece)
            yield piece
