"""Source text -> `lang.nodes.Module`, or an `ErrorList` with positioned syntax errors.

Strategy: `lang.lexer` turns the text into tokens (it settles newlines, map-vs-block braces
and route words); lark's LALR parser, built from `grammar.lark`, runs over them and calls the
`_AstBuilder` methods as it reduces each rule, so the AST is built in the same pass with no
intermediate tree. Each node's span runs from its first token or child to its last.
Interpolated strings carry the token lists of their `${...}` parts; the builder parses each
with the grammar's second start rule (`interp`), so inner expressions have true positions.

Errors: a mistake the lexer finds waits until the parser has consumed every token before it,
so the first error in the file is the one reported. Lark's exceptions are translated into
user words in one place, `_syntax_error`, which uses the expected-terminal set and the open
brackets (recomputed from the tokens already read) to choose the message.

The parser tables come from lark's grammar cache (`cache=`), kept in a per-user cache
directory, never in the package, so a read-only install works. A lock file serializes
concurrent first starts, so no process reads a half-written cache; if no cache directory is
usable the grammar is simply built (about 0.1 s instead of a few ms).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import threading
from pathlib import Path

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput
from lark.lexer import Lexer as LarkLexer

from . import nodes as n
from .cache import cache_dir as default_cache_dir
from .errors import ErrorList, Span, StaticError
from .lexer import CLOSERS, Tok, describe, open_brackets, opener_name, tokenize

__all__ = ["parse"]


def parse(source: str, file: str) -> n.Module:
    """Parse one script. Raises `ErrorList` (of `StaticError`) for any syntax error.

    A leading byte-order mark is ignored and CRLF line ends read as LF (so a multi-line
    string holds "\n"); neither changes a line or column number a user sees.
    """
    text = source.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    tokens, lex_error = tokenize(text, file)
    try:
        body = _run(_Feed(tokens, lex_error, file), "module")
    except StaticError as e:
        raise ErrorList([e]) from None
    except RecursionError:
        raise ErrorList([StaticError(Span(file, 1, 1, 1, 2), "the script is nested too deeply")]) from None
    lines = source.split("\n")
    span = Span(file, 1, 1, len(lines), len(lines[-1]) + 1)
    return n.Module(span, tuple(body), source)


# ---------------------------------------------------------------- feeding lark

class _Feed:
    """The tokens of one parse, and how far lark has read them (for error messages)."""
    __slots__ = ("tokens", "error", "file", "read")

    def __init__(self, tokens, error, file):
        self.tokens = tokens
        self.error = error  # a lexical error just after the tokens, raised when reached
        self.file = file
        self.read = 0


class _FeedLexer(LarkLexer):
    """Lark's view of our lexer: hands over the tokens of the _Feed passed to `parse`."""
    __future_interface__ = 2

    def __init__(self, lexer_conf):
        pass

    def lex(self, lexer_state, parser_state):
        feed = lexer_state.text
        for tok in feed.tokens:
            feed.read += 1
            yield tok
        if feed.error is not None:
            raise feed.error


def _run(feed: _Feed, start: str):
    try:
        return _parser().parse(feed, start=start)
    except UnexpectedInput as e:
        raise _syntax_error(e, feed) from None


# ---------------------------------------------------------------- building the AST

def _join(first, last) -> Span:
    """The span from the start of `first` to the end of `last` (tokens or nodes)."""
    if isinstance(first, Token):
        file, line, col = first.file, first.line, first.column
    else:
        a = first.span
        file, line, col = a.file, a.line, a.col
    if isinstance(last, Token):
        return Span(file, line, col, last.end_line, last.end_column)
    b = last.span
    return Span(file, line, col, b.end_line, b.end_col)


def _nodes(children) -> list:
    """The children that are nodes (or entries), without punctuation tokens."""
    return [c for c in children if not isinstance(c, Token)]


_ASSIGNABLE = (n.Name, n.Field, n.Index)
_NOT_ASSIGNABLE = {
    n.Literal: "a literal", n.Interpolated: "a string", n.ListLit: "a list literal",
    n.MapLit: "a map literal", n.Unary: "an operator expression",
    n.Binary: "an operator expression", n.Logical: "an operator expression",
    n.Conditional: "a conditional expression", n.Slice: "a slice",
    n.Call: "a function call", n.FnExpr: "a function",
}
_DECLARATIONS = {
    n.Route: "a route", n.Static: "'static'", n.Group: "'group'", n.Use: "'use'",
    n.On: "'on'", n.Import: "'import'", n.Test: "'test'",
}
_IN_GROUP = (n.Route, n.Static, n.Group, n.Use)
_EVENTS = ("start", "stop", "error")


