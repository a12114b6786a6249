"""Hostile programs composed by hypothesis, served under the corpus's invariant.

Strategy. A typed expression grammar (strings, bytes, lists, any value) combines the
operators and builtins that do work in proportion to their operands (`+ * % == < in`, str,
interpolation, format, join, split, replace, upper, sorted, reversed, zip, enumerate, map,
items, index, json.encode, slicing) over large and shared operands: 16 MB strings, 4M-element
lists, 2^31-node DAGs, 100,000-deep nestings, the request's printf-style body. A program is
one handler whose body returns, prints, sends as a response, or accumulates such an
expression in a loop. A batch of BATCH programs is written as one script (routes /h/0...)
and served by one server, inline or with `--async` (drawn), and every program is judged by
tests/hostile_harness.py: it may answer anything well-formed (a benign program answers 200),
but it must end within deadline + 0.5 s while `/ping` keeps its p99 under 100 ms (--async),
RSS stays within idle + 2 x the memory budget, and the log shows no Python traceback.
`make test` runs RT_FUZZ_PROGRAM_BATCHES=2 batches; `make fuzz` runs more.
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hostile_harness import HostileServer, run_case
from rtserve.runtime.scripts.load import check_file

BATCH = 12
# Hypothesis's first example is its simplest (each program a bare leaf, all distinct); the
# later ones are random compositions: `make test` runs two batches.
BATCHES = int(os.environ.get("RT_FUZZ_PROGRAM_BATCHES", "") or 2)
ANY_STATUS = tuple(range(200, 600))

PRELUDE = '''import json
import math

get "/ping" { return "pong" }

fn dag(d) {
    let a = ["x"]
    for i in range(d) { a = [a, a] }
    return a
}
fn dag_map(d) {
    let m = {"leaf": "x"}
    for i in range(d) { m = {"l": m, "r": m} }
    return m
}
fn nest(n) {
    let x = []
    for i in range(n) { x = [x] }
    return x
}
'''

BIG_INTS = st.sampled_from(["2", "3", "100", "1000", "100000", "4000000", "16000000", "2000000000"])
STR_LEAVES = st.sampled_from(['"x"', '"a,b"', '"x" * 16000000', '"ab," * 4000000', '"\\u{df}" * 8000000',
                              "'${' * 1000", "req.body", '"{:>16000000}"'])
LIST_LEAVES = st.sampled_from(["[0] * 4000000", '["x" * 1000] * 16000', "range(1000000)", "dag(31)",
                               "dag(25)", "nest(100000)", "[1, 2]", '[["a"], ["b"]]', "[]"])
ANY_LEAVES = st.sampled_from(["dag_map(31)", "1", "math.inf", "2 ** 4000", "nil", '{"k": "v"}',
                              "nest(50000)", "dag(31)"])
BYTES_LEAVES = st.sampled_from(["req.bytes", "req.bytes[0:12]", "req.bytes[12:24]", "req.bytes[24:36]"])


@functools.lru_cache(maxsize=None)
def strings(depth: int):
    if depth <= 0:
        return STR_LEAVES
    sub_s, sub_l, sub_a = strings(depth - 1), lists(depth - 1), values(depth - 1)
    return st.one_of(
        STR_LEAVES,
        st.builds("({} + {})".format, sub_s, sub_s),
        st.builds("({} * {})".format, sub_s, BIG_INTS),
        st.builds("str({})".format, sub_a),
        st.builds('"${{{}}}${{{}}}"'.format, sub_a, sub_a),
        st.builds('{}.join({})'.format, sub_s, sub_l),
        st.builds('{}.replace({}, {})'.format, sub_s, sub_s, sub_s),
        st.builds("{}.upper()".format, sub_s),
        st.builds("{}.lower()".format, sub_s),
        st.builds("{}.strip({})".format, sub_s, sub_s),
        st.builds("{}[1:]".format, sub_s),
        st.builds("json.encode({})".format, sub_a),
        st.builds('"{{:>{}}}".format({})'.format, BIG_INTS, sub_a),
    )


@functools.lru_cache(maxsize=None)
def lists(depth: int):
    if depth <= 0:
        return LIST_LEAVES
    sub_s, sub_l, sub_a = strings(depth - 1), lists(depth - 1), values(depth - 1)
    return st.one_of(
        LIST_LEAVES,
        st.builds("[{}, {}]".format, sub_a, sub_a),
        st.builds("({} + {})".format, sub_l, sub_l),
        st.builds("({} * {})".format, sub_l, BIG_INTS),
        st.builds("sorted({})".format, sub_l),
        st.builds("reversed({})".format, sub_l),
        st.builds("zip({}, {})".format, sub_l, sub_l),
        st.builds("enumerate({})".format, sub_l),
        st.builds("map(fn (v) => [v, v], {})".format, sub_l),
        st.builds('items({{"a": {}, "b": {}}})'.format, sub_a, sub_a),
        st.builds('{}.split(",")'.format, sub_s),
        st.builds("list({})".format, sub_s),
        st.builds("range({})".format, BIG_INTS),
        st.builds("{}.copy()".format, sub_l),
    )


@functools.lru_cache(maxsize=None)
def values(depth: int):
    if depth <= 0:
        return st.one_of(ANY_LEAVES, STR_LEAVES, LIST_LEAVES)
    sub_s, sub_l, sub_a = strings(depth - 1), lists(depth - 1), values(depth - 1)
    return st.one_of(
        ANY_LEAVES, strings(depth), lists(depth), bytes_values(depth),
        st.builds("({} == {})".format, sub_a, sub_a),
        st.builds("({} < {})".format, sub_l, sub_l),
        st.builds("({} < {})".format, sub_s, sub_s),
        st.builds("({} in {})".format, sub_a, sub_l),
        st.builds("({} in {})".format, sub_s, sub_s),
        st.builds("{}.index({})".format, sub_l, sub_a),
        st.builds("max({}, {})".format, sub_l, sub_l),
        st.builds("{}.find({})".format, sub_s, sub_s),
        st.builds("{}.count({})".format, sub_s, sub_s),
        st.builds("{}.startswith({})".format, sub_s, sub_l),
        st.builds("{}.isdigit()".format, sub_s),
        st.builds("min({})".format, sub_l),
        st.builds("sum({})".format, sub_l),
        st.builds("any({})".format, sub_l),
        st.builds("len({})".format, sub_a),
        st.builds('{{"k": {}, "j": {}}}'.format, sub_a, sub_a),
    )


@functools.lru_cache(maxsize=None)
def bytes_values(depth: int):
    if depth <= 0:
        return BYTES_LEAVES
    sub_b = bytes_values(depth - 1)
    return st.one_of(
        BYTES_LEAVES,
        st.builds("({} % {})".format, sub_b, st.sampled_from(["1", "1.5", "req.bytes[0:1]"])),
        st.builds("({} * {})".format, sub_b, BIG_INTS),
        st.builds("({} + {})".format, sub_b, sub_b),
    )


def bodies():
    expr = values(3)
    return st.one_of(
        st.builds("return {}".format, expr),
        st.builds("print({})\n    return nil".format, expr),
        st.builds("return response({})".format, expr),
        st.builds("return json({})".format, expr),
        st.builds("let keep = []\n    for i in range({}) {{ keep.append({}) }}\n    return len(keep)".format,
                  st.sampled_from(["10", "400", "100000"]), expr),
        st.builds("let e = {}\n    return [e, e, e, e]".format, expr),
    )


def script_of(programs: list[str]) -> str:
    routes = [f'any "/h/{i}" (req) {{\n    {body}\n}}\n' for i, body in enumerate(programs)]
    return PRELUDE + "\n" + "\n".join(routes)


# Composed from the same operators as tests/hostile, and, unlike the corpus, its programs may
# succeed: a big answer (`return "x" * 16000000`, the JSON of 4M pairs) is made in parts
# (lang/builds.py `json_text`; it was one call holding the loop past the p99 bound, and the
# harness's own reading of it was quadratic: tests/test_big_answers.py).
@settings(max_examples=BATCHES, deadline=None, phases=(Phase.generate,), database=None,
          suppress_health_check=list(HealthCheck))
@given(programs=st.lists(bodies(), min_size=BATCH, max_size=BATCH, unique=True),
       mode=st.sampled_from(["async", "inline"]))
def test_composed_hostile_programs_hold_the_invariant(programs, mode):
    with tempfile.TemporaryDirectory(prefix="rt-fuzz-programs-") as folder:
        script = Path(folder) / "programs.script"
        script.write_text(script_of(programs))
        host = HostileServer(script, async_mode=mode == "async")
        failures = []
        try:
            for i, body in enumerate(programs):
                verdict = run_case(host, f"/h/{i}", statuses=ANY_STATUS)
                if verdict.problems:
                    failures.append(f"--- program {i} ({mode}):\n    {body}\n{verdict.summary()}")
        finally:
            host.stop()
    assert not failures, f"{len(failures)} of {len(programs)} programs broke the invariant:\n" + "\n".join(failures)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs=st.lists(bodies(), min_size=1, max_size=BATCH))
def test_the_grammar_makes_scripts_that_check(programs):
    """Every composed program is a valid script (the fuzz tests the runtime, not the
    parser): each batch passes `rt check`."""
    with tempfile.TemporaryDirectory(prefix="rt-fuzz-programs-") as folder:
        path = Path(folder) / "programs.script"
        path.write_text(script_of(programs))
        assert check_file(str(path)) == 0, script_of(programs)
