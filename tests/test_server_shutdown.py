"""Graceful shutdown on SIGTERM/SIGINT: new connections are refused, idle keep-alive
connections are closed, an in-flight request finishes (with Connection: close), on_stop
hooks run, and the process exits 0; past --drain the rest is cut off."""
import os
import signal
import socket
import time

import pytest

from serverproc import ServerProcess, closed_by_peer, read_response


def _refused(port: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_finishes_in_flight_refuses_new_and_exits_0(signum):
    with ServerProcess() as server:
        idle = server.connect()
        idle.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(idle.makefile("rb")).status == 200

        busy = server.connect()
        busy.sendall(b"GET /slow?s=1.5&tag=done HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # the handler is running now
        started = time.monotonic()
        server.proc.send_signal(signum)

        assert _refused(server.port)
        assert closed_by_peer(idle, timeout=5)
        reply = read_response(busy.makefile("rb"))
        assert reply.status == 200 and reply.body == b"slow done"
        assert reply.headers["connection"] == "close"
        assert server.proc.wait(10) == 0
        assert time.monotonic() - started < 8
        assert "native on_stop ran" in server.log()
        idle.close()
        busy.close()


def test_drain_deadline_cuts_off_a_request_that_runs_too_long():
    with ServerProcess("--drain", "0.5") as server:
        busy = server.connect()
        busy.sendall(b"GET /slow?s=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        server.terminate()
        assert server.proc.wait(10) == 0
        assert time.monotonic() - started < 5
        assert closed_by_peer(busy, timeout=5)
        busy.close()


def test_request_arriving_during_drain_on_open_connection_is_answered_with_close():
    with ServerProcess() as server:
        busy = server.connect()
        busy.sendall(b"GET /slow?s=1.0&tag=first HTTP/1.1\r\nHost: x\r\n\r\n")
        other = server.connect()
        other.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(0.3)
        server.terminate()
        time.sleep(0.3)
        other.sendall(b"cd")  # the body completes during the drain
        reply = read_response(other.makefile("rb"))
        assert reply.body == b"abcd" and reply.headers["connection"] == "close"
        assert read_response(busy.makefile("rb")).body == b"slow first"
        assert server.proc.wait(10) == 0
        busy.close()
        other.close()


def test_pipelined_requests_received_before_shutdown_are_all_answered():
    # Requests already read when the drain begins are in flight too: each is answered, in
    # order, and only the last answer says Connection: close.
    with ServerProcess() as server:
        sock = server.connect()
        sock.sendall(b"GET /slow?s=1.0&tag=first HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # all three are read; the first is running
        server.terminate()
        rfile = sock.makefile("rb")
        replies = [read_response(rfile) for _ in range(3)]
        assert [r.body for r in replies] == [b"slow first", b"Hello, World!",
                                             b'{"message":"Hello, World!","n":1}']
        assert [r.headers.get("connection") for r in replies] == [None, None, "close"]
        assert closed_by_peer(sock, timeout=5)
        assert server.proc.wait(10) == 0
        sock.close()


def test_shutdown_answers_a_head_that_was_half_sent_with_close():
    # SIGTERM while a client is mid-head: the head may still complete within --drain; its
    # answer says Connection: close, then rt exits 0.
    with ServerProcess("--drain", "5") as srv:
        with srv.connect() as sock:
            sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: 1")
            time.sleep(0.3)
            srv.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            sock.sendall(b"\r\n\r\n")
            rfile = sock.makefile("rb")
            reply = read_response(rfile)
            sock.settimeout(10)
            assert rfile.read() == b""
        assert srv.proc.wait(10) == 0
    assert (reply.status, reply.body) == (200, b"Hello, World!")
    assert reply.headers["connection"] == "close"


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"  # a zombie has exited
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads workers from /proc (Linux)")
def test_workers_stop_when_their_supervisor_is_killed():
    server, workers = ServerProcess("--workers", "2"), []
    try:
        server.start()
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        server.proc.kill()  # SIGKILL: the supervisor cannot forward anything
        server.proc.wait(10)
        deadline = time.monotonic() + 15
        while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(w) for w in workers), "workers kept serving without their supervisor"
        assert _refused(server.port)
    finally:
        for w in workers:
            if not _gone(w):
                os.kill(w, signal.SIGKILL)
        server.stop()
