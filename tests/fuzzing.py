"""Shared knobs and generators of the fuzz tests (tests/test_fuzz_*.py).

Strategy. The fuzzers draw from one seeded `random.Random`, so a failure names the seed and
case number that reproduce it. How many cases run is `RT_FUZZ_CASES` (`make test` leaves it
unset: a few hundred per fuzzer, seconds; `make fuzz` sets 100,000), and `RT_FUZZ_SEED` fixes
the seed (default: a new one per run, printed with every failure). Mutators here know nothing
about what they mutate (source text or HTTP bytes): they cut, repeat, splice and inject
bytes; the generators that know a grammar live beside their test.
"""
from __future__ import annotations

import os
import random

DEFAULT_CASES = 300


def case_count(default: int = DEFAULT_CASES) -> int:
    raw = os.environ.get("RT_FUZZ_CASES", "")
    return int(raw) if raw.strip() else default


def seed() -> int:
    raw = os.environ.get("RT_FUZZ_SEED", "")
    return int(raw) if raw.strip() else random.SystemRandom().randrange(1 << 32)


# Fragments worth splicing into anything: delimiters, escapes, control and non-ASCII
# characters, huge numbers, CR/LF, NUL and bytes that are not UTF-8.
NASTY = [b"\x00", b"\r", b"\n", b"\r\n", b"\t", b"\x7f", b"\x1b[2J", b"\xff", b"\xc3", b"\xe2\x80\xa8",
         b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"99999999999999999999999", b"-1", b"0x", b"1e999",
         b"%", b"%00", b"%zz", b"${", b"}", b"\"", b"'", b"\\", b"\\u{110000}", b"\\u{", b"(", b")",
         b"[", b"]", b"{", b"}", b";", b":", b",", b".", b"..", b"/", b"#", b"*", b"?", b" ",
         b"        ", b"\xa0", "\ufeff".encode()]


MAX_MUTANT = 256 * 1024  # repeats compound: keep a mutant small enough to check in a moment


def mutate(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    """`data` with 1-6 random edits: flips, deletions, repeats, splices, nasty insertions."""
    for _ in range(rounds if rounds is not None else rng.randint(1, 6)):
        n = len(data)
        i = rng.randint(0, n)
        j = min(n, i + rng.choice((1, 1, 2, 4, 16, 64, 256)))
        op = rng.randrange(9)
        if op == 0 and n:               # flip one byte
            k = rng.randrange(n)
            data = data[:k] + bytes([data[k] ^ (1 << rng.randrange(8))]) + data[k + 1:]
        elif op == 1:                   # delete a span
            data = data[:i] + data[j:]
        elif op == 2:                   # repeat a span (many times, sometimes)
            data = data[:i] + data[i:j] * rng.choice((2, 3, 10, 100, 1000)) + data[j:]
        elif op == 3:                   # insert something nasty
            data = data[:i] + rng.choice(NASTY) + data[i:]
        elif op == 4:                   # move a span elsewhere
            piece, rest = data[i:j], data[:i] + data[j:]
            k = rng.randint(0, len(rest))
            data = rest[:k] + piece + rest[k:]
        elif op == 5:                   # truncate
            data = data[:i]
        elif op == 6 and n:             # random byte
            k = rng.randrange(n)
            data = data[:k] + bytes([rng.randrange(256)]) + data[k + 1:]
        elif op == 7:                   # duplicate a line
            lines = data.split(b"\n")
            k = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[k])
            data = b"\n".join(lines)
        else:                           # swap two lines
            lines = data.split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = b"\n".join(lines)
        data = data[:MAX_MUTANT]
    return data
