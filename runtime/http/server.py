"""Running an App: the listening socket, the uvloop loop, the sweep, and graceful shutdown.

Strategy: `serve()` binds one socket and runs `run_server` on a fresh uvloop loop. The server
owns exactly one periodic task, the sweep: every tick it refreshes the shared clock and the
cached `Date` line and asks each connection to enforce its idle / head / body / write
timeouts, so no connection needs a timer of its own; it also reports (at most every 10 s) how
many connections were refused past `max_connections`. SIGTERM or SIGINT starts a graceful shutdown: the
listening socket is closed (new connections are refused), idle keep-alive connections are
closed, in-flight requests get up to `drain` seconds to finish (their responses say
`Connection: close`), the rest are aborted, the app's `on_stop` hooks run, and the process
exits 0. With `workers > 1` a supervisor process forks that many servers sharing the socket,
restarts one that dies, and forwards the shutdown signal to all; a worker whose supervisor
dies (killed outright) is sent the same signal, so none serves on alone.

With `admin_port` set, `serve()` also binds the admin socket (before forking: the workers
share it like the app's) and, with workers, makes the folder where each worker's admin
listener leaves the Unix socket its siblings read its numbers from (admin.py); each server
serves the admin port from its own loop once it serves the app, until its drain ended.

Connections are accepted only after every `on_start` hook has run. A hook that raises stops
the start: `StartFailed` (the hook's exception as its cause) leaves `run_server`, the app
reports the cause once, and the process exits 1 (with workers, the supervisor stops them all).
"""
from __future__ import annotations

import asyncio
import gc
import inspect
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from . import wire
from .admin import Admin
from .protocol import HttpProtocol, Shared

__all__ = ["serve", "run_server", "bind_socket", "configure_logging"]

