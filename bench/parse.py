"""How long the parser takes: a generated 500-line script, parsed with the grammar built
from scratch (cold) and loaded from lark's cache (warm), plus steady-state parse time.

    .venv/bin/python bench/parse.py [--lines 500] [--repeat 20]

Prints milliseconds and ratios; nothing is asserted (speed claims live here, not in tests).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtserve.lang import parser as rt_parser  # noqa: E402

CHUNK = '''\
# handlers for item {i}
fn load_{i}(id, fields = ["name", "price"]) {{
    let row = db.one("select * from items where id = ?", [id])
    if row == nil {{ abort(404, {{"error": "no item ${{id}}"}}) }}
    let out = {{}}
    for f in fields {{
        out[f] = row[f] ?? "-"
    }}
    return out
}}

get "/items/{i}/:id" (req) {{
    let item = load_{i}(int(req.params.id))
    let total = item.price * 2 + 10 // 3 - (4 % 3) ** 2
    return json({{"item": item, "total": total, ok: total > 0 and not item.hidden}},
                status: 200)
}}

post "/items/{i}" {{
    let body = req.json()
    try {{
        assert len(body.name) > 0, "name required"
        kv.set("item:${{body.name}}", body, ttl: 60)
    }} catch err {{
        return response(err.message, status: 400)
    }}
    return redirect("/items/{i}/${{body.id}}")
}}
'''


def script(lines: int) -> str:
    chunks, i = [], 0
    while sum(c.count("\n") for c in chunks) < lines:
        chunks.append(CHUNK.format(i=i))
        i += 1
    return "\n".join(chunks)


def timed(fn, repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    source = script(args.lines)
    with tempfile.TemporaryDirectory() as cache:
        cache_dir = Path(cache)
        cold = timed(lambda: rt_parser.build_parser(cache_dir=False), max(3, args.repeat // 4))
        rt_parser.build_parser(cache_dir=cache_dir)  # writes the cache
        warm = timed(lambda: rt_parser.build_parser(cache_dir=cache_dir), args.repeat)
    rt_parser.parse(source, "bench.script")  # the module's own parser is built once here
    parse_ms = timed(lambda: rt_parser.parse(source, "bench.script"), args.repeat)
    print(f"script: {source.count(chr(10)) + 1} lines, {len(source)} characters")
    print(f"grammar build, no cache : {cold:8.2f} ms")
    print(f"grammar load from cache : {warm:8.2f} ms   ({cold / warm:.1f}x faster than building)")
    print(f"parse (tables ready)    : {parse_ms:8.2f} ms")
    print(f"first parse, warm cache : {warm + parse_ms:8.2f} ms")


if __name__ == "__main__":
    main()