def _constant(tok):
    return {"TRUE": True, "FALSE": False, "NIL": None}[tok.type]


class _AstBuilder(Transformer):
    """One method per grammar rule or alias; each gets the rule's children, returns a node.

    Holds no per-parse state, so one instance serves every parse on every thread.
    """

    # ------------------------------------------------------------ structure

    def module(self, children):
        return children

    def interp(self, children):
        return children[1]

    def block(self, children):
        body = children[1:-1]
        for stmt in body:
            if isinstance(stmt, tuple(_DECLARATIONS)):
                where = " or in a group" if isinstance(stmt, _IN_GROUP) else ""
                raise StaticError(stmt.span, f"{_DECLARATIONS[type(stmt)]} can only appear at "
                                             f"the top level of a script{where}")
        return n.Block(_join(children[0], children[-1]), tuple(body))

    def group_body(self, children):
        body = children[1:-1]
        for stmt in body:
            if not isinstance(stmt, _IN_GROUP):
                raise StaticError(stmt.span, "only routes, 'use', 'static' and groups can "
                                             "appear in a group")
        return n.Block(_join(children[0], children[-1]), tuple(body))

    # ------------------------------------------------------------ statements

    def let(self, c):
        return n.Let(_join(c[0], c[3]), str(c[1]), c[1].span, c[3])

    def assign(self, c):
        target, op, value = c
        if not isinstance(target, _ASSIGNABLE):
            what = _NOT_ASSIGNABLE.get(type(target), "this expression")
            raise StaticError(target.span, f"cannot assign to {what}")
        return n.Assign(_join(target, value), target, None if op.type == "ASSIGN" else op[0], value)

    def expr_stmt(self, c):
        return n.ExprStmt(c[0].span, c[0])

    def if_stmt(self, c):
        otherwise = c[4] if len(c) > 3 else None
        return n.If(_join(c[0], c[-1]), c[1], c[2], otherwise)

    def while_stmt(self, c):
        return n.While(_join(c[0], c[2]), c[1], c[2])

    def for_stmt(self, c):
        names = [t for t in c if isinstance(t, Token) and t.type == "NAME"]
        return n.For(_join(c[0], c[-1]), tuple(map(str, names)), tuple(t.span for t in names),
                     c[-2], c[-1])

    def break_stmt(self, c):
        return n.Break(c[0].span)

    def continue_stmt(self, c):
        return n.Continue(c[0].span)

    def return_stmt(self, c):
        return n.Return(_join(c[0], c[-1]), c[1] if len(c) > 1 else None)

    def fn_decl(self, c):
        return n.FnDecl(_join(c[0], c[5]), str(c[1]), c[1].span, c[3], c[5])

    def try_stmt(self, c):
        err = c[3] if len(c) == 5 else None
        return n.Try(_join(c[0], c[-1]), c[1], str(err) if err else None,
                     err.span if err else None, c[-1])

    def throw_stmt(self, c):
        return n.Throw(_join(c[0], c[1]), c[1])

    def assert_stmt(self, c):
        return n.Assert(_join(c[0], c[-1]), c[1], c[3] if len(c) > 2 else None)

    def params(self, c):
        params = _nodes(c)  # duplicate names are the resolver's to report, with the rest
        defaults = False
        for p in params:
            if p.default is not None:
                defaults = True
            elif defaults:
                raise StaticError(p.span, f"parameter '{p.name}' needs a default value, "
                                          "since a parameter before it has one")
        return tuple(params)

    def param(self, c):
        default = c[2] if len(c) > 1 else None
        return n.Param(_join(c[0], c[-1]), str(c[0]), default)

    # ------------------------------------------------------------ declarations

    def import_decl(self, c):
        alias = c[-1]
        if c[1].type == "STRING":
            return n.Import(_join(c[0], alias), None, c[1].value, str(alias), alias.span)
        return n.Import(_join(c[0], alias), str(c[1]), None, str(alias), alias.span)

    def route(self, c):
        method, path, body = c[0], c[1], c[-1]
        param = c[3] if len(c) == 6 else None
        return n.Route(_join(method, body), str(method), path.value, path.span,
                       str(param) if param else "req", param.span if param else method.span, body)

    def static_decl(self, c):
        return n.Static(_join(c[0], c[2]), c[1].value, c[2].value)

    def group_decl(self, c):
        return n.Group(_join(c[0], c[2]), c[1].value, c[2].body)

    def use_decl(self, c):
        return n.Use(_join(c[0], c[1]), c[1])

    def on_decl(self, c):
        event = c[1]
        if event not in _EVENTS:
            raise StaticError(event.span, f"unknown event '{event}' (expected start, stop or error)")
        params = c[3] if len(c) == 6 else ()
        for p in params:
            if p.default is not None:
                raise StaticError(p.default.span, f"parameters of 'on {event}' take no defaults")
        return n.On(_join(c[0], c[-1]), str(event), params, c[-1])

    def test_decl(self, c):
        return n.Test(_join(c[0], c[2]), c[1].value, c[2])

    # ------------------------------------------------------------ expressions

    def conditional(self, c):
        return n.Conditional(_join(c[0], c[4]), c[0], c[2], c[4])

    def operation(self, c):
        return _Fold(c).expression(1)

    def unary(self, c):
        return n.Unary(_join(c[0], c[1]), str(c[0]), c[1])

    def binary(self, c):
        return n.Binary(_join(c[0], c[2]), str(c[1]), c[0], c[2])

    def field(self, c):
        return n.Field(_join(c[0], c[2]), c[0], str(c[2]))

    def index(self, c):
        return n.Index(_join(c[0], c[3]), c[0], c[2])

    def slice(self, c):
        return n.Slice(_join(c[0], c[5]), c[0], c[2], c[4])

    def call(self, c):
        positional, named = [], []
        for arg in c[2]:
            if isinstance(arg, n.Keyword):
                if any(k.name == arg.name for k in named):
                    raise StaticError(arg.span, f"argument '{arg.name}' is given twice")
                named.append(arg)
            elif named:
                raise StaticError(arg.span, "a positional argument cannot follow a named one")
            else:
                positional.append(arg)
        return n.Call(_join(c[0], c[3]), c[0], tuple(positional), tuple(named))

    def args(self, c):
        return _nodes(c)

    def keyword(self, c):
        return n.Keyword(_join(c[0], c[2]), str(c[0]), c[2])

    def name(self, c):
        return n.Name(c[0].span, str(c[0]))

    def number(self, c):
        return n.Literal(c[0].span, c[0].value)

    string = number

    def istring(self, c):
        tok = c[0]
        parts = tuple(part if isinstance(part, str) else _parse_interpolation(part, tok.file)
                      for part in tok.value)
        return n.Interpolated(tok.span, parts)

    def constant(self, c):
        return n.Literal(c[0].span, _constant(c[0]))

    def paren(self, c):
        return c[1]

    def list(self, c):
        return n.ListLit(_join(c[0], c[-1]), tuple(_nodes(c)))

    def map(self, c):
        return n.MapLit(_join(c[0], c[-1]), tuple(_nodes(c)))

    def entry(self, c):
        return (c[0], c[2])

    def name_key(self, c):
        return n.Literal(c[0].span, str(c[0]))

    def negative_key(self, c):
        return n.Literal(_join(c[0], c[1]), -c[1].value)

    def fn_expr(self, c):
        return n.FnExpr(_join(c[0], c[-1]), c[2], c[-1])


