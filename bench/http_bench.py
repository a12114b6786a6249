"""HTTP throughput and latency: rt native against its peers, side by side in one run.

    .venv/bin/python bench/http_bench.py [--rounds 3] [--duration 5] [--warmup 2]
                                         [--only rt,bare] [--routes /records] [--no-write]

Every server runs as one process pinned to core 0 (`taskset -c 0`), all of them started at
once and idle but for the one being measured; wrk runs pinned to core 1 with 64 connections
and one thread, `--latency`. Routes: /plaintext, /json, a parameter route /users/:id,
/plaintext again with the dozen headers a browser sends (what parsing headers costs), and
/records?n=20: a handler with a little real work (20 records `{"id": i, "name": "item-<i>",
"even": i % 2 == 0}` built and answered as JSON). After
a `--warmup` run of each route on each server, the measurement goes in `--rounds` rounds,
each taking every route on every server in turn for `--duration` seconds: the machine's
speed drifts over minutes (other processes, heat), and interleaving puts each ratio's two
sides seconds apart. The table gives each figure's median over the rounds, and the ratio to
the bare uvloop+httptools server as the median of the rounds' ratios with their range; the
figures go into bench/RESULTS.md "## HTTP" (only that section is rewritten), with ratios to
Node's `http` module too. Python peers come from the `bench` extra (`pip install -c
constraints.txt -e '.[bench]'`); Node (`node`, or Debian's `nodejs`) and nginx + Lua
(Debian's nginx, libnginx-mod-http-lua, lua-cjson) are installed from Debian when missing and
the script runs as root. A peer that is missing anyway is skipped, and the run says why. wrk
is installed the same way.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench" / "peers"
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
# What Firefox sends for a page, give or take (wrk adds Host).
BROWSER_HEADERS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Referer: http://127.0.0.1/index.html",
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; _ga=GA1.1.1234567890.1700000000",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Dest: document",
    "Sec-Fetch-Mode: navigate",
    "Sec-Fetch-Site: same-origin",
    "Sec-Fetch-User: ?1",
    "Priority: u=0, i",
)
# label -> (path, extra request headers)
ROUTES = {
    "/plaintext": ("/plaintext", ()),
    "/json": ("/json", ()),
    "/users/12345": ("/users/12345", ()),
    "/plaintext, browser headers": ("/plaintext", BROWSER_HEADERS),
    "/records?n=20": ("/records?n=20", ()),
}
CONNECTIONS = 64


def _uvicorn(app: str) -> callable:
    return lambda port: [PY, "-m", "uvicorn", "--app-dir", str(PEERS_DIR), app, "--port", str(port),
                         "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                         "--no-access-log", "--workers", "1"]


def _module(name: str) -> callable:
    """A peer that needs the Python module `name`: None when importable, else why not."""
    return lambda: None if find_spec(name) is not None else (
        f"{name} is not installed; pip install -c constraints.txt -e '.[bench]'")


def _apt_install(*packages: str) -> None:
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _node_binary() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def _node() -> str | None:
    if _node_binary() is None:
        _apt_install("nodejs")
    return None if _node_binary() else "neither node nor nodejs found (apt-get install nodejs)"


NGINX_LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
NGINX_PACKAGES = ("nginx", "libnginx-mod-http-lua", "lua-cjson")


def _nginx_lua() -> str | None:
    def missing() -> bool:
        return shutil.which("nginx") is None or not os.path.exists(NGINX_LUA_MODULE)
    if missing():
        _apt_install(*NGINX_PACKAGES)
    return f"nginx with its Lua module not found (apt-get install {' '.join(NGINX_PACKAGES)})" \
        if missing() else None


# name -> (None when the server can run, else the reason it cannot; command for a port)
SERVERS = {
    "rt native": (_module("rtserve"), lambda port: [PY, "-m", "rtserve.runtime.cli", "serve", "--native",
                                           str(PEERS_DIR / "rt_native.py"), "--port", str(port)]),
    "rt script inline": (_module("rtserve"), lambda port: [PY, "-m", "rtserve.runtime.cli", "serve",
                                                  str(PEERS_DIR / "rt_app.script"), "--port", str(port)]),
    "rt script --async": (_module("rtserve"), lambda port: [PY, "-m", "rtserve.runtime.cli", "serve", "--async",
                                                   str(PEERS_DIR / "rt_app.script"), "--port", str(port)]),
    "bare uvloop+httptools": (_module("httptools"), lambda port: [PY, str(PEERS_DIR / "bare.py"), str(port)]),
    "Node http": (_node, lambda port: [_node_binary(), str(PEERS_DIR / "node_http.js"), str(port)]),
    "nginx + Lua": (_nginx_lua, lambda port: [PY, str(PEERS_DIR / "nginx_lua.py"), str(port)]),
    "granian (ASGI)": (_module("granian"), lambda port: [
        PY, "-m", "granian", "--interface", "asgi", "--port", str(port), "--workers", "1",
        "--runtime-threads", "1", "--no-access-log", "--log-level", "warning",
        "--working-dir", str(PEERS_DIR), "asgi_raw:app"]),
    "uvicorn raw ASGI": (_module("uvicorn"), _uvicorn("asgi_raw:app")),
    "sanic": (_module("sanic"), lambda port: [PY, str(PEERS_DIR / "sanic_app.py"), str(port)]),
    "uvicorn+starlette": (_module("starlette"), _uvicorn("starlette_app:app")),
}
BASELINES = ("bare uvloop+httptools", "Node http", "uvicorn+starlette")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        _apt_install("wrk")
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench/http_bench.py needs wrk (apt-get install wrk)")
    return wrk


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(100).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def run_wrk(wrk: str, url: str, seconds: float, headers=()) -> dict:
    out = subprocess.run(["taskset", "-c", "1", wrk, "-t1", f"-c{CONNECTIONS}",
                          f"-d{max(1, round(seconds))}s", "--latency",
                          *(arg for header in headers for arg in ("-H", header)), url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if rps is None or "99" not in pct:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    return {"rps": float(rps.group(1)), "p50": _ms(pct["50"]), "p99": _ms(pct["99"]),
            "errors": (int(errors.group(1)) if errors else 0),
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def start_server(command, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(["taskset", "-c", "0", *command(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_ready(port, proc)
    except Exception:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summary(runs: list[dict]) -> dict:
    """One server's runs of one route -> medians of req/s, p50 and p99."""
    return {key: median([r[key] for r in runs]) for key in ("rps", "p50", "p99")}


