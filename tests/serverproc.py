"""Test helpers: a real `rt serve` in a subprocess on a free port, and raw-socket HTTP I/O.

`ServerProcess` runs `python -m runtime.cli serve --port 0 ...` and learns the port from the
"listening on" log line, so parallel runs never race for a port; `wait_for_log` and
`log_entry` read what it logged. `read_response` parses one
HTTP/1.1 response from a buffered socket file (Content-Length, chunked, or until close), which
is what pipelining and protocol-edge tests need and http.client does not offer.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE_ROUTES = str(Path(__file__).resolve().parent / "native_routes.py")
_LISTENING = re.compile(rb"listening on http://[^:]+:(\d+)")


def die_with_parent() -> None:
    """In a child, before exec: SIGKILL it when the test process ends, however it ends (a
    killed pytest must not leave servers behind). Linux only; elsewhere nothing. The signal
    comes when the *thread* that started the child ends: start servers from the main one."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ServerProcess:
    def __init__(self, *args: str, native: str | None = NATIVE_ROUTES, cwd: str | None = None,
                 env: dict | None = None) -> None:
        self.args = list(args)
        self.native = native
        self.cwd = cwd or str(ROOT)
        self.env = dict(os.environ, **(env or {}))
        self.env["PYTHONPATH"] = str(ROOT) + os.pathsep + self.env.get("PYTHONPATH", "")
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._log = tempfile.NamedTemporaryFile(prefix="rt-serve-", suffix=".log", delete=False)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "rtserve.runtime.cli", "serve", "--port", "0"]
        if self.native:
            cmd += ["--native", self.native]
        return cmd + self.args

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        self.launch()
        return self.ready(timeout)

    def launch(self) -> None:
        """Start the process; `ready` waits until it listens. From the test's main thread:
        the parent-death signal (die_with_parent) follows the thread that started it."""
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def ready(self, timeout: float = 20.0) -> "ServerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log_bytes())
            if found:
                self.port = int(found.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log_bytes(self) -> bytes:
        return Path(self._log.name).read_bytes()

    def log(self) -> str:
        return self.log_bytes().decode("utf-8", "replace")

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def __enter__(self) -> "ServerProcess":
        return self if self.proc is not None else self.start()  # `with serve(...)`: started

    def __exit__(self, *exc) -> None:
        self.stop()
        try:
            os.unlink(self._log.name)
        except OSError:
            pass


class Reply:
    """One parsed response: status, lower-cased headers (repeats joined), raw head, body."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes,
                 version: str) -> None:
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = {}
        for name, value in headers:
            key = name.lower()
            self.headers[key] = self.headers[key] + ", " + value if key in self.headers else value
        self.body = body
        self.version = version

    def json(self):
        import json
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.headers} {self.body[:60]!r}>"


def read_response(rfile, head: bool = False) -> Reply:
    """Parse one response from `rfile` (sock.makefile('rb')). Raises EOFError when the server
    closed the connection before a status line."""
    line = rfile.readline(65537)
    if not line:
        raise EOFError("connection closed before a response")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    version, status = parts[0], parts[1]
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    while True:
        h = rfile.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name, value.strip()))
    reply = Reply(int(status), reason, headers, b"", version)
    code = int(status)
    if head or code in (204, 304) or 100 <= code < 200:
        return reply
    if reply.headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0], 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b""):
                    pass
                break
            chunks.append(rfile.read(size))
            rfile.readline()
        reply.body = b"".join(chunks)
    elif "content-length" in reply.headers:
        reply.body = rfile.read(int(reply.headers["content-length"]))
    else:
        reply.body = rfile.read()
    return reply


def call(server: ServerProcess, path: str, method: str = "GET", body=None, headers=None,
         timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of one request made with http.client on a fresh
    connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def exchange(server: ServerProcess, data: bytes, count: int = 1, head: bool = False) -> list[Reply]:
    """Send raw bytes on a new connection and read `count` responses."""
    with server.connect() as sock:
        sock.sendall(data)
        rfile = sock.makefile("rb")
        return [read_response(rfile, head) for _ in range(count)]


def closed_by_peer(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True when the server closes the connection (EOF or reset) within `timeout`; data that
    arrives first is read and discarded."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def recv_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    parts = []
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            parts.append(data)
    except (ConnectionResetError, socket.timeout):
        pass
    return b"".join(parts)


def wait_for_log(server: ServerProcess, *needles: str, timeout: float = 10.0) -> str:
    """The server log once it contains every needle (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        text = server.log()
        if all(n in text for n in needles):
            return text
        if time.monotonic() > deadline:
            missing = [n for n in needles if n not in text]
            raise AssertionError(f"log never showed {missing!r}:\n{text[-3000:]}")
        time.sleep(0.05)


_LOG_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d ")


def log_entry(log: str, request_id: str) -> str:
    """The log record (first line through its indented continuation) naming `request_id`."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if f"request_id={request_id}" in line:
            entry = [line]
            for more in lines[i + 1:]:
                if _LOG_RECORD_START.match(more):
                    break
                entry.append(more)
            return "\n".join(entry)
    raise AssertionError(f"no log entry for request_id={request_id}:\n{log[-3000:]}")
