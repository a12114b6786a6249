"""Router micro-benchmark: rt's Router against peer routers on the GitHub API route table.

    .venv/bin/python bench/router.py [--repeat N]

Everything runs in one process, on the same route table (shared/routes/github_routes.txt +
github_routes_clashing.txt) and the same lookup sets:
  mixed   ~2,000 lookups over ~1,700 distinct paths: every route instantiated with varied
          values (~2% of values percent-encoded), 10% misses; too many distinct paths for a
          small cache to help.
  static  2,000 lookups of the table's fully static routes.
  misses  2,000 paths that no route of any method takes (typos, extra or missing segments).
rt's build is given twice: cold (generating the code) and warm (loading it from rt's cache,
which the bench keeps in a temporary directory). Each figure is the best of --repeat runs of `for method, path in lookups: lookup(method, path)`,
so the loop overhead is in every router's figure alike. Build = registering the whole table
and whatever the router does before its first lookup (compile, finalize), best of 5.
Peers: falcon CompiledRouter, sanic-routing, werkzeug Map, starlette Router (matched the way
starlette does: each route's `matches` in turn), xrtr if it installed, and a plain dict.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ would come first on sys.path, where its files shadow stdlib names.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from rtserve.runtime import router as router_module  # noqa: E402
from rtserve.runtime.router import Router  # noqa: E402

ROUTES_DIR = ROOT / "tests" / "data" / "routes"
TABLE_FILES = ("github_routes.txt", "github_routes_clashing.txt")
WORDS = ["octocat", "torvalds", "linux", "rails", "hello-world", "rt", "main", "v1.2.3", "gh-pages",
         "a1b2c3d4e5f6", "0123456789abcdef0123", "42", "7", "1024", "octo-org", "spoon-knife",
         "zipball", "tarball", "bug", "enhancement", "docs", "README.md", "src", "feature_x"]
ENCODED = ["caf%C3%A9", "hello%20world", "a%2Fb"]


def read_table() -> list[tuple[str, str]]:
    routes = []
    for name in TABLE_FILES:
        for line in (ROUTES_DIR / name).read_text().splitlines():
            if line.strip():
                method, pattern = line.split()
                routes.append((method, pattern))
    return routes


def matches_somehow(pattern: str, path: str) -> bool:
    """Does `pattern` take `path`, whatever the priorities? (to certify misses)"""
    regex = ""
    for segment in pattern[1:].split("/"):
        if segment.startswith("*"):
            regex += "/.*"
        elif ":" in segment:
            regex += "/" + re.escape(segment.split(":")[0]) + "[^/]+"
        else:
            regex += "/" + re.escape(segment)
    return re.fullmatch(regex, path) is not None


def lookup_sets(routes, rng: random.Random):
    def value() -> str:
        return rng.choice(ENCODED) if rng.random() < 0.02 else rng.choice(WORDS) + str(rng.randrange(50))

    def instantiate(pattern: str) -> str:
        out = []
        for segment in pattern[1:].split("/"):
            if segment.startswith("*"):
                out.append("/".join(value() for _ in range(rng.randrange(1, 4))))
            elif ":" in segment:
                out.append(segment.split(":")[0] + value())
            else:
                out.append(segment)
        return "/" + "/".join(out)

    def is_miss(path: str) -> bool:
        return not any(matches_somehow(pattern, path) for _, pattern in routes)

    def miss() -> str:
        while True:
            segments = instantiate(rng.choice(routes)[1])[1:].split("/")
            mutation = rng.randrange(4)
            if mutation == 0:  # a typo in a static segment (or anywhere)
                i = rng.randrange(len(segments))
                segments[i] = segments[i][:-1] + "x" if segments[i] else "x"
            elif mutation == 1:
                segments.append(rng.choice(WORDS))
            elif mutation == 2 and len(segments) > 1:
                segments.pop()
            else:
                segments[0] = rng.choice(["api", "v3", "graphql", "admin", "favicon.ico", "repo"])
            path = "/" + "/".join(segments)
            if is_miss(path):
                return path

    hits = [(method, instantiate(pattern)) for _ in range(8) for method, pattern in routes]
    rng.shuffle(hits)
    mixed = hits[:1800] + [("GET", miss()) for _ in range(200)]
    rng.shuffle(mixed)
    statics = [(m, p) for m, p in routes if ":" not in p and "*" not in p]
    static = [rng.choice(statics) for _ in range(2000)]
    misses = [(rng.choice(["GET", "GET", "POST", "DELETE"]), miss()) for _ in range(2000)]
    return {"mixed": mixed, "static": static, "misses": misses}


# ---------------------------------------------------------------------------------------------
# Each contender: build(routes) -> lookup(method, path); None when the package is missing.


def build_rt(routes):
    router = Router()
    for i, (method, pattern) in enumerate(routes):
        router.add(method, pattern, i, f"github:{i}")
    router.compile()
    return router.find


def build_rt_registration_only(routes):
    router = Router()
    for i, (method, pattern) in enumerate(routes):
        router.add(method, pattern, i, f"github:{i}")
    return router.find


def by_pattern(routes) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for method, pattern in routes:
        grouped.setdefault(pattern, []).append(method)
    return grouped


def convert(pattern: str, param: str, catch_all: str) -> str:
    """rt syntax -> a peer's: `param`/`catch_all` are format strings over {name}."""
    out = []
    for segment in pattern.split("/"):
        if segment.startswith("*"):
            out.append(catch_all.format(name=segment[1:]))
        elif ":" in segment:
            prefix, name = segment.split(":")
            out.append(prefix + param.format(name=name))
        else:
            out.append(segment)
    return "/".join(out)


