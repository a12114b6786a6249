"""The request router: method + raw path -> handler and parameters.

Strategy. Routes are registered with `Router.add` (parsed and checked for conflicts there);
`compile()`, or else the first lookup, turns the whole table into one Python function built as
`ast` nodes (never pasted source text). Measured variants, fastest kept (bench/router.py):

* Fully static routes: one dict lookup on the path, then one on the method, into a ready-made
  shared hit tuple; a static hit allocates nothing.
* Otherwise the path is split once with `str.split('/')`, the code branches on the number of
  segments, unpacks them into locals in one step and walks a trie written out as nested
  `if`s: per segment the static children first (an `==` chain, or when there are many a dict
  lookup), then parameters (longest static prefix first), then the catch-all. A many-way
  branch (on the count, or a dict's) is an `if` tree whose tests index a tuple of bools, the
  way to the branch, found in a tuple (by count) or the dict: in CPython 3.11 an int `==`/`<`
  ahead of a long jump (EXTENDED_ARG) is never specialized and costs three times as much.
  The tree is a Huffman code on the routes each branch holds, so big subtrees are near. A branch that fails deeper down falls out of its
  `if`: that is the backtracking (`/users/new` and `/users/:id/edit` both route right for
  `/users/new/edit`).
* The trie holds every method's routes. A leaf (one route shape) compares the request method
  with its routes' methods and builds the params dict and the hit tuple inline, so nothing is
  allocated before a route has matched. The values are taken as sent; one `'%' in path` test
  per hit (not one per value) sends the rare path with an escape to `_decoded`. A leaf without a route for the method falls through
  (the walk continues exactly as in a trie of that method alone) and notes that the path
  exists: if nothing matches, the 405's allowed methods are found by re-running the same code
  object with that note switched off, once per candidate method (the slow path only).
* The generated code names the objects it needs (handlers, shared static hits) as globals that a
  recipe binds to the routes, so a table of 64 routes or more is cached as marshalled code in
  rt's cache directory and a restart with the same table loads it (2 ms instead of 20 ms
  for the GitHub API table).

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
import gc
import hashlib
import heapq
import importlib.util
import itertools
import marshal
import re
from enum import IntEnum
from pathlib import Path
from types import CodeType, FunctionType
from urllib.parse import quote, unquote_to_bytes

from rtserve.lang.cache import cache_dir, write_atomically
from rtserve.lang.dump import dump, wanted
from rtserve.lang.errors import RtError

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
    """The result of `Router.match`, the readable form of what `Router.find` returns.

    `params` may be a dict shared between matches: never mutate it.
    """
    __slots__ = ("status", "handler", "params", "allowed", "pattern")

    @classmethod
    def of(cls, found: tuple) -> "Match":
        """The Match of a `find` result."""
        handler, params, pattern = found
        if handler is None:  # params, pattern: the status and the allowed methods
            return _make_match(params, None, _NO_PARAMS, pattern, None)
        return _make_match(FOUND, handler, params, (), pattern)

    def __repr__(self) -> str:
        if self.status is FOUND:
            return f"Match(FOUND, {self.pattern!r}, {self.params!r})"
        if self.status is METHOD_NOT_ALLOWED:
            return f"Match(METHOD_NOT_ALLOWED, allowed={self.allowed!r})"
        return "Match(NOT_FOUND)"


def _make_match(status, handler, params, allowed, pattern) -> Match:
    m = Match()
    m.status, m.handler, m.params, m.allowed, m.pattern = status, handler, params, allowed, pattern
    return m


_NO_PARAMS: dict = {}  # shared by every match without parameters; callers must not mutate
MISS = (None, NOT_FOUND, ())  # what `find` returns when no route takes the path

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
    """Percent-decode one parameter value; invalid UTF-8 leaves the value as sent (so does a
    malformed escape such as `%zz`, by unquote's rules)."""
    if "%" not in raw:
        return raw
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return raw


class Route:
    """One registered route and what registration worked out about it."""
    __slots__ = ("method", "pattern", "handler", "source", "segments", "shape", "found")

    def __init__(self, method, pattern, handler, source, segments):
        self.method = method
        self.pattern = pattern
        self.handler = handler
        self.source = source
        self.segments = segments
        self.shape = tuple((kind, text) for kind, text, _ in segments)
        # What a lookup that hits a fully static route returns, shared by every hit.
        self.found = (handler, _NO_PARAMS, pattern)

    @property
    def is_static(self) -> bool:
        return all(kind == STATIC for kind, _, _ in self.segments)

    @property
    def static_path(self) -> str:
        return "/" + "/".join(text for _, text, _ in self.segments)

    def __str__(self) -> str:
        return f"{self.method} {self.pattern} ({self.source})"


class Router:
    """Routes registered with `add`, looked up with `find(method, path)`, which returns a
    tuple `(handler, params, pattern)` for a hit, and `(None, 404, ())` or
    `(None, 405, allowed_methods)` when no route serves the request. `match` gives the same
    answer as a `Match` with named fields, at the cost of one more object.

    `find` is an attribute holding the compiled lookup function, so calling it costs no
    method binding. Until the table is compiled (`compile()`, or the first lookup after an
    `add`) it holds a stand-in that compiles first; a stand-in fetched earlier keeps working,
    always against the current table. Fetch `router.find` again after the last `add` (or
    after `compile()`) to get the fast function itself.
    """
    __slots__ = ("find", "_routes", "_by_shape", "_compiled")

    def __init__(self):
        self._routes: list[Route] = []
        self._by_shape: dict[tuple, Route] = {}
        self._compiled = None
        self.find = self._compile_then_find

    def add(self, method: str, pattern: str, handler: object, source: str) -> None:
        """Register a route. Raises RoutePatternError, or RouteConflict naming both routes."""
        if method != ANY and (not isinstance(method, str) or _METHOD.match(method) is None):
            raise RoutePatternError(f"invalid method {method!r} for route {pattern!r}: "
                                    "use an upper-case HTTP method or '*'")
        route = Route(method, pattern, handler, source, parse_pattern(pattern))
        key = (method, route.shape)
        earlier = self._by_shape.get(key)
        if earlier is not None:
            raise RouteConflict(f"route {route} clashes with {earlier}: they match the same paths")
        self._by_shape[key] = route
        self._routes.append(route)
        self._compiled = None
        self.find = self._compile_then_find

    def match(self, method: str, path: str) -> Match:
        """`find`'s answer as a Match."""
        return Match.of(self.find(method, path))

    def routes(self) -> list[tuple[str, str, object, str]]:
        """(method, pattern, handler, source) for every route, in registration order."""
        return [(r.method, r.pattern, r.handler, r.source) for r in self._routes]

    def wrap_handlers(self, wrap) -> None:
        """Replace every route's handler with `wrap(handler, method, pattern, source)` (which
        may return the handler itself): how a layer puts itself around routes registered
        before it knew of them."""
        for route in self._routes:
            route.handler = wrap(route.handler, route.method, route.pattern, route.source)
            route.found = (route.handler, _NO_PARAMS, route.pattern)
        self._compiled = None
        self.find = self._compile_then_find

    def compile(self) -> None:
        """Build the lookup function now (else the first `match` does). Call it at startup:
        it takes milliseconds for hundreds of routes."""
        if self._compiled is None:
            # The collector would rescan the thousands of young AST nodes over and over.
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._compiled = _compile(self._routes)
            finally:
                if collecting:
                    gc.enable()
        self.find = self._compiled

    def _compile_then_find(self, method: str, path: str) -> tuple:
        self.compile()
        return self._compiled(method, path)


# ---------------------------------------------------------------------------------------------
# Compilation: route table -> one generated `find(method, path)` function.
#
# One trie holds the routes of every method. Its leaves are shapes: a leaf tests the request
# method against the routes of that shape (own method first, then GET for HEAD, then ANY) and
# builds the hit inline. A leaf with no route for the method falls through, so the walk goes
# on to lower-priority shapes exactly as a trie of that method alone would, and notes that the
# path exists for some method: if nothing else matches, that is the 405. One walk thus serves
# hits, 404s and 405s alike.


class _Node:
    """A trie node: children by segment text, and the routes (of one shape) ending here."""
    __slots__ = ("static", "params", "catch_all", "leaf", "size")

    def __init__(self):
        self.size = 0  # routes in the subtree
        self.static: dict[str, _Node] = {}
        self.params: dict[str, _Node] = {}  # by static prefix ("" for a plain :param)
        self.catch_all: list[Route] | None = None
        self.leaf: list[Route] | None = None


def _trie(routes: list[Route]) -> _Node:
    root = _Node()
    for route in routes:
        node = root
        for kind, text, _ in route.segments:
            node.size += 1
            if kind == CATCH_ALL:
                if node.catch_all is None:
                    node.catch_all = []
                node.catch_all.append(route)
                break
            children = node.static if kind == STATIC else node.params
            child = children.get(text)
            if child is None:
                child = children[text] = _Node()
            node = child
        else:
            node.size += 1
            if node.leaf is None:
                node.leaf = []
            node.leaf.append(route)
    return root


# AST shorthands. Every node gets a position here: far cheaper than ast.fix_missing_locations.
_POS = {"lineno": 1, "col_offset": 0, "end_lineno": 1, "end_col_offset": 0}
_LOAD, _STORE = ast.Load(), ast.Store()


def _name(id_: str) -> ast.Name:
    return ast.Name(id_, _LOAD, **_POS)


def _const(value) -> ast.Constant:
    return ast.Constant(value, **_POS)


def _compare(left, op, right) -> ast.Compare:
    return ast.Compare(left, [op], [right], **_POS)


def _call(func, *args) -> ast.Call:
    return ast.Call(func, list(args), [], **_POS)


def _method(obj, name: str, *args) -> ast.Call:
    return _call(ast.Attribute(obj, name, _LOAD, **_POS), *args)


def _if(test, body, orelse=()) -> ast.If:
    return ast.If(test, list(body) or [ast.Pass(**_POS)], list(orelse), **_POS)


def _assign(target, value) -> ast.Assign:
    if isinstance(target, str):
        target = ast.Name(target, _STORE, **_POS)
    return ast.Assign([target], value, **_POS)


def _return(value) -> ast.Return:
    return ast.Return(value, **_POS)


def _subscript(value, index) -> ast.Subscript:
    return ast.Subscript(value, index, _LOAD, **_POS)


def _slice_from(value, start: int) -> ast.Subscript:
    return _subscript(value, ast.Slice(_const(start), **_POS))


_OPS = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, "is": ast.Is,
        "is not": ast.IsNot, "in": ast.In, "not in": ast.NotIn}


