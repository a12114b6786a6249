"""Compile a resolved script into one Python code object, built as `ast` nodes.

Strategy. A script becomes a Python function `ᵣmodule()` whose locals are the script's
top-level bindings; script functions, routes and `on` blocks become nested Python
functions, so closures are Python closures and calls are Python calls: no tree is walked at
run time. Every generated node carries the script's own line and column, so a Python
traceback through compiled code *is* the script's stack (see lang/stack.py).

Names the compiler adds start with `ᵣ`, a letter no script name can contain. Operations are
native Python wherever Python's meaning is the language's, and calls into lang/ops.py
elsewhere (see that module). The step budget is a closure cell `ᵣsteps` of the module
function, decremented on calls and loop back-edges (lang/limits.py explains the credit
scheme). Parameter defaults are evaluated at call time, as in JavaScript.

A function expression cannot be a Python expression, so it is emitted as a `def` just
before the statement that uses it ("pre-statements"); defining a function has no effects,
since defaults are not evaluated until a call.
"""
from __future__ import annotations

import ast
from types import CodeType

from . import nodes as N
from .direct import direct_method, inline_append
from .dump import dump
from .errors import Span
from .facts import arithmetic, arithmetic_functions, guard_facts, leaves
from .limits import SMALL_WORK, char_width

# Results of native + and - are tested inline against +-INT_FAST first, then +-INT_LIMIT (the
# 4,096-bit cap, values.MAX_INT_BITS); only what fails both goes to ops.checked/sized. INT_FAST
# is one 30-bit digit: CPython 3.11 specializes a comparison only between such ints, about
# twice as fast as one against the cap constant (bench/interp.py fib). A result that can pass
# the cap one way only is compared with the cap alone: one comparison either way, and no
# failed specialization once a sum outgrows 30 bits (bench/interp.py loop).
INT_FAST = (1 << 30) - 1
INT_LIMIT = 1 << 4096
from .resolver import Binding, Function, Resolution

_LOAD = ast.Load()
P = "ᵣ"  # prefix of every name the compiler invents

STEPS = P + "steps"
LOADED = P + "loaded"
MISSING = P + "MISSING"
SEALED = P + "frozen"  # suffix of a captured variable's "frozen" companion (see lang/values.py)

_BINOPS = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv,
           "%": ast.Mod, "**": ast.Pow}
_CMPOPS = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE}
_ORDERING = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
_NUMBER_LITERAL = (int, float)
_LONG_OPERAND = 1 << 17  # a string operand of `+` with a literal longer than this goes to ops.add
_GROWTH_CHUNK = 1 << 16  # `s += "literal"` is checked each time s grows past a multiple of this


class _Positioned:
    """Constructors of `ast` nodes that stamp the position of the script node being
    compiled (`at`), so the tree needs no walk to fill positions in afterwards."""

    def __init__(self) -> None:
        self.pos = (1, 0, 1, 0)

    def __getattr__(self, name: str):
        cls = getattr(ast, name)

        def make(*args, **fields):
            node = cls(*args, **fields)
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = self.pos
            return node
        setattr(self, name, make)
        return make

    def at(self, span: Span) -> tuple:
        """Make `span` the current position; returns the previous one to restore."""
        previous = self.pos
        self.pos = (span.line, span.col - 1, span.end_line, span.end_col - 1)
        return previous


A = _Positioned()


def _name(id: str, ctx=None) -> ast.Name:
    return A.Name(id=id, ctx=ctx or _LOAD)


def _helper(name: str) -> ast.Name:
    return _name(P + name)


def _call(func: ast.expr, *args: ast.expr, keywords=()) -> ast.Call:
    return A.Call(func=func, args=list(args), keywords=list(keywords))


def _class_of(value: ast.expr) -> ast.expr:
    """`value.__class__`: the type of a value, read faster than by calling `type` (about 2 ns
    a test, bench/interp.py fib); the same for every value a script holds."""
    return A.Attribute(value=value, attr="__class__", ctx=_LOAD)


def _const(value) -> ast.Constant:
    return A.Constant(value=value)


def _at(node, span: Span):
    node.lineno, node.col_offset = span.line, span.col - 1
    node.end_lineno, node.end_col_offset = span.end_line, span.end_col - 1
    return node


def _is_literal(e, types) -> bool:
    return isinstance(e, N.Literal) and type(e.value) in types


def _small_literal(e) -> bool:
    """A non-negative int literal below 2**62 (a bool literal is not one)."""
    return _is_literal(e, (int,)) and 0 <= e.value < 1 << 62


class Compiled:
    """The output: the code object, the declarations met in order, display names."""

    def __init__(self, code: CodeType, declarations: list, display_names: dict, exports: list):
        self.code = code
        self.declarations = declarations  # [(node, enclosing Group nodes)], index = ᵣdecl id
        self.display_names = display_names  # Python function name -> name shown in stacks
        self.exports = exports