def build_falcon(routes):
    from falcon.routing import CompiledRouter

    router = CompiledRouter()
    for i, (pattern, methods) in enumerate(by_pattern(routes).items()):
        resource = type(f"R{i}", (), {f"on_{m.lower()}": (lambda self, req, resp: None) for m in methods})()
        router.add_route(convert(pattern, "{{{name}}}", "{{{name}:path}}"), resource)
    find = router.find
    find("/")  # falcon compiles on the first find

    def lookup(method, path):
        found = find(path)
        if found is None:
            return None
        resource, method_map, params, template = found
        responder = method_map.get(method)
        return None if responder is None else (responder, params)
    return lookup


def build_sanic(routes):
    from sanic_routing import BaseRouter
    from sanic_routing.exceptions import NoMethod, NotFound

    class BenchRouter(BaseRouter):
        def get(self, path, method, extra=None):
            return self.resolve(path=path, method=method, extra=extra)

    router = BenchRouter()
    for i, (pattern, methods) in enumerate(by_pattern(routes).items()):
        router.add(convert(pattern, "<{name}>", "<{name}:path>"), lambda: None, methods=methods)
    router.finalize()
    get = router.get

    def lookup(method, path):
        try:
            return get(path, method)
        except (NotFound, NoMethod):
            return None
    return lookup


def build_werkzeug(routes):
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import Map, Rule

    rules = [Rule(convert(pattern, "<{name}>", "<path:{name}>"), endpoint=pattern, methods=methods)
             for pattern, methods in by_pattern(routes).items()]
    match = Map(rules).bind("localhost").match

    def lookup(method, path):
        try:
            return match(path, method=method)
        except (NotFound, MethodNotAllowed):
            return None
    return lookup


def build_starlette(routes):
    from starlette.routing import Match, Route

    async def endpoint(request):  # never called
        return None

    table = [Route(convert(pattern, "{{{name}}}", "{{{name}:path}}"), endpoint, methods=methods)
             for pattern, methods in by_pattern(routes).items()]
    FULL, PARTIAL = Match.FULL, Match.PARTIAL

    def lookup(method, path):
        # What starlette.routing.Router does per request, minus the ASGI call.
        scope = {"type": "http", "path": path, "root_path": "", "method": method}
        partial = None
        for route in table:
            result, child = route.matches(scope)
            if result is FULL:
                return route, child
            if result is PARTIAL and partial is None:
                partial = route
        return partial
    return lookup


XRTR_REFUSED: list[str] = []


def build_xrtr(routes):
    """xrtr refuses some of the table (a parameter named differently where another route has
    one); it gets the rest, and the refused routes are reported."""
    import xrtr

    tree = xrtr.RadixTree()
    XRTR_REFUSED.clear()
    for i, (method, pattern) in enumerate(routes):
        try:
            tree.insert(pattern, i, [method])
        except ValueError:
            XRTR_REFUSED.append(f"{method} {pattern}")
    get, missing = tree.get, tree.sentinel

    def lookup(method, path):
        handler, middlewares, params = get(path, method)
        return None if handler is None or handler is missing else (handler, params)
    return lookup


def build_dict(routes, every_lookup=()):
    table = {key: i for i, key in enumerate(every_lookup)}
    get = table.get
    return lambda method, path: get((method, path))