def _test(left, op: str, right) -> ast.Compare:
    return _compare(left, _OPS[op](), right)


SMALL_FANOUT = 6  # up to this many static children an `==` chain beats dict + binary ifs


class _CodeGen:
    """Writes the trie walks. Objects the code needs are global names of the code; `recipe`
    says how to find each one again (see `_bind`), so cached code can be bound afresh."""

    def __init__(self, routes: list[Route]):
        self.recipe: dict[str, tuple[int, str] | dict | list] = {}
        self._position = {id(route): i for i, route in enumerate(routes)}

    def ref(self, route: Route, attribute: str) -> ast.Name:
        """A name for `route.<attribute>` (the route's handler or its shared static hit)."""
        key = f"{attribute}{len(self.recipe)}"
        self.recipe[key] = (self._position[id(route)], attribute)
        return _name(key)

    def ref_index(self, index: dict) -> ast.Name:
        """A name for `index.get`."""
        key = f"children{len(self.recipe)}"
        self.recipe[key] = index
        return _name(key)

    def ref_list(self, items: list) -> ast.Name:
        """A name for `tuple(items)`."""
        key = f"by_count{len(self.recipe)}"
        self.recipe[key] = items
        return _name(key)

    def by_length(self, routes: list[Route]) -> list[ast.stmt]:
        """Branch on n = len(segs), the segment count + 1, then walk that length's trie."""
        longest = max(len(r.segments) for r in routes)
        exact: dict[int, list[Route]] = {}
        for route in routes:
            if route.segments[-1][0] != CATCH_ALL:
                exact.setdefault(len(route.segments), []).append(route)
        catch_alls = [r for r in routes if r.segments[-1][0] == CATCH_ALL]
        blocks, nothing = [], []
        for count in range(1, longest + 1):
            # Registration order is kept: where shapes repeat, the trie keeps every route.
            fitting = exact.get(count, []) + [r for r in catch_alls if len(r.segments) <= count]
            if fitting:
                # The path has exactly `count` segments: unpack them into locals in one step.
                targets = [ast.Name(f"s{i}" if i else "_", _STORE, **_POS) for i in range(count + 1)]
                unpack = _assign(ast.Tuple(targets, _STORE, **_POS), _name("segs"))
                blocks.append(([count + 1], [unpack] + self._walk(_trie(fitting), 0, count), len(fitting)))
            else:
                nothing.append(count + 1)
        blocks.append(([0, 1] + nothing, [], 0))
        # A tuple indexed by n holds each count's way down the tree (cheaper than a dict):
        # past its end, the path is longer than every route and only a catch-all can take
        # it; its segments are read as needed.
        ways: dict = {}
        tree = self._tree(_name("ways"), blocks, ways)
        by_count = [ways[n] for n in range(longest + 2)]
        too_long = self._walk(_trie(catch_alls), 0, None) if catch_alls else []
        handler = ast.ExceptHandler(_name("IndexError"), None, [_assign("ways", _const(None))], **_POS)
        return [
            ast.Try([_assign("ways", _subscript(self.ref_list(by_count), _name("n")))], [handler], [], [], **_POS),
            _if(_test(_name("ways"), "is not", _const(None)), tree, too_long),
        ]

    def _switch(self, value, selector: str, blocks: list[tuple[list, list[ast.stmt]]]):
        """Run the block whose keys hold `value` (none if none does); blocks are (keys, body).

        A dict maps each key to its way down a binary tree of `if`s, a tuple of bools, so each
        level costs a tuple index and a jump. (An `==`/`<` on ints would be cheaper, but only
        next to its jump: a jump past a long body needs EXTENDED_ARG, which keeps CPython 3.11
        from specializing the comparison, and most of these jumps are long.)
        """
        ways: dict = {}
        var = _name(selector)
        tree = self._tree(var, blocks, ways)
        lookup = _assign(selector, _call(self.ref_index(ways), value))
        return [lookup, _if(_test(var, "is not", _const(None)), tree)]

    def _tree(self, var, blocks, ways: dict) -> list[ast.stmt]:
        """The `if` tree over blocks (keys, body, weight), its ways put in `ways`: a Huffman
        code on the weights (the routes a block holds), so that a block with many routes is
        reached with few tests."""
        heap = [(weight, i, i) for i, (_, _, weight) in enumerate(blocks)]
        heapq.heapify(heap)
        order = itertools.count(len(blocks))  # ties broken by age, never by shape
        while len(heap) > 1:
            light, heavy = heapq.heappop(heap), heapq.heappop(heap)
            heapq.heappush(heap, (light[0] + heavy[0], next(order), (light[2], heavy[2])))

        def emit(shape, way: tuple) -> list[ast.stmt]:
            if isinstance(shape, int):
                keys, body, _ = blocks[shape]
                ways.update(dict.fromkeys(keys, way))
                return body
            return [_if(_subscript(var, _const(len(way))), emit(shape[1], way + (True,)),
                        emit(shape[0], way + (False,)))]
        return emit(heap[0][2], ())

    def _walk(self, node: _Node, depth: int, count: int | None):
        """Code trying `node`'s subtree on segments depth+1...; it falls through on failure.

        count: the exact segment count (segments are in locals s1..s{count}), or None for
        paths longer than any route (segments are read from `segs` on the way down).
        """
        if depth == count:
            return self.leaf(node.leaf)
        var = _name(f"s{depth + 1}")
        stmts: list[ast.stmt] = []
        if count is None:
            stmts.append(_assign(var.id, _subscript(_name("segs"), _const(depth + 1))))
        if node.static:
            stmts += self._static_dispatch(var, depth, [
                (text, self._walk(child, depth + 1, count), child.size) for text, child in sorted(node.static.items())])
        for prefix, child in sorted(node.params.items(), key=lambda item: -len(item[0])):
            if prefix:
                test = ast.BoolOp(ast.And(), [_method(var, "startswith", _const(prefix)),
                                              _test(var, "!=", _const(prefix))], **_POS)
            else:
                test = var  # a parameter never takes an empty segment
            stmts.append(_if(test, self._walk(child, depth + 1, count)))
        if node.catch_all is not None:
            stmts += self.leaf(node.catch_all)
        return stmts

    def _static_dispatch(self, var, depth, branches):
        if len(branches) <= SMALL_FANOUT:
            stmts: list[ast.stmt] = []
            for text, body, _ in reversed(branches):
                stmts = [_if(_test(var, "==", _const(text)), body, stmts)]
            return stmts
        return self._switch(var, f"k{depth + 1}", [([text], body, weight) for text, body, weight in branches])

    def leaf(self, routes: list[Route]) -> list[ast.stmt]:
        """For the routes of one shape: return the hit of the one that serves `method`, or
        note that the path exists for another method and fall through."""
        method = _name("method")
        own = sorted((r for r in routes if r.method != ANY), key=lambda r: r.method == "GET")
        serves_head = not any(r.method == "HEAD" for r in own)
        stmts: list[ast.stmt] = []
        for route in own:  # GET last, so that a HEAD route of this shape wins over GET's
            test = _test(method, "==", _const(route.method))
            if route.method == "GET" and serves_head:
                test = ast.BoolOp(ast.Or(), [test, _test(method, "==", _const("HEAD"))], **_POS)
            stmts.append(_if(test, self.found(route)))
        fallback = next((r for r in routes if r.method == ANY), None)
        if fallback is not None:
            return stmts + self.found(fallback)
        return stmts + [_assign("seen", _const(True))]

    def found(self, route: Route) -> list[ast.stmt]:
        """Build and return the route's hit `(handler, params, pattern)` from the segment
        locals. (A tuple, not an object with named fields: a third cheaper to make.)"""
        if route.is_static:
            return [_return(self.ref(route, "found"))]
        keys, values = [], []
        for position, (kind, text, name) in enumerate(route.segments, start=1):
            var = _name(f"s{position}")
            if kind == PARAM:
                value = _slice_from(var, len(text)) if text else var
            elif kind == CATCH_ALL:
                value = _method(_const("/"), "join", _slice_from(_name("segs"), position))
            else:
                continue
            keys.append(_const(name))
            values.append(value)
        hit = [self.ref(route, "handler"), ast.Dict(keys, values, **_POS), _const(route.pattern)]
        # The values as sent; one test on the whole path (not one per value) says whether
        # any of them may need percent-decoding.
        return [_return(ast.IfExp(_test(_const("%"), "not in", _name("path")),
                                  ast.Tuple(hit, ast.Load(), **_POS), _call(_name("decoded"), *hit), **_POS))]


