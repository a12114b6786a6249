"""The syntax tree (lang.nodes): frozen, slotted dataclasses, each with the `Span` of its source.

The parser builds these from lark's tree; the resolver checks them; the compiler turns them
into Python code objects. Nothing here evaluates anything. Sequences are tuples so a tree,
once built, cannot change. Names are plain strings exactly as written in the script.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .errors import Span


@dataclass(frozen=True, slots=True)
class Node:
    span: Span


# ---------------------------------------------------------------- expressions

@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object  # None, bool, int, float or str


@dataclass(frozen=True, slots=True)
class Name(Node):
    id: str


@dataclass(frozen=True, slots=True)
class Interpolated(Node):
    """A double-quoted string with `${expr}` parts: str parts are literal text."""
    parts: tuple  # of str | Expr


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple  # of Expr


@dataclass(frozen=True, slots=True)
class MapLit(Node):
    entries: tuple  # of (key Expr, value Expr); a bare-name key is a Literal string


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic and comparison: + - * / // % ** == != < <= > >= in, "not in"."""
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """Short-circuit operators: "and", "or", "??"."""
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    test: "Expr"
    then: "Expr"
    otherwise: "Expr"


@dataclass(frozen=True, slots=True)
class Field(Node):
    obj: "Expr"
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    obj: "Expr"
    index: "Expr"


@dataclass(frozen=True, slots=True)
class Slice(Node):
    obj: "Expr"
    start: "Expr | None"
    stop: "Expr | None"


@dataclass(frozen=True, slots=True)
class Keyword(Node):
    name: str
    value: "Expr"


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: "Expr"
    args: tuple  # of Expr
    kwargs: tuple  # of Keyword


@dataclass(frozen=True, slots=True)
class Param(Node):
    name: str
    default: "Expr | None"


@dataclass(frozen=True, slots=True)
class FnExpr(Node):
    """`fn (a, b = 1) { ... }` or the short form `fn (x) => x * 2` (body is an Expr)."""
    params: tuple  # of Param
    body: "Block | Expr"


Expr = Union[Literal, Name, Interpolated, ListLit, MapLit, Unary, Binary, Logical,
             Conditional, Field, Index, Slice, Call, FnExpr]


# ---------------------------------------------------------------- statements

@dataclass(frozen=True, slots=True)
class Block(Node):
    body: tuple  # of Stmt


@dataclass(frozen=True, slots=True)
class Let(Node):
    name: str
    name_span: Span
    value: Expr


@dataclass(frozen=True, slots=True)
class Assign(Node):
    """`target = value` or `target op= value` (op is "+", "-", "*", "/" or None).
    The target is a Name, Field or Index."""
    target: Expr
    op: "str | None"
    value: Expr


@dataclass(frozen=True, slots=True)
class ExprStmt(Node):
    expr: Expr


@dataclass(frozen=True, slots=True)
class If(Node):
    test: Expr
    then: Block
    otherwise: "Block | If | None"


@dataclass(frozen=True, slots=True)
class While(Node):
    test: Expr
    body: Block


@dataclass(frozen=True, slots=True)
class For(Node):
    """`for x in xs` (one name) or `for k, v in m` (two names)."""
    names: tuple  # of str
    name_spans: tuple  # of Span
    iterable: Expr
    body: Block


@dataclass(frozen=True, slots=True)
class Break(Node):
    pass


@dataclass(frozen=True, slots=True)
class Continue(Node):
    pass


@dataclass(frozen=True, slots=True)
class Return(Node):
    value: "Expr | None"


@dataclass(frozen=True, slots=True)
class FnDecl(Node):
    """`fn name(params) { body }`: binds `name` in its whole enclosing block."""
    name: str
    name_span: Span
    params: tuple  # of Param
    body: Block


@dataclass(frozen=True, slots=True)
class Try(Node):
    body: Block
    err_name: "str | None"
    err_span: "Span | None"
    handler: Block


@dataclass(frozen=True, slots=True)
class Throw(Node):
    value: Expr


@dataclass(frozen=True, slots=True)
class Assert(Node):
    test: Expr
    message: "Expr | None"


# ---------------------------------------------------------------- top-level declarations

@dataclass(frozen=True, slots=True)
class Import(Node):
    """`import json` (module is a name) or `import "./x.script" as x` (path is set)."""
    module: "str | None"
    path: "str | None"
    alias: str
    alias_span: Span


@dataclass(frozen=True, slots=True)
class Route(Node):
    """`get "/users/:id" (req) { ... }`; method is the lower-case word ("any" for any)."""
    method: str
    path: str
    path_span: Span
    param: str  # "req" when the declaration names none
    param_span: Span
    body: Block


@dataclass(frozen=True, slots=True)
class Static(Node):
    prefix: str
    directory: str


@dataclass(frozen=True, slots=True)
class Group(Node):
    prefix: str
    body: tuple  # of Route | Static | Group | Use


@dataclass(frozen=True, slots=True)
class Use(Node):
    middleware: Expr


@dataclass(frozen=True, slots=True)
class On(Node):
    """`on start { }`, `on stop { }`, `on error (req, err) { }`."""
    event: str
    params: tuple  # of Param (no defaults)
    body: Block


@dataclass(frozen=True, slots=True)
class Test(Node):
    name: str
    body: Block


@dataclass(frozen=True, slots=True)
class Module(Node):
    body: tuple  # of statements and declarations, in source order
    source: str


Stmt = Union[Block, Let, Assign, ExprStmt, If, While, For, Break, Continue, Return, FnDecl,
             Try, Throw, Assert, Import, Route, Static, Group, Use, On, Test]
