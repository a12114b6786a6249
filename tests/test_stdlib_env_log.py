"""stdlib `env` (only what --allow-env / rt.toml grant) and `log` (structured, request id,
per-request bound shared with print), as units and through a real server."""
import json
import logging
import os
import time

import pytest

from rtserve.lang import limits
from rtserve.runtime.cli import build_parser
from rtserve.runtime.config import ConfigError, Settings, load_toml
from rtserve.stdlib import log as log_module
from serverproc import ServerProcess, call
from stdlib_helpers import functions, raises, run_script

SCRIPT = "tests/scripts/granted.script"


# --- env -------------------------------------------------------------------------------------

def test_env_reads_only_allowed_names(monkeypatch):
    monkeypatch.setenv("RT_TEST_SECRET", "s3cret")
    monkeypatch.setenv("RT_TEST_OTHER", "hidden")
    monkeypatch.delenv("RT_TEST_UNSET", raising=False)
    get = functions("env", Settings(allow_env=("RT_TEST_SECRET", "RT_TEST_UNSET")))("get")
    assert get("RT_TEST_SECRET") == "s3cret"
    assert get("RT_TEST_UNSET") is None and get("RT_TEST_UNSET", default="d") == "d"
    with raises("PermissionError", r"env.get\(\): 'RT_TEST_OTHER' is not an allowed environment variable; "
                                   r"allow it with --allow-env RT_TEST_OTHER \(or env = \[\"RT_TEST_OTHER\"\] in rt.toml\)"):
        get("RT_TEST_OTHER")
    with raises("TypeError", r"env.get\(\): name must be a string, not int"):
        get(1)


def test_env_grants_nothing_by_default(monkeypatch):
    monkeypatch.setenv("RT_TEST_SECRET", "s3cret")
    with raises("PermissionError", "not an allowed environment variable"):
        functions("env")("get")("RT_TEST_SECRET")


def test_env_values_are_read_once_when_the_server_starts(monkeypatch):
    monkeypatch.setenv("RT_TEST_SECRET", "first")
    get = functions("env", Settings(allow_env=("RT_TEST_SECRET",)))("get")
    monkeypatch.setenv("RT_TEST_SECRET", "changed")
    assert get("RT_TEST_SECRET") == "first"


def test_allow_env_from_rt_toml_and_flags(tmp_path):
    path = tmp_path / "rt.toml"
    path.write_text('env = ["A", "B"]\n')
    assert load_toml(str(path)).allow_env == ("A", "B")
    path.write_text('allow-env = "C"\n')
    assert load_toml(str(path)).allow_env == ("C",)
    path.write_text("env = 5\n")
    with pytest.raises(ConfigError, match="setting 'allow-env' must be"):
        load_toml(str(path))
    path.write_text('env = ["A=B"]\n')
    with pytest.raises(ConfigError, match="setting 'allow-env' names environment variables, not 'A=B'"):
        load_toml(str(path))
    args = build_parser().parse_args(["serve", "x.script", "--allow-env", "A", "--allow-env", "B"])
    assert args.allow_env == ["A", "B"]


# --- log, as a unit --------------------------------------------------------------------------

class _Request:
    id = "req-1"


@pytest.fixture
def invocation():
    budget = limits.Budget()
    budget.begin(_Request())
    previous = limits.activate(budget)
    yield budget
    limits.activate(previous)


def _lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "rt.script"]


def test_log_text_lines_carry_fields_and_the_request_id(caplog, invocation):
    caplog.set_level(logging.INFO)
    info = functions("log")("info")
    info("paid", order=42, note="two words", tags=["a", "b"], ok=True, none=None)
    assert _lines(caplog) == ['paid order=42 note="two words" tags=["a","b"] ok=true none=null request_id=req-1']
    assert caplog.records[-1].levelname == "INFO"


def test_log_text_lines_cannot_be_forged(caplog, invocation):
    caplog.set_level(logging.INFO)
    functions("log")("error")("bad\nFAKE 2020 INFO line", who="a\nb")
    (line,) = _lines(caplog)
    assert "\n" not in line and line.startswith("bad\\nFAKE") and 'who="a\\nb"' in line


def test_log_levels_and_keyword_field_names(caplog, invocation):
    caplog.set_level(logging.INFO)
    log = functions("log")
    log("debug")("hidden")  # below the logger's level: neither written nor counted
    log("warn")("w", **{"fromʹ": "x"})  # a script's `from:` named argument
    assert _lines(caplog) == ["w from=x request_id=req-1"] and caplog.records[-1].levelname == "WARNING"
    assert invocation.lines_left == limits.MAX_OUTPUT_LINES - 1
    with raises("TypeError", r"log.info\(\) takes one message and named fields"):
        log("info")("a", "b")


def test_log_bound_drops_lines_after_one_notice(caplog, invocation):
    caplog.set_level(logging.INFO)
    info = functions("log")("info")
    for i in range(150):
        info(f"line {i}")
    lines = _lines(caplog)
    assert len(lines) == limits.MAX_OUTPUT_LINES + 1
    assert lines[-1].startswith("log lines dropped: this request wrote more than 100 lines or 64 KiB")
    assert caplog.records[-1].levelname == "WARNING"
    invocation.begin(_Request())  # a new request: a new bound
    info("again")
    assert _lines(caplog)[-1] == "again request_id=req-1"


