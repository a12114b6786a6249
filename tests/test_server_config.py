"""Settings: DESIGN.md defaults, one declaration generating the flags, `rt.toml` keys and
`RT_<NAME>` variables, generic checks with one clear line, precedence flags > variables >
rt.toml > defaults, docs/settings.md kept equal to the declarations, and the settings
reaching a real server."""
import dataclasses
import math
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from rtserve.runtime.cli import build_parser
from rtserve.runtime.config import (SPECS, ConfigError, Settings, from_env, load_toml,
                                    reference_markdown, resolve)
from rtserve.lang.errors import RtError
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
    ("max-body = 'big'\n", "setting 'max-body' must be a size in bytes"),
    ("max-body = 1.5\n", "setting 'max-body' must be an integer, got 1.5"),
    ("keep-alive = true\n", "setting 'keep-alive' must be a number, got True"),
    ("keep-alive = -1\n", "setting 'keep-alive' must be more than 0, at most 3,600, got -1.0"),
    ("head-timeout = nan\n", "setting 'head-timeout' must be a finite number, got nan"),
    ("deadline = inf\n", "setting 'deadline' must be a finite number, got inf"),
    ("workers = 1000000\n", "setting 'workers' must be 1 to 256, got 1000000"),
    ("backlog = 99999999999999999999999\n", "setting 'backlog' must be 1 to 65,535"),
    ("host = \"a\\u0000b\"\n", "setting 'host' must not contain control characters"),
    ("host = \"not a host\"\n", "setting 'host' must be an IP address or a host name"),
    ("native = [\"a.py\", 3]\n", "setting 'native' must be a list of strings"),
    ("lib = \"/no/such/folder\"\n", "setting 'lib' must be an existing folder"),
    ("log-format = 'xml'\n", "setting 'log-format' must be 'text' or 'json', got 'xml'"),
    ("port = [\n", "invalid TOML"),
])
def test_toml_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "rt.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_toml(str(path))
    assert message in str(info.value) and str(info.value).startswith(f"{path}: ")
    assert info.value.render() == f"rt: error: {info.value}" and "\n" not in info.value.render()


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


# -- one declaration: flags, keys, variables, help and docs all come from the field metadata ----


def test_config_error_is_an_rt_error_exiting_2():
    assert issubclass(ConfigError, RtError) and ConfigError.exit_code == 2


def test_every_field_is_declared_with_help_and_a_group():
    assert set(SPECS) == {f.name for f in dataclasses.fields(Settings)}
    for spec in SPECS.values():
        assert spec.help and spec.group and spec.env == "RT_" + spec.key.replace("-", "_").upper()
        # The default passes the setting's own checks.
        spec.check(getattr(Settings(), spec.name), "")


def test_design_settings_and_the_new_limits_are_declared():
    s = Settings()
    assert (s.max_memory, s.max_connections, s.body_deadline, s.write_timeout, s.lib) == (
        64 * 1024 * 1024, 10_000, 60.0, 30.0, None)


def _sample(spec):
    """A valid non-default value for `spec`, as text a flag or variable carries."""
    if spec.kind == "bool":
        return "true", True
    if spec.choices:
        return spec.choices[-1], spec.choices[-1]
    if spec.kind == "int":
        return str(int(spec.lo) + 1), int(spec.lo) + 1
    if spec.kind == "float":
        return "1.5", 1.5
    if spec.name == "host":
        return "localhost", "localhost"
    if spec.name == "lib":
        return "/", "/"
    if spec.unit == "url":  # kv, db: a URL of the backend's scheme
        url = {"kv": "redis://cache:6379/1", "db": "postgresql://app@db/app"}[spec.name]
        return url, url
    if spec.kind == "list":
        return "a.py", ("a.py",)
    return "somewhere", "somewhere"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_setting_is_a_flag_a_variable_and_a_toml_key(tmp_path, name):
    spec = SPECS[name]
    text, value = _sample(spec)
    # the flag, as `rt serve` parses it
    argv = ["serve", spec.flag] if spec.kind == "bool" else ["serve", spec.flag, text]
    args = vars(build_parser().parse_args(argv))
    assert getattr(resolve({k: v for k, v in args.items() if k in SPECS}, {}), name) == value
    # the variable
    assert getattr(resolve({}, {spec.env: text}), name) == value
    # the rt.toml key, dashed and underscored
    toml_value = {"bool": "true", "int": text, "float": text}.get(spec.kind, f'"{text}"')
    for key in {spec.key, spec.key.replace("-", "_")}:
        (tmp_path / "rt.toml").write_text(f"{key} = {toml_value}\n")
        assert getattr(load_toml(str(tmp_path / "rt.toml")), name) == value


def test_precedence_flags_over_variables_over_toml_over_defaults(tmp_path):
    (tmp_path / "rt.toml").write_text("max-body = 10\nkeep-alive = 2\nqueue = 7\n")
    toml = str(tmp_path / "rt.toml")
    s = resolve({"max_body": "30"}, {"RT_MAX_BODY": "20", "RT_KEEP_ALIVE": "3"}, toml)
    assert (s.max_body, s.keep_alive, s.queue, s.deadline) == (30, 3.0, 7, 30.0)
    # Lists add up across sources, each module once.
    s = resolve({"native": ["c.py"]}, {"RT_NATIVE": "b.py, a.py"}, None)
    assert s.native == ("b.py", "a.py", "c.py")


def test_unrelated_rt_variables_are_not_settings():
    assert from_env({"RT_CACHE_DIR": "/tmp/x", "RT_DUMP": "script", "RT_COLOUR": "blue"}) == {}


@pytest.mark.parametrize("text, value", [
    ("2048", 2048), ("64KiB", 64 * 1024), ("2MiB", 2 * 1024 * 1024), ("1 GiB", 1024 ** 3),
    ("1_000", 1000)])
