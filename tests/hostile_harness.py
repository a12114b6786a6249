"""The hostile-tenant harness: serve a script, run one hostile request against it, and judge
whether the server kept its promise (DESIGN.md "Limits": whatever a script does, every other
request keeps being answered and the process stays within its memory budget).

Strategy. `HostileServer` is a real `rt serve` (tests/serverproc.py) with small budgets. For
each case, `run_case` starts a `Monitor` (a probe thread requesting `/ping` on a schedule of
one every 10 ms, and a sampler thread reading VmRSS every 5 ms), sends the hostile request on a
raw socket with a `/ping` pipelined behind it, and reads both answers with a strict parser
(`read_strict`). Probe latencies are measured from each probe's *scheduled* time, so a loop
that is blocked for a second counts as a hundred late probes, not one (no coordinated
omission). The sampler is also a watchdog: past a hard ceiling it kills the server, so a
hostile case that would grow the process by gigabytes fails fast instead of hurting the
machine. A case that hangs or kills the server is reported and the server restarted, so one
failure never hides the next. `Verdict.problems` lists every broken promise in words, which
is what a failing test prints.
"""
from __future__ import annotations

import math
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from serverproc import ServerProcess

HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"
DEADLINE = 2.0                 # --deadline the corpus is served with (seconds)
MAX_MEMORY = 64 * 1024 * 1024  # --max-memory (bytes)
MAX_STEPS = 1_000_000_000      # large: time-hogs are stopped by the deadline, not the budget
LATE = 0.5                     # a hostile request must end within DEADLINE + LATE
PROBE_EVERY = 0.010
PROBE_P99 = 0.100              # with --async, /ping's p99 while a hostile request runs
LOG_GROWTH = 256 * 1024        # log bytes one hostile request may add (print bound + its error)
HANG = DEADLINE + 4.0          # past this we stop waiting, call it a hang and restart
# The body every hostile request carries (format.script slices it): printf-style directives
# whose widths would build gigabytes if honoured.
HOSTILE_BODY = b"%2000000000d" + b"%.999999999f" + b"%1000000000s"

SERVE_ARGS = ("--deadline", str(DEADLINE), "--max-memory", str(MAX_MEMORY),
              "--max-steps", str(MAX_STEPS))

_PY_TRACEBACK = re.compile(rb'Traceback \(most recent call last\)|File "[^"]+\.py", line [0-9]+')
_ROUTE = re.compile(r'^any "(/h/[^"]+)"', re.M)


def hostile_routes(script: Path) -> list[str]:
    """The hostile routes a corpus script declares (`any "/h/..."`), in file order."""
    return _ROUTE.findall(script.read_text())


# --------------------------------------------------------------------------- strict reading

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([0-9]{3}) [\t\x20-\x7e]*\r\n")
_FIELD_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([\t\x20-\x7e]*?)[ \t]*\r\n")


class Unreadable(Exception):
    """The bytes are not one well-formed HTTP/1.1 response (the message says why)."""


class _Reader:
    """Reads off a socket into a bytearray, which grows and is consumed in place: a `bytes`
    buffer copied on each receive held this process's interpreter lock for seconds on a
    20 MB answer, so the probe thread beside it reported the server slow."""

    def __init__(self, sock: socket.socket, until: float) -> None:
        self.sock, self.until, self.buf = sock, until, bytearray()

    def _more(self) -> None:
        left = self.until - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        data = self.sock.recv(1 << 20)
        if not data:
            raise Unreadable(f"connection closed mid-response after {bytes(self.buf[:80])!r}")
        self.buf += data

    def line(self, limit: int = 65536) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise Unreadable("a head line longer than 64 KiB")
            self._more()
        i = self.buf.index(b"\n") + 1
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class _Incomplete(Exception):
    pass


class _Buffer(_Reader):
    """A reader over bytes already received: `_Incomplete` when they end too soon."""

    def __init__(self, data: bytes) -> None:
        self.buf = bytearray(data)

    def _more(self) -> None:
        raise _Incomplete


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ", ".join(values) if values else None