def test_log_bound_counts_bytes(caplog, invocation):
    caplog.set_level(logging.INFO)
    info = functions("log")("info")
    for _ in range(3):
        info("x" * 30_000)
    lines = _lines(caplog)
    assert len(lines) == 3 and lines[2].startswith("log lines dropped")


def test_log_json_fields_are_members(caplog, invocation):
    caplog.set_level(logging.INFO)
    output = log_module.Output("json")
    output.write(logging.INFO, "paid", {"order": 42, "tags": ["a"], "nan": float("nan"), "f": len})
    record = caplog.records[-1]
    assert record.getMessage() == "paid" and record.request_id == "req-1"
    assert record.fields == {"order": 42, "tags": ["a"], "nan": "nan", "f": "<fn len>"}


def test_log_outside_a_request_has_no_request_id(caplog):
    caplog.set_level(logging.INFO)
    previous = limits.activate(limits.Budget())
    try:
        functions("log")("info")("starting", port=1)
    finally:
        limits.activate(previous)
    assert _lines(caplog) == ["starting port=1"]


def test_log_from_a_script(caplog):
    caplog.set_level(logging.INFO)
    run_script('import log\nlog.info("hello", n: 1)\n')
    assert _lines(caplog) == ["hello n=1"]


# --- through a real server -------------------------------------------------------------------

def _wait_for(server, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        text = server.log()
        if predicate(text):
            return text
        if time.monotonic() > deadline:
            pytest.fail(f"log never matched:\n{text[-3000:]}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def text_server(tmp_path_factory):
    env = {"RT_GRANTED": "from-flag", "RT_TOML_GRANTED": "from-toml", "RT_NOT_GRANTED": "hidden"}
    config = tmp_path_factory.mktemp("cfg") / "rt.toml"
    config.write_text('env = ["RT_TOML_GRANTED"]\n')
    with ServerProcess(SCRIPT, "--allow-env", "RT_GRANTED", "--config", str(config), native=None, env=env) as server:
        yield server


def test_server_env_grants_flags_and_rt_toml_names_only(text_server):
    assert json.loads(call(text_server, "/env/RT_GRANTED")[2]) == {"value": "from-flag"}
    assert json.loads(call(text_server, "/env/RT_TOML_GRANTED")[2]) == {"value": "from-toml"}
    status, _, body = call(text_server, "/env/RT_NOT_GRANTED")
    assert status == 200 and json.loads(body) == {
        "kind": "PermissionError",
        "message": "env.get(): 'RT_NOT_GRANTED' is not an allowed environment variable; allow it with "
                   "--allow-env RT_NOT_GRANTED (or env = [\"RT_NOT_GRANTED\"] in rt.toml)"}


def test_server_log_lines_and_print_carry_the_request_id(text_server):
    status, _, _ = call(text_server, "/log", headers={"X-Request-Id": "abc123"})
    assert status == 200
    text = _wait_for(text_server, lambda t: "printed 1 true request_id=abc123" in t)
    assert 'order paid order=42 amount=9.5 note="two words" tags=["a","b"] request_id=abc123' in text
    assert "careful\\nforged line from=script request_id=abc123" in text
    assert "forged line from" not in text.replace("\\nforged", "")
    assert "not shown" not in text


def test_server_bound_is_per_request_and_covers_print(text_server):
    for rid in ("flood-1", "flood-2"):
        assert call(text_server, "/flood/150", headers={"X-Request-Id": rid})[2] == b"flooded"
    text = _wait_for(text_server, lambda t: t.count("log lines dropped") >= 2)
    for rid in ("flood-1", "flood-2"):
        assert sum(f"request_id={rid}" in line and "line " in line for line in text.splitlines()) == 100
        assert f"after the flood request_id={rid}" not in text  # print counts against the same bound


def test_server_json_log_format_has_fields_as_members_under_async():
    with ServerProcess(SCRIPT, "--log-format", "json", "--async", native=None) as server:
        call(server, "/log", headers={"X-Request-Id": "j-1"})
        text = _wait_for(server, lambda t: '"printed 1 true"' in t)
        entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        paid = next(e for e in entries if e["message"] == "order paid")
        assert paid["request_id"] == "j-1" and paid["order"] == 42 and paid["tags"] == ["a", "b"]
        assert paid["level"] == "info" and paid["logger"] == "rt.script"
        warned = next(e for e in entries if e["message"].startswith("careful"))
        assert warned["message"] == "careful\nforged line" and warned["level"] == "warning"
        assert next(e for e in entries if e["message"] == "printed 1 true")["request_id"] == "j-1"


def test_rt_run_writes_log_lines_to_stderr(tmp_path):
    import subprocess
    import sys
    from serverproc import ROOT
    script = tmp_path / "t.script"
    script.write_text('import log\nlog.warn("disk low", free: 5)\nprint("done")\n')
    out = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "run", str(script)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "done\n"
    assert "WARNING rt.script: disk low free=5" in out.stderr
