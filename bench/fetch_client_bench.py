"""Which client should `http.fetch` use? urllib3 on the worker thread against a minimal
keep-alive client on an asyncio (uvloop) event loop built on httptools' response parser.

A script handler runs on a worker thread, so the loop client is measured as a worker uses
it: the worker submits the request to the loop thread and waits for the answer (two thread
hops per fetch). Both fetch `/plaintext` from `rt serve --native tests/native_routes.py`
sequentially over one keep-alive connection; the figure is fetches per second, the median
of interleaved rounds.

    .venv/bin/python bench/fetch_client_bench.py [--rounds 5] [--count 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

import httptools
import urllib3
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serverproc import ServerProcess  # noqa: E402


class _Exchange(asyncio.Protocol):
    """One keep-alive connection; `request()` sends and resolves with (status, body)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.waiter = None
        self.body = []

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.parser.feed_data(data)

    def on_body(self, body):
        self.body.append(body)

    def on_message_complete(self):
        waiter, self.waiter = self.waiter, None
        waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def request(self, raw: bytes):
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter


class LoopClient:
    def __init__(self, port: int) -> None:
        self.loop = uvloop.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.raw = f"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        _, self.protocol = asyncio.run_coroutine_threadsafe(
            self.loop.create_connection(_Exchange, "127.0.0.1", port), self.loop).result()

    async def _fetch(self):
        return await self.protocol.request(self.raw)

    def fetch(self):
        return asyncio.run_coroutine_threadsafe(self._fetch(), self.loop).result(10)


def on_worker(fn, count: int) -> float:
    """Fetches per second of `count` calls of fn() on a fresh worker thread."""
    out = []

    def run():
        start = time.perf_counter()
        for _ in range(count):
            fn()
        out.append(count / (time.perf_counter() - start))
    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    with ServerProcess() as server:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", server.port, maxsize=1, retries=False)
        loop_client = LoopClient(server.port)
        clients = {
            "urllib3 on the worker": lambda: pool.urlopen("GET", "/plaintext", headers={"host": "x"}).data,
            "httptools on the loop, from the worker": loop_client.fetch,
        }
        results = {name: [] for name in clients}
        for name, fn in clients.items():  # warm-up
            on_worker(fn, 200)
        for _ in range(args.rounds):
            for name, fn in clients.items():
                results[name].append(on_worker(fn, args.count))
        print(f"| client | fetches/s (median of {args.rounds}) | per fetch |")
        print("|---|---:|---:|")
        for name, rates in results.items():
            median = statistics.median(rates)
            print(f"| {name} | {median:,.0f} | {1e6 / median:,.0f} µs |")


if __name__ == "__main__":
    main()
