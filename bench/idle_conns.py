"""Memory per idle keep-alive connection: 5,000 connections that each made one request.

    .venv/bin/python bench/idle_conns.py [--connections 5000] [--no-write]

For each server (rt native, the bare uvloop+httptools server, uvicorn raw ASGI when
installed): start it with a long keep-alive timeout, make one request and let RSS settle,
then open N connections, send one request on each and read its response, so every
connection is an idle keep-alive one; the server's RSS growth divided by N is the cost of
one idle connection. Target for rt: at most 3 KiB. The figures are appended to the
"## HTTP" section of bench/RESULTS.md (the "Idle connections" paragraph is replaced).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"

SERVERS = {
    "rt native": ("runtime", lambda port: [PY, "-m", "rtserve.runtime.cli", "serve", "--native",
                                           str(PEERS / "rt_native.py"), "--port", str(port),
                                           "--keep-alive", "600"]),
    "bare uvloop+httptools": ("httptools", lambda port: [PY, str(PEERS / "bare.py"), str(port)]),
    "uvicorn raw ASGI": ("uvicorn", lambda port: [
        PY, "-m", "uvicorn", "--app-dir", str(PEERS), "asgi_raw:app", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
        "--timeout-keep-alive", "600", "--limit-concurrency", "100000"]),
}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_request(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(REQUEST)
    data = b""
    while b"Hello, World!" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return sock


def measure(name: str, command, connections: int) -> float:
    port = free_port()
    proc = subprocess.Popen(command(port), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    socks = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                one_request(port).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{name} did not start")
                time.sleep(0.1)
        for _ in range(200):  # warm every code path once before the baseline
            one_request(port).close()
        time.sleep(1.0)
        before = rss_kib(proc.pid)
        for _ in range(connections):
            socks.append(one_request(port))
        time.sleep(2.0)
        after = rss_kib(proc.pid)
        per_conn = (after - before) / connections
        print(f"  {name:24} RSS {before:,} KiB -> {after:,} KiB with {connections:,} idle "
              f"connections: {per_conn:.2f} KiB each", flush=True)
        return per_conn
    finally:
        for sock in socks:
            sock.close()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def write_results(lines: list[str]) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n## HTTP\n"
    paragraph = "### Idle connections\n\n" + "\n".join(lines) + "\n"
    section = re.search(r"^## HTTP\n.*?(?=^## |\Z)", text, re.S | re.M)
    if section is None:
        text = text.rstrip() + "\n\n## HTTP\n\n" + paragraph
    else:
        body = section.group(0)
        body = re.sub(r"^### Idle connections\n.*?(?=^##|\Z)", "", body, flags=re.S | re.M)
        body = body.rstrip() + "\n\n" + paragraph
        end = section.end()
        text = text[:section.start()] + body + ("\n" if end < len(text) else "") + text[end:]
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.connections + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    lines = [f"Command: `.venv/bin/python bench/idle_conns.py` ({time.strftime('%Y-%m-%d')}): "
             f"server RSS growth per idle keep-alive connection, {args.connections:,} "
             f"connections that made one request each.", "",
             "| server | KiB per idle connection |", "|---|---:|"]
    for name, (module, command) in SERVERS.items():
        if find_spec(module) is None:
            print(f"  {name}: skipped ({module} not installed)")
            continue
        try:
            lines.append(f"| {name} | {measure(name, command, args.connections):.2f} |")
        except Exception as exc:
            print(f"  {name}: failed: {exc}")
    print("\n".join(lines))
    if not args.no_write:
        write_results(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
