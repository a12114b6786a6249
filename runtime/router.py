"""The request router: method + raw path -> handler and parameters.

Strategy. Routes are registered with `Router.add`; the first `match` after a change compiles
the whole table into one Python function, built as `ast` nodes (never pasted source text):

* Fully static routes are one dict lookup keyed by `(method, path)`, holding a ready-made
  `Match`, so a static hit allocates nothing.
* Otherwise the path is split once with `str.split('/')`. The generated code branches on the
  method, then on the number of segments, unpacks the segments into locals in one step, and
  walks a trie written out as nested `if`s: per segment the static children first (an `==`
  chain, or a dict from text to a small int and a binary `if` tree when there are many), then
  the parameters (longest static prefix first), then the catch-all. A branch that fails deeper
  down simply falls out of its `if`, which is the backtracking: `/users/new` and
  `/users/:id/edit` both route right for `/users/new/edit`.
* The params dict and the `Match` are built only in a leaf, i.e. once a route has matched.
* A path no route of the method takes falls through into a trie of every route of every
  method; a hit there means 405, and the allowed methods are found by re-running the same
  code object with that fallback switched off (the slow path only).

Semantics (LANGUAGE.md §5 "Route paths", plus the decisions it leaves open):
* Matching is on the raw, still percent-encoded path; parameter values are percent-decoded
  (UTF-8) afterwards. A value that is not valid UTF-8 once decoded is left exactly as sent.
  Static pattern text outside the URL-safe set (`/café`) is percent-encoded at registration
  so it matches what clients send.
* `:name` takes one non-empty segment; `v:name` takes a segment that starts with `v` and has
  at least one more character. `*name`, last segment only, takes the rest of the path,
  slashes included, and may be empty: `/files/*p` matches `/files/` (p="") and `/files/a/b`,
  not `/files`.
* Priority, segment by segment from the left: static, then parameter (longer static prefix
  first), then catch-all; the first route in that order that matches the whole path wins.
* Trailing slashes are significant: `/a` and `/a/` are different routes, no redirect.
* HEAD falls back to GET. Method "*" (ANY) serves every method, but a route registered for
  the request's own method (or GET, for HEAD) with the same shape wins.
* Two routes of one method with the same shape (same after renaming parameters) are a
  `RouteConflict`; routes that differ in priority only (`/u/new`, `/u/:id`) are fine.
"""
from __future__ import annotations

import ast
import re
from enum import IntEnum
from types import CodeType, FunctionType
from urllib.parse import quote, unquote

from lang.errors import RtError

__all__ = [
    "Router", "Match", "MatchStatus", "RouteConflict", "RoutePatternError",
    "FOUND", "NOT_FOUND", "METHOD_NOT_ALLOWED", "ANY",
]


class MatchStatus(IntEnum):
    """The outcome of `Router.match`; the values are the HTTP status each one leads to."""
    FOUND = 200
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405


FOUND = MatchStatus.FOUND
NOT_FOUND = MatchStatus.NOT_FOUND
METHOD_NOT_ALLOWED = MatchStatus.METHOD_NOT_ALLOWED

ANY = "*"  # the method of a route that serves every method


class RoutePatternError(RtError):
    """A route pattern (or method) that is not well formed."""


class RouteConflict(RtError):
    """Two routes of the same method that match exactly the same paths."""


class Match:
    """The result of a lookup. Shared instances are handed out: treat it as read-only."""
    __slots__ = ("status", "handler", "params", "allowed", "pattern")

    def __init__(self, status, handler=None, params=None, allowed=(), pattern=None):
        self.status = status
        self.handler = handler
        self.params = _NO_PARAMS if params is None else params
        self.allowed = allowed
        self.pattern = pattern

    def __repr__(self) -> str:
        if self.status is FOUND:
            return f"Match(FOUND, {self.pattern!r}, {self.params!r})"
        if self.status is METHOD_NOT_ALLOWED:
            return f"Match(METHOD_NOT_ALLOWED, allowed={self.allowed!r})"
        return "Match(NOT_FOUND)"


_NO_PARAMS: dict = {}  # shared by every match without parameters; callers must not mutate
_NOT_FOUND_MATCH = Match(NOT_FOUND)

