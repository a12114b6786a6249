"""`RT_DUMP=script,router` prints the Python the two code generators build (stderr), and only
what it names.

Strategy: real subprocesses with the variable set; the printed source must parse as Python and
define what the generator builds (the script's module function, the router's `find`), and it
must be the code that runs (the script's output is unchanged).
"""
import ast
import os
import subprocess
import sys

from serverproc import ServerProcess, call

SCRIPT = 'let total = 0\nfor i in range(4) { total += i }\nprint(total)\n'
ROUTER = ("from rtserve.runtime.router import Router\n"
          "r = Router(); r.add('GET', '/users/:id', 'h', 'src'); r.add('GET', '/about', 'a', 'src')\n"
          "r.compile(); print(r.find('GET', '/users/7'))\n")


def run(args, dump: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, RT_DUMP=dump, RT_CACHE_DIR=str(cwd / "cache"))
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def dumped(stderr: str, kind: str) -> list[str]:
    """The sources printed for `kind`; each ends at the blank line after it (log lines follow)."""
    parts = stderr.split("# ---- RT_DUMP ")[1:]
    return [p.split("----\n", 1)[1].split("\n\n", 1)[0] for p in parts if p.startswith(kind + ":")]


def test_script_dump_is_the_compiled_module(tmp_path):
    (tmp_path / "s.script").write_text(SCRIPT)
    rt = os.path.join(os.path.dirname(sys.executable), "rt")
    out = run([rt, "run", "s.script"], "script", tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "6"
    [source] = dumped(out.stderr, "script")
    tree = ast.parse(source)  # (Python reads the names NFKC-normalized: ᵣ as r)
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == ["rmodule"]
    assert "ᵣrefill" in source  # the step check is in the code that runs
    quiet = run([rt, "run", "s.script"], "router", tmp_path)
    assert "RT_DUMP" not in quiet.stderr


def test_router_dump_is_the_generated_find(tmp_path):
    out = run([sys.executable, "-c", ROUTER], "router,script", tmp_path)
    assert out.returncode == 0 and "{'id': '7'}" in out.stdout
    [source] = dumped(out.stderr, "router")
    tree = ast.parse(source)
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == ["find"]
    assert "'about'" in source or "/about" in source


def test_serve_dumps_both_the_script_and_its_route_table(tmp_path):
    """From the CLI, `RT_DUMP=script,router rt serve` prints both generated modules, and the
    routes then answer as the printed code says."""
    (tmp_path / "app.script").write_text(
        'get "/users/:id" { return {"id": req.params.id} }\nget "/about" { return "about" }\n')
    env = {"RT_DUMP": "script,router", "RT_CACHE_DIR": str(tmp_path / "cache")}
    with ServerProcess("app.script", native=None, cwd=str(tmp_path), env=env) as server:
        status, _, body = call(server, "/users/7")
        assert status == 200 and b'"7"' in body
        log = server.log()
    [script] = dumped(log, "script")
    assert "rmodule" in ast.unparse(ast.parse(script))
    [router] = dumped(log, "router")
    tree = ast.parse(router)
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == ["find"]
    assert "about" in router
