"""Fuzzing the parser, resolver and compiler as `rt check` users meet them.

Strategy. Each case is a script file, either token soup (the language's tokens, route
declarations and nasty fragments in random order) a valid script from tests/ (the
conformance cases copied into tests/data/conformance, the language cases, the corpus) mutated
byte-wise (tests/fuzzing.py) and kept valid UTF-8, or such a script with bytes that are not
UTF-8 spliced in (the error must still say where). It goes through `check_file`, the function behind `rt check`,
which parses, resolves and compiles the file and whatever it imports. The outcome must be
exit 0 with nothing printed, or exit 1 with only positioned errors (`file:line:col: error:`
lines, each followed by its source line and caret); never an exception out of check_file
(a Python traceback for the user) and never a hang (a case gets HANG seconds). The count is
RT_FUZZ_CASES (a few hundred in `make test`, 100,000 under `make fuzz`), per generator.
"""
from __future__ import annotations

import contextlib
import io
import random
import re
import signal
import traceback
from pathlib import Path

import pytest

from fuzzing import NASTY, case_count, mutate, seed
from rtserve.runtime.scripts.load import check_file
from test_parser_properties import TOKENS

TESTS = Path(__file__).resolve().parent
SEEDS = sorted(p for p in TESTS.rglob("*.script") if p.is_file())
HANG = 20.0
_POSITIONED = re.compile(r"\S.*?\.script:[0-9]+:[0-9]+: error: ")

SOUP = TOKENS + ['get "/a/:id" (req) {', 'post "/b" {', 'group "/g" {', "use ", "on start {",
                 "on error (req, err) {", 'static "/s" "./public"', 'test "t" {', "import json",
                 'import "./lib/helper.script" as h', "return", "req.params.id", "abort(404)",
                 'response("x", status: 201)', "fn (a, b = 1) => a", "let x = [", "}\n"] + \
    [frag.decode("utf-8", "replace") for frag in NASTY]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def check_outcome(path: Path) -> tuple[int | None, str | None]:
    """(exit code, None) when `rt check` of `path` ended as a user should see it, else
    (exit code, what went wrong)."""
    out = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG)
    try:
        with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
            code = check_file(str(path))
    except Hang:
        return None, f"rt check still running after {HANG:.0f} s"
    except BaseException:  # noqa: B036 - anything escaping check_file is a traceback for the user
        return None, "an exception escaped rt check:\n" + traceback.format_exc()[-3000:]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, _judge(code, out.getvalue())


def _judge(code: int, text: str) -> str | None:
    if code == 0:
        return None if not text.strip() else f"exit 0 but printed:\n{text[:2000]}"
    if code != 1:
        return f"exit {code}:\n{text[:2000]}"
    if "Traceback" in text:
        return f"a Python traceback in the output:\n{text[:3000]}"
    heads = [line for line in text.splitlines() if line and not line.startswith("    ")]
    if not heads:
        return "exit 1 with no error message"
    for line in heads:
        if not _POSITIONED.match(line):
            return f"an error without a position (file:line:col: error:): {line[:300]!r}"
    return None


def _soup(rng: random.Random) -> bytes:
    words = [rng.choice(SOUP) for _ in range(rng.randint(1, 60))]
    return "".join(w + rng.choice(("", " ", " ", "\n")) for w in words).encode("utf-8", "replace")


def _mutant(rng: random.Random) -> bytes:
    """A valid script mutated, kept valid UTF-8 (the parser's input is text)."""
    return mutate(rng, rng.choice(SEEDS).read_bytes()).decode("utf-8", "replace").encode()


def _undecodable(rng: random.Random) -> bytes:
    """A valid script with bytes that are not UTF-8 somewhere (the loader's input is bytes)."""
    source = rng.choice(SEEDS).read_bytes()
    at = rng.randint(0, len(source))
    bad = rng.choice((b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"))
    return source[:at] + bad + source[at:]


GENERATORS = {"token-soup": _soup, "mutated-scripts": _mutant, "undecodable-scripts": _undecodable}


def test_there_are_seeds_to_mutate():
    names = {p.parent.name for p in SEEDS}
    assert {"conformance", "lang_cases", "syntax", "hostile"} <= names
    assert len(SEEDS) >= 60


def test_an_expression_too_deep_to_compile_is_a_positioned_error():
    """Found by this fuzzer: the resolver's and compiler's recursion limit gave an error
    without a position."""
    code, problem = check_outcome(TESTS / "lang_cases" / "too_deep.script")
    assert (code, problem) == (1, None), problem


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_check_gives_positioned_errors_or_success(tmp_path, kind):
    run_seed, count = seed(), case_count()
    rng = random.Random(run_seed)
    make = GENERATORS[kind]
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.script").write_text("fn twice(x) { return x * 2 }\n")
    path = tmp_path / "case.script"
    failures = []
    codes = {0: 0, 1: 0}
    for number in range(count):
        source = make(rng)
        path.write_bytes(source)
        code, problem = check_outcome(path)
        if problem is not None:
            failures.append(f"case {number} (RT_FUZZ_SEED={run_seed}) {problem}\n"
                            f"--- source ({len(source)} bytes) ---\n{source[:600]!r}")
            if len(failures) >= 5:
                break
        else:
            codes[code] += 1
    assert not failures, f"{len(failures)} bad outcomes of {count} {kind} cases:\n\n" + "\n\n".join(failures)
    # Not vacuous: the cases reach the error path, and mutants (mostly a comment or a name
    # changed) reach success too.
    assert codes[1] > 0, codes
    if kind == "mutated-scripts" and count >= 100:
        assert codes[0] > 0, codes