def read_strict(reader: _Reader, head_only: bool = False) -> Answer:
    """One response, refusing anything RFC 9112 and DESIGN.md "Server behaviour" do not allow:
    interim or out-of-range statuses, header names that are not tokens, values with control
    characters, no Date, no framing, two framings, a Content-Length that is not the body's."""
    line = reader.line()
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise Unreadable(f"bad status line {line!r}")
    status = int(match.group(1))
    if not 200 <= status <= 599:
        raise Unreadable(f"status {status} (a script may send 200-599 only)")
    headers = []
    while True:
        line = reader.line()
        if line == b"\r\n":
            break
        field_line = _FIELD_LINE.fullmatch(line)
        if field_line is None:
            raise Unreadable(f"malformed header line {line!r}")
        headers.append((field_line.group(1).decode().lower(), field_line.group(2).decode()))
    answer = Answer(status, headers, b"")
    lengths = [v for k, v in headers if k == "content-length"]
    chunked = [v for k, v in headers if k == "transfer-encoding"]
    if answer.header("date") is None:
        raise Unreadable("no Date header")
    if len(lengths) > 1 or lengths and chunked:
        raise Unreadable(f"conflicting framing: content-length {lengths}, transfer-encoding {chunked}")
    if head_only or status in (204, 304):
        return answer
    if chunked:
        if chunked != ["chunked"]:
            raise Unreadable(f"transfer-encoding {chunked}")
        parts = []
        while True:
            size_line = reader.line()
            if not re.fullmatch(rb"[0-9a-fA-F]+\r\n", size_line):
                raise Unreadable(f"bad chunk size line {size_line!r}")
            size = int(size_line, 16)
            if size == 0:
                if reader.line() != b"\r\n":
                    raise Unreadable("trailers after the last chunk")
                break
            parts.append(reader.exactly(size))
            if reader.exactly(2) != b"\r\n":
                raise Unreadable("a chunk not followed by CRLF")
        answer.body = b"".join(parts)
    elif lengths:
        if not lengths[0].isdigit():
            raise Unreadable(f"content-length {lengths[0]!r}")
        answer.body = reader.exactly(int(lengths[0]))
    else:
        raise Unreadable("neither Content-Length nor chunked")
    return answer


# --------------------------------------------------------------------------- the server


class HostileServer:
    """A real `rt serve SCRIPT` with the corpus's budgets; restarted when a case kills it."""

    def __init__(self, script: Path, async_mode: bool, extra: tuple[str, ...] = ()) -> None:
        self.script, self.async_mode = script, async_mode
        self.args = [str(script), *SERVE_ARGS, *extra] + (["--async"] if async_mode else [])
        self.proc: ServerProcess | None = None
        self.idle_kib = 0
        self.starts = 0

    def ensure(self) -> ServerProcess:
        if self.proc is not None and self.proc.proc.poll() is None:
            return self.proc
        self.stop()
        self.proc = ServerProcess(*self.args, native=None).start(timeout=60)
        self.starts += 1
        with self.proc.connect() as sock:  # warm up: the first request builds lazy state
            for _ in range(20):
                ping(sock, time.monotonic() + 20)
        time.sleep(0.2)
        self.idle_kib = self.proc.rss_kib()
        return self.proc

    def restart(self) -> None:
        if self.proc is not None and self.proc.proc.poll() is None:
            self.proc.proc.kill()
            self.proc.proc.wait()
        self.ensure()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.__exit__(None, None, None)
            self.proc = None


_PING = b"GET /ping HTTP/1.1\r\nHost: probe\r\n\r\n"


def ping(sock: socket.socket, until: float) -> Answer:
    sock.sendall(_PING)
    return read_strict(_Reader(sock, until))


# --------------------------------------------------------------------------- the monitor


