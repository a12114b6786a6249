"""Starting up and checking: a failing `on start` stops the start (exit 1, logged once, the
script's stack only, no connection ever accepted); `rt check` reports every route clash and
warns on middleware that can end without returning; a `--native` module that exists but
imports a missing package is reported as that."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from serverproc import ROOT

BOOM = 'fn boom() {\n  return 1 / 0\n}\non start {\n  boom()\n}\nget "/" { return "x" }\n'


def rt(*args: str, cwd=None, env=None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


@pytest.mark.parametrize("mode", [[], ["--async"], ["--workers", "2"]], ids=["inline", "async", "workers"])
def test_a_failing_on_start_stops_the_start_with_the_scripts_stack_once(tmp_path, mode):
    (tmp_path / "app.script").write_text(BOOM)
    done = rt("serve", "--port", "0", *mode, "app.script", cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert out.count("on start failed") == 1 and out.count("division by zero") == 1, out
    assert "app.script:2:10: error: ValueError: division by zero" in out
    assert "at boom (app.script:2:10)" in out and "at on start (app.script:5:3)" in out
    assert "Traceback" not in out and "listening on" not in out


# -- rt check -----------------------------------------------------------------------------------

CLASHES = '''get "/a" { return 1 }
get "/a" { return 2 }
post "/users/:id" { return 3 }
group "/users" {
  post "/:name" { return 4 }
  get "/x" { return 5 }
}
static "/files" "public"
get "/files/*rest" { return 6 }
any "/ok" { return 7 }
'''


def test_check_reports_every_route_clash(tmp_path):
    (tmp_path / "app.script").write_text(CLASHES)
    done = rt("check", "app.script", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert [e.split(": error:")[0] for e in errors] == ["app.script:2:1", "app.script:5:3", "app.script:9:1"]
    assert all("clashes with" in e for e in errors)
    assert "app.script:1:1" in errors[0] and "app.script:3:1" in errors[1] and "app.script:8:1" in errors[2]


def test_serve_refuses_the_same_clashes_before_running_anything(tmp_path):
    (tmp_path / "app.script").write_text('print("top level ran")\n' + CLASHES)
    done = rt("serve", "--port", "0", "app.script", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("clashes with") == 3
    assert "top level ran" not in done.stdout + done.stderr


MIDDLEWARE = '''fn audit(req, next) {
  if req.path == "/x" {
    return next(req)
  }
}
fn complete(req, next) {
  if req.method == "POST" {
    abort(405)
  } else {
    try {
      return next(req)
    } catch e {
      throw e
    }
  }
}
use audit
use complete
use fn (req, next) { print(req.path) }
use fn (req, next) => next(req)
get "/x" { return "x" }
'''


def test_check_warns_on_middleware_that_can_end_without_returning(tmp_path):
    (tmp_path / "app.script").write_text(MIDDLEWARE)
    done = rt("check", "app.script", cwd=tmp_path)
    assert done.returncode == 0  # warnings only
    warnings = [line for line in done.stderr.splitlines() if ": warning: " in line]
    assert [w.split(": warning:")[0] for w in warnings] == ["app.script:17:1", "app.script:19:1"]
    assert "can end without returning a response" in warnings[0]


# -- --native -------------------------------------------------------------------------------


def test_a_native_module_importing_a_missing_package_says_so(tmp_path):
    (tmp_path / "needs_pkg.py").write_text("import rt_no_such_package_xyz\n\ndef setup(app): pass\n")
    (tmp_path / "needs").mkdir()
    (tmp_path / "needs" / "__init__.py").write_text("")
    (tmp_path / "needs" / "routes.py").write_text("import needsx\n")  # `needs` prefixes `needsx`
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    for module, missing in [("needs_pkg.py", "rt_no_such_package_xyz"),
                            ("needs_pkg", "rt_no_such_package_xyz"), ("needs.routes", "needsx")]:
        done = rt("serve", "--port", "0", "--native", module, cwd=tmp_path, env=env)
        assert done.returncode == 1
        assert f"imports '{missing}', which is not installed" in done.stderr, done.stderr
        assert "not found" not in done.stderr
    done = rt("serve", "--port", "0", "--native", "needs.nothing", cwd=tmp_path, env=env)
    assert done.returncode == 1 and "'needs.nothing' not found" in done.stderr


def test_the_collector_is_settled_for_serving_once_the_app_is_loaded():
    """Loaded objects are frozen out of collections and young collections are rare: at
    CPython's defaults a request building a 100,000-node value set off full collections that
    stalled every other request (tests/hostile/deep.script under --async)."""
    import gc

    from rtserve.runtime.http.server import COLLECT_EVERY, settle_collector
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        settle_collector()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (COLLECT_EVERY, *before[1:]) and COLLECT_EVERY > 10 * 700
        # A cycle a request leaves behind is still collected, by the collector on its own.
        import weakref

        class Node:
            pass
        node = Node()
        node.me = node
        alive = weakref.ref(node)
        del node
        kept = [[] for _ in range(COLLECT_EVERY + 1000)]
        assert alive() is None and len(kept) > COLLECT_EVERY
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
