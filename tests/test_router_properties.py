"""The router against a brute-force reference on random route tables and random paths.

The reference tries every route on its own, ranks the ones that match by the per-segment
priority (static < parameter with a longer prefix < shorter prefix < catch-all, from the left;
then the request's own method < GET for HEAD < ANY), and takes the best. Conflicts: two
routes of one method are indistinguishable when their patterns are equal once parameter
names are erased.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from hypothesis import given, settings, strategies as st

from rtserve.runtime import router as router_module
from rtserve.runtime.router import FOUND, METHOD_NOT_ALLOWED, RouteConflict, Router

STATIC_WORDS = ["a", "b", "ab", "v1", "va", ""]
PREFIXES = ["", "", "", "v", "a"]
METHODS = ["GET", "POST", "HEAD", "*"]
PATH_WORDS = ["a", "b", "ab", "v", "v1", "va", "vab", "x", "", "a%20b", "%FF", "a%2Fb", "%"]


def decode(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return raw


def rank_and_params(pattern: str, path: str):
    """(rank per segment, params) if `pattern` takes `path`, else None."""
    if not path.startswith("/"):
        return None
    parts, segments = pattern[1:].split("/"), path[1:].split("/")
    ranks, params = [], {}
    for i, part in enumerate(parts):
        if part.startswith("*"):
            if len(segments) < len(parts):
                return None
            ranks.append((2, 0))
            params[part[1:]] = decode("/".join(segments[i:]))
            return ranks, params
        if i >= len(segments):
            return None
        segment = segments[i]
        if ":" in part:
            prefix, name = part.split(":")
            if not segment.startswith(prefix) or len(segment) == len(prefix):
                return None
            ranks.append((1, -len(prefix)))
            params[name] = decode(segment[len(prefix):])
        elif segment == part:
            ranks.append((0, 0))
        else:
            return None
    return (ranks, params) if len(segments) == len(parts) else None


def layer(route_method: str, method: str):
    """How directly a route of `route_method` serves `method` (lower wins), or None."""
    if route_method == method:
        return 0
    if method == "HEAD" and route_method == "GET":
        return 1
    if route_method == "*":
        return 2
    return None


def reference(routes: list[tuple[str, str]], method: str, path: str):
    candidates = []
    for route_method, pattern in routes:
        found = rank_and_params(pattern, path)
        level = layer(route_method, method)
        if found is not None and level is not None:
            candidates.append((found[0], level, pattern, found[1]))
    if candidates:
        _, _, pattern, params = min(candidates, key=lambda c: (c[0], c[1]))
        return (200, pattern, params)
    allowed = {m for m, p in routes if m != "*" and rank_and_params(p, path) is not None}
    if "GET" in allowed:
        allowed.add("HEAD")
    return (405, tuple(sorted(allowed))) if allowed else (404,)


def erase_names(pattern: str) -> str:
    return re.sub(r"([:*])\w+", r"\1", pattern)


def observed(router: Router, method: str, path: str):
    match = router.match(method, path)
    if match.status is FOUND:
        return (200, match.pattern, dict(match.params))
    if match.status is METHOD_NOT_ALLOWED:
        return (405, match.allowed)
    return (404,)


@st.composite
def patterns(draw):
    count = draw(st.integers(1, 4))
    parts = []
    for i in range(count):
        kind = draw(st.sampled_from(["static", "static", "param", "catch"] if i == count - 1
                                    else ["static", "static", "param"]))
        if kind == "static":
            parts.append(draw(st.sampled_from(STATIC_WORDS)))
        elif kind == "param":
            parts.append(f"{draw(st.sampled_from(PREFIXES))}:p{i}")
        else:
            parts.append(f"*rest{i}")
    return "/" + "/".join(parts)


routes_strategy = st.lists(st.tuples(st.sampled_from(METHODS), patterns()), min_size=1, max_size=12)


@st.composite
def paths(draw, routes):
    """Mostly paths that instantiate a route (so hits are common), some random ones."""
    if routes and draw(st.booleans()):
        _, pattern = draw(st.sampled_from(routes))
        out = []
        for part in pattern[1:].split("/"):
            if part.startswith("*"):
                out += draw(st.lists(st.sampled_from(PATH_WORDS), min_size=1, max_size=3))
            elif ":" in part:
                out.append(part.split(":")[0] + draw(st.sampled_from(PATH_WORDS)))
            else:
                out.append(part)
        return "/" + "/".join(out)
    return "/" + "/".join(draw(st.lists(st.sampled_from(PATH_WORDS), min_size=1, max_size=5)))


def build_checked(table):
    """Add routes in order; a RouteConflict must come exactly when the reference says so."""
    router, kept = Router(), []
    for index, (method, pattern) in enumerate(table):
        clash = next(((m, p) for m, p in kept if m == method and erase_names(p) == erase_names(pattern)), None)
        try:
            router.add(method, pattern, index, f"t:{index}:1")
        except RouteConflict as conflict:
            assert clash is not None, f"unexpected conflict: {conflict}"
            assert f"{method} {pattern}" in str(conflict) and f"{clash[0]} {clash[1]}" in str(conflict)
            continue
        assert clash is None, f"{method} {pattern} should clash with {clash}"
        kept.append((method, pattern))
    return router, kept


@settings(max_examples=400, deadline=None)
@given(data=st.data(), table=routes_strategy)
def test_router_agrees_with_the_reference(data, table):
    router, kept = build_checked(table)
    for _ in range(8):
        method = data.draw(st.sampled_from(["GET", "POST", "HEAD", "PUT"]))
        path = data.draw(paths(kept))
        assert observed(router, method, path) == reference(kept, method, path), (method, path)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), table=routes_strategy)
def test_router_agrees_with_the_reference_when_every_node_dispatches_by_table(data, table):
    # STATIC_WORDS has too few words for a node to get past SMALL_FANOUT: lower it, so that
    # the dict + if-tree dispatch is checked too.
    fanout = router_module.SMALL_FANOUT
    router_module.SMALL_FANOUT = 0
    try:
        router, kept = build_checked(table)
        router.compile()
    finally:
        router_module.SMALL_FANOUT = fanout
    for _ in range(8):
        method = data.draw(st.sampled_from(["GET", "POST", "HEAD", "PUT"]))
        path = data.draw(paths(kept))
        assert observed(router, method, path) == reference(kept, method, path), (method, path)


@settings(max_examples=200, deadline=None)
@given(table=routes_strategy, data=st.data())
def test_a_renamed_copy_of_any_route_conflicts(table, data):
    router, kept = build_checked(table)
    method, pattern = data.draw(st.sampled_from(kept))
    renamed = re.sub(r"([:*])(\w+)", r"\1other_\2", pattern)
    try:
        router.add(method, renamed, None, "t:99:1")
    except RouteConflict as conflict:
        assert f"{method} {renamed} (t:99:1)" in str(conflict)
    else:
        raise AssertionError(f"{method} {renamed} was accepted next to {method} {pattern}")