class Monitor:
    """While a case runs: /ping on schedule (latency from the scheduled time) and VmRSS
    sampling, with a watchdog that kills the server past `kill_kib`."""

    def __init__(self, server: ServerProcess, kill_kib: int) -> None:
        self.server, self.kill_kib = server, kill_kib
        self.latencies: list[tuple[float, float]] = []   # (scheduled, latency)
        self.probe_errors: list[str] = []
        self.peak_kib = 0
        self.killed_at_kib = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._guarded, args=(self._probe,), daemon=True),
                         threading.Thread(target=self._guarded, args=(self._sample,), daemon=True)]

    def __enter__(self) -> "Monitor":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(HANG + 30)

    def _guarded(self, work) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - a broken monitor must fail the case, loudly
            self.probe_errors.append(f"the monitor itself failed: {exc!r}")

    def _probe(self) -> None:
        """Open loop: a /ping goes out every PROBE_EVERY whether or not the earlier ones
        were answered (on a free keep-alive connection, or a new one), as independent
        clients would send them; each one's latency counts from its scheduled time."""
        selector = selectors.DefaultSelector()
        free: list[socket.socket] = []
        inflight: dict[socket.socket, list] = {}   # sock -> [scheduled, received bytes]
        start = time.monotonic()
        k = 0
        try:
            while not self._stop.is_set() or (inflight and time.monotonic() - start < 60):
                now = time.monotonic()
                scheduled = start + k * PROBE_EVERY
                if now >= scheduled and not self._stop.is_set():
                    k += 1
                    sock = free.pop() if free else None
                    try:
                        if sock is None:
                            sock = self.server.connect(timeout=5)
                            sock.setblocking(False)
                            selector.register(sock, selectors.EVENT_READ)
                        sock.send(_PING)
                        inflight[sock] = [scheduled, b""]
                    except OSError as exc:
                        if self.server.proc.poll() is not None:
                            return
                        self.probe_errors.append(f"/ping could not be sent: {exc!r}")
                        self._drop(selector, sock, inflight, free)
                    continue
                for key, _ in selector.select(max(0.0, min(scheduled - now, 0.05))):
                    sock = key.fileobj
                    try:
                        data = sock.recv(65536)
                    except OSError as exc:
                        data, error = b"", exc
                    else:
                        error = "closed by the server"
                    if sock not in inflight:
                        self._drop(selector, sock, inflight, free)  # idle keep-alive closed
                        continue
                    if not data:
                        if self.server.proc.poll() is None:
                            self.probe_errors.append(f"/ping got no answer: {error}")
                        self._drop(selector, sock, inflight, free)
                        continue
                    entry = inflight[sock]
                    entry[1] += data
                    try:
                        answer = read_strict(_Buffer(entry[1]))
                    except _Incomplete:
                        continue
                    except Unreadable as exc:
                        self.probe_errors.append(f"/ping answer malformed: {exc}")
                        self._drop(selector, sock, inflight, free)
                        continue
                    self.latencies.append((entry[0], time.monotonic() - entry[0]))
                    del inflight[sock]
                    if (answer.status, answer.body) != (200, b"pong"):
                        self.probe_errors.append(f"/ping answered {answer.status} {answer.body[:60]!r}")
                    if answer.header("connection") == "close":
                        self._drop(selector, sock, inflight, free)
                    else:
                        free.append(sock)
            for scheduled, _ in inflight.values():
                self.probe_errors.append(f"a /ping sent {time.monotonic() - scheduled:.1f} s ago "
                                         "was never answered")
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()
            selector.close()

    @staticmethod
    def _drop(selector, sock, inflight, free) -> None:
        if sock is None:
            return
        inflight.pop(sock, None)
        if sock in free:
            free.remove(sock)
        try:
            selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                kib = self.server.rss_kib()
            except OSError:
                return
            self.peak_kib = max(self.peak_kib, kib)
            if kib > self.kill_kib and self.server.proc.poll() is None:
                self.killed_at_kib = kib
                self.server.proc.kill()
                return
            time.sleep(0.005)

    def answered_after(self, since: float, until: float) -> bool:
        """Wait until a probe scheduled after `since` has been answered (False at `until`)."""
        while time.monotonic() < until:
            if any(at >= since for at, _ in self.latencies[-50:]):
                return True
            if self.server.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def p99(self, since: float, until: float) -> tuple[float, int]:
        window = sorted(lat for at, lat in self.latencies if since <= at <= until)
        if not window:
            return 0.0, 0
        return window[max(0, math.ceil(0.99 * len(window)) - 1)], len(window)


# --------------------------------------------------------------------------- one case


@dataclass
class Verdict:
    path: str
    status: int | None = None
    elapsed: float = 0.0
    p99: float = 0.0
    probes: int = 0
    peak_over_idle_kib: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: status {self.status}, {self.elapsed:.2f} s, probe p99 "
                f"{self.p99 * 1000:.0f} ms over {self.probes}, RSS +{self.peak_over_idle_kib // 1024} MiB"
                + "".join(f"\n  - {p}" for p in self.problems))


