"""The admin listener (`--admin-port`): /health, /ready, /metrics and a small page for people.

Strategy: a second listening socket served on the server's own event loop by a tiny handler
of its own (asyncio streams: read one request head, answer, close), so nothing of the app
(its middleware, its router, its script layers) is reachable on it, and none of its paths on
the app's port. It reads what the server already keeps (`Shared`: connections, the draining
flag) and the App's `Metrics` and readiness checks, both plain Python objects: the HTTP core
still knows nothing of scripts.

- /health: 200 `ok` while serving; 503 `draining` once a graceful shutdown began.
- /ready: each readiness check (a callable `check(seconds)` that raises when its backend is
  down, registered by the scripting layer for the kv and db backends a script imports) runs
  on a small thread pool, never on the loop, all at once, each bounded by READY_TIMEOUT; 200
  when every one answered, else 503 with JSON naming each backend that did not and why.
- /metrics: Prometheus text (exposition.py). With `--workers N` each worker also listens on
  a Unix socket of its own in a folder the supervisor made before forking (`peers`), where it
  answers with its snapshot as JSON; whichever worker accepted the scrape (they share the
  admin socket like the app's) sums its own snapshot and its siblings' (metrics.merge).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import html
import json
import logging
import os
from typing import Any, Callable

from .exposition import CONTENT_TYPE, render
from .metrics import merge

__all__ = ["Admin", "READY_TIMEOUT"]

log = logging.getLogger("rt")

READY_TIMEOUT = 1.0  # seconds one backend has to answer its /ready ping
PING_THREADS = 4  # threads the pings run on (a ping stuck past READY_TIMEOUT holds one)
PEER_TIMEOUT = 1.0  # seconds a sibling worker has to hand over its snapshot
HEAD_TIMEOUT = 10.0  # seconds an admin client has to send its request head
MAX_HEAD = 8 * 1024
MAX_CLIENTS = 64  # admin connections open at once; more are closed at once
LINGER = 1.0  # seconds an answered connection goes on reading (and dropping) what still comes

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 431: "Request Header Fields Too Large",
            503: "Service Unavailable"}
_JSON = "application/json"
NOT_FOUND = "not found: the admin port serves /health, /ready, /metrics and /\n"
_TEXT = "text/plain; charset=utf-8"


class Admin:
    """The admin listener of one server process."""

    def __init__(self, shared: Any, sock: Any, peers: str | None = None, slot: int = 0) -> None:
        self.shared = shared
        self.metrics = shared.app.metrics
        self.app = shared.app
        self.sock = sock
        self.peers = peers
        self.slot = slot
        self.own_path = os.path.join(peers, f"{slot}.sock") if peers else None
        self._servers: list = []
        self._clients: set = set()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._routes = {b"/health": self._health, b"/ready": self._ready,
                        b"/metrics": self._metrics, b"/": self._page}

    async def start(self) -> tuple:
        """Start accepting; the admin address."""
        self._servers.append(await asyncio.start_server(self._client, sock=self.sock,
                                                        limit=MAX_HEAD))
        if self.own_path is not None:
            if os.path.exists(self.own_path):  # left by this slot's worker that died
                os.unlink(self.own_path)
            self._servers.append(await asyncio.start_unix_server(self._peer, path=self.own_path))
        address = self.sock.getsockname()
        return address

    def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._clients):
            task.cancel()
        if self.own_path is not None:
            try:
                os.unlink(self.own_path)
            except OSError:
                pass
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- one admin request ---------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._clients) >= MAX_CLIENTS:
            writer.transport.abort()
            return
        self._clients.add(task)
        try:
            status, content_type, body, extra, head_only = await self._answer(reader)
            data = body.encode("utf-8")
            head = (f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
                    f"Cache-Control: no-store\r\n{extra}Connection: close\r\n\r\n")
            writer.write(head.encode("latin-1") + (b"" if head_only else data))
            await asyncio.wait_for(writer.drain(), HEAD_TIMEOUT)
            await self._linger(reader, writer)
        except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        except Exception:  # a bug here must not become a traceback to the client
            log.exception("the admin port failed to answer")
        finally:
            self._clients.discard(task)
            writer.close()

    @staticmethod
    async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send FIN, then read and drop what the client still sends (the rest of a refused
        head, a body) until it closes, for at most LINGER seconds and MAX_HEAD * 8 bytes:
        closing with unread input would make the kernel reset the answer away."""
        if not writer.can_write_eof():
            return
        writer.write_eof()
        loop = asyncio.get_running_loop()
        until, left = loop.time() + LINGER, MAX_HEAD * 8
        while left > 0 and loop.time() < until:
            chunk = await asyncio.wait_for(reader.read(left), until - loop.time())
            if not chunk:
                return
            left -= len(chunk)

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, str, str, bool]:
        """(status, content type, body, extra header lines, whether to send the head only)."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except asyncio.LimitOverrunError:
            return 431, _TEXT, "request head too large\n", "", False
        except asyncio.TimeoutError:
            return 408, _TEXT, "request head timeout\n", "", False
        except asyncio.IncompleteReadError:
            return 400, _TEXT, "malformed request\n", "", False
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or not parts[1].startswith(b"/"):
            return 400, _TEXT, "malformed request\n", "", False
        method, path = parts[0], parts[1].split(b"?", 1)[0]
        route = self._routes.get(path)
        if route is None:
            return 404, _TEXT, NOT_FOUND, "", False
        if method not in (b"GET", b"HEAD"):
            return 405, _TEXT, "method not allowed\n", "Allow: GET, HEAD\r\n", False
        status, content_type, body = await route()
        return status, content_type, body, "", method == b"HEAD"

    # -- the endpoints -------------------------------------------------------------------------

    async def _health(self) -> tuple[int, str, str]:
        if self.shared.closing:
            return 503, _TEXT, "draining\n"
        return 200, _TEXT, "ok\n"

    async def _ready(self) -> tuple[int, str, str]:
        if self.shared.closing:
            return 503, _JSON, json.dumps({"status": "draining"}) + "\n"
        down = await self.check_backends()
        if down:
            return 503, _JSON, json.dumps({"status": "unavailable", "down": down}) + "\n"
        return 200, _JSON, json.dumps({"status": "ready",
                                       "checked": [name for name, _ in self.checks]}) + "\n"

    @property
    def checks(self) -> list[tuple[str, Callable[[float], Any]]]:
        """The app's readiness checks as they are now (a reload may have changed them)."""
        return list(getattr(self.app, "ready_checks", ()))

    async def check_backends(self) -> dict[str, str]:
        """{backend name: why it is down} for every check that failed or was too slow."""
        checks = self.checks
        if not checks:
            return {}
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=PING_THREADS, thread_name_prefix="rt-ready")
        loop = asyncio.get_running_loop()
        names = [name for name, _ in checks]
        pings = [asyncio.wait_for(loop.run_in_executor(self._pool, check, READY_TIMEOUT),
                                  READY_TIMEOUT)
                 for _, check in checks]
        outcomes = await asyncio.gather(*pings, return_exceptions=True)
        down = {}
        for name, outcome in zip(names, outcomes):
            if isinstance(outcome, asyncio.TimeoutError):
                down[name] = f"no answer within {READY_TIMEOUT:g}s"
            elif isinstance(outcome, BaseException):
                down[name] = str(outcome) or type(outcome).__name__
        return down

    async def _metrics(self) -> tuple[int, str, str]:
        return 200, CONTENT_TYPE, render(await self.gathered())

    async def _page(self) -> tuple[int, str, str]:
        snap = await self.gathered()
        total = sum(row[3] for row in snap["requests"])
        state = "draining" if self.shared.closing else "serving"
        rows = "".join(f"<tr><td>{html.escape(r)}</td><td>{html.escape(m)}</td><td>{s}</td>"
                       f"<td>{n}</td></tr>" for r, m, s, n in sorted(snap["requests"]))
        page = (f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
                f"<title>rt admin</title><h1>rt: {state}</h1>"
                f"<p>workers {snap['workers']} &middot; requests {total} &middot; in flight "
                f"{snap['in_flight']} &middot; open connections {snap['connections']}</p>"
                f"<table><tr><th>route<th>method<th>status<th>requests</tr>{rows}</table>"
                f"<p><a href=/metrics>/metrics</a> <a href=/ready>/ready</a> "
                f"<a href=/health>/health</a></p>\n")
        return 200, "text/html; charset=utf-8", page

    # -- workers -------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        shared = self.shared
        snap = self.metrics.snapshot(len(shared.connections), shared.refused, shared.rejected)
        snap["per_worker"] = {str(self.slot): sum(row[3] for row in snap["requests"])}
        return snap

    async def gathered(self) -> dict:
        """This process's snapshot, summed with its sibling workers' when there are any."""
        own = self.snapshot()
        if self.peers is None:
            return own
        paths = [p for p in glob.glob(os.path.join(glob.escape(self.peers), "*.sock"))
                 if p != self.own_path]
        others = await asyncio.gather(*(self._fetch(p) for p in paths))
        return merge([own] + [snap for snap in others if snap is not None])

    async def _fetch(self, path: str) -> dict | None:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path),
                                                    PEER_TIMEOUT)
            return json.loads(await asyncio.wait_for(reader.read(), PEER_TIMEOUT))
        except (OSError, asyncio.TimeoutError, ValueError):
            return None  # a worker that died (its slot restarts) or is stuck: left out
        finally:
            if writer is not None:
                writer.close()

    async def _peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(json.dumps(self.snapshot()).encode())
            await asyncio.wait_for(writer.drain(), PEER_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()
