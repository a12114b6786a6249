"""The HTTP client under `http.fetch`: pooled keep-alive connections to checked addresses.

Strategy: urllib3's connection pools, one per (scheme, host, port, address), each created
for the *address* the policy checked (so the socket goes exactly there, never through a
second DNS lookup) with the name kept for the `Host` header, TLS SNI and certificate checks.
Pools are kept in a bounded LRU (`MAX_POOLS`); each keeps up to `POOL_SIZE` idle
connections, so sequential fetches to one host reuse one TCP connection.

urllib3 runs on the calling thread: scripts that import `http` always run on the worker
pool (the runtime arranges it), so a fetch blocks one worker, never the event loop. Measured
on this machine it costs well under a millisecond per keep-alive fetch on the worker
(docs/stdlib.md), and it is the well-kept, simple choice; an event-loop client would need
the job to hop threads twice per fetch.

One overall time bound covers connecting, sending and reading the whole body: every socket
wait is given only the time left, and the body is read in pieces, counting decoded bytes
against the cap (so a compressed response cannot expand past it). No retries, no redirects
here: the caller decides about each hop.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict


POOL_SIZE = 10
MAX_POOLS = 64
_CHUNK = 64 * 1024


class FetchFailed(Exception):
    """The exchange failed; `reason` is "timeout", "connect", "too large", "tls" or
    "protocol"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Client:
    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._pools: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def _pool(self, scheme: str, host: str, port: int, address: str):
        key = (scheme, host, port, address)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            import urllib3  # at the first fetch: ~50 ms that `rt check` and starts need not pay
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(address, port, maxsize=POOL_SIZE, block=False,
                                                   retries=False, server_hostname=host,
                                                   assert_hostname=host, cert_reqs="CERT_REQUIRED")
            else:
                pool = urllib3.HTTPConnectionPool(address, port, maxsize=POOL_SIZE, block=False, retries=False)
            self._pools[key] = pool
            while len(self._pools) > MAX_POOLS:
                self._pools.popitem(last=False)[1].close()
            return pool

    def request(self, scheme: str, host: str, port: int, address: str, method: str, target: str,
                headers: dict, body: bytes | None, timeout: float):
        """(status, [(name, value)...], body bytes). Raises FetchFailed."""
        import urllib3
        from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, SSLError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout
        end = time.monotonic() + timeout
        pool = self._pool(scheme, host, port, address)
        default_port = 443 if scheme == "https" else 80
        headers = {"host": host if port == default_port else f"{host}:{port}",
                   "user-agent": "rt-fetch", **headers}
        try:
            response = pool.urlopen(method, target, body=body, headers=headers, redirect=False,
                                    assert_same_host=False, preload_content=False, retries=False,
                                    timeout=urllib3.Timeout(connect=timeout, read=timeout))
        except NewConnectionError as exc:  # (a subclass of urllib3's TimeoutError: first)
            raise FetchFailed("connect", f"cannot connect to {host}:{port}: {_reason(exc)}") from None
        except Urllib3Timeout:
            raise FetchFailed("timeout", f"timed out after {timeout:g} s") from None
        except SSLError as exc:
            raise FetchFailed("tls", f"TLS with {host} failed: {_reason(exc)}") from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise FetchFailed("protocol", f"{host}:{port} broke off the exchange: {_reason(exc)}") from None
        try:
            no_body = method == "HEAD" or response.status in (204, 304)
            data = b"" if no_body else self._read_body(response, end, timeout)
        except BaseException:
            response.close()  # a half-read connection is never reused
            raise
        finally:
            response.release_conn()
        return response.status, list(response.headers.items()), data

    def _read_body(self, response, end: float, timeout: float) -> bytes:
        from urllib3.exceptions import HTTPError, ProtocolError, TimeoutError as Urllib3Timeout
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise FetchFailed("too large", f"the response body ({int(length):,} bytes) is larger than "
                              f"--fetch-max-body ({self.max_body:,} bytes)")
        pieces, size = [], 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise FetchFailed("timeout", f"timed out after {timeout:g} s")
            sock = getattr(response.connection, "sock", None)
            if sock is not None:
                sock.settimeout(left)
            try:
                piece = response.read1(_CHUNK, decode_content=True)  # what has arrived, up to _CHUNK
            except Urllib3Timeout:
                raise FetchFailed("timeout", f"timed out after {timeout:g} s") from None
            except (ProtocolError, HTTPError, OSError) as exc:
                raise FetchFailed("protocol", f"the response broke off: {_reason(exc)}") from None
            if not piece:
                return b"".join(pieces)
            size += len(piece)
            if size > self.max_body:
                raise FetchFailed("too large", f"the response body is larger than --fetch-max-body "
                                  f"({self.max_body:,} bytes)")
            pieces.append(piece)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _reason(exc: BaseException) -> str:
    """A short cause without Python's exception class names or object reprs: the first
    operating-system error in the chain ("connection refused"), else the innermost message."""
    cause, seen = exc, 0
    while cause is not None and seen < 8:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        inner = getattr(cause, "reason", None)
        cause = inner if isinstance(inner, BaseException) else (cause.__cause__ or cause.__context__)
        seen += 1
    text = str(exc)
    if "): " in text:  # "HTTPConnection(host=..., port=...): Failed to ..."
        text = text.split("): ", 1)[1]
    return text[:200] or "unknown error"
