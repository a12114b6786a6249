"""Backpressure: a client that pipelines requests for large responses and never reads them
makes the server stop reading (its sends stall) without the server's memory growing with
the number of requests; once the client reads, every request is answered, in order."""
import socket
import threading
import time

from serverproc import ServerProcess, read_response

RESPONSE = 64 * 1024
PAD = b"X-Pad: " + b"p" * 2000 + b"\r\n"


def test_client_that_does_not_read_pauses_the_server():
    with ServerProcess() as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.connect(("127.0.0.1", server.port))
        rss_before = server.rss_kib()
        sock.setblocking(False)
        sent_requests = 0
        pending = b""  # the unsent tail of a partly sent request
        blocked_at = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sent_requests < 20_000:
            if not pending:
                pending = b"GET /sized?n=%d&i=%d HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
                    RESPONSE, sent_requests, PAD)
                sent_requests += 1
            try:
                pending = pending[sock.send(pending):]
                blocked_at = None
            except BlockingIOError:
                # Give the server time to read more if it still reads at all, then give up.
                blocked_at = blocked_at or time.monotonic()
                if time.monotonic() - blocked_at > 1.0:
                    break
                time.sleep(0.05)
        # The server stopped reading: the client's sends stalled long before 20,000 requests
        # (1.3 GB of responses).
        assert sent_requests < 20_000
        time.sleep(0.5)
        growth_kib = server.rss_kib() - rss_before
        assert growth_kib < 16 * 1024, f"server RSS grew by {growth_kib} KiB"
        assert sent_requests * RESPONSE > 4 * growth_kib * 1024  # far less than it was asked for

        sock.setblocking(True)
        sock.settimeout(20)
        finisher = threading.Thread(target=sock.sendall, args=(pending,))
        finisher.start()
        rfile = sock.makefile("rb")
        for i in range(sent_requests):
            try:
                reply = read_response(rfile)
            except Exception:
                raise AssertionError(f"{i} of {sent_requests}: {server.log()}")
            assert reply.status == 200 and len(reply.body) == RESPONSE
        finisher.join()
        sock.close()
