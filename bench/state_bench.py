"""kv.get, kv.incr and db.one per second through HTTP, rt against uvicorn+starlette doing the
same with the same drivers, on SQLite and on Redis + PostgreSQL.

    .venv/bin/python bench/state_bench.py [--rounds 3] [--duration 5] [--warmup 2] [--no-write]

rt serves bench/peers/rt_state.script (SQLite: inline, the default, and with --async; Redis + PostgreSQL: on
the bridge, as rt does for network backends); the peer is bench/peers/starlette_state.py
(async redis and psycopg, and sqlite3 on starlette's thread pool). Redis and PostgreSQL are
started as the tests start them (tests/backends.py), unpinned; each HTTP server is one
process on core 0 and wrk runs on core 1 (bench/http_bench.py's helpers: `taskset`, 64
connections, interleaved rounds, medians). The table goes into bench/RESULTS.md "## State".
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import http_bench as hb  # noqa: E402
from backends import PostgresServer, RedisServer  # noqa: E402

ROUTES = ["/kv/get", "/kv/incr", "/db/one"]
SCRIPT = str(ROOT / "bench" / "peers" / "rt_state.script")


def rt(flags: list[str]):
    return lambda port: [hb.PY, "-m", "rtserve.runtime.cli", "serve", SCRIPT, "--port", str(port), *flags]


def starlette():
    return lambda port: [hb.PY, "-m", "uvicorn", "--app-dir", str(hb.PEERS_DIR), "starlette_state:app",
                         "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                         "--log-level", "warning", "--no-access-log", "--workers", "1"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    wrk = hb.ensure_wrk()
    work = tempfile.mkdtemp(prefix="rt-state-bench-")
    # the benchmark measures the servers, not the disk: Redis without an fsync per write
    redis, postgres = RedisServer(appendfsync="no"), PostgresServer()
    redis.start()
    postgres.start()
    pg_rt, pg_peer = postgres.fresh_database(), postgres.fresh_database()
    setups = {
        "SQLite": {
            "rt": rt(["--data-dir", os.path.join(work, "rt")]),
            "rt --async": rt(["--data-dir", os.path.join(work, "rt-async"), "--async"]),
            "uvicorn+starlette": starlette(),
            "env": {"RT_BENCH_KV": "sqlite:" + os.path.join(work, "peer-kv.sqlite3"),
                    "RT_BENCH_DB": "sqlite:" + os.path.join(work, "peer-db.sqlite3")},
        },
        "Redis + PostgreSQL": {
            "rt": rt(["--kv", redis.url.replace("/0", "/1"), "--db", pg_rt, "--data-dir", work]),
            "uvicorn+starlette": starlette(),
            "env": {"RT_BENCH_KV": redis.url.replace("/0", "/2"), "RT_BENCH_DB": pg_peer},
        },
    }
    results: dict = {}
    procs = []
    try:
        for backend, setup in setups.items():
            os.environ.update(setup["env"])
            for name in servers(setup):
                port = hb.free_port()
                procs.append(hb.start_server(setup[name], port))
                setup[name + ":port"] = port
        for backend, setup in setups.items():
            for name in servers(setup):
                for route in ROUTES:
                    hb.run_wrk(wrk, f"http://127.0.0.1:{setup[name + ':port']}{route}", args.warmup)
        for r in range(args.rounds):
            for backend, setup in setups.items():
                for route in ROUTES:
                    for name in servers(setup):
                        out = hb.run_wrk(wrk, f"http://127.0.0.1:{setup[name + ':port']}{route}",
                                         args.duration)
                        results.setdefault((backend, route, name), []).append(out)
                        print(f"round {r + 1} {backend:20} {route:9} {name:18} {out['rps']:9.0f}/s "
                              f"p99 {out['p99']:.1f} ms errors {out['errors']}", flush=True)
    finally:
        for proc in procs:
            hb.stop_server(proc)
        redis.close()
        postgres.close()
    text = table(results, args)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


def servers(setup: dict) -> list[str]:
    return [name for name in setup if name.startswith(("rt", "uvicorn")) and ":" not in name]


def table(results: dict, args) -> str:
    lines = [f"`bench/state_bench.py`, {args.rounds} interleaved rounds of {args.duration:g} s; each "
             "HTTP server one process on core 0, wrk on core 1 with 64 connections; Redis and "
             "PostgreSQL unpinned on the same 2-core machine. Requests/second, medians; the ratio "
             "is the median of the rounds' rt/peer ratios (range).", "",
             "| backend | route | rt | uvicorn+starlette | rt / peer |", "|---|---|---|---|---|"]
    for (backend, route, name), runs in results.items():
        if not name.startswith("rt"):
            continue
        peer = results[(backend, route, "uvicorn+starlette")]
        ratios = sorted(a["rps"] / b["rps"] for a, b in zip(runs, peer))
        errors = sum(r["errors"] for r in runs + peer)
        lines.append(f"| {backend} | `{route}` | {name}: {hb.median([r['rps'] for r in runs]):,.0f} | "
                     f"{hb.median([r['rps'] for r in peer]):,.0f} | {hb.median(ratios):.2f}x "
                     f"({ratios[0]:.2f}-{ratios[-1]:.2f})" + (f", {errors} errors" if errors else "") + " |")
    return "\n".join(lines)


def write_results(text: str) -> None:
    current = hb.RESULTS.read_text() if hb.RESULTS.exists() else "# Benchmark results\n"
    section = "## State\n\n" + text.rstrip() + "\n"
    match = re.search(r"^## State\n.*?(?=^## |\Z)", current, re.S | re.M)
    if match:
        updated = current[:match.start()] + section + ("\n" if match.end() < len(current) else "") + current[match.end():]
    else:
        updated = current.rstrip() + "\n\n" + section
    hb.RESULTS.write_text(updated)


if __name__ == "__main__":
    sys.exit(main())
