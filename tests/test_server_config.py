"""Settings: DESIGN.md defaults, rt.toml loading with clear errors, flags over rt.toml, and
the settings reaching a real server."""
import subprocess
import sys

import pytest

from rtserve.runtime.config import ConfigError, Settings, load_toml
from serverproc import ROOT, ServerProcess, closed_by_peer, exchange, read_response


def test_defaults_follow_design():
    s = Settings()
    assert (s.keep_alive, s.head_timeout, s.body_timeout, s.deadline, s.drain) == (5, 10, 10, 30, 30)
    assert (s.max_body, s.max_head, s.max_headers) == (1024 * 1024, 64 * 1024, 100)
    assert s.queue == 1024 and s.max_steps == 10_000_000 and s.threads >= 8


def test_toml_keys_with_dashes_or_underscores(tmp_path):
    path = tmp_path / "rt.toml"
    path.write_text('keep-alive = 2\nmax_body = 10\nasync = true\nnative = "a.py"\nport = 9000\n')
    s = load_toml(str(path))
    assert (s.keep_alive, s.max_body, s.async_mode, s.native, s.port) == (2.0, 10, True, ("a.py",), 9000)


@pytest.mark.parametrize("text, message", [
    ("keep_alvie = 3\n", "unknown setting 'keep_alvie'"),
    ("max-body = 'big'\n", "setting 'max-body' must be int"),
    ("keep-alive = true\n", "setting 'keep-alive' must be float"),
    ("keep-alive = -1\n", "'keep-alive' must be a positive number"),
    ("log-format = 'xml'\n", "'log-format' must be 'text' or 'json'"),
    ("port = [\n", "invalid TOML"),
])
def test_toml_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "rt.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_toml(str(path))
    assert message in str(info.value) and str(path) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_toml(str(tmp_path / "nope.toml"))


def test_rt_toml_then_flags_reach_the_server(tmp_path):
    (tmp_path / "rt.toml").write_text("keep-alive = 0.5\nmax-body = 10\n")
    with ServerProcess("--max-body", "20", cwd=str(tmp_path)) as server:
        post = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        assert exchange(server, post % (15, b"a" * 15))[0].status == 200  # the flag won
        assert exchange(server, post % (25, b"a" * 25))[0].status == 413
        with server.connect() as sock:  # keep-alive 0.5 s came from rt.toml
            sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(sock.makefile("rb"))
            assert closed_by_peer(sock, timeout=4)


def test_bad_rt_toml_stops_serve_with_exit_2(tmp_path):
    (tmp_path / "rt.toml").write_text("colour = 'blue'\n")
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--port", "0"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=30,
                            env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert "unknown setting 'colour'" in result.stderr and "Traceback" not in result.stderr


def test_serve_help_explains_the_flags():
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    for flag in ("--host", "--port", "--async", "--threads", "--queue", "--workers", "--native",
                 "--keep-alive", "--head-timeout", "--deadline", "--drain", "--max-body",
                 "--max-steps", "--config", "--log-format", "--access-log"):
        assert flag in result.stdout


def test_serving_a_script_file_without_scripting_layer_serves_native_routes(tmp_path):
    script = tmp_path / "app.script"
    script.write_text("")
    with ServerProcess(str(script)) as server:
        assert exchange(server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")[0].status == 200


def test_missing_script_file_is_an_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--port", "0",
                             str(tmp_path / "missing.script")], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1 and "missing.script" in result.stderr


def test_access_log_and_json_log_format():
    with ServerProcess("--access-log", "--log-format", "json") as server:
        exchange(server, b"GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n")
        server.stop()
        log = server.log()
    assert '"status": 200' in log and '"target": "/users/3"' in log


def test_workers_share_the_port():
    with ServerProcess("--workers", "2") as server:
        pids = set()
        for _ in range(40):
            reply = exchange(server, b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0]
            pids.add(int(reply.body))
        supervisor = server.proc.pid
        assert server.stop() == 0
    # Requests are answered by forked workers, never by the supervisor itself.
    assert pids and supervisor not in pids and len(pids) <= 2


def test_reload_with_several_workers_is_refused():
    with pytest.raises(ConfigError, match="reload"):
        Settings().replace(reload=True, workers=2)
    assert Settings().replace(reload=True).reload