def _static_table(routes: list[Route]) -> dict[str, dict[str, tuple]]:
    """path -> {method: hit} for the fully static routes, HEAD falling back to GET.

    ANY's static routes are left to the trie, which knows every method."""
    by_path: dict[str, dict[str, tuple]] = {}
    for route in routes:
        if route.is_static and route.method != ANY:
            by_path.setdefault(route.static_path, {})[route.method] = route.found
    for methods in by_path.values():
        if "GET" in methods:
            methods.setdefault("HEAD", methods["GET"])
    return by_path


def _generate(routes: list[Route]) -> tuple[CodeType, dict]:
    """The code of `find(method, path)` for `routes`, and the recipe of its global names."""
    gen = _CodeGen(routes)
    method, path, segs = _name("method"), _name("path"), _name("segs")
    body: list[ast.stmt] = [
        # Static routes: one dict lookup on the path (no key to build), then on the method.
        _assign("m", _call(_name("static_get"), path)),
        _if(_test(_name("m"), "is not", _const(None)), [
            _assign("m", _method(_name("m"), "get", method)),
            _if(_test(_name("m"), "is not", _const(None)), [_return(_name("m"))])]),
        _assign("segs", _method(path, "split", _const("/"))),
        _if(_subscript(segs, _const(0)), [_return(_name("NOT_FOUND"))]),  # no leading '/'
        _assign("n", _call(_name("len"), segs)),
        _assign("seen", _const(False)),
    ]
    if routes:
        body += gen.by_length(routes)
    body += [
        # No route for this method; if one of another method takes the path, it is a 405.
        _if(_name("seen"), [_return(_call(_name("not_allowed"), method, path))]),
        _return(_name("NOT_FOUND")),
    ]
    arguments = ast.arguments([], [ast.arg("method", **_POS), ast.arg("path", **_POS)], None, [], [], None, [])
    module = ast.Module([ast.FunctionDef("find", arguments, body, [], None, **_POS)], [])
    dump("router", f"{len(routes)} routes", module)
    code = next(c for c in compile(module, "<router>", "exec").co_consts if isinstance(c, CodeType))
    return code, gen.recipe


