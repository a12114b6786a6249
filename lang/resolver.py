"""Static checks, run before any code: every name use is tied to its declaration.

Strategy. One walk over the tree with a chain of block scopes. A block's `let` and `fn`
names are entered when the block is entered (so nested functions may refer to names declared
later in an enclosing block), but a `let` is only *usable* directly, in the same function,
after its declaration has run. Every error is collected; the walk never stops early.

The result is a `Resolution`: for each Name/Let/Param/For/catch node (by identity) the
`Binding` it means, and for each function the bindings it assigns that belong to an outer
function (the compiler declares those `nonlocal`). `assign_python_names` then gives every
binding a Python identifier that cannot collide inside any Python function it is seen from.

Checks: undefined names, assignment to an undeclared name or a builtin/module/import,
duplicate declarations in one block, duplicate parameters, `break`/`continue` outside a loop,
`return` outside a function, route declarations only at top level.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from . import nodes as N
from .errors import ErrorList, Span, StaticError


@dataclass(eq=False)
class Binding:
    name: str
    kind: str  # "let", "fn", "param", "loop", "catch", "import", "builtin"
    span: Span | None
    function: "Function | None"  # owning function; None for builtins
    python_name: str = ""
    top_level: bool = False
    range_loop: bool = False  # the variable of `for x in range(...)`
    # What is stored in it: (op, expression) for its `let` and each assignment (op None for
    # `=`, "+" for `+=`...). The compiler infers from these which variables hold only ints.
    assignments: list = field(default_factory=list)


@dataclass(eq=False)
class Function:
    """A Python function the compiler will emit: the module body, a fn, a route, an `on`."""
    node: object
    parent: "Function | None"
    bindings: list = field(default_factory=list)
    outer_assigned: set = field(default_factory=set)  # Bindings of outer functions assigned here
    refs: set = field(default_factory=set)  # Bindings referenced here or in nested functions
    children: list = field(default_factory=list)


@dataclass(eq=False)
class Resolution:
    module_function: Function
    binding_of: dict  # id(node) -> Binding (Name uses and declarations)
    function_of: dict  # id(node) -> Function (FnDecl, FnExpr, Route, On, Test)
    builtin_names: frozenset


class _Scope:
    __slots__ = ("parent", "function", "names", "ready", "is_loop")

    def __init__(self, parent, function, is_loop=False):
        self.parent = parent
        self.function = function
        self.names: dict[str, Binding] = {}
        self.ready: set[str] = set()  # `let` names whose declaration has run
        self.is_loop = is_loop


_DECLARATIONS = (N.Route, N.Static, N.Group, N.Use, N.On, N.Test, N.Import)


class Resolver:
    def __init__(self, builtins):
        self.builtin_names = frozenset(builtins)
        self.errors: list[StaticError] = []
        self.binding_of: dict = {}
        self.function_of: dict = {}
        self.builtins = {name: Binding(name, "builtin", None, None, python_name=name)
                         for name in builtins}
        self.scope: _Scope | None = None
        self.function: Function | None = None
        self.loop_depth = 0

    # ------------------------------------------------------------------ entry point

    def resolve_module(self, module: N.Module) -> Resolution:
        top = Function(module, None)
        self.function = top
        self.scope = _Scope(None, top)
        self._declare_block(module.body, top_level=True)
        for b in self.scope.names.values():
            b.top_level = True
        for stmt in module.body:
            self.stmt(stmt, top_level=True)
        if self.errors:
            raise ErrorList(self.errors)
        assign_python_names(top)
        return Resolution(top, self.binding_of, self.function_of, self.builtin_names)

    def error(self, span: Span, message: str) -> None:
        self.errors.append(StaticError(span, message))

    # ------------------------------------------------------------------ scopes

    def _declare(self, name: str, kind: str, span: Span, node) -> Binding:
        existing = self.scope.names.get(name)
        if existing is not None:
            self.error(span, f"'{name}' is already declared in this block (at {existing.span.line}:{existing.span.col})")
        binding = Binding(name, kind, span, self.function)
        self.function.bindings.append(binding)
        self.scope.names[name] = binding
        self.binding_of[id(node)] = binding
        return binding

    def _declare_block(self, body, top_level=False) -> None:
        """Enter the names a block declares, so nested functions can see all of them."""
        for stmt in body:
            if isinstance(stmt, N.Let):
                self._declare(stmt.name, "let", stmt.name_span, stmt)
            elif isinstance(stmt, N.FnDecl):
                self._declare(stmt.name, "fn", stmt.name_span, stmt)
                self.scope.ready.add(stmt.name)
            elif isinstance(stmt, N.Import):
                self._declare(stmt.alias, "import", stmt.alias_span, stmt)
                self.scope.ready.add(stmt.alias)

    def _lookup(self, name: str):
        scope = self.scope
        while scope is not None:
            b = scope.names.get(name)
            if b is not None:
                return b, scope
            scope = scope.parent
        return self.builtins.get(name), None

    def _push(self, is_loop=False, function=None):
        self.scope = _Scope(self.scope, function or self.function, is_loop)

    def _pop(self):
        self.scope = self.scope.parent

    def _use(self, binding: Binding) -> None:
        """Record that the current function (and every function around it up to the
        binding's owner) sees `binding`: the compiler's name assignment needs it."""
        f = self.function
        while f is not None and f is not binding.function:
            f.refs.add(binding)
            f = f.parent
        if f is not None:
            f.refs.add(binding)

    # ------------------------------------------------------------------ statements

    def block(self, block: N.Block, is_loop=False, pre=None) -> None:
        self._push(is_loop)
        if pre:
            pre()
        self._declare_block(block.body)
        for stmt in block.body:
            self.stmt(stmt)
        self._pop()

    def stmt(self, s, top_level=False) -> None:
        if isinstance(s, _DECLARATIONS) and not top_level:
            self.error(s.span, "declarations like this are only allowed at the top level of a script")
            return
        getattr(self, "s_" + type(s).__name__)(s)

    def s_Let(self, s: N.Let) -> None:
        self.expr(s.value)
        self.scope.ready.add(s.name)
        self.binding_of[id(s)].assignments.append((None, s.value))

    def s_Assign(self, s: N.Assign) -> None:
        self.expr(s.value)
        target = s.target
        if isinstance(target, N.Name):
            binding, scope = self._lookup(target.id)
            if binding is None:
                self.error(target.span, f"assignment to undeclared name '{target.id}' (declare it with 'let')")
                return
            if binding.kind in ("builtin", "import"):
                what = "builtin" if binding.kind == "builtin" else "imported module"
                self.error(target.span, f"cannot assign to {what} '{target.id}'")
                return
            self._check_ready(target, binding, scope)
            binding.assignments.append((s.op, s.value))
            self.binding_of[id(target)] = binding
            self._use(binding)
            if binding.function is not self.function:
                self.function.outer_assigned.add(binding)
        else:
            self.expr(target)

    def s_ExprStmt(self, s: N.ExprStmt) -> None:
        self.expr(s.expr)

    def s_If(self, s: N.If) -> None:
        self.expr(s.test)
        self.block(s.then)
        if isinstance(s.otherwise, N.If):
            self.s_If(s.otherwise)
        elif s.otherwise is not None:
            self.block(s.otherwise)

    def s_While(self, s: N.While) -> None:
        self.expr(s.test)
        self.loop_depth += 1
        self.block(s.body, is_loop=True)
        self.loop_depth -= 1

    def s_For(self, s: N.For) -> None:
        self.expr(s.iterable)
        self.loop_depth += 1

        def declare_names():
            seen = set()
            for name, span in zip(s.names, s.name_spans):
                if name in seen:
                    self.error(span, f"'{name}' is declared twice in this loop")
                seen.add(name)
                b = Binding(name, "loop", span, self.function)
                b.range_loop = len(s.names) == 1 and _is_range_call(s.iterable, self)
                self.function.bindings.append(b)
                self.scope.names[name] = b
                self.scope.ready.add(name)
                self.binding_of[(id(s), name)] = b

        self.block(s.body, is_loop=True, pre=declare_names)
        self.loop_depth -= 1

    def s_Break(self, s) -> None:
        if self.loop_depth == 0:
            self.error(s.span, "'break' outside a loop")

    def s_Continue(self, s) -> None:
        if self.loop_depth == 0:
            self.error(s.span, "'continue' outside a loop")

    def s_Return(self, s: N.Return) -> None:
        if self.function.parent is None:
            self.error(s.span, "'return' outside a function")
        if s.value is not None:
            self.expr(s.value)

    def s_FnDecl(self, s: N.FnDecl) -> None:
        self.function_body(s, s.params, s.body)

    def s_Try(self, s: N.Try) -> None:
        self.block(s.body)

        def declare_err():
            if s.err_name is not None:
                b = Binding(s.err_name, "catch", s.err_span, self.function)
                self.function.bindings.append(b)
                self.scope.names[s.err_name] = b
                self.scope.ready.add(s.err_name)
                self.binding_of[id(s)] = b

        self.block(s.handler, pre=declare_err)

    def s_Throw(self, s: N.Throw) -> None:
        self.expr(s.value)

    def s_Assert(self, s: N.Assert) -> None:
        self.expr(s.test)
        if s.message is not None:
            self.expr(s.message)

    def s_Block(self, s: N.Block) -> None:
        self.block(s)

    # top-level declarations
    def s_Import(self, s: N.Import) -> None:
        pass

    def s_Route(self, s: N.Route) -> None:
        param = N.Param(s.param_span, s.param, None)
        self.function_body(s, (param,), s.body)

    def s_Static(self, s) -> None:
        pass

    def s_Group(self, s: N.Group) -> None:
        for d in s.body:
            if not isinstance(d, (N.Route, N.Static, N.Group, N.Use)):
                self.error(d.span, "a group holds only routes, 'use', 'static' and other groups")
                continue
            self.stmt(d, top_level=True)

    def s_Use(self, s: N.Use) -> None:
        self.expr(s.middleware)

    def s_On(self, s: N.On) -> None:
        self.function_body(s, s.params, s.body)

    def s_Test(self, s: N.Test) -> None:
        self.function_body(s, (), s.body)

    # ------------------------------------------------------------------ functions

    def function_body(self, node, params, body) -> None:
        outer_function, outer_loops = self.function, self.loop_depth
        function = Function(node, outer_function)
        outer_function.children.append(function)
        self.function_of[id(node)] = function
        self.function, self.loop_depth = function, 0
        self._push()
        seen: dict[str, N.Param] = {}
        defaulted = False
        for p in params:
            if p.default is None and defaulted:
                self.error(p.span, f"parameter '{p.name}' needs a default: it follows one that has a default")
            defaulted = defaulted or p.default is not None
            if p.default is not None:
                self.expr(p.default)  # defaults see earlier parameters
            if p.name in seen:
                self.error(p.span, f"duplicate parameter '{p.name}'")
                continue
            seen[p.name] = p
            b = Binding(p.name, "param", p.span, function)
            function.bindings.append(b)
            self.scope.names[p.name] = b
            self.scope.ready.add(p.name)
            self.binding_of[id(p)] = b
        if isinstance(body, N.Block):
            self._declare_block(body.body)
            for stmt in body.body:
                self.stmt(stmt)
        else:
            self.expr(body)
        self._pop()
        self.function, self.loop_depth = outer_function, outer_loops

    # ------------------------------------------------------------------ expressions

    def _check_ready(self, node: N.Name, binding: Binding, scope: _Scope) -> None:
        # A `let` used in the same function before its declaration ran.
        if binding.kind == "let" and binding.function is self.function and node.id not in scope.ready:
            self.error(node.span, f"'{node.id}' is used before its declaration at {binding.span.line}:{binding.span.col}")

    def expr(self, e) -> None:
        getattr(self, "e_" + type(e).__name__)(e)

    def e_Name(self, e: N.Name) -> None:
        binding, scope = self._lookup(e.id)
        if binding is None:
            self.error(e.span, f"undefined name '{e.id}'")
            return
        if scope is not None:
            self._check_ready(e, binding, scope)
        self.binding_of[id(e)] = binding
        self._use(binding)

    def e_Literal(self, e) -> None:
        pass

    def e_Interpolated(self, e: N.Interpolated) -> None:
        for part in e.parts:
            if not isinstance(part, str):
                self.expr(part)

    def e_ListLit(self, e: N.ListLit) -> None:
        for item in e.items:
            self.expr(item)

    def e_MapLit(self, e: N.MapLit) -> None:
        for k, v in e.entries:
            self.expr(k)
            self.expr(v)

    def e_Unary(self, e: N.Unary) -> None:
        self.expr(e.operand)

    def e_Binary(self, e: N.Binary) -> None:
        self.expr(e.left)
        self.expr(e.right)

    e_Logical = e_Binary

    def e_Conditional(self, e: N.Conditional) -> None:
        self.expr(e.test)
        self.expr(e.then)
        self.expr(e.otherwise)

    def e_Field(self, e: N.Field) -> None:
        self.expr(e.obj)

    def e_Index(self, e: N.Index) -> None:
        self.expr(e.obj)
        self.expr(e.index)

    def e_Slice(self, e: N.Slice) -> None:
        self.expr(e.obj)
        if e.start is not None:
            self.expr(e.start)
        if e.stop is not None:
            self.expr(e.stop)

    def e_Call(self, e: N.Call) -> None:
        self.expr(e.func)
        for a in e.args:
            self.expr(a)
        seen = set()
        for k in e.kwargs:
            if k.name in seen:
                self.error(k.span, f"argument '{k.name}' given twice")
            seen.add(k.name)
            self.expr(k.value)

    def e_FnExpr(self, e: N.FnExpr) -> None:
        self.function_body(e, e.params, e.body)


def _is_range_call(e, resolver: "Resolver") -> bool:
    return (isinstance(e, N.Call) and isinstance(e.func, N.Name) and e.func.id == "range"
            and not e.kwargs and resolver._lookup("range")[0] is resolver.builtins.get("range"))


# ---------------------------------------------------------------------- Python names

_RESERVED = set(keyword.kwlist) | {"None", "True", "False"}


def _safe(name: str) -> str:
    return name + "ʹ" if name in _RESERVED else name


def assign_python_names(top: Function) -> None:
    """Give each binding a Python identifier.

    Inside one Python function, every name it sees must mean one binding. A binding keeps
    its script name unless that would collide, within its owner function's subtree, with
    another binding of the same name that is seen there (an outer one, a builtin, or a
    sibling block's). Parameters always keep their names (named arguments use them)."""

    def visit(function: Function) -> None:
        # Names fixed by what this subtree sees from outside (outer bindings and builtins).
        seen_outside = {b.python_name for b in function.refs if b.function is not function}
        used: set[str] = set()
        for b in function.bindings:
            base = _safe(b.name)
            if b.kind == "param":
                candidate = base
            else:
                candidate, n = base, 1
                while candidate in used or candidate in seen_outside:
                    n += 1
                    candidate = f"{base}ʹ{n}"
            b.python_name = candidate
            used.add(candidate)
        for child in function.children:
            visit(child)

    visit(top)


def resolve(module: N.Module, builtin_names) -> Resolution:
    """Check `module`; raises ErrorList with every static error found."""
    return Resolver(builtin_names).resolve_module(module)