# Segment kinds. Their order is the matching priority within one segment.
STATIC, PARAM, CATCH_ALL = 0, 1, 2

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_METHOD = re.compile(r"[A-Z][A-Z0-9_-]*\Z")
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!$&'()+,;=@%]")


def _quote_static(text: str) -> str:
    """Pattern text as a client sends it: percent-encode what may not appear raw in a path."""
    if _NEEDS_QUOTING.search(text) is None:
        return text
    return quote(text, safe="-._~!$&'()+,;=@%")


def parse_pattern(pattern: str) -> tuple[tuple[int, str, str | None], ...]:
    """`/a/v:ver/*rest` -> ((STATIC, "a", None), (PARAM, "v", "ver"), (CATCH_ALL, "", "rest")).

    Raises RoutePatternError naming the pattern and what is wrong with it.
    """
    def bad(why: str) -> RoutePatternError:
        return RoutePatternError(f"invalid route pattern {pattern!r}: {why}")

    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise bad("it must start with '/'")
    parts = pattern[1:].split("/")
    last = len(parts) - 1
    segments = []
    names: set[str] = set()
    for index, part in enumerate(parts):
        star, colon = part.find("*"), part.find(":")
        if star >= 0:
            if star > 0 or colon >= 0:
                raise bad(f"'*' must start its segment ({part!r})")
            if index != last:
                raise bad("a catch-all (*name) must be the last segment")
            kind, text, name = CATCH_ALL, "", part[1:]
        elif colon >= 0:
            kind, text, name = PARAM, _quote_static(part[:colon]), part[colon + 1:]
        else:
            segments.append((STATIC, _quote_static(part), None))
            continue
        if not name:
            raise bad(f"empty parameter name in segment {part!r}")
        if _PARAM_NAME.match(name) is None:
            raise bad(f"parameter name {name!r} is not an identifier")
        if name in names:
            raise bad(f"parameter name {name!r} is used twice")
        names.add(name)
        segments.append((kind, text, name))
    return tuple(segments)


def decode_param(raw: str) -> str:
    """Percent-decode one parameter value; invalid UTF-8 leaves the value as sent."""
    if "%" not in raw:
        return raw
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return raw


class Route:
    """One registered route and what registration worked out about it."""
    __slots__ = ("method", "pattern", "handler", "source", "segments", "shape", "found", "index")

    def __init__(self, method, pattern, handler, source, segments, index):
        self.method = method
        self.pattern = pattern
        self.handler = handler
        self.source = source
        self.segments = segments
        self.shape = tuple((kind, text) for kind, text, _ in segments)
        self.index = index
        # The Match a hit on a fully static route returns, shared by every hit.
        self.found = Match(FOUND, handler, _NO_PARAMS, (), pattern)

    @property
    def is_static(self) -> bool:
        return all(kind == STATIC for kind, _, _ in self.segments)

    @property
    def static_path(self) -> str:
        return "/" + "/".join(text for _, text, _ in self.segments)

    def __str__(self) -> str:
        return f"{self.method} {self.pattern} ({self.source})"


class Router:
    """Routes registered with `add`, looked up with `match(method, path) -> Match`.

    `match` is an attribute holding the compiled lookup function (rebuilt lazily after an
    `add`), so calling it costs no method binding.
    """
    __slots__ = ("match", "_routes", "_by_shape")

    def __init__(self):
        self._routes: list[Route] = []
        self._by_shape: dict[tuple, Route] = {}
        self.match = self._compile_then_match

    def add(self, method: str, pattern: str, handler: object, source: str) -> None:
        """Register a route. Raises RoutePatternError, or RouteConflict naming both routes."""
        if method != ANY and (not isinstance(method, str) or _METHOD.match(method) is None):
            raise RoutePatternError(f"invalid method {method!r} for route {pattern!r}: "
                                    "use an upper-case HTTP method or '*'")
        route = Route(method, pattern, handler, source, parse_pattern(pattern), len(self._routes))
        key = (method, route.shape)
        earlier = self._by_shape.get(key)
        if earlier is not None:
            raise RouteConflict(f"route {route} clashes with {earlier}: they match the same paths")
        self._by_shape[key] = route
        self._routes.append(route)
        self.match = self._compile_then_match

    def routes(self) -> list[tuple[str, str, object, str]]:
        """(method, pattern, handler, source) for every route, in registration order."""
        return [(r.method, r.pattern, r.handler, r.source) for r in self._routes]

    def compile(self) -> None:
        """Build the lookup function now (else the first `match` does)."""
        self.match = _compile(self._routes)

    def _compile_then_match(self, method: str, path: str) -> Match:
        self.compile()
        return self.match(method, path)


