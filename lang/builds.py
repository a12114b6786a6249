"""Large results in pieces: strings, bytes and lists of megabytes built by a Python loop of
short C calls, so that no single call holds the interpreter lock for long.

Why. Under `rt serve --async` a handler runs on a worker thread beside the event loop, which
gets the lock back only between two calls (lang/scans.py says how CPython hands it over).
Building a big value is one C call, and most of its time is not the copy: the server keeps
every block past 128 KiB mapped on its own and unmapped when freed (runtime/http/server.py
`settle_allocator`), so each big result is fresh memory whose pages the kernel faults in one
by one, with the lock held. Measured on this machine (CPython 3.11, glibc, 2 cores):

| one call | copy (memory reused) | fresh block, as the server runs |
|---|---|---|
| `s + s`, two 8M-character strings | 0.9 ms | 10 ms |
| `xs + xs`, two 4M-element lists (64 MB) | 3 ms (plus increfs) | 31-47 ms |
| `"".join` of 60 pieces of 512 Ki characters | 2 ms | 22 ms |
| freeing a 64 MB list (decrefs and munmap) | | 4-7 ms |

about 0.5 ms a megabyte of page faults, against 0.06 ms a megabyte of copying. `xs = xs + xs`
in a loop held the loop past its 100 ms p99 bound; the memory charge, the collector and
freeing the old value are each under a few ms.

Strategy. A result larger than LARGE_BYTES, built on a thread beside an event loop
(`limits.beside_a_loop()`), is built by appending pieces of at most PIECE_BYTES to a value
that grows in place: a list by `extend`, a string by `+=` on a local (CPython resizes a string
nothing else holds in place), bytes through `io.BytesIO` (whose `getvalue` hands over its
buffer without a copy). A growing block past the mmap threshold is resized by `mremap`,
which moves no bytes, so each call copies one piece and faults in its pages: ~0.1-0.4 ms.
Pieces are taken from the operands by slices under the mmap threshold (reused heap memory),
bytes through a memoryview. The piecewise build takes 1.3-1.8x the one call's time in all,
so small results, and every result on the loop's own thread or inline, take the one call;
`large` is the one place that decides.

Each builder returns exactly the one-call result (tests/test_builds.py checks each against
Python's own operation with tiny pieces, by hypothesis). Charging is the callers' (lang/ops,
lang/builtins): they charge the work and the result's bytes before calling here, as before.

Answers (the callers charge each part as it is made, through `spend`): `utf8` encodes a text
answer in pieces (`utf8_in_parts` decides: beside a loop past LARGE_BYTES, or anywhere when it
is not ASCII, whose UTF-8 a charge of a byte a character undercounts); `json_text` makes a
JSON text, compact or indented, in parts (`json_in_parts` decides).

One piece still costs a whole copy: a string result whose kind (ASCII, Latin-1, 2 or 4 bytes
a character) is wider than what is built so far, i.e. `ascii + latin1`: the first wider
piece converts what is built (CPython keeps a string in its narrowest kind, so there is no
way to start wide). That copy is bounded by the memory budget, and measured at 4-6 ms for
8M characters.
"""
from __future__ import annotations

import io
from bisect import bisect_right
from itertools import accumulate, islice, repeat as _same
from operator import add

from . import limits

PIECE_BYTES = 1 << 16   # bytes one call adds: under the 128 KiB mmap threshold (reused heap)
LARGE_BYTES = 1 << 20   # results past this many bytes are built in pieces (beside a loop)
RUN_ITEMS = 4096        # items `joined` sums in one call (~40 us)
JSON_PARTS_FROM = 4 * PIECE_BYTES  # beside a loop, a JSON text whose bound is past this is
                                   # made in parts (a float's text can be 24 times its bound)
_SURELY_SMALL = LARGE_BYTES // 8  # elements: no string or list this long is past LARGE_BYTES


def _width(seq) -> int:
    """Bytes an element of `seq` takes in a result: a list slot, or a character."""
    if type(seq) is str:
        return limits.char_width(seq)
    return 1 if type(seq) is bytes else limits.SLOT_BYTES


def large(seq, n: int) -> bool:
    """Should a result of `n` elements of `seq`'s kind be built in pieces here?"""
    return n > _SURELY_SMALL and n * _width(seq) > LARGE_BYTES and limits.beside_a_loop()


# --------------------------------------------------------------------------- pieces


