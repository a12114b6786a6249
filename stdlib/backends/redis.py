"""The Redis backend for `kv` (`--kv redis://host:port/N`): one connection pool per process.

Strategy. Each operation is one Redis command (or one small Lua script run atomically by
Redis), so every kind of concurrency (threads, worker processes, machines) is Redis' own:
get -> GET, set -> SET [PX ms], add -> SET NX [PX ms], delete -> DEL, incr -> INCRBY (and
PEXPIRE when the key has no expiry yet, in the same script), keys -> SCAN MATCH prefix*, and
the rate limiter's token bucket (`take`) -> one Lua script over a hash.
Values are stored in backends/codec.py's form, in which an int is its plain decimal, so
INCRBY works on what `kv.set` stored.

Commands go straight to a pooled connection (`send_command` / `read_response`) with the
call's wait budget as the socket timeout, so no call waits past --backend-timeout nor the
request's deadline; the client's retries are off (a retry would wait again). A connection
that failed is disconnected before it goes back to the pool, and the next command
reconnects: when Redis is back, service resumes by itself. (RESP2, and no CLIENT SETINFO: a new
connection sends nothing before the first command, except SELECT for a database other than
0 and AUTH, which are bounded by --backend-timeout alone.) The pool is made on first use in
each process (workers fork after the script loaded). hiredis, when installed, parses the
replies (redis-py picks it up by itself).
"""
from __future__ import annotations

from . import BackendDown, PerProcess

_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""
# A token bucket (middleware.rate_limit): tokens and the time they were counted, in a hash;
# Redis' own clock, so every machine counts alike. Returns the seconds to wait, as text.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(state[1]) or burst
local counted = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - counted) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""
_SCAN_BATCH = 1000


class NotAnInt(Exception):
    """INCRBY found a value that is not an int, or the result is out of 64-bit range."""


class _NoScript(Exception):
    """EVALSHA of a script Redis does not have (yet, or any more: SCRIPT FLUSH, a restart)."""


class RedisKv:
    def __init__(self, url: str, timeout: float, pool_size: int = 16) -> None:
        self.url = url
        self.timeout = timeout
        self.pool_size = pool_size
        self._pool = PerProcess(self._new_pool)
        self._loaded: set[str] = set()  # sha1 of the scripts Redis has been sent

    def describe(self) -> str:
        from urllib.parse import urlsplit
        parts = urlsplit(self.url)
        return f"Redis at {parts.hostname}:{parts.port or 6379}"

    def _new_pool(self):
        import redis
        return redis.BlockingConnectionPool.from_url(
            self.url, max_connections=self.pool_size, timeout=self.timeout,
            socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
            socket_keepalive=True, retry=None, protocol=2, driver_info=None)

    def command(self, wait: float, *args):
        """One command's raw reply, waiting at most `wait` seconds in all."""
        import redis
        pool = self._pool.get()
        try:
            conn = pool.get_connection()
        except redis.ConnectionError as exc:  # BlockingConnectionPool: none free in time
            raise BackendDown(f"{self.describe()} is unreachable ({_reason(exc)})") from None
        except redis.RedisError as exc:
            raise BackendDown(f"{self.describe()}: {_reason(exc)}") from None
        try:
            conn.send_command(*args)
            reply = conn.read_response(timeout=wait)
        except redis.ResponseError as exc:
            pool.release(conn)
            if isinstance(exc, redis.exceptions.NoScriptError):
                raise _NoScript() from None
            message = str(exc)
            if "not an integer" in message or "overflow" in message:
                raise NotAnInt(message) from None
            raise BackendDown(f"{self.describe()} refused {args[0]}: {message}") from None
        except (redis.RedisError, OSError) as exc:
            conn.disconnect()
            pool.release(conn)
            if isinstance(exc, redis.TimeoutError):
                raise BackendDown(f"{self.describe()} did not answer within {wait:g}s") from None
            raise BackendDown(f"{self.describe()} is unreachable ({_reason(exc)})") from None
        except BaseException:
            conn.disconnect()  # interrupted mid-reply: the connection's state is unknown
            pool.release(conn)
            raise
        pool.release(conn)
        return reply

    def ping(self, wait: float) -> None:
        """Returns when Redis answered PING within `wait` seconds (else BackendDown)."""
        self.command(wait, "PING")

    def get(self, key: str, wait: float) -> bytes | None:
        return self.command(wait, "GET", key)

    def set(self, key: str, data: bytes, ttl_ms: int | None, wait: float) -> None:
        if ttl_ms is None:
            self.command(wait, "SET", key, data)
        else:
            self.command(wait, "SET", key, data, "PX", ttl_ms)

    def add(self, key: str, data: bytes, ttl_ms: int | None, wait: float) -> bool:
        if ttl_ms is None:
            reply = self.command(wait, "SET", key, data, "NX")
        else:
            reply = self.command(wait, "SET", key, data, "NX", "PX", ttl_ms)
        return reply is not None

    def delete(self, key: str, wait: float) -> bool:
        return self.command(wait, "DEL", key) == 1

    def incr(self, key: str, by: int, ttl_ms: int | None, wait: float) -> int | bytes:
        """The new value, or the stored bytes when they are not an int (nothing changed)."""
        ttl = "" if ttl_ms is None else ttl_ms
        try:
            return self._script(_INCR, wait, key, by, ttl)
        except NotAnInt as exc:
            if "overflow" in str(exc):
                raise OverflowError from None
            stored = self.command(wait, "GET", key)
            return stored if stored is not None else b""

    def take(self, key: str, burst: int, rate: float, wait: float) -> float:
        return float(self._script(_TAKE, wait, key, burst, repr(rate)))

    def _script(self, source: str, wait: float, key: str, *args):
        """EVALSHA of `source` (EVAL the first time, and when Redis lost its scripts)."""
        import hashlib
        sha = hashlib.sha1(source.encode()).hexdigest()
        if sha in self._loaded:
            try:
                return self.command(wait, "EVALSHA", sha, 1, key, *args)
            except _NoScript:
                pass
        reply = self.command(wait, "EVAL", source, 1, key, *args)
        self._loaded.add(sha)
        return reply

    def keys(self, prefix: str, limit: int, wait: float) -> list[str]:
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        found: set[bytes] = set()
        cursor = b"0"
        while True:
            cursor, batch = self.command(wait, "SCAN", cursor, "MATCH", pattern, "COUNT", _SCAN_BATCH)
            found.update(batch)
            if cursor in (b"0", 0) or len(found) >= limit:
                break
        keys = sorted(k.decode("utf-8", "surrogateescape") for k in found)
        return keys[:limit]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "connection failed"