def _bind(recipe: dict, routes: list[Route]) -> dict[str, object]:
    """The global names of generated code, bound to these routes' objects."""
    return {name: _BINDERS[type(spec)](spec, routes) for name, spec in recipe.items()}


_BINDERS = {
    dict: lambda index, routes: index.get,  # _CodeGen.ref_index
    list: lambda items, routes: tuple(items),  # _CodeGen.ref_list
    tuple: lambda ref, routes: getattr(routes[ref[0]], ref[1]),  # _CodeGen.ref
}


# Compiling takes about 20 ms for the GitHub API's 600 routes, most of it in Python's own
# `compile`; a restart with the same table loads the code instead, like a .pyc. The key is
# the routes' methods and patterns in order, this file and the bytecode version. Small
# tables compile faster than a file is read, so they are never cached.
CACHE_FROM_ROUTES = 64
_CACHE_FILES_KEPT = 32
_generator_digest: bytes | None = None


def _cached_code(routes: list[Route]) -> tuple[CodeType, dict]:
    if len(routes) < CACHE_FROM_ROUTES or wanted("router"):
        return _generate(routes)
    directory = cache_dir()
    if directory is None:
        return _generate(routes)
    global _generator_digest
    if _generator_digest is None:
        _generator_digest = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).digest()
    key = hashlib.blake2b(importlib.util.MAGIC_NUMBER + _generator_digest, digest_size=16)
    key.update(repr([(r.method, r.pattern) for r in routes]).encode())
    path = directory / f"routes-{key.hexdigest()}.marshal"
    try:
        code, recipe = marshal.loads(path.read_bytes())
        if isinstance(code, CodeType) and isinstance(recipe, dict):
            return code, recipe
    except (OSError, ValueError, EOFError, TypeError):
        pass  # no cached code yet, or a damaged file: build it
    code, recipe = _generate(routes)
    write_atomically(path, marshal.dumps((code, recipe)))
    _prune(directory)
    return code, recipe


