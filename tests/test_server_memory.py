"""What requests free goes back to the system: the same requests, repeated, do not leave the
server larger each time (runtime/http/server.py `settle_allocator`). With glibc's default,
a request that dropped a 16 MB value made later large blocks come from the heap, whose freed
holes stayed: three identical rounds left the server 17, 49 and 81 MiB larger."""
from __future__ import annotations

import time

from serverproc import ServerProcess, call

APP = '''get "/ping" { return "pong" }
get "/big" {
    let s = "x" * 16000000
    return len(s)
}
get "/grow" {
    let keep = []
    for i in range(2000000) { keep.append(i) }
    return len(keep)
}
'''

MIB = 1024


def test_repeated_requests_do_not_grow_the_server(tmp_path):
    (tmp_path / "app.script").write_text(APP)
    with ServerProcess("app.script", "--async", "--max-steps", "100000000", native=None,
                       cwd=str(tmp_path)) as server:
        for _ in range(20):
            assert call(server, "/ping")[2] == b"pong"
        idle = server.rss_kib()
        after = []
        for _ in range(4):
            assert call(server, "/big", timeout=30)[:1] == (200,)
            assert call(server, "/grow", timeout=30)[2] == b"2000000"
            time.sleep(0.3)
            after.append(server.rss_kib() - idle)
        assert max(after) < 24 * MIB, [kib // MIB for kib in after]
        assert after[-1] - after[0] < 12 * MIB, [kib // MIB for kib in after]
