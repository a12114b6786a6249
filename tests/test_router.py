"""Router tests as data: (routes, request) -> expected, conflict tables, invalid patterns, and
the real-world route tables in tests/data/routes (every route instantiated routes to itself)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rtserve.lang.errors import RtError
from rtserve.runtime import router as router_module
from rtserve.runtime.router import (
    FOUND, METHOD_NOT_ALLOWED, NOT_FOUND, Match, RouteConflict, RoutePatternError, Router,
)

ROUTES_DIR = Path(__file__).resolve().parent / "data" / "routes"  # copied from the shared spec folder


def build(routes) -> Router:
    router = Router()
    for index, route in enumerate(routes):
        method, pattern = route.split(" ", 1)
        router.add(method, pattern, f"h{index}:{route}", f"app.script:{index + 1}:1")
    return router


def outcome(match: Match):
    """A Match as plain data: (status, pattern, params) or (405, allowed)."""
    if match.status is FOUND:
        return (200, match.pattern, dict(match.params))
    if match.status is METHOD_NOT_ALLOWED:
        return (405, match.allowed)
    return (404,)


# (routes, "METHOD path", expected outcome)
MATCH_TABLE = [
    # static, params, priority
    (["GET /"], "GET /", (200, "/", {})),
    (["GET /a"], "GET /a", (200, "/a", {})),
    (["GET /a"], "GET /b", (404,)),
    (["GET /users/:id"], "GET /users/42", (200, "/users/:id", {"id": "42"})),
    (["GET /users/:id"], "GET /users/", (404,)),  # a parameter never matches an empty segment
    (["GET /users/:id"], "GET /users", (404,)),
    (["GET /users/:id"], "GET /users/1/2", (404,)),
    (["GET /users/new", "GET /users/:id"], "GET /users/new", (200, "/users/new", {})),
    (["GET /users/:id", "GET /users/new"], "GET /users/new", (200, "/users/new", {})),
    (["GET /users/new", "GET /users/:id"], "GET /users/old", (200, "/users/:id", {"id": "old"})),
    # backtracking: the static branch fails deeper down, the parameter branch takes it
    (["GET /users/new", "GET /users/:id/edit"], "GET /users/new/edit",
     (200, "/users/:id/edit", {"id": "new"})),
    (["GET /a/b/c", "GET /a/:x/d", "GET /a/*rest"], "GET /a/b/d", (200, "/a/:x/d", {"x": "b"})),
    (["GET /a/b/c", "GET /a/:x/d", "GET /a/*rest"], "GET /a/b/e", (200, "/a/*rest", {"rest": "b/e"})),
    (["GET /a/b/c", "GET /a/:x/d", "GET /a/*rest"], "GET /a/b/c", (200, "/a/b/c", {})),
    (["GET /:a/x", "GET /b/:c"], "GET /b/x", (200, "/b/:c", {"c": "x"})),  # leftmost segment decides
    (["GET /:a/:b/c", "GET /x/:b/:c"], "GET /x/y/c", (200, "/x/:b/:c", {"b": "y", "c": "c"})),
    # several params
    (["GET /repos/:owner/:repo/pulls/:number"], "GET /repos/o/r/pulls/7",
     (200, "/repos/:owner/:repo/pulls/:number", {"owner": "o", "repo": "r", "number": "7"})),
    # in-segment prefix
    (["GET /api/v:version/users"], "GET /api/v2/users", (200, "/api/v:version/users", {"version": "2"})),
    (["GET /api/v:version/users"], "GET /api/v/users", (404,)),  # the value may not be empty
    (["GET /api/v:version/users"], "GET /api/x2/users", (404,)),
    (["GET /api/v:version", "GET /api/ve:rest"], "GET /api/ver", (200, "/api/ve:rest", {"rest": "r"})),
    (["GET /api/v:version", "GET /api/:any"], "GET /api/v9", (200, "/api/v:version", {"version": "9"})),
    (["GET /api/v:version", "GET /api/:any"], "GET /api/w9", (200, "/api/:any", {"any": "w9"})),
    (["GET /api/v1", "GET /api/v:version"], "GET /api/v1", (200, "/api/v1", {})),
    (["GET /f/file-:name"], "GET /f/file-a%20b", (200, "/f/file-:name", {"name": "a b"})),
    # catch-all
    (["GET /files/*path"], "GET /files/a/b/c", (200, "/files/*path", {"path": "a/b/c"})),
    (["GET /files/*path"], "GET /files/", (200, "/files/*path", {"path": ""})),
    (["GET /files/*path"], "GET /files", (404,)),
    (["GET /files/*path"], "GET /files//x/", (200, "/files/*path", {"path": "/x/"})),
    (["GET /files/*path"], "GET /files/a%2Fb/c%20d", (200, "/files/*path", {"path": "a/b/c d"})),
    (["GET /*all"], "GET /", (200, "/*all", {"all": ""})),
    (["GET /*all"], "GET /x/y", (200, "/*all", {"all": "x/y"})),
    (["GET /", "GET /*all"], "GET /", (200, "/", {})),
    (["GET /files/*path", "GET /files/:name"], "GET /files/a", (200, "/files/:name", {"name": "a"})),
    (["GET /files/*path", "GET /files/:name"], "GET /files/a/b", (200, "/files/*path", {"path": "a/b"})),
    (["GET /files/*path", "GET /files/:name"], "GET /files/", (200, "/files/*path", {"path": ""})),
    (["GET /a/:b/*c"], "GET /a/x/y/z", (200, "/a/:b/*c", {"b": "x", "c": "y/z"})),
    (["GET /a/:b/*c"], "GET /a/x", (404,)),
    (["GET /a/*x", "GET /a/b/c/d/e/f/g/h"], "GET /a/b/c/d/e/f/g/h/i", (200, "/a/*x", {"x": "b/c/d/e/f/g/h/i"})),
    # trailing slash is significant, no redirect
    (["GET /a"], "GET /a/", (404,)),
    (["GET /a/"], "GET /a", (404,)),
    (["GET /a/", "GET /a"], "GET /a/", (200, "/a/", {})),
    (["GET /u/:id/"], "GET /u/1/", (200, "/u/:id/", {"id": "1"})),
    (["GET /u/:id/"], "GET /u/1", (404,)),
    # percent-decoding of values; matching is on the raw path
    (["GET /u/:name"], "GET /u/J%C3%BCrgen", (200, "/u/:name", {"name": "Jürgen"})),
    (["GET /u/:name"], "GET /u/a%2Fb", (200, "/u/:name", {"name": "a/b"})),
    (["GET /u/:name"], "GET /u/%FF", (200, "/u/:name", {"name": "%FF"})),  # invalid UTF-8: as sent
    (["GET /u/:name"], "GET /u/100%", (200, "/u/:name", {"name": "100%"})),  # malformed: as sent
    (["GET /u/:name"], "GET /u/a+b", (200, "/u/:name", {"name": "a+b"})),  # '+' is not a space
    (["GET /u/a b"], "GET /u/a%20b", (200, "/u/a b", {})),  # pattern text is matched encoded
    (["GET /café"], "GET /caf%C3%A9", (200, "/café", {})),
    (["GET /u/me"], "GET /u/m%65", (404,)),
    # paths that are not origin-form
    (["GET /a"], "GET a", (404,)),
    (["GET /*all"], "GET *", (404,)),
    (["GET /*all"], "GET ", (404,)),
    (["GET /a"], "GET http://host/a", (404,)),
    # methods: 405, HEAD -> GET, ANY
    (["GET /a", "POST /a"], "PUT /a", (405, ("GET", "HEAD", "POST"))),
    (["POST /a"], "GET /a", (405, ("POST",))),
    (["GET /u/:id"], "DELETE /u/1", (405, ("GET", "HEAD"))),
    (["GET /u/:id", "DELETE /u/me"], "POST /u/me", (405, ("DELETE", "GET", "HEAD"))),
    (["GET /u/:id", "OPTIONS /u/:id"], "PUT /u/1", (405, ("GET", "HEAD", "OPTIONS"))),
    (["GET /f/*p"], "POST /f/x/y", (405, ("GET", "HEAD"))),
    (["POST /a"], "POST /b", (404,)),
    (["GET /a"], "HEAD /a", (200, "/a", {})),
    (["GET /u/:id"], "HEAD /u/1", (200, "/u/:id", {"id": "1"})),
    (["GET /u/:id", "HEAD /u/:name"], "HEAD /u/1", (200, "/u/:name", {"name": "1"})),
    (["GET /u/:id", "HEAD /u/me"], "HEAD /u/1", (200, "/u/:id", {"id": "1"})),
    (["GET /u/:id", "HEAD /u/me"], "HEAD /u/me", (200, "/u/me", {})),
    (["HEAD /a"], "GET /a", (405, ("HEAD",))),
    (["* /a"], "PROPFIND /a", (200, "/a", {})),
    (["* /u/:any"], "PURGE /u/1", (200, "/u/:any", {"any": "1"})),
    (["* /u/:any", "GET /u/:id"], "GET /u/1", (200, "/u/:id", {"id": "1"})),
    (["* /u/:any", "GET /u/:id"], "POST /u/1", (200, "/u/:any", {"any": "1"})),
    (["* /u/:any", "GET /u/:id"], "HEAD /u/1", (200, "/u/:id", {"id": "1"})),
    (["* /u/me", "GET /u/:id"], "GET /u/me", (200, "/u/me", {})),  # path priority first
    (["* /a", "GET /a"], "GET /a", (200, "/a", {})),
    (["* /f/*p", "GET /f/x"], "POST /f/x", (200, "/f/*p", {"p": "x"})),
    (["GET /a", "* /b"], "POST /a", (405, ("GET", "HEAD"))),
]


@pytest.mark.parametrize("routes, request_line, expected", MATCH_TABLE,
                         ids=[f"{' | '.join(r)} <- {q}" for r, q, _ in MATCH_TABLE])
def test_match_table(routes, request_line, expected):
    method, path = request_line.split(" ", 1)
    assert outcome(build(routes).match(method, path)) == expected


def test_values_are_decoded_once_and_only_where_the_path_has_an_escape():
    # The generated code tests the whole path for '%' once per hit, then decodes every value.
    router = build(["GET /r/:a/:b", "GET /caf\u00e9/:x", "GET /f/*rest"])
    for path, expected in [
        ("/r/plain/x%20y", {"a": "plain", "b": "x y"}),  # one value encoded, one not
        ("/r/x%20y/plain", {"a": "x y", "b": "plain"}),
        ("/r/%2541/b", {"a": "%41", "b": "b"}),  # decoded exactly once
        ("/r/%FF/%C3%A9", {"a": "%FF", "b": "\u00e9"}),  # each value on its own
        ("/caf%C3%A9/x", {"x": "x"}),  # the escape is in the static text only
        ("/f/a%2Fb/c", {"rest": "a/b/c"}),
    ]:
        match = router.match("GET", path)
        assert match.status is FOUND and match.params == expected, path
    plain = router.match("GET", "/r/a/b")
    assert plain.params == {"a": "a", "b": "b"} and plain.handler == "h0:GET /r/:a/:b"
    decoded = router.match("GET", "/r/a%20/b")
    assert decoded.handler == "h0:GET /r/:a/:b" and decoded.pattern == "/r/:a/:b"


def test_a_node_with_many_static_children_dispatches_by_table():
    # Over SMALL_FANOUT children a dict picks the way down an if-tree, weighted by routes.
    children = [f"c{i}" for i in range(router_module.SMALL_FANOUT * 3)]
    routes = [f"GET /{c}/:id" for c in children] + [f"DELETE /c1/{c}/:id" for c in children]
    routes += [f"PUT /c2/{c}/:id" for c in children[:2]] + ["GET /:any/x", "GET /c0/:id/z"]
    router = build(routes)
    for c in children:
        assert outcome(router.match("GET", f"/{c}/7")) == (200, f"/{c}/:id", {"id": "7"})
        assert outcome(router.match("DELETE", f"/c1/{c}/8")) == (200, f"/c1/{c}/:id", {"id": "8"})
    assert outcome(router.match("GET", "/other/x")) == (200, "/:any/x", {"any": "other"})  # not in the table
    assert outcome(router.match("GET", "/c0/c5/z")) == (200, "/c0/:id/z", {"id": "c5"})  # backtracks
    assert outcome(router.match("GET", "/c3/c5/z")) == (404,)
    assert outcome(router.match("GET", "/c1/c5/9")) == (405, ("DELETE",))
    assert outcome(router.match("PUT", "/c2/c1/9")) == (200, "/c2/c1/:id", {"id": "9"})
    assert outcome(router.match("PUT", "/c2/c3/9")) == (404,)


@pytest.mark.parametrize("routes, path, expected", [
    (["GET /a/b"], "/a/b/c/d/e/f/g/h/i/j", (404,)),  # longer than every route, no catch-all
    (["GET /a/b", "GET /a/*rest"], "/a/b/c/d/e/f/g/h", (200, "/a/*rest", {"rest": "b/c/d/e/f/g/h"})),
    (["GET /a/b", "GET /*all"], "/x/y/z", (200, "/*all", {"all": "x/y/z"})),
    (["GET /a/b", "GET /:p/q/*all"], "/x/q/z/w", (200, "/:p/q/*all", {"p": "x", "all": "z/w"})),
    (["GET /a/b", "GET /:p/q/*all"], "/x/r/z/w", (404,)),
])
def test_paths_longer_than_every_route(routes, path, expected):
    assert outcome(build(routes).match("GET", path)) == expected


def test_found_match_carries_the_handler_and_a_reused_empty_params_dict():
    router = build(["GET /a", "GET /b/:x"])
    static = router.match("GET", "/a")
    assert static.handler == "h0:GET /a" and static.params == {} and static.allowed == ()
    dynamic = router.match("GET", "/b/1")
    assert dynamic.handler == "h1:GET /b/:x" and dynamic.status == 200 and dynamic.allowed == ()
    assert router.match("GET", "/nope").handler is None


# (routes already there, route added, the one it clashes with)
CONFLICT_TABLE = [
    (["GET /u/:id"], "GET /u/:name", "GET /u/:id"),
    (["GET /a"], "GET /a", "GET /a"),
    (["GET /f/*path"], "GET /f/*rest", "GET /f/*path"),
    (["GET /api/v:version/x"], "GET /api/v:ver/x", "GET /api/v:version/x"),
    (["GET /a/:b/c/:d"], "GET /a/:x/c/:y", "GET /a/:b/c/:d"),
    (["* /u/:id"], "* /u/:name", "* /u/:id"),
    (["GET /a", "POST /c/:x", "GET /c/:x"], "GET /c/:y", "GET /c/:x"),
    (["GET /café"], "GET /caf%C3%A9", "GET /café"),  # the same path once encoded
]


@pytest.mark.parametrize("existing, added, clashing", CONFLICT_TABLE)
def test_conflicts_name_both_routes(existing, added, clashing):
    router = build(existing)
    method, pattern = added.split(" ", 1)
    with pytest.raises(RouteConflict) as caught:
        router.add(method, pattern, "new", "app.script:99:5")
    index = existing.index(clashing)
    assert str(caught.value) == (f"route {added} (app.script:99:5) clashes with {clashing} "
                                 f"(app.script:{index + 1}:1): they match the same paths")
    assert isinstance(caught.value, RtError)
    assert len(router.routes()) == len(existing)  # the clashing route was not added


NO_CONFLICT = [
    ["GET /u/new", "GET /u/:id"],
    ["GET /u/:id", "POST /u/:name"],
    ["GET /u/:id", "* /u/:name"],
    ["GET /u/:id", "HEAD /u/:name"],
    ["GET /f/*p", "GET /f/:x", "GET /f/x", "GET /f/"],
    ["GET /a", "GET /a/"],
    ["GET /api/v:version", "GET /api/w:version", "GET /api/:version", "GET /api/ve:version"],
    ["GET /a/*x", "GET /a/b/*x"],
]


@pytest.mark.parametrize("routes", NO_CONFLICT)
def test_routes_that_differ_in_priority_only_coexist(routes):
    assert len(build(routes).routes()) == len(routes)


INVALID_PATTERNS = [
    ("a/b", "must start with '/'"),
    ("", "must start with '/'"),
    ("/u/:", "empty parameter name"),
    ("/u/v:", "empty parameter name"),
    ("/f/*", "empty parameter name"),
    ("/f/*rest/x", "catch-all (*name) must be the last segment"),
    ("/f/x*rest", "'*' must start its segment"),
    ("/f/*a:b", "'*' must start its segment"),
    ("/u/:id/:id", "parameter name 'id' is used twice"),
    ("/u/:id/*id", "parameter name 'id' is used twice"),
    ("/u/:a:b", "is not an identifier"),
    ("/u/:a-b", "is not an identifier"),
    ("/u/:1a", "is not an identifier"),
]


@pytest.mark.parametrize("pattern, why", INVALID_PATTERNS)
def test_invalid_patterns(pattern, why):
    with pytest.raises(RoutePatternError) as caught:
        Router().add("GET", pattern, None, "app.script:1:1")
    assert why in str(caught.value) and repr(pattern) in str(caught.value)
    assert isinstance(caught.value, RtError)


@pytest.mark.parametrize("method", ["get", "", "G T", None])
def test_invalid_methods(method):
    with pytest.raises(RoutePatternError):
        Router().add(method, "/a", None, "x:1:1")


def test_routes_lists_registrations_in_order():
    router = Router()
    router.add("GET", "/b/:x", "hb", "s:1:1")
    router.add("*", "/a", "ha", "s:2:1")
    assert router.routes() == [("GET", "/b/:x", "hb", "s:1:1"), ("*", "/a", "ha", "s:2:1")]


def test_adding_after_matching_recompiles():
    router = build(["GET /a"])
    assert router.match("GET", "/b").status is NOT_FOUND
    router.add("GET", "/b", "hb", "s:2:1")
    assert router.match("GET", "/b").handler == "hb"
    router.add("GET", "/c/:x", "hc", "s:3:1")
    assert outcome(router.match("GET", "/c/1")) == (200, "/c/:x", {"x": "1"})


def test_empty_router_finds_nothing():
    router = Router()
    assert router.match("GET", "/").status is NOT_FOUND
    assert router.match("GET", "/a/b").status is NOT_FOUND


# ---------------------------------------------------------------------------------------------
# The real-world tables: every route instantiated routes to itself, misses miss, and other
# methods get a 405 listing exactly the methods whose routes match the path.


def read_table(*names: str) -> list[str]:
    lines = []
    for name in names:
        lines += [line.strip() for line in (ROUTES_DIR / name).read_text().splitlines() if line.strip()]
    return lines


def instantiate(pattern: str, encoded: bool = False) -> tuple[str, dict[str, str]]:
    """A path for `pattern` with sample values no static segment uses, and the expected params."""
    params, out = {}, []
    for segment in pattern[1:].split("/"):
        if segment.startswith("*"):
            params[segment[1:]] = "deep/er path" if encoded else "deep/er"
            out.append("deep/er%20path" if encoded else "deep/er")
        elif ":" in segment:
            prefix, name = segment.split(":")
            value = f"{name}-1 x" if encoded else f"{name}-1"
            params[name] = value
            out.append(prefix + value.replace(" ", "%20"))
        else:
            out.append(segment)
    return "/" + "/".join(out), params


def matches_ignoring_priority(pattern: str, path: str) -> bool:
    """Does `pattern` take `path` at all (this shape, any value)?"""
    regex = ""
    parts = pattern[1:].split("/")
    for segment in parts:
        if segment.startswith("*"):
            regex += "/.*"
        elif ":" in segment:
            regex += "/" + re.escape(segment.split(":")[0]) + "[^/]+"
        else:
            regex += "/" + re.escape(segment)
    return re.fullmatch(regex, path) is not None


TABLES = {
    "github": ("github_routes.txt", "github_routes_clashing.txt"),
    "parse": ("parse_routes.txt",),
    "static": ("static_routes.txt",),
}


@pytest.mark.parametrize("table", TABLES)
def test_real_tables_every_route_routes_to_itself(table):
    lines = read_table(*TABLES[table])
    router = build(lines)
    assert len(router.routes()) == len(lines)
    for index, line in enumerate(lines):
        method, pattern = line.split(" ", 1)
        for encoded in (False, True):
            path, params = instantiate(pattern, encoded)
            match = router.match(method, path)
            assert outcome(match) == (200, pattern, params), (line, path)
            assert match.handler == f"h{index}:{line}"
            if method == "GET":
                assert router.match("HEAD", path).handler == match.handler


def test_github_clashing_routes_coexist_with_the_main_ones():
    main, clashing = read_table("github_routes.txt"), read_table("github_routes_clashing.txt")
    router = build(main + clashing)
    assert len(router.routes()) == len(main) + len(clashing)
    # A few where the clashing file's route and a main route both match a prefix of the path.
    for method, path, pattern in [
        ("GET", "/repos/o/r/git/refs", "/repos/:owner/:repo/git/refs"),
        ("GET", "/repos/o/r/git/refs/heads/main", "/repos/:owner/:repo/git/refs/*ref"),
        ("GET", "/repos/o/r/issues/comments", "/repos/:owner/:repo/issues/comments"),
        ("GET", "/repos/o/r/issues/12", "/repos/:owner/:repo/issues/:number"),
        ("GET", "/repos/o/r/zipball/main", "/repos/:owner/:repo/:archive_format/:ref"),
        ("GET", "/repos/o/r/contents/a/b.txt", "/repos/:owner/:repo/contents/*path"),
        ("GET", "/gists/starred", "/gists/starred"),
        ("GET", "/gists/123", "/gists/:id"),
        ("PATCH", "/user", "/user"),
    ]:
        assert router.match(method, path).pattern == pattern, path


@pytest.mark.parametrize("table", TABLES)
def test_real_tables_misses_and_wrong_methods(table):
    lines = read_table(*TABLES[table])
    router = build(lines)
    routes = [line.split(" ", 1) for line in lines]
    for miss in ["/nope", "/", "/repos", "/repos/o", "//", "/users/u/x/y/z/w", "/1/classes", "/doc/nope.html",
                 "/repos/o/r/git/refs/", "/authorizations/", "/1/users/u/x", "/a/b/c/d/e/f/g/h/i/j/k"]:
        if not any(matches_ignoring_priority(pattern, miss) for _, pattern in routes):
            assert router.match("GET", miss).status is NOT_FOUND, miss
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
    for _, pattern in routes:
        path, _ = instantiate(pattern)
        taking = {m for m, p in routes if matches_ignoring_priority(p, path)}
        if "GET" in taking:
            taking.add("HEAD")
        for method in methods:
            match = router.match(method, path)
            if method in taking:
                assert match.status is FOUND, (method, path)
            else:
                assert outcome(match) == (405, tuple(sorted(taking))), (method, path)


def test_a_find_function_fetched_before_compiling_keeps_working_and_compiles_once():
    router = build(["GET /a/:x"])
    early = router.find
    assert early("GET", "/a/1") == ("h0:GET /a/:x", {"x": "1"}, "/a/:x")
    compiled = router.find
    assert compiled is not early and early("GET", "/a/2")[1] == {"x": "2"}
    assert router.find is compiled  # the stand-in did not compile again
    router.add("GET", "/b", "hb", "s:2:1")
    assert early("GET", "/b")[0] == "hb"  # the stand-in follows the current table


def test_find_answers_with_tuples():
    router = build(["GET /a", "GET /b/:x", "POST /c"])
    assert router.find("GET", "/a") is router.find("HEAD", "/a")  # a static hit is shared
    assert router.find("GET", "/a") == ("h0:GET /a", {}, "/a")
    assert router.find("GET", "/b/%41") == ("h1:GET /b/:x", {"x": "A"}, "/b/:x")
    assert router.find("GET", "/nope") == (None, 404, ())
    assert router.find("GET", "/c") == (None, 405, ("POST",))


# ---------------------------------------------------------------------------------------------
# The compiled-code cache: a large table is generated once, later builds load the code and
# bind it to their own routes; damaged files are rebuilt; old files are pruned.


def _github_router(handler_prefix: str, extra: list[str] = ()) -> Router:
    router = Router()
    for index, line in enumerate(read_table(*TABLES["github"]) + list(extra)):
        method, pattern = line.split(" ", 1)
        router.add(method, pattern, f"{handler_prefix}{index}", f"app.script:{index + 1}:1")
    router.compile()
    return router


def _generating_is_an_error(monkeypatch):
    def refuse(routes):
        raise AssertionError("the table was generated again instead of loaded")
    monkeypatch.setattr(router_module, "_generate", refuse)


def test_a_large_table_is_generated_once_then_loaded_with_its_own_handlers(tmp_path, monkeypatch):
    monkeypatch.setenv("RT_CACHE_DIR", str(tmp_path))
    first = _github_router("first")
    assert len(list(tmp_path.glob("routes-*.marshal"))) == 1
    _generating_is_an_error(monkeypatch)
    second = _github_router("second")
    for index, line in enumerate(read_table(*TABLES["github"])):
        method, pattern = line.split(" ", 1)
        for encoded in (False, True):
            path, _ = instantiate(pattern, encoded)
            assert outcome(second.match(method, path)) == outcome(first.match(method, path))
            assert second.match(method, path).handler == f"second{index}"
    assert outcome(second.match("DELETE", "/gists/1/star/x")) == outcome(first.match("DELETE", "/gists/1/star/x"))


def test_a_changed_table_is_generated_anew(tmp_path, monkeypatch):
    monkeypatch.setenv("RT_CACHE_DIR", str(tmp_path))
    _github_router("h")
    changed = _github_router("h", extra=["GET /brand/new/:thing"])
    assert len(list(tmp_path.glob("routes-*.marshal"))) == 2
    assert outcome(changed.match("GET", "/brand/new/x")) == (200, "/brand/new/:thing", {"thing": "x"})


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("RT_CACHE_DIR", str(tmp_path))
    _github_router("h")
    [cached] = tmp_path.glob("routes-*.marshal")
    cached.write_bytes(b"\x00not marshal data")
    router = _github_router("h")
    assert outcome(router.match("GET", "/gists/starred")) == (200, "/gists/starred", {})
    assert outcome(router.match("GET", "/gists/12")) == (200, "/gists/:id", {"id": "12"})
    _generating_is_an_error(monkeypatch)
    _github_router("h")  # the rebuilt file loads


def test_small_tables_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("RT_CACHE_DIR", str(tmp_path))
    build([f"GET /r{i}/:x" for i in range(router_module.CACHE_FROM_ROUTES - 1)]).compile()
    assert list(tmp_path.glob("routes-*")) == []


def test_old_cache_files_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("RT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(router_module, "_CACHE_FILES_KEPT", 2)
    for i in range(4):
        _github_router("h", extra=[f"GET /extra{i}"])
    assert len(list(tmp_path.glob("routes-*.marshal"))) == 2
