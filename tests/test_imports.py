"""Imports stay home: `import "x.script"` reaches only regular `.script` files inside the
served script's folder (or `--lib`), after resolving symlinks; files are size-capped and read
without ever blocking on a FIFO or reading a device; an error never quotes a file that is not a
script. And only the compiler's own names escape freezing: a script's `__shared` is frozen."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rtserve.lang.errors import ErrorList, ScriptError
from rtserve.lang.loader import Loader
from rtserve.lang.sourcefile import MAX_SCRIPT_BYTES, ScriptFileError, read_script
from serverproc import ROOT, ServerProcess, call

SECRET = "TOP-SECRET-LINE"


@pytest.fixture
def home(tmp_path):
    """app/ (the served folder), lib/ (a --lib folder) and outside/ holding a secret."""
    for name in ("app", "lib", "outside"):
        (tmp_path / name).mkdir()
    (tmp_path / "outside" / "secret.script").write_text(f'let x = 1\n"{SECRET}" +\n')
    (tmp_path / "outside" / "passwd").write_text(f"{SECRET}:x:0:0\n")
    (tmp_path / "app" / "notes.txt").write_text(f"{SECRET}\n")
    (tmp_path / "lib" / "util.script").write_text('let word = "from lib"\n')
    return tmp_path


def errors_of(app_dir, source: str, lib=None) -> str:
    path = app_dir / "app.script"
    path.write_text(source)
    with pytest.raises(ErrorList) as info:
        Loader(lib=str(lib) if lib else None).check(str(path))
    text = info.value.render()
    assert SECRET not in text, text  # never quotes a file that is not a script
    return text


@pytest.mark.parametrize("target, message", [
    ("../outside/passwd", "only .script files can be imported"),
    ("../../../../../../etc/passwd", "only .script files can be imported"),
    ("/dev/zero", "only .script files can be imported"),
    ("notes.txt", "only .script files can be imported"),
    ("../outside/secret.script", "it is outside the served script's folder"),
    ("missing.script", "no such script"),
])
def test_imports_outside_the_folder_or_not_scripts_are_refused(home, target, message):
    text = errors_of(home / "app", f'import "{target}" as m\n')
    assert message in text and "app.script:1:1" in text


def test_an_absolute_path_outside_is_refused(home):
    target = home / "outside" / "secret.script"
    assert "is outside the served script's folder" in errors_of(home / "app", f'import "{target}" as m\n')


def test_a_symlink_pointing_outside_is_refused(home):
    os.symlink(home / "outside" / "secret.script", home / "app" / "link.script")
    os.symlink(home / "outside", home / "app" / "dir")
    text = errors_of(home / "app", 'import "link.script" as a\nimport "dir/secret.script" as b\n')
    assert text.count("outside the served script's folder") == 2


def test_a_symlink_inside_the_folder_is_followed(home):
    (home / "app" / "real.script").write_text("let n = 7\n")
    os.symlink(home / "app" / "real.script", home / "app" / "alias.script")
    (home / "app" / "app.script").write_text('import "alias.script" as a\nlet got = a.n\n')
    script = Loader().load(str(home / "app" / "app.script"))
    assert script.exports["got"] == 7


def test_a_device_or_a_fifo_named_script_is_refused_without_blocking(home):
    os.mkfifo(home / "app" / "fifo.script")
    os.symlink("/dev/zero", home / "app" / "zero.script")
    (home / "app" / "app.script").write_text('import "fifo.script" as f\nimport "zero.script" as z\n')
    # In a child process with a timeout: a regression would hang on the FIFO or grow on
    # /dev/zero, not fail.
    done = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "check",
                           str(home / "app" / "app.script")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert "fifo.script: not a regular file" in done.stderr
    assert "zero.script" in done.stderr and "outside the served script's folder" in done.stderr


def test_read_script_refuses_devices_fifos_folders_and_big_files(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big.script").write_bytes(b"#" * (MAX_SCRIPT_BYTES + 1))
    (tmp_path / "latin1.script").write_bytes(b"let s = \"caf\xe9\"\n")
    for path, message in [("/dev/zero", "not a regular file"), (tmp_path / "fifo", "not a regular file"),
                          (tmp_path, "is a folder"), (tmp_path / "big.script", "too large"),
                          (tmp_path / "latin1.script", "not UTF-8 text")]:
        with pytest.raises(ScriptFileError, match=message) as info:
            read_script(str(path))
        assert "caf" not in str(info.value)
    (tmp_path / "ok.script").write_bytes(b"#" * MAX_SCRIPT_BYTES)
    assert len(read_script(str(tmp_path / "ok.script"))) == MAX_SCRIPT_BYTES


def test_the_served_script_itself_is_read_the_same_way(tmp_path):
    os.mkfifo(tmp_path / "app.script")
    with pytest.raises(ErrorList, match="not a regular file"):
        Loader().check(str(tmp_path / "app.script"))


def test_lib_folder_imports(home):
    (home / "app" / "app.script").write_text('import "util.script" as u\nlet got = u.word\n')
    script = Loader(lib=str(home / "lib")).load(str(home / "app" / "app.script"))
    assert script.exports["got"] == "from lib"
    # Without --lib the same import is not found; a symlink out of lib is still refused.
    errors_of(home / "app", 'import "util.script" as u\n')
    os.symlink(home / "outside" / "secret.script", home / "lib" / "out.script")
    assert "outside the served script's folder or the lib folder" in errors_of(
        home / "app", 'import "out.script" as o\n', lib=home / "lib")


def test_serve_with_lib(home):
    (home / "app" / "app.script").write_text('import "util.script" as u\nget "/" { return u.word }\n')
    with ServerProcess(str(home / "app" / "app.script"), "--lib", str(home / "lib"), native=None) as srv:
        assert call(srv, "/")[2] == b"from lib"


# -- only the compiler's names escape freezing --------------------------------------------------


def test_double_underscore_names_are_frozen_like_any_other(tmp_path):
    (tmp_path / "app.script").write_text(
        "let __shared = []\n"
        "let plain = []\n"
        "fn grow(xs) { xs.append(1); return len(xs) }\n"
        "fn grow_shared() { return grow(__shared) }\n"
        "fn grow_plain() { return grow(plain) }\n")
    script = Loader().load(str(tmp_path / "app.script"))
    for name in ("grow_shared", "grow_plain"):
        with pytest.raises(ScriptError, match="frozen"):
            script.exports[name]()
    assert script.exports["__shared"] == []


def test_handlers_see_double_underscore_values_frozen(tmp_path):
    (tmp_path / "app.script").write_text('let __shared = []\nget "/" { __shared.append(1) }\n')
    script = Loader().load(str(tmp_path / "app.script"))
    (_, _, handler), = script.declarations
    with pytest.raises(ScriptError, match="frozen"):
        handler(None)
