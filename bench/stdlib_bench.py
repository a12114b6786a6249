"""Standard-library calls per second from a script handler, beside a native handler doing the
same work with the same libraries, so the cost of the script layer is known.

Routes (bench/stdlib/): `crypto.hmac` (HMAC-SHA256 of a 1 KiB webhook body), `re.test` (an
e-mail pattern), `jwt.verify` (an HS256 token) in work.script, served inline; `http.fetch`
(of an upstream rt's /plaintext over a pooled keep-alive connection) in fetch.script, which
imports http and so runs on the worker pool. The native twins are bench/stdlib/native.py.
Servers are pinned to core 0, the upstream (for fetch) shares it, wrk runs on core 1 with 64
connections; rounds are interleaved and medians reported.

    .venv/bin/python bench/stdlib_bench.py [--rounds 3] [--seconds 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import ensure_wrk, run_wrk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serverproc import ServerProcess  # noqa: E402

CASES = [("crypto.hmac", "work", "/hmac"), ("re.test", "work", "/re"),
         ("jwt.verify", "work", "/jwt"), ("http.fetch", "fetch", "/fetch")]


class Pinned(ServerProcess):
    def command(self):
        return ["taskset", "-c", "0", *super().command()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    wrk = ensure_wrk()
    native = str(ROOT / "bench" / "stdlib" / "native.py")
    with Pinned(native=str(ROOT / "tests" / "native_routes.py")) as upstream:
        base = f"http://127.0.0.1:{upstream.port}/plaintext"
        env = {"BENCH_UPSTREAM": base}
        with Pinned("bench/stdlib/work.script", native=native, env=env) as work, \
             Pinned("bench/stdlib/fetch.script", "--allow-fetch", f"127.0.0.1:{upstream.port}",
                    "--allow-env", "BENCH_UPSTREAM", native=native, env=env) as fetch:
            servers = {"work": work, "fetch": fetch}
            rates: dict = {}
            for _ in range(args.rounds):
                for name, server_name, path in CASES:
                    port = servers[server_name].port
                    for kind, url in (("script", f"http://127.0.0.1:{port}{path}"),
                                      ("native", f"http://127.0.0.1:{port}/native{path}")):
                        result = run_wrk(wrk, url, args.seconds)
                        if result["errors"]:
                            raise SystemExit(f"{url}: {result['errors']} non-2xx answers")
                        rates.setdefault((name, kind), []).append(result["rps"])
    print(f"| call | script req/s | native req/s | script / native |")
    print("|---|---:|---:|---:|")
    for name, _, _ in CASES:
        script = statistics.median(rates[(name, "script")])
        native_rate = statistics.median(rates[(name, "native")])
        print(f"| {name} | {script:,.0f} | {native_rate:,.0f} | {script / native_rate:.2f}x |")


if __name__ == "__main__":
    main()