def run_case(host: HostileServer, path: str, statuses=(500, 503), method: str = "POST",
             body: bytes = HOSTILE_BODY) -> Verdict:
    """Send one hostile request (with a /ping pipelined behind it) and judge the server."""
    server = host.ensure()
    verdict = Verdict(path)
    log_before = len(server.log_bytes())
    budget_kib = MAX_MEMORY // 1024
    limit_kib = host.idle_kib + 2 * budget_kib
    request = (f"{method} {path} HTTP/1.1\r\nHost: hostile\r\nContent-Length: {len(body)}\r\n"
               f"Content-Type: text/plain\r\n\r\n").encode() + body + _PING
    hung = False
    with Monitor(server, limit_kib + 128 * 1024) as monitor:
        time.sleep(0.03)  # a few probes before, as a baseline
        sock = server.connect(timeout=HANG)
        started = time.monotonic()
        try:
            sock.sendall(request)
            reader = _Reader(sock, started + HANG)
            try:
                answer = read_strict(reader)
                verdict.elapsed = time.monotonic() - started
                verdict.status = answer.status
                if answer.status not in statuses:
                    verdict.problems.append(f"answered {answer.status}, expected one of {statuses}: "
                                            f"{answer.body[:120]!r}")
                if b"Traceback" in answer.body or b'File "' in answer.body:
                    verdict.problems.append("a Python traceback reached the client")
                if answer.header("connection") != "close":
                    follow = read_strict(reader)
                    if (follow.status, follow.body) != (200, b"pong"):
                        verdict.problems.append(f"the /ping pipelined behind it got {follow.status} "
                                                f"{follow.body[:60]!r} (answers out of step)")
            except TimeoutError:
                verdict.elapsed = time.monotonic() - started
                hung = True
                verdict.problems.append(f"no answer within {HANG:.1f} s (hang)")
            except Unreadable as exc:
                verdict.elapsed = time.monotonic() - started
                verdict.problems.append(f"malformed answer: {exc}")
        except OSError as exc:
            verdict.elapsed = time.monotonic() - started
            verdict.problems.append(f"connection failed: {exc!r}")
        finally:
            sock.close()
        ended = time.monotonic()
        served_after = monitor.answered_after(ended, until=ended + HANG)
    if verdict.elapsed > DEADLINE + LATE and not hung:
        verdict.problems.append(f"ended after {verdict.elapsed:.2f} s (deadline {DEADLINE} + {LATE} s)")
    verdict.p99, verdict.probes = monitor.p99(started, ended)
    if host.async_mode and verdict.p99 > PROBE_P99:
        verdict.problems.append(f"/ping p99 {verdict.p99 * 1000:.0f} ms over {verdict.probes} "
                                f"probes while it ran (limit {PROBE_P99 * 1000:.0f} ms with --async)")
    if not served_after and server.proc.poll() is None:
        verdict.problems.append(f"no /ping sent after it ended was answered within {HANG:.1f} s")
    if monitor.probe_errors:
        verdict.problems.append(f"{len(monitor.probe_errors)} probes failed, first: {monitor.probe_errors[0]}")
    verdict.peak_over_idle_kib = monitor.peak_kib - host.idle_kib
    if monitor.killed_at_kib:
        verdict.problems.append(f"RSS reached {monitor.killed_at_kib // 1024} MiB (idle "
                                f"{host.idle_kib // 1024} MiB): killed by the watchdog")
    elif monitor.peak_kib > limit_kib:
        verdict.problems.append(f"RSS peaked at {monitor.peak_kib // 1024} MiB, over idle "
                                f"{host.idle_kib // 1024} MiB + 2 x {budget_kib // 1024} MiB")
    crashed = server.proc.poll() is not None
    log = server.log_bytes()[log_before:]
    if crashed and not monitor.killed_at_kib:
        verdict.problems.append(f"the server exited ({server.proc.returncode}); log tail: "
                                f"{log[-400:].decode('utf-8', 'replace')}")
    traceback = _PY_TRACEBACK.search(log)
    if traceback:
        verdict.problems.append("a Python traceback in the server log: "
                                + log[traceback.start():traceback.start() + 600].decode("utf-8", "replace"))
    if len(log) > LOG_GROWTH:
        verdict.problems.append(f"the log grew by {len(log) // 1024} KiB for one request "
                                f"(bound: 100 lines / 64 KiB of output, then one notice)")
    if hung or crashed:
        host.restart()
    return verdict