def _pieces(seq, lo: int = 0, hi: int | None = None, step: int = 1):
    """Pieces of `seq[lo:hi:step]` (lo, hi, step normalised as `slice.indices` gives them) of
    at most PIECE_BYTES each, in order."""
    indices = range(lo, len(seq) if hi is None else hi, step)
    size = max(1, PIECE_BYTES // _width(seq))
    if type(seq) is bytes and step == 1:
        seq = memoryview(seq)
    for k in range(0, len(indices), size):
        part = indices[k:k + size]
        stop = part[-1] + step
        yield seq[part.start:stop if stop >= 0 else None:step]


def _build(like, pieces):
    """The concatenation of `pieces` (each of `like`'s type, or a memoryview of bytes)."""
    if type(like) is str:
        result = ""
        for piece in pieces:
            result += piece  # in place: `result` is the only reference
        return result
    if type(like) is bytes:
        out = io.BytesIO()
        for piece in pieces:
            out.write(piece)
        return out.getvalue()
    result = []
    for piece in pieces:
        result.extend(piece)
    return result


def _all_pieces(parts):
    for part in parts:
        yield from _pieces(part)


# --------------------------------------------------------------------------- builders


def concat(parts):
    """`parts[0] + parts[1] + ...`: strings, bytes, or lists (a FrozenList gives a list)."""
    return _build(parts[0], _all_pieces(parts))


def repeat(seq, n: int):
    """`seq * n` (n > 0): pieces of the operand, or a short operand repeated to a piece."""
    size = max(1, PIECE_BYTES // _width(seq))
    if len(seq) >= size:
        return _build(seq, (piece for _ in range(n) for piece in _pieces(seq)))
    if not seq:
        return seq[:0] if type(seq) is not list else []
    times = size // len(seq)
    unit = seq * times
    whole, rest = divmod(n, times)
    tail = [seq * rest] if rest else []
    return _build(seq, [*(unit for _ in range(whole)), *tail])


def sliced(seq, lower, upper, step=None):
    """`seq[lower:upper:step]` (a FrozenList gives a list)."""
    lo, hi, step = slice(lower, upper, step).indices(len(seq))
    return _build(seq, _pieces(seq, lo, hi, step))


def joined(sep, items):
    """`sep.join(items)` for strings or bytes: runs of items of at most PIECE_BYTES of text
    (found at C speed: running sums of their lengths, bisected) joined in one call each, with
    `sep` between runs; an item longer than that is copied in pieces."""
    if not items:
        return sep[:0]
    if len(sep) > PIECE_BYTES:
        return _build(sep, _all_pieces(_interleaved(sep, items)))
    return _build(sep, _runs(sep, items))


def _runs(sep, items):
    """Blocks of RUN_ITEMS items, each summed at C speed: a block whose text fits a piece is
    joined in one call; in a longer one, runs are found from the running sums of its lengths
    (bisected), and an item longer than a piece is copied in pieces."""
    limit = max(1, PIECE_BYTES // _width(sep or items[0]))
    extra = len(sep)
    for base in range(0, len(items), RUN_ITEMS):
        if base:
            yield sep
        block = items[base:base + RUN_ITEMS]
        if sum(map(len, block)) + extra * len(block) <= limit:
            yield sep.join(block)
            continue
        ends = list(accumulate(map(add, map(len, block), _same(extra, len(block)))))
        n, lo, before = len(block), 0, 0  # before: the text of the items ahead of `lo`
        while lo < n:
            if lo:
                yield sep
            hi = max(lo + 1, bisect_right(ends, before + limit, lo))
            if hi == lo + 1 and len(block[lo]) > limit:
                yield from _pieces(block[lo])
            else:
                yield sep.join(block[lo:hi])
            before, lo = ends[hi - 1], hi


def _interleaved(sep, items):
    for i, item in enumerate(items):
        if i:
            yield sep
        yield item


def extend(xs: list, values) -> None:
    """`xs.extend(values)` (values may be xs itself: its length is taken first)."""
    for piece in _pieces(values, 0, len(values)):
        xs.extend(piece)


def replaced(s: str, old: str, new: str, count: int = -1) -> str:
    """`s.replace(old, new, count)`, in windows whose results are at most about PIECE_BYTES.
    Python replaces the greedy chain of non-overlapping occurrences from the start, and so do
    the windows: `t.split(old)` of a window lists the chain's elements that end inside it (a
    greedy chain cut to a prefix is a prefix of the chain), the window's result is everything
    up to the end of the last of them, and the next window starts there; a window with none
    gives its text up to where an occurrence could start and cross its end."""
    if not old:
        if count >= 0:
            return s.replace(old, new, count)
        return _build(s, _inserted(s, new))
    return _build(s, _replaced_pieces(s, old, new, count))


def _inserted(s: str, new: str):
    """The pieces of `s.replace("", new)`: `new` before every character, and once at the end."""
    size = max(1, PIECE_BYTES // (len(new) + 1))
    for lo in range(0, len(s), size):
        yield new
        yield new.join(s[lo:lo + size])
    yield new


def _replaced_pieces(s: str, old: str, new: str, count: int):
    width, n = len(old), len(s)
    window = max(2 * width, PIECE_BYTES * width // max(width, len(new)))
    left = count
    pos = 0
    while pos < n:
        stop = min(n, pos + window)
        if left == 0:
            yield from _pieces(s, pos, n)
            return
        parts = s[pos:stop].split(old, left)
        found = len(parts) - 1
        if found:
            tail = len(parts[-1])  # the window's text after the last occurrence replaced
            parts[-1] = ""
            yield new.join(parts)
            pos = stop - tail
            if left > 0:
                left -= found
        elif stop == n:
            yield s[pos:n]
            return
        else:
            cut = stop - width + 1
            yield s[pos:cut]
            pos = cut


# --------------------------------------------------------------------------- UTF-8


def utf8_in_parts(s: str) -> bool:
    """Should the UTF-8 bytes of `s` (a text answer) be made by `utf8`? Beside a loop when
    the string takes past LARGE_BYTES (`large`'s rule); anywhere when it is not ASCII and its
    bytes could be past LARGE_BYTES (a charge of a byte a character, made before, undercounts
    them up to 4 times: what they take past it is charged as they grow)."""
    n = len(s)
    return n > _SURELY_SMALL and ((4 * n > LARGE_BYTES and not s.isascii()) or large(s, n))


def utf8(s: str, spend) -> bytes:
    """`s.encode("utf-8")` made piece by piece (slices of at most PIECE_BYTES: a slice never
    cuts a character), each piece's bytes told to `spend` before they are appended."""
    out = io.BytesIO()
    for piece in _pieces(s):
        data = piece.encode("utf-8")
        spend(len(data))
        out.write(data)
    return out.getvalue()


# --------------------------------------------------------------------------- JSON text


def json_in_parts(bound: int) -> bool:
    """Should a JSON text whose size is at least `bound` be made by `json_text`? Beside a loop
    past JSON_PARTS_FROM (no call holds the lock long), anywhere past LARGE_BYTES (what a
    bound undercounts is charged as it grows, not after a text of up to 24 times it is made)."""
    return bound > LARGE_BYTES or (bound > JSON_PARTS_FROM and limits.beside_a_loop())


def json_text(value, encode, size_of, spend, kind=bytes, indent=None):
    """`encode(value)` (JSON, as `kind`: UTF-8 bytes or a string) made by calls that each
    encode a part of about PIECE_BYTES of text, appended to a result that grows in place.
    `size_of(x, level)` is a lower bound of x's text where it sits `level` containers deep
    (nested.measure, plus nested.indentation for an indented text); `spend(n)` is told each
    part's real size before the next is made, so the caller charges the text as it grows and
    may refuse it (by raising). `indent`: the int `encode` indents by (json.encode(indent:
    n)), None for compact text.

    A list or map is cut into runs of consecutive elements whose bound is about a piece, each
    encoded in one call with its brackets taken off; a run bigger than two pieces is halved,
    and a single element that big is itself cut the same way (a map's key written first); a
    long string is encoded in slices with its quotes taken off (JSON escapes character by
    character). Indented, each part is encoded as if it stood alone and then indented to the
    level where it sits (`_Form.at`: JSON strings hold no raw line break, so every line break
    in the encoder's text is one of its own). What `encode` refuses (NaN, an unknown type) it
    refuses in the part that holds it, as it would for the whole."""
    form = _Form(encode, size_of, kind, indent)
    if kind is bytes:
        out = io.BytesIO()

        def put(data: bytes) -> None:
            spend(len(data))
            out.write(data)

        _json_parts(value, size_of(value, 0), form, put, 0)
        return out.getvalue()
    parts: list[str] = []

    def put(data: str) -> None:
        spend(len(data))
        parts.append(data)

    _json_parts(value, size_of(value, 0), form, put, 0)
    return joined("", parts)  # in pieces beside a loop (a cell's `+=` would copy each time)


_BYTE_MARKS = dict(zip("[]{},\"\n ", (b"[", b"]", b"{", b"}", b",", b'"', b"\n", b" ")))
_TEXT_MARKS = {mark: mark for mark in _BYTE_MARKS}
_JSON_DEPTH = 64  # levels cut into parts; a big value deeper than this is encoded whole


class _Form:
    """How the parts of one JSON text are written: bytes or a string, compact or indented.
    Python's indented layout, which each part reproduces: the elements of a non-empty list or
    map each on a line of their own, indented one step deeper than the line their container
    opens on, and its closing bracket on a line at the container's own indentation."""
    __slots__ = ("encode", "size_of", "mark", "indent", "_closing")

    def __init__(self, encode, size_of, kind, indent) -> None:
        self.encode, self.size_of, self.indent = encode, size_of, indent
        self.mark = _BYTE_MARKS if kind is bytes else _TEXT_MARKS
        self._closing = 1 if indent is None else 2  # "]", or "\n]": what ends a container

    def at(self, text, level: int):
        """`text`, as the encoder writes a value standing alone, as it reads `level`
        containers deep: each line break followed by that many more steps of indentation."""
        if self.indent and level:  # compact text has no line breaks; indent 0 adds nothing
            newline = self.mark["\n"]
            return text.replace(newline, newline + self.mark[" "] * (self.indent * level))
        return text

    def whole(self, value, level: int):
        return self.at(self.encode(value), level)

    def inner(self, container, level: int):
        """The text of a non-empty container `level` deep without its brackets (and, indented,
        without the line break before its closing bracket): a run of its elements."""
        return self.at(self.encode(container)[1:-self._closing], level)

    def lead(self, key, is_map: bool, level: int):
        """What comes before an element, of a container `level` deep, that is written in
        parts: a map's key and colon as the encoder writes them (a list's: nothing), after,
        indented, the element's line break and indentation."""
        text = self.encode({key: 0} if is_map else [0])
        return self.at(text[1:-1 - self._closing], level)

    def close(self, bracket: str, level: int):
        """A container's closing bracket, the container `level` deep."""
        if self.indent is None:
            return self.mark[bracket]
        return self.mark["\n"] + self.mark[" "] * (self.indent * level) + self.mark[bracket]


def _json_parts(value, size: int, form: _Form, put, level: int) -> None:
    """`value`'s text, `level` containers deep, its bound `size`, given to `put` in parts."""
    if size <= 2 * PIECE_BYTES or level > _JSON_DEPTH:
        put(form.whole(value, level))
    elif type(value) is str:
        quote = form.mark['"']
        put(quote)
        for piece in _pieces(value):
            put(form.encode(piece)[1:-1])
        put(quote)
    elif isinstance(value, (dict, list)) and value:
        is_map = isinstance(value, dict)
        put(form.mark["{" if is_map else "["])
        _json_runs(iter(value.items() if is_map else value), len(value), size, is_map, form,
                   put, level)
        put(form.close("}" if is_map else "]", level))
    else:
        put(form.whole(value, level))


def _json_runs(items, n: int, size: int, is_map: bool, form: _Form, put, level: int) -> None:
    """The elements of a list or map `level` deep (`items`: an iterator over its n elements
    or pairs), comma-separated, without brackets: runs of about a piece each. The whole's
    bound gives the longest run; the bound undercounts numbers (a float's text is up to 24
    characters), so the first run is a sixteenth of that and each next run is sized by the
    text the last one made."""
    per_run = max(1, n * PIECE_BYTES // max(size, 1))
    take = max(1, per_run // 16)
    written = False  # an element is written: the next run starts with a comma
    made = 0  # characters of text the runs made
    size_of = form.size_of

    def counted(data) -> None:
        nonlocal made
        made += len(data)
        put(data)

    def run_parts(run: list) -> None:
        nonlocal written
        whole = dict(run) if is_map else run
        bound = size_of(whole, level)
        if bound > 2 * PIECE_BYTES and len(run) > 1:
            half = len(run) // 2
            run_parts(run[:half])
            run_parts(run[half:])
            return
        if written:
            counted(form.mark[","])
        written = True
        if bound <= 2 * PIECE_BYTES:
            counted(form.inner(whole, level))
            return
        if is_map:
            key, item = run[0]
            counted(form.lead(key, True, level))
            _json_parts(item, size_of(item, level + 1), form, counted, level + 1)
        else:  # [item]'s bound is item's, give or take its brackets and line breaks
            counted(form.lead(None, False, level))
            _json_parts(run[0], bound, form, counted, level + 1)

    while True:
        run = list(islice(items, take))
        if not run:
            return
        before = made
        run_parts(run)
        if made > before:
            take = max(1, min(per_run, len(run) * PIECE_BYTES // (made - before)))