log = logging.getLogger("rt")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": round(record.created, 3), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        for key in ("method", "target", "status", "request_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        for key, value in getattr(record, "fields", {}).items():  # structured fields (script log)
            entry[key if key not in entry else "field_" + key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str = "text") -> None:
    """Log to stderr in `text` or `json` lines, unless the embedding program configured
    logging itself (the root logger already has handlers)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def bind_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket (IPv6 when `host` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port and hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        exc.address = f"{host}:{port}"  # which listener failed (the app's or the admin's)
        raise
    sock.set_inheritable(True)
    return sock


def _sweep_interval(settings: Any) -> float:
    shortest = min(settings.keep_alive, settings.head_timeout, settings.body_timeout,
                   settings.body_deadline, settings.write_timeout)
    return max(0.05, min(0.5, shortest / 4))


# Seconds between two warnings about connections refused past --max-connections.
REFUSED_REPORT_EVERY = 10.0


async def _sweep(shared: Shared, interval: float) -> None:
    loop = shared.loop
    settings = shared.settings
    reported, report_due = 0, 0.0
    while True:
        await asyncio.sleep(interval)
        now = shared.now = loop.time()
        wire.refresh_date()
        for conn in list(shared.connections):
            try:
                conn.check_timeouts(now, settings)
            except Exception:  # one connection's fault must not end every connection's timeouts
                log.exception("timeout check failed; aborting that connection")
                conn.abort()
        if shared.refused != reported and now >= report_due:
            log.warning("refused %d connection(s) past --max-connections %d (%d since start)",
                        shared.refused - reported, settings.max_connections, shared.refused)
            reported, report_due = shared.refused, now + REFUSED_REPORT_EVERY


class StartFailed(Exception):
    """An `on_start` hook raised (its exception is `__cause__`): the server does not start.
    The app reports the cause once (`app.report_hook_failure`); the process exits 1."""


EXIT_START_FAILED = 3  # a forked worker's status when its start failed: the supervisor stops


async def _call_hook(hook: Callable[[], Any]) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


async def _run_stop_hooks(app: Any) -> None:
    """Every `on_stop` hook runs, even after one fails (each failure reported once)."""
    for hook in app.on_stop:
        try:
            await _call_hook(hook)
        except Exception as exc:
            app.report_hook_failure("on_stop", exc)


@dataclass
class AdminPlan:
    """Where one server process serves the admin port: the admin socket, and with workers
    the folder of the workers' Unix sockets and this worker's slot in it."""
    sock: socket.socket
    peers: str | None = None
    slot: int = 0


def bind_admin(settings: Any) -> socket.socket | None:
    """The admin listening socket, when `admin_port` asks for one."""
    if not getattr(settings, "admin_port", 0):
        return None
    return bind_socket(settings.admin_host, settings.admin_port)


async def run_server(app: Any, settings: Any, sock: socket.socket | None = None,
                     stop: asyncio.Event | None = None,
                     started: Callable[[tuple], None] | None = None,
                     admin: AdminPlan | None = None) -> int:
    """Serve `app` on the running loop until `stop` is set or SIGTERM/SIGINT arrives (signal
    handlers are installed only on the main thread); then shut down gracefully. Returns 0.
    With `admin_port` set, the admin port is served too (on `admin`'s socket when given)."""
    loop = asyncio.get_running_loop()
    app.router.compile()  # the route table becomes code now, not on the first request
    shared = Shared(app, settings, loop)
    wire.refresh_date()
    if sock is None:
        sock = bind_socket(settings.host, settings.port)
    stop = stop if stop is not None else asyncio.Event()
    # Accepting starts only once every `on_start` hook is done: no request sees a half start.
    server = await loop.create_server(lambda: HttpProtocol(shared), sock=sock,
                                      backlog=settings.backlog, start_serving=False)
    signals = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
            signals.append(signum)
    sweeper = loop.create_task(_sweep(shared, _sweep_interval(settings)))
    if admin is None and getattr(settings, "admin_port", 0):
        admin = AdminPlan(bind_admin(settings))
    admin_server = None
    try:
        try:
            for hook in app.on_start:
                await _call_hook(hook)
        except Exception as exc:
            server.close()  # nothing was accepted yet: no connection to drain
            raise StartFailed() from exc
        await server.start_serving()
        address = sock.getsockname()
        log.info("listening on http://%s:%d (pid %d)", *address[:2], os.getpid())
        if admin is not None:
            admin_server = Admin(shared, admin.sock, admin.peers, admin.slot)
            admin_address = await admin_server.start()
            log.info("admin port on http://%s:%d (/health, /ready, /metrics)", *admin_address[:2])
        if started is not None:
            started(address)
        await stop.wait()
        log.info("shutting down: draining for up to %gs", settings.drain)
        await _drain(shared, server, settings.drain)
    finally:
        sweeper.cancel()
        if admin_server is not None:
            admin_server.close()
        for signum in signals:
            loop.remove_signal_handler(signum)
    await _run_stop_hooks(app)
    log.info("stopped")
    return 0


async def _drain(shared: Shared, server: Any, drain: float) -> None:
    loop = shared.loop
    shared.closing = True
    server.close()  # closes the listening socket: new connections are refused from here on
    for conn in list(shared.connections):
        conn.shutdown()
    deadline = loop.time() + drain
    while (shared.connections or shared.tasks) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for conn in list(shared.connections):
        conn.abort()
    for task in list(shared.tasks):
        task.cancel()
    await asyncio.sleep(0)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep embedding working
        return asyncio.new_event_loop()


# Allocations between two young-generation collections (CPython's default is 700).
COLLECT_EVERY = 50_000


def settle_collector() -> None:
    """Tune the cyclic garbage collector for serving, once the app is loaded. What is loaded
    by now (modules, compiled scripts, the route table) lives as long as the process: frozen,
    no collection rescans it (and forked workers do not copy it by touching it). What a
    request leaves behind is nearly all freed by reference counting as it ends (values form
    cycles only through closures and errors), so young collections can be 70 times rarer:
    at CPython's default, a request that builds a 100,000-node value set off full
    collections that held the interpreter lock for tens of milliseconds while other
    requests waited (the deep class of tests/hostile/, measured in docs/hostile.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(COLLECT_EVERY, *gc.get_threshold()[1:])


# Blocks at least this large are mapped on their own and given back when freed (glibc's
# default start, 128 KiB); see settle_allocator.
MMAP_AT = 128 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def settle_allocator() -> None:
    """Memory a request frees goes back to the system. glibc raises its mmap threshold each
    time a large mapped block is freed (up to 32 MiB), so after one request drops a 16 MB
    value, later large blocks come from the heap, whose freed holes are kept: with the
    default, three identical requests growing a 2M-item list left the server 17, 49 and 81
    MiB larger (tests/test_server_memory.py). Fixing the threshold (which also fixes the trim
    threshold) keeps every large block mapped and returned when freed. Without glibc,
    nothing to do."""
    try:
        import ctypes
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_AT)
    except (OSError, AttributeError):
        pass


def serve(app: Any, settings: Any) -> int:
    """Bind, serve until a shutdown signal, drain; returns the exit status (0)."""
    configure_logging(settings.log_format)
    settle_collector()
    settle_allocator()
    sock = bind_socket(settings.host, settings.port, reuse_port=settings.workers > 1)
    admin_sock = bind_admin(settings)
    if settings.workers > 1:
        peers = tempfile.mkdtemp(prefix="rt-admin-") if admin_sock is not None else None
        try:
            return _supervise(app, settings, sock, admin_sock, peers)
        finally:
            if peers is not None:
                shutil.rmtree(peers, ignore_errors=True)
    return _serve_on(app, settings, sock, None if admin_sock is None else AdminPlan(admin_sock))


def _serve_on(app: Any, settings: Any, sock: socket.socket, admin: AdminPlan | None) -> int:
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_server(app, settings, sock, admin=admin))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


_PR_SET_PDEATHSIG = 1  # prctl(2)


def _drain_when_orphaned(supervisor: int) -> None:
    """In a worker: be sent SIGTERM (drain, then exit) when the supervisor dies, however it
    dies (SIGKILL, the OOM killer), instead of serving on alone, unsupervised, holding the
    port. Linux's parent-death signal; elsewhere nothing."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor:  # it died before the signal was set
        os.kill(os.getpid(), signal.SIGTERM)


def _supervise(app: Any, settings: Any, sock: socket.socket,
               admin_sock: socket.socket | None = None, peers: str | None = None) -> int:
    """Fork `settings.workers` servers on the shared socket; restart any that dies; forward
    SIGTERM/SIGINT and wait for all to drain."""
    children: dict[int, int] = {}
    stopping = failed = False
    import multiprocessing  # only a supervisor needs it
    # Set by the first worker whose start fails, under its lock: one report, not N, and no
    # worker exits (which makes the supervisor stop the rest) before that report is out.
    reported = multiprocessing.Value("b", 0)

    supervisor = os.getpid()

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _drain_when_orphaned(supervisor)
            code = 1
            try:
                plan = None if admin_sock is None else AdminPlan(admin_sock, peers, slot)
                code = _serve_on(app, settings, sock, plan)
            except StartFailed as exc:
                with reported.get_lock():
                    if not reported.value:
                        app.report_hook_failure("on_start", exc.__cause__)
                        reported.value = 1
                code = EXIT_START_FAILED
            except BaseException:
                log.exception("worker %d failed", slot)
            finally:
                os._exit(code)
        children[pid] = slot

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(settings.workers):
        spawn(slot)
    last_restart = 0.0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is None or stopping:
            continue
        if os.waitstatus_to_exitcode(status) == EXIT_START_FAILED:
            stop(signal.SIGTERM, None)  # the start failed: no worker can serve
            failed = True
            continue
        log.warning("worker %d (pid %d) exited with status %d; restarting", slot, pid,
                    os.waitstatus_to_exitcode(status))
        if time.monotonic() - last_restart < 1.0:
            time.sleep(1.0)  # a worker crashing at once must not become a fork loop
        last_restart = time.monotonic()
        spawn(slot)
    sock.close()
    if admin_sock is not None:
        admin_sock.close()
    return 1 if failed else 0