CONTENDERS = {
    "rt": build_rt,
    "falcon CompiledRouter": build_falcon,
    "sanic-routing": build_sanic,
    "werkzeug Map": build_werkzeug,
    "starlette Router": build_starlette,
    "xrtr": build_xrtr,
}


def rate(lookup, lookups, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for method, path in lookups:
            lookup(method, path)
        best = min(best, time.perf_counter() - start)
    return len(lookups) / best


def build_time(builder, routes, times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        builder(routes)
        best = min(best, time.perf_counter() - start)
    return best


def python_note() -> str:
    return f"CPython {sys.version.split()[0]} at {sys.executable}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="runs per figure; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rt-bench-cache-") as cache:
        os.environ["RT_CACHE_DIR"] = cache
        run(args)


def run(args) -> None:
    routes = read_table()
    sets = lookup_sets(routes, random.Random(20240611))
    mixed = sets["mixed"]
    distinct = len(set(mixed))
    hits_expected = sum(1 for m, p in mixed if build_rt(routes)(m, p)[0] is not None)
    print(python_note())
    print(f"table: {len(routes)} routes; mixed: {len(mixed)} lookups, {distinct} distinct paths, "
          f"{len(mixed) - hits_expected} misses; static: {len(sets['static'])}; misses: {len(sets['misses'])}")

    results: dict[str, dict[str, float]] = {}
    gc.disable()  # the same for everyone: no collector pauses inside a timed loop
    try:
        for name, builder in CONTENDERS.items():
            try:
                lookup = builder(routes)
            except ImportError as missing:
                print(f"  {name}: skipped, not installed ({missing})")
                continue
            except Exception as failed:  # a peer that cannot take the table is reported, not fatal
                print(f"  {name}: skipped, cannot build the GitHub table: {type(failed).__name__}: {failed}")
                continue
            found = sum(1 for m, p in mixed if _found(lookup(m, p)))
            row = {kind: rate(lookup, lookups, args.repeat) for kind, lookups in sets.items()}
            row["build_ms"] = build_time(builder, routes) * 1e3
            row["found"] = found
            results[name] = row
        dict_lookup = build_dict(routes, mixed + sets["static"] + sets["misses"])
        results["plain dict (baseline)"] = {kind: rate(dict_lookup, lookups, args.repeat)
                                            for kind, lookups in sets.items()}
        rt_registration_ms = build_time(build_rt_registration_only, routes) * 1e3
        cache_from = router_module.CACHE_FROM_ROUTES
        router_module.CACHE_FROM_ROUTES = len(routes) + 1  # no cached code: built from scratch
        try:
            rt_cold_ms = build_time(build_rt, routes) * 1e3
        finally:
            router_module.CACHE_FROM_ROUTES = cache_from
    finally:
        gc.enable()

    rt = results["rt"]
    print(f"\n{'router':24} {'mixed/s':>10} {'static/s':>10} {'misses/s':>10} {'build ms':>9} "
          f"{'found':>6}   rt/peer (mixed, static, misses)")
    for name, row in results.items():
        ratios = "" if name == "rt" else ", ".join(f"{rt[k] / row[k]:.2f}x" for k in ("mixed", "static", "misses"))
        build = f"{row['build_ms']:9.2f}" if "build_ms" in row else f"{'':9}"
        found = f"{row['found']:6d}" if "found" in row else f"{'':6}"
        print(f"{name:24} {row['mixed'] / 1e6:9.2f}M {row['static'] / 1e6:9.2f}M {row['misses'] / 1e6:9.2f}M "
              f"{build} {found}   {ratios}")
    print(f"\nrt build: registering the routes {rt_registration_ms:.2f} ms; registering and "
          f"compiling {rt_cold_ms:.2f} ms the first time (cold), {rt['build_ms']:.2f} ms once the "
          "compiled table is in rt's cache (every later start with the same table)")
    if XRTR_REFUSED:
        print(f"xrtr refused {len(XRTR_REFUSED)} of {len(routes)} routes (e.g. {XRTR_REFUSED[0]}) and ran without them")
    print(f"found = lookups of the mixed set that found a route (expected {hits_expected}); "
          "starlette tries routes in order, so it may pick a different one")


def _found(result) -> bool:
    """Did a lookup find a route for the method? (rt answers (None, status, allowed) when
    not; the peer adapters None)"""
    return result is not None and result[0] is not None


if __name__ == "__main__":
    main()
