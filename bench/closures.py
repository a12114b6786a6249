"""Why rt compiles scripts to Python code objects: the alternative, measured.

    .venv/bin/python -P bench/closures.py

The issue asked to measure both ways of not walking the tree per call: compiling the AST
to Python code objects (what lang/compiler.py does) and compiling it to nested closures
(each node becomes a Python function that computes it). This file holds a small closure
compiler for the subset the two programs below need (ints, + - < <=, let, assignment, if,
while, return, calls of named functions), runs both programs through it and through
rt's real compiler, and prints the times and the ratios against plain CPython. rt's code
keeps counting steps (it always does); the closures count nothing, which favours them.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtserve.lang import limits, nodes as N  # noqa: E402
from rtserve.lang.parser import parse  # noqa: E402
from rtserve.runtime.scripts.load import new_loader  # noqa: E402

SOURCE = """
fn fib(n) {
    if n < 2 { return n }
    return fib(n - 1) + fib(n - 2)
}
fn loop(count) {
    let total = 0
    let i = 0
    while i < count { total = total + i; i = i + 1 }
    return total
}
"""


class ClosureCompiler:
    """AST -> closures taking a frame (a list of local slots). A statement's closure
    returns None to go on, or a 1-tuple holding the value of a `return` (no exceptions)."""

    def __init__(self):
        self.functions: dict[str, object] = {}

    def module(self, module: N.Module) -> dict:
        for decl in module.body:
            self.functions[decl.name] = self.function(decl)
        return self.functions

    def function(self, decl: N.FnDecl):
        slots = {p.name: i for i, p in enumerate(decl.params)}
        body = self.block(decl.body, slots)
        padding = [None] * (len(slots) - len(decl.params))  # the body's `let`s

        def call(*args):
            returned = body([*args, *padding])
            return returned[0] if returned is not None else None
        return call

    def block(self, block: N.Block, slots):
        stmts = [self.stmt(s, slots) for s in block.body]

        def run(frame):
            for s in stmts:
                returned = s(frame)
                if returned is not None:
                    return returned
        return run

    def stmt(self, s, slots):
        if isinstance(s, N.Let):
            slots.setdefault(s.name, len(slots))
            i, value = slots[s.name], self.expr(s.value, slots)

            def let(frame):
                frame[i] = value(frame)
            return let
        if isinstance(s, N.Assign):
            i, value = slots[s.target.id], self.expr(s.value, slots)

            def assign(frame):
                frame[i] = value(frame)
            return assign
        if isinstance(s, N.Return):
            value = self.expr(s.value, slots)
            return lambda frame: (value(frame),)
        if isinstance(s, N.If):
            test, then = self.expr(s.test, slots), self.block(s.then, slots)
            return lambda frame: then(frame) if test(frame) else None
        if isinstance(s, N.While):
            test, body = self.expr(s.test, slots), self.block(s.body, slots)

            def while_(frame):
                while test(frame):
                    returned = body(frame)
                    if returned is not None:
                        return returned
            return while_
        raise NotImplementedError(type(s).__name__)

    def expr(self, e, slots):
        if isinstance(e, N.Literal):
            v = e.value
            return lambda frame: v
        if isinstance(e, N.Name):
            if e.id in slots:
                i = slots[e.id]
                return lambda frame: frame[i]
            functions, name = self.functions, e.id
            return lambda frame: functions[name]
        if isinstance(e, N.Binary):
            left, right = self.expr(e.left, slots), self.expr(e.right, slots)
            op = e.op
            if op == "+":
                return lambda frame: left(frame) + right(frame)
            if op == "-":
                return lambda frame: left(frame) - right(frame)
            if op == "<":
                return lambda frame: left(frame) < right(frame)
            raise NotImplementedError(op)
        if isinstance(e, N.Call):
            func, args = self.expr(e.func, slots), [self.expr(a, slots) for a in e.args]
            if len(args) == 1:
                (a,) = args
                return lambda frame: func(frame)(a(frame))
            return lambda frame: func(frame)(*[a(frame) for a in args])
        raise NotImplementedError(type(e).__name__)


def py_fib(n):
    if n < 2:
        return n
    return py_fib(n - 1) + py_fib(n - 2)


def py_loop(count):
    total = 0
    i = 0
    while i < count:
        total = total + i
        i = i + 1
    return total


def best(fn, *args, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    closures = ClosureCompiler().module(parse(SOURCE, "bench.script"))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.script")
        with open(path, "w") as f:
            f.write(SOURCE)
        compiled = new_loader().load(path).exports
    assert closures["fib"](15) == compiled["fib"](15) == py_fib(15)
    assert closures["loop"](1000) == compiled["loop"](1000) == py_loop(1000)
    limits.activate(limits.Budget(10**12))
    print(f"{'program':24} {'closures':>10} {'code objects':>13} {'CPython':>9}   ratios to CPython")
    for name, args, py in (("fib(22)", (22,), py_fib), ("while loop, 300,000x", (300_000,), py_loop)):
        key = name.split("(")[0] if "(" in name else "loop"
        c, o, p = best(closures[key], *args), best(compiled[key], *args), best(py, *args)
        print(f"{name:24} {c * 1000:8.1f}ms {o * 1000:11.1f}ms {p * 1000:7.1f}ms   "
              f"closures {c / p:.1f}x, code objects {o / p:.2f}x")


if __name__ == "__main__":
    with limits.depth_guard(2000):
        main()
