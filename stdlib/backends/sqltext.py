"""`?` placeholders in SQL text: found by a small tokenizer, never inside literals or comments.

Strategy. One left-to-right scan splits SQL text into the parts where a `?` is a placeholder
and the parts where it is text: string literals ('it''s', E'\\'', B'01', X'ff'), quoted
identifiers ("a?b"), dollar-quoted strings ($$..$$, $tag$..$tag$), line comments (-- ?) and
block comments (/* ? /* nested */ ? */). `placeholders(sql)` counts the placeholders (both
backends check the count against the parameters before the database sees them);
`to_pyformat(sql)` rewrites them for psycopg (`?` -> `%s`, and every `%` -> `%%`, literals
included, since psycopg reads `%` everywhere in a query with parameters). An unterminated
literal or comment is left for the database to report; the scan never fails.
"""
from __future__ import annotations

__all__ = ["split", "placeholders", "to_pyformat"]


def split(sql: str) -> list[tuple[bool, str]]:
    """The text as (is_code, chunk) pieces, in order; `?` in a code chunk is a placeholder."""
    pieces: list[tuple[bool, str]] = []
    n = len(sql)
    i = start = 0

    def literal_until(end: int) -> None:
        nonlocal start
        if i > start:
            pieces.append((True, sql[start:i]))
        pieces.append((False, sql[i:end]))
        start = end

    while i < n:
        c = sql[i]
        if c == "'":
            backslashes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not _word(sql[i - 2]))
            end = _quoted(sql, i, "'", backslashes)
            literal_until(end)
            i = end
        elif c == '"':
            end = _quoted(sql, i, '"', False)
            literal_until(end)
            i = end
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end + 1
            literal_until(end)
            i = end
        elif c == "/" and sql.startswith("/*", i):
            end = _block_comment(sql, i)
            literal_until(end)
            i = end
        elif c == "$" and (i == 0 or not _word(sql[i - 1])):
            end = _dollar(sql, i)
            if end is None:
                i += 1
            else:
                literal_until(end)
                i = end
        else:
            i += 1
    if start < n:
        pieces.append((True, sql[start:]))
    return pieces


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _quoted(sql: str, i: int, quote: str, backslashes: bool) -> int:
    """End (exclusive) of the quoted run starting at sql[i]; doubled quotes stay inside."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if backslashes and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _block_comment(sql: str, i: int) -> int:
    depth, j, n = 0, i, len(sql)
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n


def _dollar(sql: str, i: int) -> int | None:
    """End of a dollar-quoted string at sql[i] ($$...$$ or $tag$...$tag$), or None when the
    `$` starts no such string (a positional parameter like $1, or part of a name)."""
    j = i + 1
    n = len(sql)
    while j < n and (sql[j].isalpha() or sql[j] == "_" or (j > i + 1 and sql[j].isdigit())):
        j += 1
    if j >= n or sql[j] != "$":
        return None
    tag = sql[i:j + 1]
    end = sql.find(tag, j + 1)
    return n if end < 0 else end + len(tag)


def placeholders(sql: str) -> int:
    return sum(chunk.count("?") for code, chunk in split(sql) if code)


def to_pyformat(sql: str) -> str:
    out = []
    for code, chunk in split(sql):
        chunk = chunk.replace("%", "%%")
        out.append(chunk.replace("?", "%s") if code else chunk)
    return "".join(out)