def _ratio(all_runs: dict, name: str, base: str, route: str, key: str) -> str:
    """The median over the rounds of name's figure over base's, with the rounds' range."""
    mine, theirs = all_runs[name].get(route), all_runs.get(base, {}).get(route)
    if not mine or not theirs:
        return "-"
    ratios = [m[key] / t[key] for m, t in zip(mine, theirs)]
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}x"
    return f"{median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def table(all_runs: dict) -> str:
    lines = ["| server | route | req/s | p50 ms | p99 ms | vs bare: req/s | vs bare: p99 | "
             "vs Node http | vs uvicorn+starlette |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    bare, node, starlette = BASELINES
    for route in ROUTES:
        for name, runs in all_runs.items():
            if not runs.get(route):
                continue
            r = summary(runs[route])
            lines.append(f"| {name} | {route} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                         f"{_ratio(all_runs, name, bare, route, 'rps')} | "
                         f"{_ratio(all_runs, name, bare, route, 'p99')} | "
                         f"{_ratio(all_runs, name, node, route, 'rps')} | "
                         f"{_ratio(all_runs, name, starlette, route, 'rps')} |")
    return "\n".join(lines)


def write_results(text: str) -> None:
    """Replace the "## HTTP" section of RESULTS.md (up to the next "## "), keep the rest."""
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = "## HTTP\n\n" + text.rstrip() + "\n"
    match = re.search(r"^## HTTP\n.*?(?=^## |\Z)", current, re.S | re.M)
    if match:
        updated = current[:match.start()] + section + ("\n" if match.end() < len(current) else "") + current[match.end():]
    else:
        updated = current.rstrip() + "\n\n" + section
    RESULTS.write_text(updated)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every route on every server (default 3)")
    parser.add_argument("--duration", type=float, default=5,
                        help="seconds per route per round (default 5)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per route (default 2)")
    parser.add_argument("--only", default="", help="comma-separated name prefixes to run")
    parser.add_argument("--routes", default="", help="comma-separated route label prefixes to run")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args()
    wrk = ensure_wrk()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    if routes:
        for label in [label for label in ROUTES if not any(label.startswith(r) for r in routes)]:
            del ROUTES[label]
    print(f"wrk: {CONNECTIONS} connections, 1 thread, core 1; servers single-process on core 0; "
          f"{args.rounds} rounds of {args.duration:g} s per route after {args.warmup:g} s warm-up",
          flush=True)
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    all_results: dict[str, dict[str, list]] = {}
    try:
        for name, (check, command) in SERVERS.items():
            if wanted and not any(name.startswith(w) for w in wanted):
                continue
            reason = check()
            if reason is not None:
                print(f"  {name}: skipped ({reason})", flush=True)
                continue
            port = free_port()
            try:
                servers[name] = (start_server(command, port), port)
            except Exception as exc:  # one broken peer must not lose the others' figures
                print(f"  {name}: failed to start: {exc}")
                continue
            all_results[name] = {route: [] for route in ROUTES}
        for name, (_, port) in servers.items():
            for path, headers in ROUTES.values():
                if args.warmup:
                    run_wrk(wrk, f"http://127.0.0.1:{port}{path}", args.warmup, headers)
        for round_number in range(1, args.rounds + 1):
            for route, (path, headers) in ROUTES.items():
                for name, (_, port) in servers.items():
                    try:
                        r = run_wrk(wrk, f"http://127.0.0.1:{port}{path}", args.duration, headers)
                    except Exception as exc:
                        print(f"  {name}: {route} failed: {exc}")
                        continue
                    all_results[name][route].append(r)
                    print(f"  round {round_number}  {name:24} {route:28} {r['rps']:>10,.0f} req/s  "
                          f"p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
                          + (f"  non-2xx {r['errors']}" if r["errors"] else ""), flush=True)
    finally:
        for proc, _ in servers.values():
            stop_server(proc)
    text = table(all_results)
    print()
    print(text)
    if not args.no_write and all_results:
        stamp = time.strftime("%Y-%m-%d")
        write_results(
            f"Command: `.venv/bin/python bench/http_bench.py` ({stamp}; {os.cpu_count()} cores; each "
            f"server one process on core 0 via `taskset -c 0`, wrk on core 1, {CONNECTIONS} "
            f"connections; {args.rounds} rounds, each running every route on every server in "
            f"turn for {args.duration:g} s, after a {args.warmup:g} s warm-up; medians over the "
            f"rounds, ratios as the median of the rounds' ratios (their range in brackets); "
            f"load average at the end {os.getloadavg()[0]:.2f}).\n\n"
            + text + "\n\nIdle keep-alive connections' memory: `.venv/bin/python bench/idle_conns.py`.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
