"""Peer of rt_state.script: starlette under uvicorn doing the same kv.get, kv.incr and db.one
with the same drivers, in their async flavour where they have one (redis.asyncio, psycopg's
AsyncConnectionPool) and, for SQLite, sqlite3 in sync endpoints (starlette runs them on its
thread pool) with rt's settings (WAL, synchronous=FULL, a connection per thread).

    RT_BENCH_KV=redis://... | sqlite:PATH   RT_BENCH_DB=postgresql://... | sqlite:PATH
    uvicorn --app-dir bench/peers starlette_state:app
"""
import os
import sqlite3
import threading
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

KV = os.environ["RT_BENCH_KV"]
DB = os.environ["RT_BENCH_DB"]
_local = threading.local()


def sqlite_conn(path: str) -> sqlite3.Connection:
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    if path not in conns:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 5000")
        conns[path] = conn
    return conns[path]


state: dict = {}


@asynccontextmanager
async def lifespan(app):
    if KV.startswith("redis"):
        import redis.asyncio as aioredis
        state["redis"] = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
            KV, max_connections=16))
        await state["redis"].set("bench:key", "hello, world")
    else:
        conn = sqlite_conn(KV[len("sqlite:"):])
        conn.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB, expires REAL)")
        conn.execute("INSERT OR REPLACE INTO kv VALUES ('bench:key', 'hello, world', NULL)")
    if DB.startswith("postgresql"):
        from psycopg_pool import AsyncConnectionPool
        pool = state["pg"] = AsyncConnectionPool(DB, min_size=4, max_size=16, open=False,
                                                 kwargs={"autocommit": True})
        await pool.open()
        async with pool.connection() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            await conn.execute("INSERT INTO bench_items (id, name) VALUES (1, 'one') ON CONFLICT DO NOTHING")
    else:
        conn = sqlite_conn(DB[len("sqlite:"):])
        conn.execute("CREATE TABLE IF NOT EXISTS bench_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("INSERT INTO bench_items (id, name) VALUES (1, 'one') ON CONFLICT DO NOTHING")
    yield
    if "pg" in state:
        await state["pg"].close()


async def plaintext(request):
    return PlainTextResponse("ok")


if KV.startswith("redis"):
    async def kv_get(request):
        value = await state["redis"].get("bench:key")
        return JSONResponse({"value": value.decode()})

    async def kv_incr(request):
        return JSONResponse({"n": await state["redis"].incrby("bench:counter", 1)})
else:
    def kv_get(request):
        row = sqlite_conn(KV[len("sqlite:"):]).execute(
            "SELECT value FROM kv WHERE key = ?", ("bench:key",)).fetchone()
        return JSONResponse({"value": row[0]})

    def kv_incr(request):
        conn = sqlite_conn(KV[len("sqlite:"):])
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT value FROM kv WHERE key = 'bench:counter'").fetchone()
        n = (int(row[0]) if row else 0) + 1
        conn.execute("INSERT OR REPLACE INTO kv VALUES ('bench:counter', ?, NULL)", (str(n),))
        conn.execute("COMMIT")
        return JSONResponse({"n": n})

if DB.startswith("postgresql"):
    async def db_one(request):
        async with state["pg"].connection() as conn:
            cur = await conn.execute("SELECT id, name FROM bench_items WHERE id = %s", (1,))
            row = await cur.fetchone()
        return JSONResponse({"id": row[0], "name": row[1]})
else:
    def db_one(request):
        cur = sqlite_conn(DB[len("sqlite:"):]).execute(
            "SELECT id, name FROM bench_items WHERE id = ?", (1,))
        row = cur.fetchone()
        return JSONResponse({"id": row[0], "name": row[1]})


app = Starlette(routes=[Route("/plaintext", plaintext), Route("/kv/get", kv_get),
                        Route("/kv/incr", kv_incr), Route("/db/one", db_one)],
                lifespan=lifespan)
