"""Local HTTP servers for the http.fetch tests: keep-alive HTTP/1.1 on 127.0.0.1, counting
the TCP connections they accept, with routes for each behaviour under test."""
from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None, length: bool = True):
        self.send_response(status)
        for name, value in (headers or {}).items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path
        if path == "/hello":
            return self._send(200, b'{"ok": true, "n": 1}', {"Content-Type": "application/json",
                                                             "X-Twice": ["a", "b"]})
        if path == "/echo":
            echoed = {"method": self.command, "path": self.path, "body": body.decode("latin-1"),
                      "headers": {k.lower(): v for k, v in self.headers.items()}}
            return self._send(200, json.dumps(echoed).encode(), {"Content-Type": "application/json"})
        if path == "/slow":
            time.sleep(float(query.get("s", "2")))
            return self._send(200, b"late")
        if path == "/drip":  # headers at once, then a byte every 0.2 s for 5 s
            self.send_response(200)
            self.send_header("Content-Length", "25")
            self.end_headers()
            for _ in range(25):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
            return None
        if path == "/big":
            return self._send(200, b"x" * int(query["n"]))
        if path == "/big-unannounced":  # no Content-Length: read until close
            self.close_connection = True
            return self._send(200, b"y" * int(query["n"]), {"Connection": "close"}, length=False)
        if path == "/gzip":
            return self._send(200, gzip.compress(b"z" * int(query["n"])), {"Content-Encoding": "gzip"})
        if path == "/redirect":
            return self._send(int(query.get("code", "302")), b"", {"Location": query["to"]})
        if path == "/loop":
            return self._send(302, b"", {"Location": "/loop"})
        return self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _route


class FetchServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # clients hang up on purpose
        self.httpd.connections = 0
        self.httpd.lock = threading.Lock()
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def connections(self) -> int:
        return self.httpd.connections

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> "FetchServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
