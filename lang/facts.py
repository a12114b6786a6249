"""What the compiler can prove about values before it compiles them (lang/compiler.py).

Strategy. Facts come from the code alone, never from running it, and each one lets compiled
code leave a test out, so each must hold for every caller and every value:

- A **guard** is a comparison of a variable with a number literal (`n < 2`) in an `if`
  test. A native comparison with a number fails for anything but a number (an int, a float
  or a bool), so where the guard is known to hold or to fail, the variable is a number with
  a floor or a ceiling (or NaN). Kept only for variables nothing reassigns (`stable`), so
  the fact cannot go stale: after `if n < 2 { return n }`, `n - 1` needs no int-cap test.
- An **arithmetic function** always returns an int, a float or a bool: every `return` gives
  one (a number literal, a guarded variable, arithmetic or comparison of such, a call of an
  arithmetic function) and the body cannot end without one. Found as a fixpoint: assume
  every candidate, drop any with one other `return`. `fib(n - 1) + fib(n - 2)` then adds
  natively, with no test of the operands' types.
"""
from __future__ import annotations

from . import nodes as N

NUMBER_LITERAL = (int, float)
ORDERINGS = ("<", "<=", ">", ">=")
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}  # `2 > n` is `n < 2`
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
EXITS = (N.Return, N.Throw, N.Break, N.Continue)  # statements that leave their block
_ARITHMETIC = ("+", "-", "*", "/", "//", "%")
_BOOLEAN = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


def stable(b) -> bool:
    """Is `b` a variable that holds one value once set: a parameter or loop variable never
    assigned, or a `let` never assigned after it?"""
    return b.kind in ("param", "loop") and not b.assignments or b.kind == "let" and len(b.assignments) == 1


def guard_facts(test, holds: bool, binding_of: dict) -> list:
    """The (binding, op, literal) facts `test` proves where it is `holds` (op "<", "<=",
    ">" or ">=": `n op literal`), through `and` (holding), `or` (failing) and `not`."""
    if isinstance(test, N.Logical):
        if test.op == ("and" if holds else "or"):
            return guard_facts(test.left, holds, binding_of) + guard_facts(test.right, holds, binding_of)
        return []
    if isinstance(test, N.Unary) and test.op == "not":
        return guard_facts(test.operand, not holds, binding_of)
    if not (isinstance(test, N.Binary) and test.op in ORDERINGS):
        return []
    name, limit, op = test.left, test.right, test.op
    if isinstance(limit, N.Name):
        name, limit, op = limit, name, _MIRRORED[op]
    if not (isinstance(name, N.Name) and isinstance(limit, N.Literal)
            and type(limit.value) in NUMBER_LITERAL and abs(limit.value) < 1 << 62):
        return []
    b = binding_of[id(name)]
    if not stable(b):
        return []
    return [(b, op if holds else _NEGATED[op], limit.value)]


def leaves(block) -> bool:
    """Does a guard's block always leave (its last statement returns, throws, breaks or
    continues), so that what follows it runs only where the guard failed?"""
    return bool(block.body) and isinstance(block.body[-1], EXITS)


def cannot_complete(block) -> bool:
    """Can the body not run to its end (and so return nil)?"""
    if not block.body:
        return False
    last = block.body[-1]
    if isinstance(last, (N.Return, N.Throw)):
        return True
    if isinstance(last, N.If) and last.otherwise is not None:
        otherwise = last.otherwise if isinstance(last.otherwise, N.Block) else N.Block(last.span, (last.otherwise,))
        return cannot_complete(last.then) and cannot_complete(otherwise)
    return False


def arithmetic_functions(functions, res, int_only: set) -> set:
    """The bindings of `fn` declarations that always return an int, a float or a bool."""
    candidates = {}
    for function in functions:
        node = function.node
        if isinstance(node, N.FnDecl):
            b = res.binding_of[id(node)]
            if b.kind == "fn" and not b.assignments:
                body = node.body
                if isinstance(body, N.Block):
                    if cannot_complete(body):
                        candidates[b] = _returns(body.body, frozenset(), res.binding_of)
                else:
                    candidates[b] = [(body, frozenset())]
    assumed = set(candidates)
    changed = True
    while changed:
        changed = False
        for b in list(assumed):
            if not all(arithmetic(e, lambda n, known=known: n in known or n in int_only, assumed, res.binding_of)
                       for e, known in candidates[b]):
                assumed.discard(b)
                changed = True
    return assumed


def _returns(stmts, numbers: frozenset, binding_of: dict) -> list:
    """Each (returned expression, the bindings known to be numbers there) in `stmts`,
    not looking into the functions they make; None for a `return` with no value."""
    out = []
    for s in stmts:
        if isinstance(s, N.Return):
            out.append((s.value if s.value is not None else N.Literal(s.span, None), numbers))
        elif isinstance(s, N.If):
            out += _if_returns(s, numbers, binding_of)
            if leaves(s.then):
                numbers = numbers | {b for b, _, _ in guard_facts(s.test, False, binding_of)}
        elif isinstance(s, (N.While, N.For)):
            out += _returns(s.body.body, numbers, binding_of)
        elif isinstance(s, N.Block):
            out += _returns(s.body, numbers, binding_of)
        elif isinstance(s, N.Try):
            out += _returns(s.body.body, numbers, binding_of)
            out += _returns(s.handler.body, numbers, binding_of)
    return out


def _if_returns(s, numbers: frozenset, binding_of: dict) -> list:
    out = _returns(s.then.body, numbers | {b for b, _, _ in guard_facts(s.test, True, binding_of)}, binding_of)
    failed = numbers | {b for b, _, _ in guard_facts(s.test, False, binding_of)}
    if isinstance(s.otherwise, N.If):
        out += _if_returns(s.otherwise, failed, binding_of)
    elif s.otherwise is not None:
        out += _returns(s.otherwise.body, failed, binding_of)
    return out


def arithmetic(e, is_number, functions: set, binding_of: dict) -> bool:
    """Is `e` certainly an int, a float or a bool? `is_number(binding)` says it of a
    variable; `functions` are the bindings of arithmetic functions."""
    if isinstance(e, N.Literal):
        return type(e.value) in (int, float, bool)
    if isinstance(e, N.Name):
        return is_number(binding_of[id(e)])
    if isinstance(e, N.Unary):
        return e.op == "not" or arithmetic(e.operand, is_number, functions, binding_of)
    if isinstance(e, N.Binary):
        if e.op in _BOOLEAN:
            return True
        return e.op in _ARITHMETIC and arithmetic(e.left, is_number, functions, binding_of) and \
            arithmetic(e.right, is_number, functions, binding_of)
    if isinstance(e, N.Logical):
        return arithmetic(e.left, is_number, functions, binding_of) and \
            arithmetic(e.right, is_number, functions, binding_of)
    if isinstance(e, N.Call) and isinstance(e.func, N.Name):
        b = binding_of[id(e.func)]
        return b in functions or (b.kind == "builtin" and e.func.id == "len")
    return False