class Compiler:
    def __init__(self, resolution: Resolution, file: str):
        self.res = resolution
        self.file = file
        self.declarations: list = []
        self.display_names: dict[str, str] = {P + "module": "<top level>"}
        self.function: Function | None = None
        self.pre: list[list] = []
        self.groups: tuple = ()
        self.temp_count = 0
        self.fn_count = 0
        # Captured variables an inner function assigns get a companion cell that freezing
        # sets to True: a closure frozen at load (a counter made at the top level) then
        # refuses to change shared state, as frozen values do.
        self.sealed: set = set()
        bindings: list = []
        functions: list = []
        pending = [resolution.module_function]
        while pending:
            function = pending.pop()
            pending += function.children
            functions.append(function)
            self.sealed |= {b for b in function.outer_assigned if not b.top_level}
            bindings += function.bindings
        self.int_only = self.infer_ints(bindings)
        self.arithmetic_fns = arithmetic_functions(functions, resolution, self.int_only)
        # Variables of `for i in range(<literals>)` never assigned otherwise: small and
        # non-negative, so adding one can only pass the int cap upwards (one test, not two).
        self.small_counters: set = set()
        # Loops being compiled in the current Python function, innermost last: "native" or
        # "body" (the body became a function called per iteration, see loop_body).
        self.loops: list[str] = []
        self.in_body = False  # compiling the inside of such a body function
        # No credit check yet in the function being compiled (or this loop iteration): the
        # first statement that may call a script function gets one. A function's entry only
        # takes its step; so a call that ends without calling (a leaf, a recursion's base
        # case) never checks, while every call that calls checks before it does, and so
        # does each iteration of a loop that calls: between two checks, a bounded number of
        # steps (lang/limits.py).
        self.unchecked = True
        # Bounds on numbers a guard proves where its code runs: after `if n < 2 { return n }`,
        # n >= 2 (or is NaN): a non-number would have made `<` fail. Kept only for variables
        # nothing reassigns; `n - 1` then needs no int-cap test (see `guard_bounds`).
        self.floors: dict = {}
        self.ceilings: dict = {}
        # Variables whose `s += "literal"` the enclosing `for` charged before it began.
        self.appends_charged: frozenset = frozenset()
        self.pre_loop: list = []  # a loop body function to define just before its loop

    # ------------------------------------------------------------------ module

    def compile_module(self, module: N.Module) -> Compiled:
        top = self.res.module_function
        self.function = top
        span = Span(self.file, 1, 1, 1, 1)
        body: list = [
            _at(A.Assign(targets=[_name(STEPS, ast.Store())], value=_const(0)), span),
            _at(A.Assign(targets=[_name(LOADED, ast.Store())], value=_const(False)), span),
        ]
        body += self.seal_flags(top, span)
        body += self.block_statements(module.body, top_level=True)
        exports = [b for b in top.bindings if b.top_level]
        body.append(_at(A.Assign(targets=[_name(LOADED, ast.Store())], value=_const(True)), span))
        body.append(_at(A.Return(value=A.Dict(
            keys=[_const(b.name) for b in exports],
            values=[_name(b.python_name) for b in exports])), span))
        fn = _at(A.FunctionDef(name=P + "module", args=self._arguments([]), body=body,
                                 decorator_list=[], returns=None, type_comment=None), span)
        tree = ast.Module(body=[fn], type_ignores=[])
        dump("script", self.file, tree)
        code = compile(tree, self.file, "exec", dont_inherit=True, optimize=0)
        return Compiled(code, self.declarations, self.display_names, [b.name for b in exports])

    # ------------------------------------------------------------------ helpers

    def temp(self) -> str:
        self.temp_count += 1
        return f"{P}t{self.temp_count}"

    def step(self, span: Span) -> ast.stmt:
        """`ᵣsteps -= 1`: a call or a loop iteration."""
        return _at(A.AugAssign(target=_name(STEPS, ast.Store()), op=ast.Sub(), value=_const(1)), span)

    def credit_check(self, span: Span) -> ast.stmt:
        """`if ᵣsteps < 0: ᵣsteps = ᵣrefill(ᵣsteps)`: charge the steps taken, check the
        budget and the deadline (lang/limits.py)."""
        return _at(A.If(test=A.Compare(left=_name(STEPS), ops=[ast.Lt()], comparators=[_const(0)]),
                        body=[A.Assign(targets=[_name(STEPS, ast.Store())],
                                       value=_call(_helper("refill"), _name(STEPS)))],
                        orelse=[]), span)

    def check_before(self, node, span: Span) -> list:
        """The credit check a statement or expression about to be compiled needs: one before
        the first that may call a script function, since the function began or its loop's
        iteration did (see `function_def`)."""
        if self.unchecked and self.may_call(node):
            self.unchecked = False
            return [self.credit_check(span)]
        return []

    def may_call(self, node) -> bool:
        """Can evaluating `node` call a script function? Any call but one of a builtin by
        its name may (a method call may find a function stored in a map or a module); what
        happens inside a function made there does not count."""
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, (N.FnExpr, N.FnDecl, N.Route, N.On, N.Test)):  # bodies run later
                continue
            if isinstance(n, N.Call) and not (isinstance(n.func, N.Name) and self.binding(n.func).kind == "builtin"):
                return True
            stack.extend(_children(n))
        return False

    def binding(self, node) -> Binding:
        return self.res.binding_of[id(node)]

    def _arguments(self, params) -> ast.arguments:
        args = [A.arg(arg=self.binding(p).python_name) for p in params]
        defaults = [_name(MISSING) for p in params if p.default is not None]
        # Parameters without a default after one with a default still need a value.
        if defaults:
            first = next(i for i, p in enumerate(params) if p.default is not None)
            defaults = [_name(MISSING)] * (len(params) - first)
        return ast.arguments(posonlyargs=[], args=args, vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=defaults)

    # ------------------------------------------------------------------ functions

    def function_def(self, node, params, body, py_name: str, display: str) -> ast.FunctionDef:
        """A script function (fn, fn expression, route, on, test) as a Python `def`."""
        outer, outer_pos = self.function, A.at(node.span)
        outer_loops, outer_in_body = self.loops, self.in_body
        self.loops, self.in_body = [], False
        function = self.res.function_of[id(node)]
        self.function = function
        self.display_names[py_name] = display
        stmts: list = []
        nonlocals = sorted({b.python_name for b in function.outer_assigned} | {STEPS})
        stmts.append(_at(A.Nonlocal(names=nonlocals), node.span))
        stmts.append(self.step(node.span))
        outer_unchecked, self.unchecked = self.unchecked, True
        outer_appends, self.appends_charged = self.appends_charged, frozenset()
        stmts += self.seal_flags(function, node.span)
        for p in params:
            if p.default is not None:
                stmts += self.check_before(p.default, p.span)
                b = self.binding(p)
                default_stmts = self.with_pre(lambda: A.Assign(
                    targets=[_name(b.python_name, ast.Store())], value=self.expr(p.default)), p.span)
                stmts.append(_at(A.If(
                    test=A.Compare(left=_name(b.python_name), ops=[ast.Is()], comparators=[_name(MISSING)]),
                    body=default_stmts, orelse=[]), p.span))
        if isinstance(body, N.Block):
            stmts += self.block_statements(body.body)
        else:
            stmts += self.check_before(body, body.span)
            stmts += self.with_pre(lambda: A.Return(value=self.expr(body)), body.span)
        self.function, A.pos = outer, outer_pos
        self.loops, self.in_body = outer_loops, outer_in_body
        self.unchecked = outer_unchecked
        self.appends_charged = outer_appends
        return _at(A.FunctionDef(name=py_name, args=self._arguments(params), body=stmts,
                                   decorator_list=[], returns=None, type_comment=None), node.span)

    def seal_flags(self, function: Function, span: Span) -> list:
        return [_at(A.Assign(targets=[_name(b.python_name + SEALED, ast.Store())], value=_const(False)), span)
                for b in function.bindings if b in self.sealed]

    def anonymous_name(self, display: str) -> str:
        self.fn_count += 1
        name = f"{P}fn{self.fn_count}"
        self.display_names[name] = display
        return name

    # ------------------------------------------------------------------ statements

    def with_pre(self, build, span: Span) -> list:
        """Compile one statement; function expressions inside it are defined first."""
        self.pre.append([])
        stmt = build()
        pre = self.pre.pop()
        stmts = stmt if isinstance(stmt, list) else [_at(stmt, span)]
        return pre + stmts

    def block_statements(self, body, top_level=False) -> list:
        bounds = self.floors.copy(), self.ceilings.copy()
        out = self._block_statements(body)
        self.floors, self.ceilings = bounds
        return out

    def _block_statements(self, body) -> list:
        out: list = []
        # `fn` declarations are visible in their whole block: define them first.
        for s in body:
            if isinstance(s, N.FnDecl):
                b = self.binding(s)
                out.append(self.function_def(s, s.params, s.body, b.python_name, s.name))
        for s in body:
            if not isinstance(s, N.FnDecl):
                previous = A.at(s.span)
                if isinstance(s, N.While):
                    out += self.check_before(s.test, s.span)
                elif not isinstance(s, N.For):  # a `for` checks the credit itself
                    out += self.check_before(s, s.span)
                out += getattr(self, "s_" + type(s).__name__)(s)
                A.pos = previous
                if isinstance(s, N.If) and leaves(s.then):
                    self.guard_bounds(s.test, False)  # what follows runs only if it failed
        return out or [_at(A.Pass(), body[0].span if body else Span(self.file, 1, 1, 1, 1))]

    def block(self, block: N.Block) -> list:
        stmts = self.block_statements(block.body)
        if not block.body:
            return [_at(A.Pass(), block.span)]
        return stmts

    def s_Block(self, s: N.Block) -> list:
        return self.block(s)

    def s_Let(self, s: N.Let) -> list:
        b = self.binding(s)
        return self.with_pre(lambda: A.Assign(targets=[_name(b.python_name, ast.Store())],
                                                value=self.expr(s.value)), s.span)

    def s_ExprStmt(self, s: N.ExprStmt) -> list:
        return self.with_pre(lambda: A.Expr(value=self.expr(s.expr)), s.span)

    def s_Assign(self, s: N.Assign) -> list:
        return self.with_pre(lambda: self.assignment(s), s.span)

    def assignment(self, s: N.Assign) -> list:
        target, span = s.target, s.span
        if isinstance(target, N.Name):
            b = self.binding(target)
            value = self.expr(s.value)
            grow = None
            if b in self.appends_charged:  # charged by its loop (s_For): only the append
                value = A.BinOp(left=_name(b.python_name), op=ast.Add(), right=value)
            elif s.op == "+" and _is_literal(s.value, (str,)) and len(s.value.value) < _GROWTH_CHUNK:
                # `s += "x"`: native, so CPython can append in place; checked once per
                # _GROWTH_CHUNK characters grown (ops.grown: the size cap and memory budget).
                value = A.BinOp(left=_name(b.python_name), op=ast.Add(), right=value)
                grow = A.If(test=A.Compare(
                    left=A.BinOp(left=_call(_helper("len"), _name(b.python_name)), op=ast.BitAnd(),
                                 right=_const(_GROWTH_CHUNK - 1)),
                    ops=[ast.Lt()], comparators=[_const(len(s.value.value))]),
                    body=[A.Expr(value=_call(_helper("grown"), _name(b.python_name), _const(_GROWTH_CHUNK)))],
                    orelse=[])
            elif s.op is not None:
                value = self.binary(s.op, target, s.value, _name(b.python_name), value, span)
            stmts = []
            if b.top_level and self.function is not self.res.module_function:
                stmts.append(_at(A.If(test=_name(LOADED), body=[A.Expr(
                    value=_call(_helper("frozen_binding"), _const(b.name)))], orelse=[]), span))
            elif b in self.sealed and b.function is not self.function:
                stmts.append(_at(A.If(test=_name(b.python_name + SEALED), body=[A.Expr(
                    value=_call(_helper("frozen_capture"), _const(b.name)))], orelse=[]), span))
            stmts.append(_at(A.Assign(targets=[_name(b.python_name, ast.Store())], value=value), span))
            if grow is not None:
                stmts.append(_at(grow, span))
            return stmts
        if isinstance(target, N.Field):
            obj, key = self.expr(target.obj), _const(target.name)
        else:
            obj, key = self.expr(target.obj), self.expr(target.index)
        if s.op is None:
            # ops.store: a map's growth is memory. The value first, as Python's own `=` does.
            t_value = self.temp()
            return [_at(A.Assign(targets=[_name(t_value, ast.Store())], value=self.expr(s.value)), span),
                    _at(A.Expr(value=_call(_helper("store"), obj, key, _name(t_value))), span)]
        t_obj, t_key = self.temp(), self.temp()
        current = _call(_helper("index"), _name(t_obj), _name(t_key))
        new = self.binary(s.op, target, s.value, current, self.expr(s.value), span)
        return [
            _at(A.Assign(targets=[_name(t_obj, ast.Store())], value=obj), span),
            _at(A.Assign(targets=[_name(t_key, ast.Store())], value=key), span),
            _at(A.Assign(targets=[A.Subscript(value=_name(t_obj), slice=_name(t_key), ctx=ast.Store())],
                           value=new), span),
        ]

    def s_If(self, s: N.If) -> list:
        def build():
            test = self.expr(s.test)
            bounds = self.floors.copy(), self.ceilings.copy()
            self.guard_bounds(s.test, True)
            then = self.block(s.then)
            self.floors, self.ceilings = bounds[0].copy(), bounds[1].copy()
            self.guard_bounds(s.test, False)
            if isinstance(s.otherwise, N.If):
                orelse = self.s_If(s.otherwise)
            elif s.otherwise is not None:
                orelse = self.block(s.otherwise)
            else:
                orelse = []
            self.floors, self.ceilings = bounds
            return A.If(test=test, body=then, orelse=orelse)
        return self.with_pre(build, s.span)

    def guard_bounds(self, test, holds: bool) -> None:
        """Record the bounds `test` proves where it is `holds` (lang/facts.py)."""
        for b, op, limit in guard_facts(test, holds, self.res.binding_of):
            (self.floors if op in (">", ">=") else self.ceilings)[b] = limit

    def s_While(self, s: N.While) -> list:
        self.pre.append([])
        test = self.expr(s.test)
        pre = self.pre.pop()
        outer_unchecked, self.unchecked = self.unchecked, False  # checked each iteration
        body = [self.step(s.span), self.credit_check(s.span)] + self.loop_body(s.body, [], s.span)
        self.unchecked = outer_unchecked
        before, self.pre_loop = self.pre_loop, []  # a body function, defined once
        if pre:  # the test defines functions: evaluate it inside the loop, each time
            head = pre + [_at(A.If(test=A.UnaryOp(op=ast.Not(), operand=test),
                                     body=[A.Break()], orelse=[]), s.test.span)]
            return before + [_at(A.While(test=_const(True), body=head + body, orelse=[]), s.span)]
        return before + [_at(A.While(test=test, body=body, orelse=[]), s.span)]

    def s_For(self, s: N.For) -> list:
        items = self.temp()

        def build():
            it = s.iterable
            if (isinstance(it, N.Call) and isinstance(it.func, N.Name) and it.func.id == "range"
                    and self.binding(it.func).kind == "builtin" and not it.kwargs and len(s.names) == 1):
                value = _call(_helper("loop_range"), *[self.expr(a) for a in it.args])
                counter = self.res.binding_of[(id(s), s.names[0])]
                if not counter.assignments and it.args and all(_small_literal(a) for a in it.args) \
                        and (len(it.args) < 3 or it.args[2].value > 0):
                    self.small_counters.add(counter)  # 0 <= it < 2**62 on every iteration
            elif len(s.names) == 2:
                value = _call(_helper("pairs"), self.expr(it))
            else:
                value = self.expr(it)
            return A.Assign(targets=[_name(items, ast.Store())], value=value)

        stmts = self.with_pre(build, s.iterable.span)
        span = s.span
        stmts.append(_at(A.AugAssign(target=_name(STEPS, ast.Store()), op=ast.Sub(),
                                       value=_call(_helper("len"), _name(items))), s.iterable.span))
        appends = _literal_appends(s.body, self.res)
        for b, (chars, width) in appends.items():  # before `refill_loop` may make items a counter
            stmts.append(_at(A.Expr(value=_call(_helper("will_append"), _name(b.python_name), A.BinOp(
                left=_call(_helper("len"), _name(items)), op=ast.Mult(), right=_const(chars)), _const(width))), span))
        stmts.append(_at(A.If(
            test=A.Compare(left=_name(STEPS), ops=[ast.Lt()], comparators=[_const(0)]),
            body=[A.Assign(targets=[A.Tuple(elts=[_name(STEPS, ast.Store()), _name(items, ast.Store())],
                                                ctx=ast.Store())],
                             value=_call(_helper("refill_loop"), _name(STEPS), _name(items)))],
            orelse=[]), span))
        names = [self.res.binding_of[(id(s), n)].python_name for n in s.names]
        if len(names) == 1:
            target = _name(names[0], ast.Store())
        else:
            target = A.Tuple(elts=[_name(n, ast.Store()) for n in names], ctx=ast.Store())
        loop_vars = [self.res.binding_of[(id(s), n)] for n in s.names]
        outer_appends, self.appends_charged = self.appends_charged, frozenset(appends)
        self.unchecked = True  # the length was charged up front; calls are checked per iteration
        body = self.loop_body(s.body, loop_vars, span)
        self.unchecked = False  # the loop checked the credit before it began
        self.appends_charged = outer_appends
        stmts += self.pre_loop  # a body function, defined once, before the loop
        self.pre_loop = []
        stmts.append(_at(A.For(target=target, iter=_name(items), body=body,
                                 orelse=[], type_comment=None), span))
        return stmts

    def s_Break(self, s) -> list:
        if self.loops and self.loops[-1] == "body":
            return [_at(A.Return(value=_helper("BREAK")), s.span)]
        return [_at(A.Break(), s.span)]

    def s_Continue(self, s) -> list:
        if self.loops and self.loops[-1] == "body":
            return [_at(A.Return(value=None), s.span)]
        return [_at(A.Continue(), s.span)]

    def s_Return(self, s: N.Return) -> list:
        def build():
            value = self.expr(s.value) if s.value is not None else _const(None)
            # Inside a loop body function, a `return` travels out as a 1-tuple.
            return A.Return(value=A.Tuple(elts=[value], ctx=ast.Load()) if self.in_body else value)
        return self.with_pre(build, s.span)

    # -- loop bodies with a fresh binding per iteration

    def loop_body(self, block: N.Block, loop_vars: list, span: Span) -> list:
        """The statements a Python loop runs for `block`. Each iteration of a script loop
        has its own bindings (`for i ...` makes a new `i` each time, as in JavaScript), which
        only shows when a function made in the body captures one: then the body becomes a
        function called once per iteration, so each call has fresh cells."""
        declared, functions, assigned = _scan_body(block, self.res)
        declared |= set(loop_vars)
        if not any(self.res.function_of[id(f)].refs & declared for f in functions):
            self.loops.append("native")
            body = self.block(block)
            self.loops.pop()
            return body
        name = self.anonymous_name("<loop body>")
        outer_loops, outer_in_body = self.loops, self.in_body
        self.loops, self.in_body = ["body"], True
        stmts = self.block_statements(block.body) if block.body else [_at(A.Pass(), span)]
        self.loops, self.in_body = outer_loops, outer_in_body
        nonlocals = sorted({b.python_name for b in assigned - declared} | {STEPS})
        params = [b.python_name for b in loop_vars]
        fn = _at(A.FunctionDef(
            name=name, args=ast.arguments(posonlyargs=[], args=[A.arg(arg=p) for p in params], vararg=None,
                                          kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=[_at(A.Nonlocal(names=nonlocals), span)] + stmts, decorator_list=[], returns=None,
            type_comment=None), span)
        self.pre_loop = [fn]
        result = self.temp()
        # After a call: None goes on; BREAK leaves the loop; a 1-tuple is a `return`.
        returned = _name(result) if self.in_body else A.Subscript(value=_name(result), slice=_const(0),
                                                                      ctx=ast.Load())
        return [
            _at(A.Assign(targets=[_name(result, ast.Store())],
                         value=_call(_name(name), *[_name(p) for p in params])), span),
            _at(A.If(test=A.Compare(left=_name(result), ops=[ast.IsNot()], comparators=[_const(None)]),
                     body=[A.If(test=A.Compare(left=_name(result), ops=[ast.Is()], comparators=[_helper("BREAK")]),
                                body=[A.Break()], orelse=[A.Return(value=returned)])],
                     orelse=[]), span),
        ]

    def s_Try(self, s: N.Try) -> list:
        caught = self.temp()
        handler: list = []
        if s.err_name is not None:
            b = self.res.binding_of[id(s)]
            handler.append(_at(A.Assign(targets=[_name(b.python_name, ast.Store())],
                                          value=_call(_helper("caught"), _name(caught))), s.err_span))
        else:
            handler.append(_at(A.Expr(value=_call(_helper("caught"), _name(caught))), s.span))
        handler += self.block(s.handler)
        return [_at(A.Try(body=self.block(s.body), handlers=[A.ExceptHandler(
            type=_helper("Exception"), name=caught, body=handler)], orelse=[], finalbody=[]), s.span)]

    def s_Throw(self, s: N.Throw) -> list:
        return self.with_pre(lambda: A.Raise(exc=_call(_helper("throw"), self.expr(s.value)), cause=None), s.span)

    def s_Assert(self, s: N.Assert) -> list:
        def build():
            message = self.expr(s.message) if s.message is not None else _const(None)
            return A.If(test=A.UnaryOp(op=ast.Not(), operand=self.expr(s.test)),
                          body=[A.Raise(exc=_call(_helper("assertion_failed"), message), cause=None)],
                          orelse=[])
        return self.with_pre(build, s.span)

    # top-level declarations
    def s_Import(self, s: N.Import) -> list:
        b = self.binding(s)
        key = s.module if s.module is not None else s.path
        return [_at(A.Assign(targets=[_name(b.python_name, ast.Store())],
                               value=A.Subscript(value=_helper("modules"), slice=_const(key),
                                                   ctx=ast.Load())), s.span)]

    def declare(self, node, value: ast.expr, span: Span) -> list:
        index = len(self.declarations)
        self.declarations.append((node, self.groups))
        return [_at(A.Expr(value=_call(_helper("declare"), _const(index), value)), span)]

    def s_Route(self, s: N.Route) -> list:
        name = self.anonymous_name(f"{s.method} {s.path}")
        param = N.Param(s.param_span, s.param, None)
        # The resolver bound the route's parameter under a Param node it made; find it.
        function = self.res.function_of[id(s)]
        pb = function.bindings[0]
        self.res.binding_of[id(param)] = pb
        fn = self.function_def(s, (param,), s.body, name, f"{s.method} {s.path}")
        return [fn] + self.declare(s, _name(name), s.span)

    def s_Static(self, s: N.Static) -> list:
        return self.declare(s, _const(None), s.span)

    def s_Group(self, s: N.Group) -> list:
        outer = self.groups
        self.groups = outer + (s,)
        stmts: list = []
        for d in s.body:
            stmts += getattr(self, "s_" + type(d).__name__)(d)
        self.groups = outer
        return stmts or [_at(A.Pass(), s.span)]

    def s_Use(self, s: N.Use) -> list:
        return self.with_pre(lambda: self.declare(s, self.expr(s.middleware), s.span), s.span)

    def s_On(self, s: N.On) -> list:
        name = self.anonymous_name(f"on {s.event}")
        fn = self.function_def(s, s.params, s.body, name, f"on {s.event}")
        return [fn] + self.declare(s, _name(name), s.span)

    def s_Test(self, s: N.Test) -> list:
        name = self.anonymous_name(f"test {s.name!r}")
        fn = self.function_def(s, (), s.body, name, f"test {s.name!r}")
        return [fn] + self.declare(s, _name(name), s.span)

    # ------------------------------------------------------------------ expressions

    def expr(self, e) -> ast.expr:
        previous = A.at(e.span)
        node = _at(getattr(self, "e_" + type(e).__name__)(e), e.span)
        A.pos = previous
        return node

    def e_Literal(self, e: N.Literal) -> ast.expr:
        return _const(e.value)

    def e_Name(self, e: N.Name) -> ast.expr:
        return _name(self.binding(e).python_name)

    def e_Interpolated(self, e: N.Interpolated) -> ast.expr:
        values, dynamic = [], 0
        literal = any(isinstance(part, str) for part in e.parts)
        calls = sum(1 for part in e.parts if not isinstance(part, str) and not (
            isinstance(part, N.Name) and self.binding(part) in self.int_only))
        # One dynamic part and literal text: the result is a copy of the part, charged when
        # long (ops.text_part); alone, "${s}" is s itself. Two or more: ops.interpolate, which
        # charges the result and checks the cap before it is joined.
        part_helper = "text_part" if literal and calls == 1 else "str"
        for part in e.parts:
            if isinstance(part, str):
                values.append(_const(part))
            elif isinstance(part, N.Name) and self.binding(part) in self.int_only:
                # An int formats as str() shows it (int.__repr__, at most ~1,234 digits
                # under the int cap): no call, and no doubling of the string's size.
                values.append(A.FormattedValue(value=self.expr(part), conversion=-1, format_spec=None))
            else:
                dynamic += 1
                values.append(A.FormattedValue(value=_call(_helper(part_helper), self.expr(part)),
                                                 conversion=-1, format_spec=None))
        if dynamic > 1:  # two can double a string: its size is known before it is joined
            texts = [v if isinstance(v, ast.Constant) else v.value if v.value.__class__ is ast.Call
                     else A.JoinedStr(values=[v]) for v in values]
            return _call(_helper("interpolate"), A.List(elts=texts, ctx=ast.Load()))
        # One dynamic part grows a string by a literal's length at most.
        return A.JoinedStr(values=values)

    def e_ListLit(self, e: N.ListLit) -> ast.expr:
        return A.List(elts=[self.expr(i) for i in e.items], ctx=ast.Load())

    def e_MapLit(self, e: N.MapLit) -> ast.expr:
        return A.Dict(keys=[self.expr(k) for k, _ in e.entries],
                        values=[self.expr(v) for _, v in e.entries])

    def e_Unary(self, e: N.Unary) -> ast.expr:
        op = ast.USub() if e.op == "-" else ast.Not()
        return A.UnaryOp(op=op, operand=self.expr(e.operand))

    def e_Binary(self, e: N.Binary) -> ast.expr:
        return self.binary(e.op, e.left, e.right, self.expr(e.left), self.expr(e.right), e.span)

    def infer_ints(self, bindings: list) -> set:
        """The variables that can only ever hold ints: every value stored in them is an int
        literal, `len(...)`, another such variable, or `+ - * // %` of those (or a `for` over
        `range`). Found as a fixpoint: assume all candidates, drop any with one other store.
        Native operations on them are then exact (an int `+` grows by one bit at most)."""
        ints = {b for b in bindings if (b.kind == "let" or b.range_loop)}
        changed = True
        while changed:
            changed = False
            for b in list(ints):
                if not all(op in (None, "+", "-", "*") and self._int_expr(value, ints)
                           for op, value in b.assignments):
                    ints.discard(b)
                    changed = True
        return ints

    def _int_expr(self, e, ints: set) -> bool:
        if isinstance(e, N.Literal):
            return type(e.value) is int
        if isinstance(e, N.Name):
            return self.res.binding_of.get(id(e)) in ints
        if isinstance(e, N.Unary):
            return e.op == "-" and self._int_expr(e.operand, ints)
        if isinstance(e, N.Binary):
            return e.op in ("+", "-", "*", "//", "%") and self._int_expr(e.left, ints) and \
                self._int_expr(e.right, ints)
        return (isinstance(e, N.Call) and isinstance(e.func, N.Name) and e.func.id == "len"
                and self.res.binding_of[id(e.func)].kind == "builtin")

    def number_certain(self, e) -> bool:
        """Is `e` certainly a number (never a bool, string or container)?"""
        if isinstance(e, N.Literal):
            return type(e.value) in _NUMBER_LITERAL
        if isinstance(e, N.Name):
            return self.binding(e) in self.int_only
        if isinstance(e, N.Unary):
            return e.op == "-" and self.number_certain(e.operand)
        return (isinstance(e, N.Call) and isinstance(e.func, N.Name) and e.func.id == "len"
                and self.binding(e.func).kind == "builtin")

    def never_bool(self, e) -> bool:
        """Can `e` not be a bool? (Python's `==` is wrong only between bools and numbers.)"""
        if isinstance(e, N.Binary):
            return e.op in _BINOPS
        return isinstance(e, (N.Interpolated, N.ListLit, N.MapLit)) or self.number_certain(e) or (
            isinstance(e, N.Literal) and type(e.value) is str)

    def binary(self, op: str, left_node, right_node, left: ast.expr, right: ast.expr, span: Span) -> ast.expr:
        """Native where Python agrees with the language and nothing can blow up; the result
        of a native `+`/`-` is checked inline (the int cap, the size cap and the work of a
        long string: lang/ops.py `checked`/`sized`). A `+` whose left operand is not a number
        (or a long string beside a string literal) goes to ops.add, which charges a string or
        list before building it, in pieces when large (lang/builds.py)."""
        if op in ("+", "-") and self.bounded(op, left_node, right_node):
            return _at(A.BinOp(left=left, op=_BINOPS[op](), right=right), span)
        if op == "+":
            if self.number_certain(left_node) or self.number_certain(right_node) or (
                    self.arithmetic(left_node) and self.arithmetic(right_node)):
                return _at(self.int_capped(A.BinOp(left=left, op=ast.Add(), right=right),
                                           self.small(left_node) or self.small(right_node), False), span)
            r, o = P + "r", P + "o"
            if _is_literal(left_node, (str,)) or _is_literal(right_node, (str,)):
                # A string result: long ones are charged and checked. An operand that is a
                # long string goes to ops.add, which builds a large result in pieces.
                literal_left = _is_literal(left_node, (str,))
                operand = A.NamedExpr(target=_name(o, ast.Store()), value=right if literal_left else left)
                result = A.BinOp(left=left if literal_left else _name(o), op=ast.Add(),
                                 right=_name(o) if literal_left else right)
                native = A.IfExp(
                    test=A.Compare(left=_call(_helper("len"), A.NamedExpr(target=_name(r, ast.Store()), value=result)),
                                   ops=[ast.LtE()], comparators=[_const(SMALL_WORK)]),
                    body=_name(r), orelse=_call(_helper("sized"), _name(r)))
                big = A.BoolOp(op=ast.And(), values=[
                    A.Compare(left=_class_of(operand), ops=[ast.Is()], comparators=[_helper("str_type")]),
                    A.Compare(left=_call(_helper("len"), _name(o)), ops=[ast.Gt()], comparators=[_const(_LONG_OPERAND)])])
                added = _call(_helper("add"), left, _name(o)) if literal_left else _call(_helper("add"), _name(o), right)
                return _at(A.IfExp(test=big, body=added, orelse=native), span)
            # Numbers pass inline (a huge int goes to `sized`); anything else goes to ops.add,
            # which charges before it builds (and builds a large result in pieces). An int or
            # float plus anything is an int or a float, or Python's TypeError: the int test
            # alone (floats compare too; inf and NaN take `sized`, which gives them back).
            result = A.BinOp(left=_name(o), op=ast.Add(), right=right)
            test = self.int_test(A.NamedExpr(target=_name(r, ast.Store()), value=result))
            native = A.IfExp(test=test, body=_name(r), orelse=_call(_helper("sized"), _name(r)))
            number = A.BoolOp(op=ast.Or(), values=[
                A.Compare(left=_class_of(A.NamedExpr(target=_name(o, ast.Store()), value=left)),
                          ops=[ast.Is()], comparators=[_helper("int")]),
                A.Compare(left=_class_of(_name(o)), ops=[ast.Is()], comparators=[_helper("float")])])
            return _at(A.IfExp(test=number, body=native, orelse=_call(_helper("add"), _name(o), right)), span)
        if op == "-":
            return _at(self.int_capped(A.BinOp(left=left, op=ast.Sub(), right=right),
                                       False, self.small(right_node)), span)
        if op == "*":
            if _is_literal(left_node, (float,)) or _is_literal(right_node, (float,)):
                return _at(A.BinOp(left=left, op=ast.Mult(), right=right), span)
            return _at(_call(_helper("mul"), left, right), span)
        if op == "**":
            return _at(_call(_helper("power"), left, right), span)
        if op == "%":
            # Native only for numbers: on a string Python would format (`"%05d" % 42`).
            if self.number_certain(left_node) and _is_literal(right_node, _NUMBER_LITERAL) and right_node.value:
                return _at(A.BinOp(left=left, op=ast.Mod(), right=right), span)
            return _at(_call(_helper("modulo"), left, right), span)
        if op in ("/", "//"):
            return _at(A.BinOp(left=left, op=_BINOPS[op](), right=right), span)
        if op in ("==", "!="):
            return _at(self.equality(op, left_node, right_node, left, right), span)
        if op in ("in", "not in"):
            found = _call(_helper("contains"), right, left)
            return _at(found if op == "in" else A.UnaryOp(op=ast.Not(), operand=found), span)
        # Ordering: native when one side is certainly a number or a string literal: then
        # Python's answer, or its TypeError, is the language's (a bool orders as 0 or 1, as
        # it counts in arithmetic). Else lang/ops, i.e. lang/nested.compare.
        if self.number_certain(left_node) or self.number_certain(right_node) or \
                _is_literal(left_node, (str,)) or _is_literal(right_node, (str,)):
            return _at(A.Compare(left=left, ops=[_CMPOPS[op]()], comparators=[right]), span)
        return _at(_call(_helper(_ORDERING[op]), left, right), span)

    def arithmetic(self, e) -> bool:
        """Is `e` certainly an int, a float or a bool here (lang/facts.py)? Native `+` of two
        such is the language's."""
        return arithmetic(e, self.known_number, self.arithmetic_fns, self.res.binding_of)

    def known_number(self, b) -> bool:
        return b in self.floors or b in self.ceilings or b in self.int_only

    def bounded(self, op: str, left, right) -> bool:
        """Does a guard keep `left op right` inside the int cap? `n - c` when n has a floor,
        `n + c` (`c + n`) when it has a ceiling, c a small non-negative literal."""
        if op == "+" and _small_literal(left):
            left, right = right, left
        if not (isinstance(left, N.Name) and _small_literal(right)):
            return False
        return self.binding(left) in (self.floors if op == "-" else self.ceilings)

    def small(self, e) -> bool:
        """Is `e` certainly an int in [0, 2**62): a literal, or a small range counter?"""
        return _small_literal(e) or (isinstance(e, N.Name) and self.binding(e) in self.small_counters)

    def int_test(self, named: ast.expr, up: bool = True, down: bool = True) -> ast.expr:
        """The inline test of a numeric result `named` (which stores it in ᵣr): inside
        +-INT_FAST, else inside the 4,096-bit cap; a result that can grow one way only is
        compared with the cap that way alone. Small ints pass a two-sided test on its first,
        specialized comparisons; large ones (sums past 2**30, timestamps) pay one more
        against the cap constant, still inline. Written with
        `and`/`or`, which CPython 3.11 runs faster than a chained comparison."""
        r = P + "r"

        def within(first: ast.expr, bound: int) -> ast.expr:
            tests = ([A.Compare(left=first, ops=[ast.Lt()], comparators=[_const(bound)])] if up else []) + \
                ([A.Compare(left=_name(r) if up else first, ops=[ast.Gt()], comparators=[_const(-bound)])] if down else [])
            return tests[0] if len(tests) == 1 else A.BoolOp(op=ast.And(), values=tests)
        if not (up and down):  # one comparison either way: the cap's alone is faster past 2**30
            return within(named, INT_LIMIT)
        return A.BoolOp(op=ast.Or(), values=[within(named, INT_FAST), within(_name(r), INT_LIMIT)])

    def int_capped(self, result: ast.expr, grows_up: bool, grows_down: bool) -> ast.expr:
        """A numeric result, passed on if inside the int cap (floats compare too; NaN goes
        the slow way and comes back), else checked by ops.checked. Adding (subtracting) a
        small non-negative literal can only pass the cap upwards (downwards): one side."""
        r = P + "r"
        named = A.NamedExpr(target=_name(r, ast.Store()), value=result)
        test = self.int_test(named, up=not grows_down, down=not grows_up)
        return A.IfExp(test=test, body=_name(r), orelse=_call(_helper("checked"), _name(r)))

    def equality(self, op, left_node, right_node, left, right) -> ast.expr:
        """Python's `==` except that bools never equal numbers (`true == 1` is false)."""
        native = A.Compare(left=left, ops=[ast.Eq() if op == "==" else ast.NotEq()], comparators=[right])
        for node, other in ((left_node, right_node), (right_node, left_node)):
            if isinstance(node, N.Literal):
                value = node.value
                if value is None:
                    return A.Compare(left=left if node is right_node else right,
                                       ops=[ast.Is() if op == "==" else ast.IsNot()], comparators=[_const(None)])
                if type(value) is str:
                    return native
                if type(value) in _NUMBER_LITERAL and (value not in (0, 1) or self.never_bool(other)):
                    return native
        if self.never_bool(left_node) and self.never_bool(right_node) and \
                (self.number_certain(left_node) or self.number_certain(right_node)):
            return native
        return _call(_helper("eq" if op == "==" else "ne"), left, right)

    def e_Logical(self, e: N.Logical) -> ast.expr:
        left, right = self.expr(e.left), self.expr(e.right)
        if e.op == "??":
            t = self.temp()
            return A.IfExp(
                test=A.Compare(left=A.NamedExpr(target=_name(t, ast.Store()), value=left),
                                 ops=[ast.IsNot()], comparators=[_const(None)]),
                body=_name(t), orelse=right)
        return A.BoolOp(op=ast.And() if e.op == "and" else ast.Or(), values=[left, right])

    def e_Conditional(self, e: N.Conditional) -> ast.expr:
        return A.IfExp(test=self.expr(e.test), body=self.expr(e.then), orelse=self.expr(e.otherwise))

    def e_Field(self, e: N.Field) -> ast.expr:
        # Every map-like value (map, module, request, response, error) has a safe .get.
        return _call(A.Attribute(value=self.expr(e.obj), attr="get", ctx=ast.Load()), _const(e.name))

    def e_Index(self, e: N.Index) -> ast.expr:
        if _is_literal(e.index, (str,)):  # m["k"] reads like m.k
            return _call(A.Attribute(value=self.expr(e.obj), attr="get", ctx=ast.Load()), _const(e.index.value))
        return _call(_helper("index"), self.expr(e.obj), self.expr(e.index))

    def e_Slice(self, e: N.Slice) -> ast.expr:
        lower = self.expr(e.start) if e.start is not None else _const(None)
        upper = self.expr(e.stop) if e.stop is not None else _const(None)
        return _call(_helper("slice_of"), self.expr(e.obj), lower, upper)

    def e_Call(self, e: N.Call) -> ast.expr:
        args = [self.expr(a) for a in e.args]
        keywords = [A.keyword(arg=_kwarg(k.name), value=self.expr(k.value)) for k in e.kwargs]
        if isinstance(e.func, N.Field):
            direct = None if keywords else direct_method(e.func.name, len(args))
            if direct is None:
                return _call(_helper("call_method"), self.expr(e.func.obj), _const(e.func.name), *args,
                             keywords=keywords)
            # The method table's own function, called directly when the receiver has the
            # type whose table holds it (lang/direct.py); call_method for anything else.
            type_global, fn_global = direct
            receiver = self.temp()
            named = A.NamedExpr(target=_name(receiver, ast.Store()), value=self.expr(e.func.obj))
            test = A.Compare(left=_class_of(_name(receiver)), ops=[ast.Is()],
                             comparators=[_name(type_global)])
            call = A.IfExp(test=test, body=_call(_name(fn_global), _name(receiver), *args),
                           orelse=_call(_helper("call_method"), _name(receiver), _const(e.func.name),
                                        *[self.expr(a) for a in e.args]))
            if e.func.name == "append" and type_global == inline_append()[0]:
                # Between charging boundaries an append is only list.append (lang/direct.py).
                list_global, free_bits = inline_append()
                quick = A.BoolOp(op=ast.And(), values=[
                    A.Compare(left=_class_of(named), ops=[ast.Is()], comparators=[_name(list_global)]),
                    A.BinOp(left=_call(_helper("len"), _name(receiver)), op=ast.BitAnd(), right=_const(free_bits))])
                append = A.Call(func=A.Attribute(value=_name(receiver), attr="append", ctx=_LOAD),
                                args=[self.expr(a) for a in e.args], keywords=[])
                return A.IfExp(test=quick, body=append, orelse=call)
            test.left = _class_of(named)
            return call
        return _call(self.expr(e.func), *args, keywords=keywords)

    def e_FnExpr(self, e: N.FnExpr) -> ast.expr:
        name = self.anonymous_name("fn")
        self.pre[-1].append(self.function_def(e, e.params, e.body, name, "fn"))
        return _name(name)


def _children(node):
    for name in node.__slots__:
        value = getattr(node, name, None)
        if isinstance(value, N.Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, N.Node):
                    yield item
                elif isinstance(item, tuple):  # map entries: (key, value)
                    yield from (x for x in item if isinstance(x, N.Node))


def _scan_body(block: N.Block, res: Resolution):
    """For a loop body: the bindings it declares, the functions made in it, and the
    bindings it assigns directly (not inside those functions)."""
    declared, functions, assigned = set(), [], set()
    stack = list(block.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (N.FnExpr, N.FnDecl)):
            functions.append(node)
            if isinstance(node, N.FnDecl):
                declared.add(res.binding_of[id(node)])
            continue  # what happens inside is that function's own business
        if isinstance(node, N.Let):
            declared.add(res.binding_of[id(node)])
        elif isinstance(node, N.For):
            declared |= {res.binding_of[(id(node), n)] for n in node.names}
        elif isinstance(node, N.Try) and node.err_name is not None:
            declared.add(res.binding_of[id(node)])
        elif isinstance(node, N.Assign) and isinstance(node.target, N.Name):
            assigned.add(res.binding_of[id(node.target)])
        stack.extend(_children(node))
    return declared, functions, assigned


def _literal_appends(block: N.Block, res: Resolution) -> dict:
    """The variables a `for` body surely appends literal text to on every iteration, each
    with (characters per iteration, bytes per character): `s += "..."` statements at the top
    of the body, on a variable declared outside it that nothing else in it assigns, in a body
    that cannot leave an iteration early (no `break`, `continue`, `return` or `throw`). Their
    growth is then known before the loop runs: len(items) x characters (ops.will_append)."""
    appends: dict = {}
    for s in block.body:
        if isinstance(s, N.Assign) and s.op == "+" and isinstance(s.target, N.Name) \
                and _is_literal(s.value, (str,)):
            b = res.binding_of[id(s.target)]
            chars, width = appends.get(b, (0, 1))
            text = s.value.value
            appends[b] = (chars + len(text), max(width, char_width(text)))
    if not appends:
        return appends
    tops = {id(s) for s in block.body}
    stack = [(s, 0, False) for s in block.body]  # (node, loops around it in the body, in a fn)
    while stack:
        node, loops, in_fn = stack.pop()
        if not in_fn and (isinstance(node, (N.Return, N.Throw))
                          or isinstance(node, (N.Break, N.Continue)) and not loops):
            return {}
        if isinstance(node, (N.Let, N.FnDecl)):
            appends.pop(res.binding_of[id(node)], None)
        elif isinstance(node, N.For):
            for name in node.names:
                appends.pop(res.binding_of[(id(node), name)], None)
        elif isinstance(node, N.Try) and node.err_name is not None:
            appends.pop(res.binding_of[id(node)], None)
        elif isinstance(node, N.Assign) and isinstance(node.target, N.Name) and not (
                id(node) in tops and node.op == "+" and _is_literal(node.value, (str,))):
            appends.pop(res.binding_of[id(node.target)], None)
        inner = loops + isinstance(node, (N.For, N.While))
        in_fn = in_fn or isinstance(node, (N.FnExpr, N.FnDecl))
        stack.extend((child, inner, in_fn) for child in _children(node))
    return appends


def _kwarg(name: str) -> str:
    from .resolver import _safe
    return _safe(name)


def compile_module(module: N.Module, resolution: Resolution, file: str) -> Compiled:
    return Compiler(resolution, file).compile_module(module)