# ---------------------------------------------------------------------------------------------
# Compilation: route table -> one generated `match(method, path)` function.


def _effective_routes(routes: list[Route]) -> tuple[dict[str, list[Route]], list[Route]]:
    """Per method, the routes it is served by: its own, then GET's (for HEAD), then ANY's,
    each shape taken from the first of those that has it. Also the ANY routes alone."""
    by_method: dict[str, list[Route]] = {}
    for route in routes:
        by_method.setdefault(route.method, []).append(route)
    any_routes = by_method.pop(ANY, [])
    if "GET" in by_method:
        by_method.setdefault("HEAD", [])
    effective = {}
    for method, own in by_method.items():
        layers = [own, by_method.get("GET", []) if method == "HEAD" else [], any_routes]
        seen: set[tuple] = set()
        chosen = []
        for layer in layers:
            for route in layer:
                if route.shape not in seen:
                    seen.add(route.shape)
                    chosen.append(route)
        effective[method] = chosen
    return effective, any_routes


class _Node:
    """A trie node for routes of one segment count: children by segment, and routes ending."""
    __slots__ = ("static", "params", "catch_all", "leaf")

    def __init__(self):
        self.static: dict[str, _Node] = {}
        self.params: dict[str, _Node] = {}  # by static prefix ("" for a plain :param)
        self.catch_all: Route | None = None
        self.leaf: Route | None = None


def _trie(routes: list[Route]) -> _Node:
    root = _Node()
    for route in routes:
        node = root
        for kind, text, _ in route.segments:
            if kind == CATCH_ALL:
                if node.catch_all is None:
                    node.catch_all = route
                break
            children = node.static if kind == STATIC else node.params
            node = children.get(text) or children.setdefault(text, _Node())
        else:
            if node.leaf is None:
                node.leaf = route
    return root


def _fits(route: Route, count: int) -> bool:
    """Can `route` match a path of `count` segments?"""
    if route.segments[-1][0] == CATCH_ALL:
        return len(route.segments) <= count
    return len(route.segments) == count


# AST shorthands.
def _name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id_, ast.Store() if store else ast.Load())


def _const(value) -> ast.Constant:
    return ast.Constant(value)


def _compare(left, op, right) -> ast.Compare:
    return ast.Compare(left, [op], [right])


def _call(func, *args) -> ast.Call:
    return ast.Call(func, list(args), [])


def _if(test, body, orelse=()) -> ast.If:
    return ast.If(test, list(body) or [ast.Pass()], list(orelse))


def _assign(target: str, value) -> ast.Assign:
    return ast.Assign([_name(target, store=True)], value)


SMALL_FANOUT = 4  # up to this many static children: an `==` chain; more: dict + binary ifs