def _prune(directory: Path) -> None:
    """Keep only the most recently written cached tables (an edited table leaves its old
    versions behind)."""
    try:
        files = sorted(directory.glob("routes-*.marshal"), key=lambda f: f.stat().st_mtime)
        for old in files[:-_CACHE_FILES_KEPT]:
            old.unlink()
    except OSError:
        pass


def _compile(routes: list[Route]):
    """The `find(method, path)` function for `routes`."""
    code, recipe = _cached_code(routes)
    namespace = _bind(recipe, routes)
    namespace.update(static_get=_static_table(routes).get, NOT_FOUND=MISS, len=len, decoded=_decoded)
    # The same code with the 405 fallback switched off answers "does METHOD take PATH?".
    probe = FunctionType(code, dict(namespace, not_allowed=lambda method, path: MISS), "probe")
    candidates = sorted({r.method for r in routes if r.method != ANY} |
                        ({"HEAD"} if any(r.method == "GET" for r in routes) else set()))

    def not_allowed(method: str, path: str) -> tuple:
        allowed = tuple(m for m in candidates if m != method and probe(m, path)[0] is not None)
        if not allowed:
            return MISS
        return (None, METHOD_NOT_ALLOWED, allowed)

    namespace["not_allowed"] = not_allowed
    return FunctionType(code, namespace, "find")


def _decoded(handler, params: dict, pattern: str) -> tuple:
    """The hit of a path with a '%' in it, its values percent-decoded."""
    return (handler, {name: decode_param(value) for name, value in params.items()}, pattern)