# Binding strength of the operators the grammar leaves as a flat list; `not` sits between.
_LEVELS = {"COALESCE": 1, "OR": 2, "AND": 3,
           "EQ": 5, "NE": 5, "LT": 5, "LE": 5, "GT": 5, "GE": 5, "IN": 5, "NOT": 5,
           "PLUS": 6, "MINUS": 6, "STAR": 7, "SLASH": 7, "DSLASH": 7, "PERCENT": 7}
_NOT_LEVEL = 4
_COMPARISON_LEVEL = 5
_LOGICAL = {"COALESCE": "??", "OR": "or", "AND": "and"}


class _Fold:
    """Precedence climbing over `operation`'s children: operands, operator tokens, and
    prefix `not` tokens (a NOT just after an operand is the first half of `not in`)."""
    __slots__ = ("items", "at")

    def __init__(self, items):
        self.items = items
        self.at = 0

    def expression(self, min_level: int):
        items = self.items
        left = self.operand(min_level)
        compared = False
        while self.at < len(items):
            op = items[self.at]
            level = _LEVELS[op.type]
            if level < min_level:
                break
            if level == _COMPARISON_LEVEL:
                if compared:
                    raise StaticError(op.span, "comparisons cannot be chained: "
                                               "write 'a < b and b < c'")
                compared = True
            self.at += 2 if op.type == "NOT" else 1
            right = self.expression(level + 1)
            span = _join(left, right)
            if op.type in _LOGICAL:
                left = n.Logical(span, _LOGICAL[op.type], left, right)
            else:
                left = n.Binary(span, "not in" if op.type == "NOT" else str(op), left, right)
        return left

    def operand(self, min_level: int):
        item = self.items[self.at]
        self.at += 1
        if not isinstance(item, Token):
            return item
        # a prefix `not`
        if min_level > _NOT_LEVEL:
            raise StaticError(item.span, "'not' needs parentheses here: write '(not ...)'")
        operand = self.expression(_NOT_LEVEL)
        return n.Unary(_join(item, operand), "not", operand)