class _CodeGen:
    """Writes the trie walks. Objects the code needs go into `namespace` under fresh names."""

    def __init__(self):
        self.namespace: dict[str, object] = {}
        self._count = 0

    def ref(self, obj, hint: str) -> ast.Name:
        self._count += 1
        key = f"{hint}{self._count}"
        self.namespace[key] = obj
        return _name(key)

    # -- one method's routes -----------------------------------------------------------------

    def dispatch_on_length(self, routes: list[Route], leaf) -> list[ast.stmt]:
        """Branch on n = len(segs) (segment count + 1), then walk that length's trie."""
        dynamic = [r for r in routes if not r.is_static]
        if not dynamic:
            return []
        longest = max(len(r.segments) for r in dynamic)
        blocks = []
        for count in range(1, longest + 1):
            fitting = [r for r in dynamic if _fits(r, count)]
            if fitting:
                blocks.append((count + 1, self._exact_block(fitting, count, leaf)))
        stmts = self._binary_on(_name("n"), blocks)
        catch_alls = [r for r in dynamic if r.segments[-1][0] == CATCH_ALL]
        if catch_alls:
            # Paths longer than every route: only catch-alls, segments read on demand.
            long_block = self._walk(_trie(catch_alls), 0, leaf, unpacked=False)
            stmts = [_if(_compare(_name("n"), ast.LtE(), _const(longest + 1)), stmts, long_block)]
        return stmts

    def _exact_block(self, routes, count, leaf):
        targets = [_name("_", store=True)] + [_name(f"s{i}", store=True) for i in range(1, count + 1)]
        unpack = ast.Assign([ast.Tuple(targets, ast.Store())], _name("segs"))
        return [unpack] + self._walk(_trie(routes), 0, leaf, unpacked=True, count=count)

    def _binary_on(self, var, blocks):
        """`if var == key: block` for sorted (key, block) pairs, as a balanced tree."""
        if not blocks:
            return []
        if len(blocks) <= 3:
            stmts: list[ast.stmt] = []
            for key, block in reversed(blocks):
                stmts = [_if(_compare(var, ast.Eq(), _const(key)), block, stmts)]
            return stmts
        mid = len(blocks) // 2
        return [_if(_compare(var, ast.Lt(), _const(blocks[mid][0])),
                    self._binary_on(var, blocks[:mid]), self._binary_on(var, blocks[mid:]))]

    def _walk(self, node: _Node, depth: int, leaf, unpacked: bool, count: int | None = None):
        """Code that tries `node`'s subtree for segment depth+1 on; falls through on failure."""
        if unpacked and depth == count:
            return leaf(node.leaf)
        var = _name(f"s{depth + 1}")
        stmts: list[ast.stmt] = []
        if not unpacked:
            # Long paths: n > depth + 1 always holds here (n exceeds every route's length).
            stmts.append(_assign(var.id, ast.Subscript(_name("segs"), _const(depth + 1), ast.Load())))
            if node.leaf is not None:  # never: only catch-alls are in the long trie
                raise AssertionError("leaf in the catch-all trie")
        children = sorted(node.static.items())
        if children:
            stmts += self._static_dispatch(var, depth, [
                (text, self._walk(child, depth + 1, leaf, unpacked, count)) for text, child in children])
        for prefix, child in sorted(node.params.items(), key=lambda item: -len(item[0])):
            if prefix:
                test = ast.BoolOp(ast.And(), [
                    _call(ast.Attribute(var, "startswith", ast.Load()), _const(prefix)),
                    _compare(var, ast.NotEq(), _const(prefix))])
            else:
                test = var
            stmts.append(_if(test, self._walk(child, depth + 1, leaf, unpacked, count)))
        if node.catch_all is not None:
            stmts += leaf(node.catch_all)
        return stmts

    def _static_dispatch(self, var, depth, branches):
        if len(branches) <= SMALL_FANOUT:
            stmts: list[ast.stmt] = []
            for text, body in reversed(branches):
                stmts = [_if(_compare(var, ast.Eq(), _const(text)), body, stmts)]
            return stmts
        index = {text: i for i, (text, _) in enumerate(branches)}
        lookup = self.ref(index.get, "children")
        slot = f"k{depth + 1}"
        return [_assign(slot, _call(lookup, var, _const(-1)))] + self._binary_on(
            _name(slot), [(i, body) for i, (_, body) in enumerate(branches)])

    # -- leaves ------------------------------------------------------------------------------

    def found_leaf(self, route: Route) -> list[ast.stmt]:
        """Build and return the Match for `route` from the segment locals."""
        keys, values = [], []
        for position, (kind, text, name) in enumerate(route.segments, start=1):
            var = _name(f"s{position}")
            if kind == PARAM and not text:
                value = ast.IfExp(_compare(_const("%"), ast.NotIn(), var), var,
                                  _call(_name("decode"), var))
            elif kind == PARAM:
                value = _call(_name("decode"), ast.Subscript(var, ast.Slice(_const(len(text))), ast.Load()))
            elif kind == CATCH_ALL:
                rest = ast.Subscript(_name("segs"), ast.Slice(_const(position)), ast.Load())
                value = _call(_name("decode"), _call(ast.Attribute(_const("/"), "join", ast.Load()), rest))
            else:
                continue
            keys.append(_const(name))
            values.append(value)
        fields = {
            "status": _name("FOUND"),
            "handler": self.ref(route.handler, "handler"),
            "params": ast.Dict(keys, values),
            "allowed": _const(()),
            "pattern": self.ref(route.pattern, "pattern"),
        }
        stmts: list[ast.stmt] = [_assign("m", _call(_name("new"), _name("Match")))]
        for field, value in fields.items():
            stmts.append(ast.Assign([ast.Attribute(_name("m"), field, ast.Store())], value))
        stmts.append(ast.Return(_name("m")))
        return stmts

    @staticmethod
    def elsewhere_leaf(route: Route) -> list[ast.stmt]:
        """Some route (of some method) takes this path: let `not_allowed` decide the 405."""
        return [ast.Return(_call(_name("not_allowed"), _name("method"), _name("path")))]


