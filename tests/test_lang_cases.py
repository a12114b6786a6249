"""Golden script cases: each tests/lang_cases/NAME.script runs through the real `rt run`.

NAME.out is the exact expected stdout (exit 0). NAME.err lists lines that must each appear
in stderr (exit 1; stdout must then equal NAME.out if present, else be empty). A first line
`# args: ...` gives extra `rt run` arguments.
"""
import pathlib
import subprocess
import sys

import pytest

CASES = pathlib.Path(__file__).parent / "lang_cases"
RT = [sys.executable, "-m", "rtserve.runtime.cli"]


def cases():
    return sorted(p.stem for p in CASES.glob("*.script"))


@pytest.mark.parametrize("name", cases())
def test_case(name):
    script = CASES / f"{name}.script"
    first = script.read_text().splitlines()[0]
    args = first.split(":", 1)[1].split() if first.startswith("# args:") else []
    proc = subprocess.run(RT + ["run", script.name, *args], cwd=CASES, capture_output=True,
                          text=True, timeout=60)
    out, err = CASES / f"{name}.out", CASES / f"{name}.err"
    assert "Traceback" not in proc.stderr, proc.stderr
    if err.exists():
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        for line in err.read_text().splitlines():
            if line.strip():
                assert line.strip() in proc.stderr, f"stderr lacks {line!r}:\n{proc.stderr}"
        assert proc.stdout == (out.read_text() if out.exists() else "")
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == out.read_text()


def test_check_reports_every_error_and_exit_status():
    proc = subprocess.run(RT + ["check", "static_errors.script"], cwd=CASES, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("error:") == 7, proc.stderr
    clean = subprocess.run(RT + ["check", "imports.script"], cwd=CASES, capture_output=True,
                           text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == ""  # check never runs the script
