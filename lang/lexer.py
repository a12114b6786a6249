"""The tokenizer of the rt language: source text -> a list of tokens for lark's LALR parser.

Strategy: one master regex finds the next lexeme; a dispatch table turns each kind into
tokens. A hand-written lexer (instead of lark's) because three things need context:

- Brackets. A stack of open brackets decides whether a newline ends a statement (never inside
  `()`, `[]`, a map `{}` or `${}`; always inside a block `{}`) and what a `{` is: after
  something that ends an expression (a name, literal, `)`, `]`, `}`) or after `else`, `try`,
  `catch`, `if`, `while` it opens a block (LBRACE), anywhere else a map (LMAP). Closers are checked against
  the stack here, so a mismatch is reported where it happens.
- Newlines. A newline becomes one `_SEP` token, except after an operator, `,`, `=`, `=>`,
  `?`, `:`, `.`, `and`, `or`, `not`, `in`; at the start of a block or file; after another
  separator; or just before `else` / `catch` (so `}` NEWLINE `else` works). `;` is a `_SEP` too.
- Words. Reserved words are keywords, except after `.` (`m.in`), and as a named argument or
  map key before `:` (`f(if: 1)`). The route words (`get` ... `any`, `static`, `group`,
  `test`) are keywords only at the start of a statement in a block or the file and when a
  string follows (`get "/x" {`); everywhere else they are names (`kv.get(k)`, `let get = 1`).

Strings are decoded here. A double-quoted string with `${...}` becomes an ISTRING whose value
is a tuple of parts: literal text (str) or the token list of one embedded expression, lexed by
this same machinery (so `"${m["}"]}"` works) and closed by an INTERP_END token at its `}`.

`tokenize` never raises for a mistake in the source: it returns the tokens before the first
lexical error and that error, so the parser can report an earlier syntax error first.
"""
from __future__ import annotations

import re

from lark import Token

from .errors import Span, StaticError

__all__ = ["Tok", "tokenize", "describe", "KEYWORDS", "ROUTE_WORDS"]


class Tok(Token):
    """A lark token that also knows its file, so every node can carry a full Span."""
    __slots__ = ("file",)

    @property
    def span(self) -> Span:
        return Span(self.file, self.line, self.column, self.end_line, self.end_column)


KEYWORDS = {word: word.upper() for word in (
    "let fn return if else while for in break continue try catch throw true false nil "
    "and or not import as use on assert").split()}
ROUTE_WORDS = {**{m: "METHOD" for m in "get post put patch delete head options any".split()},
               "static": "STATIC", "group": "GROUP", "test": "TEST"}

PUNCTUATION = {
    "**": "POW", "//": "DSLASH", "==": "EQ", "!=": "NE", "<=": "LE", ">=": "GE",
    "=>": "ARROW", "??": "COALESCE", "+=": "AUGASSIGN", "-=": "AUGASSIGN",
    "*=": "AUGASSIGN", "/=": "AUGASSIGN",
    "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "%": "PERCENT", "<": "LT",
    ">": "GT", "=": "ASSIGN", "?": "QUESTION", ":": "COLON", ".": "DOT", ",": "COMMA",
}

# After these a newline continues the statement.
CONTINUES = frozenset({
    "PLUS", "MINUS", "STAR", "SLASH", "DSLASH", "PERCENT", "POW", "EQ", "NE", "LT", "LE",
    "GT", "GE", "COALESCE", "AND", "OR", "NOT", "IN", "COMMA", "ASSIGN", "AUGASSIGN",
    "ARROW", "QUESTION", "COLON", "DOT",
})
# After these a `{` opens a block; after anything else it opens a map.
BLOCK_FOLLOWS = frozenset({
    "NAME", "INT", "FLOAT", "STRING", "ISTRING", "RPAR", "RSQB", "RMAP",
    "TRUE", "FALSE", "NIL", "ELSE", "TRY", "CATCH",
    "IF", "WHILE",  # so `if { }` reports the missing condition, not a map literal
})
# A newline or `;` right after these separates nothing, so it is dropped.
NOTHING_TO_END = frozenset({None, "_SEP", "LBRACE"})
# Brackets whose newlines are not statement ends.
IGNORE_NEWLINES = frozenset({"(", "[", "map", "interp"})
# Deeper nesting than this is refused: later phases walk the tree recursively.
MAX_NESTING = 100
CLOSERS = {"(": ")", "[": "]", "map": "}", "block": "}", "interp": "}"}

