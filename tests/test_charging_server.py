"""The answer path and the memory budget, through a real server (issue 11 "Work", "Memory").

Strategy: one server per mode (inline and --async) serves tests/scripts/hostile_values.script;
each hostile handler must end in a 500/503 well within the deadline while the server keeps
answering `/ok`, and the log must name the handler's line, never a Python traceback. The
--max-memory flag is shown to be the budget by a second, smaller server.
"""
from __future__ import annotations

import re
import time

import pytest

from serverproc import ServerProcess, call

SCRIPT = "tests/scripts/hostile_values.script"
MODES = {"inline": (), "async": ("--async", "--threads", "4")}
DEADLINE = 5.0


def line_of(text: str) -> int:
    from serverproc import ROOT
    for number, line in enumerate((ROOT / SCRIPT).read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(text)


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    srv = ServerProcess(SCRIPT, "--deadline", str(DEADLINE), *MODES[request.param], native=None)
    with srv:
        yield srv


@pytest.mark.parametrize("path, says", [
    ("/hundred", "too large"), ("/deep", "nested more than"), ("/dag", "step budget|deadline|too large"),
    ("/hold", "memory budget"), ("/infinite", "NaN or infinity"), ("/compare", "step budget|deadline"),
])
def test_hostile_results_end_in_an_error_answer_quickly(server, path, says):
    before = len(server.log())
    started = time.monotonic()
    status, headers, body = call(server, path, timeout=60)
    took = time.monotonic() - started
    assert status in (500, 503), (status, body[:200])
    assert b"request_id" in body and len(body) < 1000
    assert took < DEADLINE + 3, took
    assert call(server, "/ok")[0] == 200
    log = server.log()[before:]
    assert re.search(says, log), log[-2000:]
    assert "Traceback" not in log and "RecursionError" not in log
    line = line_of('get "' + path + '"')
    assert f":{line}:" in log


def test_max_memory_is_the_per_request_budget():
    with ServerProcess(SCRIPT, "--max-memory", "20000000", native=None) as small:
        assert call(small, "/once", timeout=60)[0] == 200  # 16 MB fits in 20 MB
        assert call(small, "/hold", timeout=60)[0] == 500  # 400 x 1 MB does not
        assert "memory budget exhausted (20,000,000 bytes)" in small.log()
        assert call(small, "/ok")[0] == 200


def test_max_memory_must_be_positive():
    srv = ServerProcess(SCRIPT, "--max-memory", "0", native=None)
    with pytest.raises(RuntimeError, match="max-memory"):
        srv.start()
    srv.stop()
