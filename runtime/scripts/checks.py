"""What `rt check` and `rt serve` find in a script's declarations before running anything:
every route clash (all of them, not the first), every malformed route pattern, and, as
warnings, `use` functions that can end without returning a response.

Strategy. Routes can only be declared at the top level and inside groups, so the route table
a script will serve is known from its tree alone: `declared_routes` walks it (joining group
prefixes exactly as the mount does, with the same `join_paths`) and registers each route on a
scratch Router, which is the one authority on when two routes clash; each refusal becomes a
StaticError at the route's position. A middleware that falls off its end answers nothing (the
mount turns nil into 204), which is nearly always a forgotten `return next(req)`: `can_finish`
is a conservative "every path returns or throws" test over the function's block.
"""
from __future__ import annotations

from rtserve.lang import nodes as N
from rtserve.lang.errors import Span, StaticError, render

from ..router import RouteConflict, RoutePatternError, Router

METHODS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE",
           "head": "HEAD", "options": "OPTIONS", "any": "*"}


def join_paths(*parts: str) -> str:
    path = "/".join(p.strip("/") for p in parts if p.strip("/"))
    last = parts[-1] if parts else ""
    # A group's "/" route is the group's own path: `group "/api" { get "/" }` serves /api.
    return "/" + path + ("/" if last.endswith("/") and last.strip("/") and path else "")


def declared_routes(module: N.Module) -> list[tuple[str, str, Span]]:
    """(method, pattern, span) of every route and static folder, in declaration order."""
    out: list[tuple[str, str, Span]] = []

    def walk(body, prefixes: tuple) -> None:
        for node in body:
            if isinstance(node, N.Route):
                out.append((METHODS[node.method], join_paths(*prefixes, node.path), node.span))
            elif isinstance(node, N.Static):
                prefix = join_paths(*prefixes, node.prefix)
                out.append(("GET", prefix.rstrip("/") + "/*path", node.span))
            elif isinstance(node, N.Group):
                walk(node.body, prefixes + (node.prefix,))
    walk(module.body, ())
    return out


def route_errors(module: N.Module) -> list[StaticError]:
    """One error per route that clashes with an earlier one or has a malformed pattern."""
    router, errors = Router(), []
    for method, pattern, span in declared_routes(module):
        try:
            router.add(method, pattern, None, source=str(span))
        except (RouteConflict, RoutePatternError) as exc:
            errors.append(StaticError(span, str(exc)))
    return errors


def middleware_warnings(module: N.Module) -> list[str]:
    """Rendered warnings for each `use` whose function can end without returning."""
    functions = {node.name: node for node in module.body if isinstance(node, N.FnDecl)}
    warnings = []

    def visit(body) -> None:
        for node in body:
            if isinstance(node, N.Group):
                visit(node.body)
            elif isinstance(node, N.Use):
                fn = node.middleware
                if isinstance(fn, N.Name):
                    fn = functions.get(fn.id)
                if isinstance(fn, (N.FnExpr, N.FnDecl)) and isinstance(fn.body, N.Block) \
                        and can_finish(fn.body):
                    text = render(node.span, "this middleware can end without returning a "
                                             "response (the request then gets 204 No Content); "
                                             "end every path with `return next(req)` or a response")
                    warnings.append(text.replace(": error: ", ": warning: ", 1))
    visit(module.body)
    return warnings


def can_finish(block: N.Block) -> bool:
    """Whether running `block` can reach its end (conservative: loops may always exit)."""
    for stmt in block.body:
        if not _continues(stmt):
            return False
    return True


def _continues(stmt) -> bool:
    """False when `stmt` never lets the statement after it run."""
    if isinstance(stmt, (N.Return, N.Throw)):
        return False
    if isinstance(stmt, N.ExprStmt) and isinstance(stmt.expr, N.Call) \
            and isinstance(stmt.expr.func, N.Name) and stmt.expr.func.id == "abort":
        return False
    if isinstance(stmt, N.Block):
        return can_finish(stmt)
    if isinstance(stmt, N.If):
        if stmt.otherwise is None:
            return True
        other = stmt.otherwise if isinstance(stmt.otherwise, N.Block) else N.Block(stmt.span, (stmt.otherwise,))
        return can_finish(stmt.then) or can_finish(other)
    if isinstance(stmt, N.Try):
        return can_finish(stmt.body) or can_finish(stmt.handler)
    return True