_NUMBER = (r"0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[oO][0-7](?:_?[0-7])*|0[bB][01](?:_?[01])*"
           r"|(?P<decimal>[0-9](?:_?[0-9])*(?P<fraction>\.[0-9](?:_?[0-9])*)?"
           r"(?P<exponent>[eE][+-]?[0-9](?:_?[0-9])*)?)")
# Blanks and comments are skipped in the same match as the lexeme after them. The skips use
# possessive quantifiers (`*+`, `++`): a nested `(?:x+)*` that may backtrack takes
# exponential time on a long run of blanks that is not followed by a match.
_LEXEME = re.compile(r"""
    (?:[ \t\r\f]++|\#[^\n]*+)*+
    (?:
        (?P<newline>\n)
      | (?P<number>""" + _NUMBER + r""")
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>\"\"\"|'''|"|')
      | (?P<punct>\*\*|//|==|!=|<=|>=|=>|\?\?|[-+*/]=|[-+*/%<>=?:.,])
      | (?P<open>[(\[{])
      | (?P<close>[)\]}])
      | (?P<semicolon>;)
      | (?P<end>\Z)
    )
""", re.VERBOSE)
_BLANKS = re.compile(r"(?:[ \t\r\f]++|\#[^\n]*+)*+")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
# Looking past blanks, comments and newlines: is the next word `else` or `catch`?
_NEXT_IS_ELSE_OR_CATCH = re.compile(r"(?:[ \t\r\f\n]++|\#[^\n]*+)*+(?:else|catch)(?![A-Za-z0-9_])")
_NEXT_IS_STRING = re.compile(r"[ \t\r\f]*['\"]")
_NEXT_IS_COLON = re.compile(r"[ \t\r\f]*:")

# What ends a run of plain text inside each kind of string.
_STRING_STOPS = {
    '"': re.compile(r'\\|\n|"|\$\{'),
    "'": re.compile(r"\\|\n|'"),
    '"""': re.compile(r'\\|\n|"""|\$\{'),
    "'''": re.compile(r"\\|\n|'''"),
}
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'",
                   "0": "\0", "$": "$"}
_UNICODE_ESCAPE = re.compile(r"u\{([0-9a-fA-F]{1,6})\}")

_OPEN_KIND = {"(": ("(", "LPAR"), "[": ("[", "LSQB")}
_CLOSE_TYPE = {")": "RPAR", "]": "RSQB"}


class _Frame:
    """One open bracket: its kind, the token that opened it, and for `${` the string kind."""
    __slots__ = ("kind", "token", "multiline")

    def __init__(self, kind: str, token: Tok, multiline: bool = False):
        self.kind = kind
        self.token = token
        self.multiline = multiline


def opener_name(frame_kind: str, token: Tok) -> str:
    """How an error message names an open bracket: "the '(' opened at 1:9"."""
    where = f"{token.line}:{token.column}"
    if frame_kind == "block":
        return f"the block opened at {where}"
    if frame_kind == "interp":
        return f"the '${{' opened at {where}"
    return f"the '{token}' opened at {where}"


def unclosed_message(frame_kind: str, token: Tok) -> str:
    return f"expected '{CLOSERS[frame_kind]}' to close {opener_name(frame_kind, token)}"


