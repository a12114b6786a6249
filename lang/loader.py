"""Load scripts: read, parse, resolve, compile, then run each module once and freeze it.

Strategy. Imports stay home: `import "x.script"` names a regular `.script` file whose real
path (symlinks resolved) is inside the entry script's folder or the `lib` folder; each file
is read through lang/sourcefile.py (size-capped, never a FIFO or device), and an error names
the import without quoting a file that is not a script.

`Loader.check(path)` runs the static phases over the whole import graph first
(every file parsed, resolved and compiled; every error of every file collected; import
cycles reported), so no code runs while any file in the graph has a mistake. `Loader.load`
then runs modules depth-first, each exactly once, and freezes what its top level reached.

`lang` knows nothing of the standard library: whoever builds the Loader passes the
importable modules (`import json`) in. Declarations (routes, `use`, `on`...) met while a
module runs are handed to `on_declaration(node, groups, value, module)`; `rt run` ignores
them, the server mounts them.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field

from . import limits, nodes as N, ops, stack
from .builtins import BUILTINS, call_method
from .compiler import MISSING, P, Compiled, compile_module
from .direct import method_globals
from .errors import ErrorList, Span, StaticError, remember_source
from .sourcefile import ScriptFileError, read_script
from .parser import parse
from .resolver import resolve
from .values import Module, freeze_all, to_str


@dataclass
class Script:
    """One script file after the static phases (and, once run, its frozen exports)."""
    path: str  # as shown to users (relative paths kept relative)
    real_path: str
    module: N.Module
    compiled: Compiled
    imports: list = field(default_factory=list)  # (Import node, Script | Module)
    exports: dict | None = None
    declarations: list = field(default_factory=list)  # (node, groups, value)


class _Sentinel:
    __slots__ = ()

    def __repr__(self):
        return "<missing>"


def _base_globals() -> dict:
    # `type`, `int`, `float` are Python's own under names no script can write: the
    # compiler's inline type tests use them (the script's `type` builtin is separate).
    g = {"__builtins__": {}}
    g.update(BUILTINS)
    helpers = {
        "add": ops.add, "sized": ops.sized, "store": ops.store, "slice_of": ops.slice_of, "checked": ops.checked, "grown": ops.grown, "will_append": ops.will_append, "contains": ops.contains,
        "less": ops.less, "less_equal": ops.less_equal, "greater": ops.greater,
        "greater_equal": ops.greater_equal,
        "mul": ops.mul, "power": ops.power, "modulo": ops.modulo,
        "eq": ops.eq, "ne": ops.ne, "index": ops.index, "pairs": ops.pairs,
        "loop_range": ops.loop_range, "interpolate": ops.interpolate, "text_part": ops.text_part, "throw": ops.throw,
        "assertion_failed": ops.assertion_failed, "caught": ops.caught,
        "frozen_binding": ops.frozen_binding, "frozen_capture": ops.frozen_capture, "refill": limits.refill,
        "refill_loop": limits.refill_loop, "len": len, "int": int, "float": float, "str": to_str, "str_type": str,
        "call_method": call_method, "MISSING": _Sentinel(), "BREAK": _Sentinel(), "Exception": Exception,
    }
    g.update({P + k: v for k, v in helpers.items()})
    g.update(method_globals())
    return g


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


_BASE_GLOBALS = _base_globals()
assert MISSING in _BASE_GLOBALS


def _too_deep(path: str) -> StaticError:
    """Python's recursion limit met while resolving or compiling: positioned at the file's
    start, as the parser does, since the phases that recurse do not know the statement."""
    return StaticError(Span(path, 1, 1, 1, 2), "an expression is nested too deeply to compile")


class Loader:
    """`lib`: a folder imports may also come from, besides the entry script's own folder."""

    def __init__(self, modules: dict | None = None, on_declaration=None, lib: str | None = None):
        self.modules = modules or {}
        self.on_declaration = on_declaration
        self.lib = lib
        self.roots: tuple[str, ...] = ()  # real folders imports may come from (set by check)
        self.scripts: dict[str, Script] = {}  # by real path

    # ------------------------------------------------------------------ static phases

    def check(self, path: str, source: str | None = None) -> Script:
        """Parse, resolve and compile `path` (whose text may be given as `source`) and
        everything it imports. Raises ErrorList with every error found in the whole graph."""
        errors: list[StaticError] = []
        # The phases allocate many small objects that all live on: the cyclic GC would only
        # rescan them, again and again (a fifth of the time for a large script).
        collecting = gc.isenabled()
        gc.disable()
        if not self.roots:
            roots = [os.path.realpath(os.path.dirname(path) or ".")]
            if self.lib is not None:
                roots.append(os.path.realpath(self.lib))
            self.roots = tuple(roots)
        try:
            script = self._check(path, None, [], errors, source)
        finally:
            if collecting:
                gc.enable()
        if errors:
            raise ErrorList(errors)
        return script

    def _check(self, path: str, span, chain: list, errors: list, source: str | None = None) -> Script | None:
        real = os.path.realpath(path)
        if real in chain:
            cycle = " -> ".join(os.path.basename(p) for p in chain[chain.index(real):] + [real])
            errors.append(StaticError(span, f"import cycle: {cycle}"))
            return None
        if real in self.scripts:
            return self.scripts[real]
        if source is None:
            try:
                source = read_script(path)
            except ScriptFileError as e:
                if span is None and e.at is not None:  # the entry script: where in it
                    line, col = e.at
                    errors.append(StaticError(Span(path, line, col, line, col + 1), str(e)))
                else:
                    errors.append(StaticError(span, f"{path}: {e}" if e.at else str(e)))
                return None
        remember_source(path, source)
        try:
            module = parse(source, path)
            resolution = resolve(module, BUILTINS)
        except ErrorList as e:
            errors.extend(e.errors)
            module = None
        except RecursionError:
            errors.append(_too_deep(path))
            module = None
        imports = []
        if module is None:
            # Still follow the imports we can see? Without a tree there are none.
            return None
        for node in module.body:
            if not isinstance(node, N.Import):
                continue
            if node.module is not None:
                target = self.modules.get(node.module)
                if target is None:
                    known = ", ".join(sorted(self.modules)) or "none"
                    errors.append(StaticError(node.span, f"no module named '{node.module}' (available: {known})"))
                imports.append((node, target))
            else:
                child_path, problem = self._locate(node.path, path)
                if problem is not None:
                    errors.append(StaticError(node.span, problem))
                    imports.append((node, None))
                    continue
                imports.append((node, self._check(child_path, node.span, chain + [real], errors)))
        try:
            compiled = compile_module(module, resolution, path)
        except RecursionError:
            errors.append(_too_deep(path))
            return None
        stack.register(path, compiled.display_names)
        script = Script(path, real, module, compiled, imports)
        self.scripts[real] = script
        return script

    def _locate(self, target: str, importer: str) -> tuple[str, str | None]:
        """Where `import "target"` in `importer` points: the path relative to the importer's
        folder, else (with `lib`) to the lib folder. It must name a `.script` file whose real
        path (symlinks resolved) lies inside the entry script's folder or the lib folder.
        Returns (path, None) or (path, the problem)."""
        if not target.endswith(".script"):
            return target, f"cannot import {target!r}: only .script files can be imported"
        candidates = [os.path.normpath(os.path.join(os.path.dirname(importer), target))]
        if self.lib is not None and not os.path.isabs(target):
            candidates.append(os.path.normpath(os.path.join(self.lib, target)))
        for candidate in candidates:
            if os.path.lexists(candidate):
                break
        else:
            return candidates[0], f"no such script: {candidates[0]}"
        real = os.path.realpath(candidate)
        if not any(_inside(real, root) for root in self.roots):
            where = "the served script's folder" + (" or the lib folder" if self.lib else "")
            return candidate, (f"cannot import {target!r}: it is outside {where} "
                               "(imports stay inside it; see --lib)")
        return candidate, None

    # ------------------------------------------------------------------ running

    def load(self, path: str, source: str | None = None) -> Script:
        """Check the graph, then run every module in it once (imports first) and freeze it.
        Raises ErrorList for static errors; runtime errors propagate as raised."""
        script = self.check(path, source)
        self._run(script)
        return script

    def _run(self, script: Script) -> None:
        if script.exports is not None:
            return
        modules = {}
        for node, target in script.imports:
            if isinstance(target, Script):
                self._run(target)
                target = Module(node.alias, target.exports)
            modules[node.module if node.module is not None else node.path] = target
        declarations = script.compiled.declarations

        def declare(index, value):
            node, groups = declarations[index]
            script.declarations.append((node, groups, value))
            if self.on_declaration is not None:
                self.on_declaration(node, groups, value, script)

        g = dict(_BASE_GLOBALS)
        g[P + "modules"] = modules
        g[P + "declare"] = declare
        exec(script.compiled.code, g)
        exports = g[P + "module"]()
        # Declared values (handlers, middleware) count as reachable from the top level:
        # freeze them in the same pass so shared values stay shared.
        declared = {f"{P}{i}": value for i, (_, _, value) in enumerate(script.declarations)}
        frozen = freeze_all({**exports, **declared})
        script.exports = {name: frozen[name] for name in exports}
        script.declarations = [(n, gr, frozen[f"{P}{i}"]) for i, (n, gr, _) in enumerate(script.declarations)]
