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
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

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
        if path == "/wide":  # ASCII and one character outside the BMP: a 4-byte-wide text
            return self._send(200, b"x" * int(query["n"]) + "\U0001F600".encode())
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


def self_signed_context(directory: str) -> "ssl.SSLContext":
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (which no
    client trusts: what a verifying client must refuse)."""
    import datetime
    import ipaddress
    import os
    import ssl
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class FetchServer:
    def __init__(self, host: str = "127.0.0.1", tls=None) -> None:
        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
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
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def __enter__(self) -> "FetchServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