class _Lexer:
    def __init__(self, source: str, file: str):
        self.src = source
        self.file = file
        self.pos = 0
        self.line = 1
        self.line_start = 0  # offset of the current line's first character
        self.stack: list[_Frame] = []
        self.prev: str | None = None  # type of the last token emitted at this level
        self.out: list[Tok] = []

    # -------------------------------------------------------------- helpers

    def token(self, type_: str, text: str, start: int, end: int, value=None) -> Tok:
        """A token for src[start:end], which must lie on the current line."""
        tok = str.__new__(Tok, text)
        tok.type = type_
        tok.value = text if value is None else value
        tok.start_pos = start
        tok.end_pos = end
        tok.line = tok.end_line = self.line
        tok.column = start - self.line_start + 1
        tok.end_column = end - self.line_start + 1
        tok.file = self.file
        return tok

    def emit(self, tok: Tok) -> None:
        self.out.append(tok)
        self.prev = tok.type

    def add(self, type_: str, text: str, start: int, end: int) -> None:
        """Emit a one-line token (the hot path: `token` and `emit` in one call)."""
        tok = str.__new__(Tok, text)
        tok.type = self.prev = type_
        tok.value = text
        tok.start_pos = start
        tok.end_pos = end
        tok.line = tok.end_line = self.line
        tok.column = start - self.line_start + 1
        tok.end_column = end - self.line_start + 1
        tok.file = self.file
        self.out.append(tok)

    def error(self, message: str, start: int, end: int, line: int | None = None,
              line_start: int | None = None) -> StaticError:
        line = self.line if line is None else line
        line_start = self.line_start if line_start is None else line_start
        col = start - line_start + 1
        return StaticError(Span(self.file, line, col, line, max(col + 1, end - line_start + 1)), message)

    def push(self, frame: _Frame) -> None:
        if len(self.stack) >= MAX_NESTING:
            tok = frame.token
            raise self.error(f"nested too deeply (more than {MAX_NESTING} levels of brackets)",
                             tok.start_pos, tok.end_pos)
        self.stack.append(frame)

    def newline_at(self, offset: int) -> None:
        self.line += 1
        self.line_start = offset + 1

    # -------------------------------------------------------------- the main loop

    def run(self) -> bool:
        """Lex until the end of the source, or until the innermost `${` closes (-> True)."""
        src, n = self.src, len(self.src)
        match = _LEXEME.match
        handlers = self.HANDLERS
        while self.pos < n:
            m = match(src, self.pos)
            if m is None:
                at = _BLANKS.match(src, self.pos).end()
                raise self.error(f"unexpected character {src[at]!r}", at, at + 1)
            kind = m.lastgroup
            self.pos = m.end()
            if handlers[kind](self, m, m.start(kind)):
                return True
        return False

    def on_end(self, m, start: int) -> None:
        pass

    def on_newline(self, m, start: int) -> None:
        if self._newline_ends_statement(start):
            self.emit(self.token("_SEP", "\n", start, start + 1))
        self.newline_at(start)

    def _newline_ends_statement(self, at: int) -> bool:
        top = self.stack[-1] if self.stack else None
        if top is not None and top.kind in IGNORE_NEWLINES:
            if top.kind == "interp" and not top.multiline:
                raise self.error(unclosed_message("interp", top.token), at, at + 1)
            return False
        if self.prev in CONTINUES or self.prev in NOTHING_TO_END:
            return False
        return not _NEXT_IS_ELSE_OR_CATCH.match(self.src, self.pos)

    def on_semicolon(self, m, start: int) -> None:
        if self.prev == "_SEP":
            return  # `;;` and `x;` + newline are one separator
        self.emit(self.token("_SEP", ";", start, start + 1))

    def on_number(self, m, start: int) -> None:
        end = m.end()
        text = self.src[start:end]
        if end < len(self.src) and _WORD_CHAR.match(self.src, end):
            word_end = end
            while word_end < len(self.src) and _WORD_CHAR.match(self.src, word_end):
                word_end += 1
            raise self.error(f"invalid number '{self.src[start:word_end]}'", start, word_end)
        digits = text.replace("_", "")
        if m.group("decimal") is None:
            value, type_ = int(digits, 0), "INT"
        elif m.group("fraction") or m.group("exponent"):
            value, type_ = float(digits), "FLOAT"
        else:
            value, type_ = int(digits, 10), "INT"
        self.emit(self.token(type_, text, start, end, value))

    def on_word(self, m, start: int) -> None:
        end = m.end()
        word = self.src[start:end]
        self.add(self._word_type(word, end), word, start, end)

    def _word_type(self, word: str, end: int) -> str:
        if self.prev == "DOT":
            return "NAME"
        keyword = KEYWORDS.get(word)
        if keyword is not None:
            if keyword not in ("TRUE", "FALSE", "NIL") and self._is_label_position(end):
                return "NAME"
            return keyword
        route_word = ROUTE_WORDS.get(word)
        if (route_word is not None and self.prev in NOTHING_TO_END
                and (not self.stack or self.stack[-1].kind == "block")
                and _NEXT_IS_STRING.match(self.src, end)):
            return route_word
        return "NAME"

    def _is_label_position(self, end: int) -> bool:
        """A named argument `f(x, if: 1)` or map key `{in: 1}`: the word is a name."""
        if not self.stack or not _NEXT_IS_COLON.match(self.src, end):
            return False
        kind = self.stack[-1].kind
        return (kind == "(" and self.prev in ("LPAR", "COMMA")) or \
               (kind == "map" and self.prev in ("LMAP", "COMMA"))

    def on_punct(self, m, start: int) -> None:
        end = m.end()
        text = self.src[start:end]
        self.add(PUNCTUATION[text], text, start, end)

    def on_open(self, m, start: int) -> None:
        text = self.src[start]
        if text == "{":
            kind, type_ = ("block", "LBRACE") if self.prev in BLOCK_FOLLOWS else ("map", "LMAP")
        else:
            kind, type_ = _OPEN_KIND[text]
        tok = self.token(type_, text, start, start + 1)
        self.push(_Frame(kind, tok))
        self.emit(tok)

    def on_close(self, m, start: int) -> bool:
        text = self.src[start]
        if not self.stack:
            raise self.error(f"unexpected '{text}'", start, start + 1)
        top = self.stack[-1]
        expected = CLOSERS[top.kind]
        if text != expected:
            raise self.error(unclosed_message(top.kind, top.token), start, start + 1)
        self.stack.pop()
        if top.kind == "interp":
            self.out.append(self.token("INTERP_END", text, start, start + 1))
            return True
        type_ = _CLOSE_TYPE.get(text) or ("RBRACE" if top.kind == "block" else "RMAP")
        self.add(type_, text, start, start + 1)
        return False

    # -------------------------------------------------------------- strings

    def on_string(self, m, start: int) -> None:
        quote = m.group("string")
        start_line, start_line_start = self.line, self.line_start
        stops = _STRING_STOPS[quote]
        src = self.src
        triple = len(quote) == 3
        parts: list = []
        text: list[str] = []
        i = m.end()
        while True:
            stop = stops.search(src, i)
            if stop is None or (stop.group() == "\n" and not triple):
                raise self.error("unterminated string", start, start + len(quote),
                                 start_line, start_line_start)
            text.append(src[i:stop.start()])
            found, i = stop.group(), stop.end()
            if found == quote:
                break
            if found == "\n":
                text.append("\n")
                self.newline_at(stop.start())
            elif found == "\\":
                decoded, i = self._escape(stop.start(), start, start_line, start_line_start)
                text.append(decoded)
            else:  # "${": lex the embedded expression up to its own closing brace
                parts.append("".join(text))
                text = []
                parts.append(self._interpolation(stop.start(), triple))
                i = self.pos
        parts.append("".join(text))
        self.pos = i
        raw = src[start:i]
        tok = self.token("STRING", raw, start, i)
        tok.line, tok.column = start_line, start - start_line_start + 1
        if len(parts) == 1:
            tok.value = parts[0]
        else:
            tok.type = "ISTRING"
            tok.value = tuple(part for part in parts if part != "")
        self.emit(tok)

    def _escape(self, at: int, string_start: int, start_line: int, start_line_start: int):
        """Decode the escape whose backslash is at `at`; returns (text, offset after it)."""
        src = self.src
        if at + 1 >= len(src):
            raise self.error("unterminated string", string_start, string_start + 1,
                             start_line, start_line_start)
        char = src[at + 1]
        simple = _SIMPLE_ESCAPES.get(char)
        if simple is not None:
            return simple, at + 2
        if char == "u":
            m = _UNICODE_ESCAPE.match(src, at + 1)
            code = int(m.group(1), 16) if m else -1
            if not (0 <= code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:
                end = m.end() if m else at + 2
                raise self.error("invalid unicode escape: write \\u{...} with 1 to 6 hex "
                                 "digits naming a code point", at, end)
            return chr(code), m.end()
        if char == "\n":
            raise self.error("unknown escape '\\' at the end of a line", at, at + 1)
        raise self.error(f"unknown escape '\\{char}'", at, at + 2)

    def _interpolation(self, at: int, multiline: bool) -> list[Tok]:
        """The tokens of one `${...}`, from INTERP_START to INTERP_END; self.pos moves past it."""
        opener = self.token("INTERP_START", "${", at, at + 2)
        saved_out, saved_prev = self.out, self.prev
        self.out, self.prev = [opener], "INTERP_START"
        self.push(_Frame("interp", opener, multiline))
        self.pos = at + 2
        try:
            if not self.run():
                raise self.error(unclosed_message("interp", opener), at, at + 2,
                                 opener.line, at - opener.column + 1)
            return self.out
        finally:
            self.out, self.prev = saved_out, saved_prev

    HANDLERS = {
        "end": on_end, "newline": on_newline,
        "semicolon": on_semicolon, "number": on_number, "word": on_word,
        "string": on_string, "punct": on_punct, "open": on_open, "close": on_close,
    }


def tokenize(source: str, file: str) -> tuple[list[Tok], StaticError | None]:
    """All tokens of `source`, or those before the first lexical error and that error.

    Unclosed brackets at the end are not an error here: the parser meets the end of the file
    where it expected a closer and reports it with the opener's position.
    """
    lexer = _Lexer(source, file)
    top_level = lexer.out
    try:
        lexer.run()
    except StaticError as e:
        return top_level, e
    return top_level, None


def open_brackets(tokens: list[Tok]) -> list[tuple[str, Tok]]:
    """The brackets still open after `tokens` (a prefix of one token list), innermost last."""
    kinds = {"LPAR": "(", "LSQB": "[", "LMAP": "map", "LBRACE": "block", "INTERP_START": "interp"}
    stack: list[tuple[str, Tok]] = []
    for tok in tokens:
        kind = kinds.get(tok.type)
        if kind is not None:
            stack.append((kind, tok))
        elif tok.type in ("RPAR", "RSQB", "RMAP", "RBRACE", "INTERP_END") and stack:
            stack.pop()
    return stack


def _shown(text: str) -> str:
    """A string token as an error message quotes it: one line (a triple-quoted string's first
    line, so the message stays one `file:line:col: error:` line), at most 30 characters."""
    line = text.split("\n", 1)[0]
    if line != text:
        line += "..."
    return line if len(line) <= 30 else line[:27] + "..."


_DESCRIPTIONS = {
    "NAME": lambda t: f"name '{t}'",
    "INT": lambda t: f"number {t}",
    "FLOAT": lambda t: f"number {t}",
    "STRING": lambda t: "string " + _shown(str(t)),
    "ISTRING": lambda t: "string " + _shown(str(t)),
    "_SEP": lambda t: "';'" if t == ";" else "end of line",
    "INTERP_START": lambda t: "'${'",
    "INTERP_END": lambda t: "'}'",
    "$END": lambda t: "end of file",
}


def describe(tok: Token) -> str:
    """A token as a user would name it: `'else'`, `name 'x'`, `end of line`."""
    describe_kind = _DESCRIPTIONS.get(tok.type)
    return describe_kind(tok) if describe_kind else f"'{tok}'"