def test_sizes_take_units(text, value):
    assert resolve({}, {"RT_MAX_BODY": text}).max_body == value


@pytest.mark.parametrize("env, message", [
    ({"RT_MAX_BODY": "2x"}, "RT_MAX_BODY: setting 'max-body' must be a size in bytes"),
    ({"RT_ASYNC": "maybe"}, "RT_ASYNC: setting 'async' must be true or false"),
    ({"RT_DRAIN": "-inf"}, "RT_DRAIN: setting 'drain' must be a finite number, got -inf"),
    ({"RT_PORT": "65536"}, "RT_PORT: setting 'port' must be 0 to 65,535, got 65536"),
    ({"RT_HOST": ""}, "RT_HOST: setting 'host' must not be empty"),
    ({"RT_NATIVE": "a\x1bb.py"}, "RT_NATIVE: setting 'native' must not contain control characters"),
    ({"RT_RELOAD": "1", "RT_WORKERS": "2"}, "setting 'reload' is for development"),
])
def test_bad_variables_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=None) as info:
        resolve({}, env)
    assert str(info.value).startswith(message)


# A reference model of the numeric checks: finite, and within the declared bounds (ints
# inclusive; durations above their lower bound).
NUMERIC = sorted(name for name, spec in SPECS.items() if spec.kind in ("int", "float"))


@hsettings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMERIC),
       st.one_of(st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True, allow_infinity=True)))
def test_numeric_settings_accept_exactly_the_finite_values_within_bounds(name, value):
    spec = SPECS[name]
    if spec.kind == "int" and isinstance(value, float):
        ok = False
    else:
        ok = math.isfinite(value) and (value > spec.lo if spec.kind == "float" else value >= spec.lo) \
            and value <= spec.hi
    try:
        Settings().replace(**{name: value})
        accepted = True
    except ConfigError as exc:
        accepted = False
        assert f"setting {spec.key!r} must be" in str(exc)
    assert accepted == ok


def test_docs_settings_page_is_the_declarations():
    from serverproc import ROOT as root
    page = (root / "docs" / "settings.md").read_text()
    start = page.index("<!-- settings table")
    table = page[page.index("\n", start) + 1:page.index("<!-- end of settings table -->")]
    assert table == reference_markdown(), "regenerate docs/settings.md's table from " \
                                          "rtserve.runtime.config.reference_markdown()"


def _serve(tmp_path, *args, env=None, timeout=30):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--port", "0", *args],
                            cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
                            env={"PYTHONPATH": str(ROOT), **(env or {})})
    return result, time.monotonic() - started


@pytest.mark.parametrize("args, env, toml, line", [
    (["--workers", "1000000"], {}, "",
     "rt: error: --workers must be 1 to 256, got 1000000"),
    ([], {"RT_HEAD_TIMEOUT": "nan"}, "",
     "rt: error: RT_HEAD_TIMEOUT: setting 'head-timeout' must be a finite number, got nan"),
    ([], {}, "backlog = 99999999999999999999999\n",
     "rt: error: rt.toml: setting 'backlog' must be 1 to 65,535, got 99999999999999999999999"),
    (["--host", "a\x01b"], {}, "",
     "rt: error: --host must not contain control characters (got 'a\\x01b')"),
])
def test_a_bad_setting_is_one_line_and_exit_2_before_anything_starts(tmp_path, args, env, toml, line):
    if toml:
        (tmp_path / "rt.toml").write_text(toml)
    result, took = _serve(tmp_path, *args, env=env)
    assert (result.returncode, result.stderr, result.stdout) == (2, line + "\n", "")
    assert took < 20  # refused at once: nothing forked, nothing bound


def test_a_variable_reaches_the_server_and_a_flag_beats_it(tmp_path):
    post = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
    with ServerProcess(cwd=str(tmp_path), env={"RT_MAX_BODY": "20"}) as server:
        assert exchange(server, post % (15, b"a" * 15))[0].status == 200
        assert exchange(server, post % (25, b"a" * 25))[0].status == 413
    with ServerProcess("--max-body", "30", cwd=str(tmp_path), env={"RT_MAX_BODY": "20"}) as server:
        assert exchange(server, post % (25, b"a" * 25))[0].status == 200


def test_serve_help_is_grouped_and_shows_defaults():
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30, env={"COLUMNS": "100",
                                                                             "PYTHONPATH": str(ROOT)})
    out = result.stdout
    for title in ("server:", "limits:", "scripts:", "state:", "logs"):
        assert f"\n{title}" in out
    body = out[out.index("\nserver:"):]  # past the usage line
    assert body.index("--port") < body.index("\nlimits:") < body.index("--max-body") < body.index("\nscripts:")
    words = " ".join(out.split())  # help lines wrap anywhere
    assert "(default: 64 MiB)" in words and "(default: 127.0.0.1)" in words and "RT_<NAME>" in words
    for spec in SPECS.values():
        assert spec.flag in out


def test_optional_numbers_are_none_or_checked():
    from rtserve.runtime.config import Spec, _kind_of
    assert _kind_of(int | None) == ("int", True) and _kind_of(str) == ("str", False)
    spec = dataclasses.replace(SPECS["port"], optional=True)
    assert isinstance(spec, Spec)
    spec.check(None, "")
    with pytest.raises(ConfigError, match="must be an integer, got nan"):
        spec.check(float("nan"), "")
    with pytest.raises(ConfigError, match="must be 0 to 65,535"):
        spec.check(70000, "")


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    import socket
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result, _ = _serve(tmp_path, "--native", str(ROOT / "tests" / "native_routes.py"),
                           "--port", str(port))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == f"rt: error: cannot listen on 127.0.0.1:{port}: Address already in use"
