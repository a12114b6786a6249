"""`RT_DUMP=script,router`: print the Python that rt's two code generators build.

Strategy: the script compiler and the route-table compiler both build `ast` trees; each hands
its tree to `dump(kind, label, tree)` just before compiling it, and when `kind` is named in
the comma-separated `RT_DUMP` environment variable the tree is printed to stderr as source
(`ast.unparse`). A table that comes from the cache is not rebuilt, so `RT_DUMP=router` skips
the route cache. Nothing else changes: the code printed is the code that runs.
"""
from __future__ import annotations

import ast
import os
import sys

def wanted(kind: str) -> bool:
    """Whether `RT_DUMP` asks for the code of `kind` ("script" or "router")."""
    return kind in os.environ.get("RT_DUMP", "").replace(" ", "").split(",")


def dump(kind: str, label: str, tree: ast.AST) -> None:
    """Print `tree` as Python source to stderr when `RT_DUMP` names `kind`."""
    if wanted(kind):
        source = ast.unparse(ast.fix_missing_locations(tree))
        print(f"# ---- RT_DUMP {kind}: {label} ----\n{source}\n", file=sys.stderr, flush=True)