def _compile(routes: list[Route]):
    """The `match(method, path)` function for `routes`."""
    effective, any_routes = _effective_routes(routes)
    gen = _CodeGen()

    static: dict[tuple[str, str], Match] = {}
    for method, served in effective.items():
        for route in served:
            if route.is_static:
                static.setdefault((method, route.static_path), route.found)
    any_static = {r.static_path: r.found for r in any_routes if r.is_static}
    every_static_path = {r.static_path for r in routes if r.is_static}

    body: list[ast.stmt] = [
        _assign("m", _call(_name("static_get"), ast.Tuple([_name("method"), _name("path")], ast.Load()))),
        _if(_compare(_name("m"), ast.IsNot(), _const(None)), [ast.Return(_name("m"))]),
        _assign("segs", _call(ast.Attribute(_name("path"), "split", ast.Load()), _const("/"))),
        _if(ast.Subscript(_name("segs"), _const(0), ast.Load()), [ast.Return(_name("NOT_FOUND"))]),
        _assign("n", _call(_name("len"), _name("segs"))),
    ]

    # Per-method blocks; GET first (most traffic), HEAD shares GET's when it adds nothing.
    blocks = []
    for method in sorted(effective, key=lambda m: (m != "GET", m)):
        served = effective[method]
        if method == "HEAD" and not any(r.method == "HEAD" for r in routes):
            continue
        walk = gen.dispatch_on_length(served, gen.found_leaf)
        methods = [method] + (["HEAD"] if method == "GET" and not any(r.method == "HEAD" for r in routes) else [])
        test = ast.BoolOp(ast.Or(), [_compare(_name("method"), ast.Eq(), _const(m)) for m in methods]) \
            if len(methods) > 1 else _compare(_name("method"), ast.Eq(), _const(method))
        blocks.append((test, walk))
    other: list[ast.stmt] = []
    if any_static:
        other += [_assign("m", _call(gen.ref(any_static.get, "any_static"), _name("path"))),
                  _if(_compare(_name("m"), ast.IsNot(), _const(None)), [ast.Return(_name("m"))])]
    other += gen.dispatch_on_length(any_routes, gen.found_leaf)
    chain = other
    for test, walk in reversed(blocks):
        chain = [_if(test, walk, chain)]
    body += chain

    # Nothing of this method matched: does any route of any method?
    body.append(_if(_compare(_name("path"), ast.In(), gen.ref(frozenset(every_static_path), "static_paths")),
                    gen.elsewhere_leaf(None)))
    body += gen.dispatch_on_length(routes, gen.elsewhere_leaf)
    body.append(ast.Return(_name("NOT_FOUND")))

    function = ast.FunctionDef(
        name="match", args=ast.arguments([], [ast.arg("method"), ast.arg("path")], None, [], [], None, []),
        body=body, decorator_list=[], returns=None)
    module = ast.fix_missing_locations(ast.Module([function], []))
    code = next(c for c in compile(module, "<router>", "exec").co_consts if isinstance(c, CodeType))

    namespace = dict(gen.namespace)
    namespace.update(static_get=static.get, new=object.__new__, Match=Match, FOUND=FOUND,
                     NOT_FOUND=_NOT_FOUND_MATCH, decode=decode_param, len=len)
    # The same code, with the 405 fallback switched off, answers "does METHOD take PATH?".
    probe_namespace = dict(namespace, not_allowed=lambda method, path: _NOT_FOUND_MATCH)
    probe = FunctionType(code, probe_namespace, "probe")
    candidates = sorted(effective)

    def not_allowed(method: str, path: str) -> Match:
        allowed = tuple(m for m in candidates if m != method and probe(m, path).status is FOUND)
        return Match(METHOD_NOT_ALLOWED, allowed=allowed) if allowed else _NOT_FOUND_MATCH

    namespace["not_allowed"] = not_allowed
    return FunctionType(code, namespace, "match")