def _parse_interpolation(tokens: list[Tok], file: str):
    """The expression of one `${...}` (its tokens run from INTERP_START to INTERP_END)."""
    return _run(_Feed(tokens, None, file), "interp")


# ---------------------------------------------------------------- syntax errors

# If one of these is acceptable, an expression is not strictly required at this point.
_COULD_END = {"_SEP", "$END", "RBRACE", "RPAR", "RSQB", "RMAP", "COLON", "LET"}
_LEADING_OPERATORS = {"PLUS", "STAR", "SLASH", "DSLASH", "PERCENT", "POW", "EQ", "NE", "LT",
                      "LE", "GT", "GE", "COALESCE", "AND", "OR", "IN", "QUESTION", "DOT",
                      "COLON", "ARROW"}
_OPERAND_ENDS = {"NAME", "INT", "FLOAT", "STRING", "ISTRING", "TRUE", "FALSE", "NIL",
                 "RPAR", "RSQB", "RMAP", "RBRACE"}
_CLOSER_TYPES = {"(": "RPAR", "[": "RSQB", "map": "RMAP", "block": "RBRACE",
                 "interp": "INTERP_END"}


def _syntax_error(e: UnexpectedInput, feed: _Feed) -> StaticError:
    """Lark's UnexpectedToken (the only kind our token feed allows) in a user's words."""
    tok = getattr(e, "token", None)
    if tok is None:  # not expected with our own lexer; still report something positioned
        return StaticError(_start_span(feed), "syntax error")
    expected = _acceptable(e)
    at_end = tok.type == "$END"
    read = feed.tokens[:feed.read] if at_end else feed.tokens[:feed.read - 1]
    prev = read[-1] if read else None
    stack = open_brackets(read)
    span = _end_span(feed, _last_visible(read)) if at_end else tok.span
    situation = _Situation(tok, expected, prev, stack)
    for rule in _MESSAGE_RULES:
        message = rule(situation)
        if message:
            return StaticError(span, message)
    return StaticError(span, f"unexpected {describe(tok)}")


def _acceptable(e: UnexpectedInput) -> set[str]:
    """The terminals that could come next. LALR merges states, so lark's `expected` may
    list terminals that would fail after a few reductions; `accepts()` tries each one."""
    try:
        return set(e.accepts)
    except Exception:  # a reduction's builder raised: fall back to the cruder set
        return set(getattr(e, "expected", ()) or ())


class _Situation:
    """What the message rules look at: the bad token, what could have come instead, the
    token before it, and the brackets still open."""
    __slots__ = ("tok", "kind", "expected", "prev", "stack")

    def __init__(self, tok, expected, prev, stack):
        self.tok, self.kind, self.expected, self.prev, self.stack = tok, tok.type, expected, prev, stack


def _leading_operator(s: _Situation):
    if s.prev is not None and s.prev.type == "_SEP" and s.prev == "\n" \
            and s.kind in _LEADING_OPERATORS:
        return (f"a line cannot start with {describe(s.tok)}: put the operator at the end "
                "of the previous line to continue it")


