"""The suite runs on a fresh clone anywhere: no test or benchmark reaches outside the
repository (the data they need lives in tests/data), and that data is there."""
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# What reaching outside the clone looks like: the specification folder beside the checkout,
# ROOT.parent, parents[2] and beyond. (Spelled in parts so this guard does not match itself.)
_OUTSIDE = re.compile(r"\.\./" + "shared" + r"|ROOT\.parent\b|parents\[[2-9]\]|parent\.parent\.parent")

SOURCES = [p for p in sorted(TESTS.glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
           if p.name != Path(__file__).name]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_test_or_benchmark_reads_outside_the_clone(path):
    text = path.read_text()
    assert not _OUTSIDE.search(text), f"{path.name} reads outside the repository"


@pytest.mark.parametrize("folder, pattern, at_least", [("conformance", "*.script", 10),
                                                       ("routes", "*.txt", 2)])
def test_the_data_the_tests_read_is_in_the_clone(folder, pattern, at_least):
    copies = sorted((TESTS / "data" / folder).glob(pattern))
    assert len(copies) >= at_least and all(p.stat().st_size > 0 for p in copies), folder


def test_a_killed_test_run_leaves_no_server_behind(tmp_path):
    """Servers the tests start die with the process that started them, however it ends."""
    import os
    import signal
    import subprocess
    import sys
    import time
    (tmp_path / "app.script").write_text('get "/" { return "x" }\n')
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from serverproc import ServerProcess\n"
        "s = ServerProcess('app.script', native=None, cwd=sys.argv[2]).start(timeout=60)\n"
        "print(s.proc.pid, flush=True); time.sleep(120)"), str(TESTS), str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(child.stdout.readline())
        os.kill(server_pid, 0)  # it is running
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{server_pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    break  # dead, waiting for init to reap it
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(server_pid, signal.SIGKILL)
        pytest.fail("the server outlived the killed test process")
