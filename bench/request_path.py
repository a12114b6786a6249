"""One route's whole request path without sockets: time per request, and where it goes.

    .venv/bin/python -P bench/request_path.py [--route /records?n=20] [--requests 20000]
                                              [--profile] [--app script|native] [--admin]

Builds the app as `rt serve` does (the script bench/peers/rt_app.script, or the native
bench/peers/rt_native.py), makes one connection's protocol object with a recording
transport, and feeds it the same whole request `--requests` times: what the server runs per
request (parse, route, the script's invocation under its limits, the JSON answer, encoding)
minus the event loop and the socket calls. Prints ns per request (the best batch: on a
shared machine the minimum is the figure least disturbed by others; CPU time of this process,
so time spent descheduled is not counted) and,
with `--profile`, cProfile's top entries by own time (the profiler's overhead inflates small
functions: read it for where, the timing for how much). `--admin` serves as with
`--admin-port` set (every request counted for /metrics; no admin socket is opened here).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtserve.runtime.app import App  # noqa: E402
from rtserve.runtime.config import Settings  # noqa: E402
from rtserve.runtime.http.protocol import HttpProtocol, Shared  # noqa: E402

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")


class RecordingTransport:
    """Just enough of a transport: keeps the last write."""

    def __init__(self) -> None:
        self.last = b""
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.last = data
        self.writes += 1

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, *args, **kwargs) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def build(kind: str, admin: bool = False):
    settings = Settings(admin_port=9901) if admin else Settings()
    app = App(settings)
    if kind == "native":
        from rtserve.runtime.native import load_native
        load_native(os.path.join(PEERS, "rt_native.py"), app)
    else:
        from rtserve.runtime.scripts.load import mount_script
        mount_script(app, os.path.join(PEERS, "rt_app.script"), settings)
    loop = asyncio.new_event_loop()
    shared = Shared(app, settings, loop)
    protocol = HttpProtocol(shared)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport, loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", default="/records?n=20")
    parser.add_argument("--requests", type=int, default=2000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=25, help="the best batch counts")
    parser.add_argument("--app", choices=("script", "native"), default="script")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--admin", action="store_true", help="count requests for /metrics")
    args = parser.parse_args()
    protocol, transport, loop = build(args.app, args.admin)
    request = f"GET {args.route} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    feed = protocol.data_received
    feed(request)
    if not transport.last.startswith(b"HTTP/1.1 200"):
        print(transport.last.decode("utf-8", "replace"))
        return 1
    print(transport.last.split(b"\r\n\r\n", 1)[1][:120].decode(), "...")
    n = args.requests
    best = float("inf")
    for _ in range(args.batches):
        start = time.process_time()
        for _ in range(n):
            feed(request)
        best = min(best, time.process_time() - start)
    print(f"{args.app}{' (admin on)' if args.admin else ''} {args.route}: {best / n * 1e9:,.0f} ns per request (best of {args.batches} x {n:,})")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            feed(request)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