def _brace_on_next_line(s: _Situation):
    if s.kind == "_SEP" and s.tok == "\n" and "LBRACE" in s.expected:
        return "expected '{' on this line (a line break here ends the statement)"


def _unary_plus(s: _Situation):
    if s.kind == "PLUS" and "INT" in s.expected and "PLUS" not in s.expected:
        return "'+' cannot start an expression"


def _missing_operand(s: _Situation):
    if "INT" in s.expected and not (s.expected & _COULD_END):
        return f"expected an expression after {describe(s.prev)}" if s.prev else \
            "expected an expression"


def _interpolation_in_plain_string(s: _Situation):
    if s.kind == "ISTRING" and "STRING" in s.expected:
        return "this string cannot contain '${...}' (write '\\${' for a literal '${')"


def _stray_else(s: _Situation):
    # `else`/`catch` always get this: the lexer drops the newline before them, so the
    # separator rule below would otherwise blame a missing newline
    if s.kind in ("ELSE", "CATCH"):
        return f"unexpected {describe(s.tok)}"


def _unclosed_at_end(s: _Situation):
    if s.kind == "$END" and s.stack:
        return _unclosed(s.stack[-1])


def _missing_separator(s: _Situation):
    if "_SEP" in s.expected and s.kind not in _CLOSER_TYPES.values():
        return "expected a newline or ';' between statements"


def _missing_closer(s: _Situation):
    # right after a complete operand, a missing closer is the likely mistake
    if s.stack and _CLOSER_TYPES[s.stack[-1][0]] in s.expected and s.prev is not None \
            and s.prev.type in _OPERAND_ENDS:
        return _unclosed(s.stack[-1])


def _missing_name(s: _Situation):
    if s.expected == {"NAME"} and s.prev is not None:
        return f"expected a name after {describe(s.prev)}"


# Tried in order; the first that has something to say wins, else "unexpected X".
_MESSAGE_RULES = (_leading_operator, _brace_on_next_line, _unary_plus, _missing_operand,
                  _interpolation_in_plain_string, _stray_else, _unclosed_at_end,
                  _missing_separator, _missing_closer, _missing_name)


def _unclosed(frame) -> str:
    kind, opener = frame
    return f"expected '{CLOSERS[kind]}' to close {opener_name(kind, opener)}"


def _last_visible(tokens):
    """The last token that is not a newline separator (those sit past the line's text)."""
    for tok in reversed(tokens):
        if not (tok.type == "_SEP" and tok == "\n"):
            return tok
    return None


def _end_span(feed: _Feed, last) -> Span:
    """Where the end of the file is reported: just after the last token."""
    if last is None:
        return _start_span(feed)
    return Span(feed.file, last.end_line, last.end_column, last.end_line, last.end_column + 1)


def _start_span(feed: _Feed) -> Span:
    return Span(feed.file, 1, 1, 1, 2)


# ---------------------------------------------------------------- the parser and its cache

_GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")
_lock = threading.Lock()
_built: Lark | None = None


def _parser() -> Lark:
    global _built
    if _built is None:
        with _lock:
            if _built is None:
                _built = build_parser()
    return _built


def build_parser(cache_dir: Path | None | bool = True) -> Lark:
    """The LALR parser with the AST builder wired in. `cache_dir`: True for the default
    per-user cache directory, False for no cache, or a directory to use."""
    grammar = _GRAMMAR_FILE.read_text(encoding="utf-8")
    options = dict(parser="lalr", lexer=_FeedLexer, start=["module", "interp"],
                   transformer=_AstBuilder(), maybe_placeholders=True)
    directory = default_cache_dir() if cache_dir is True else (cache_dir or None)
    if directory is None:
        return Lark(grammar, **options)
    key = hashlib.sha256(f"{grammar}\0{lark.__version__}\0{sys.version_info[:2]}".encode()).hexdigest()
    cache_file = directory / f"grammar-{key[:24]}.lark-cache"
    # Lark writes its cache in place, so concurrent first starts take turns: the first
    # builds and writes, the others then load. Without a lock file (read-only directory)
    # lark just fails to write, quietly, and every start builds.
    with _file_lock(directory / f"grammar-{key[:24]}.lock"):
        return Lark(grammar, cache=str(cache_file), **options)


@contextlib.contextmanager
def _file_lock(path: Path):
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
