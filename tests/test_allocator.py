"""runtime/http/server.py `settle_allocator`: freed big values go back to the system, also
when a worker thread (its own malloc heap) allocated them, so RSS follows what is live."""
import subprocess
import sys

from serverproc import ROOT

_CHILD = r"""
import sys, threading
from rtserve.runtime.http.server import settle_allocator
if sys.argv[1] == "settled":
    settle_allocator()

def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) // 1024

def work():
    for _ in range(3):  # after the first free, glibc's default would serve the next from the heap
        s = "x" * (16 << 20)
        del s
    global after
    after = rss_mib()

before = rss_mib()
t = threading.Thread(target=work)
t.start(); t.join()
print(after - before)
"""


def _grown(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _CHILD, mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout)


def test_freed_big_values_leave_rss_when_settled():
    assert _grown("settled") < 8


def test_the_default_allocator_would_keep_them():
    """The reason for the setting (if this stops holding, glibc changed and it may go)."""
    assert _grown("default") >= 12
