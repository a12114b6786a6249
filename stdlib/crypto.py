"""`import crypto`: hashes, HMAC, constant-time comparison, random bytes and tokens, and
password hashing.

Strategy: thin checked wrappers over Python's `hashlib`, `hmac` and `secrets` (OpenSSL
underneath), never hand-written primitives. Data is a string (hashed as its UTF-8) or bytes.

- `compare(a, b)` is `hmac.compare_digest` on the two byte strings. CPython implements it
  (`_tscmp` in Modules/_operator.c) by XOR-ing every byte pair and OR-ing the results into one
  accumulator over the whole length of `b`, with no early exit and no branch on the bytes, so
  its running time depends on the lengths and never on where (or whether) the contents differ.
  Lengths are not secret in any use we know (an HMAC hex digest has a fixed length).
- `password_hash` is scrypt (RFC 7914, memory-hard) with a fresh 16-byte salt, written as the
  self-describing `scrypt$N$r$p$salt$hash` (salt and hash base64 without padding), so
  parameters can be raised later and old hashes still verify. `password_verify` reads the
  parameters from the string but refuses ones past a bound (a stored hash cannot make a
  request spend unbounded memory or time) and compares in constant time.
"""
from __future__ import annotations

import base64 as _b64
import hashlib
import hmac as _hmac
import secrets

from rtserve.lang.values import Module

from . import _args

ALGORITHMS = ("sha256", "sha1", "sha384", "sha512", "blake2b")
MAX_RANDOM_BYTES = 1024
MAX_PASSWORD_BYTES = 1024

# scrypt: N=2^14, r=8, p=1 is the parameter set RFC 7914 and OWASP give for interactive
# logins (16 MiB, ~50 ms). Verification accepts stored parameters up to these bounds.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
SCRYPT_SALT_BYTES, SCRYPT_KEY_BYTES = 16, 32
_MAX_SCRYPT_MEMORY = 64 * 1024 * 1024   # 128 * N * r bytes
_MAX_SCRYPT_P = 16
# Steps charged for one scrypt at the default parameters (about as long as this many script
# steps take); other parameters in proportion to N * r * p.
_SCRYPT_STEPS = 500_000


def _algorithm(fname: str, algo) -> str:
    """One of ALGORITHMS, named in any case ("SHA256" too, as hashlib and Node's crypto take)."""
    return _args.choice(fname, "algo", algo.lower() if type(algo) is str else algo, ALGORITHMS)


def hash_(data, algo="sha256") -> str:
    payload = _args.data("crypto.hash", "data", data)
    algo = _algorithm("crypto.hash", algo)
    _args.work(len(payload))
    digest = hashlib.new(algo, payload).hexdigest()
    _args.result(len(digest))
    return digest


def hmac(key, data, algo="sha256") -> str:
    key_bytes = _args.data("crypto.hmac", "key", key)
    payload = _args.data("crypto.hmac", "data", data)
    algo = _algorithm("crypto.hmac", algo)
    _args.work(len(payload) + len(key_bytes))
    digest = _hmac.new(key_bytes, payload, algo).hexdigest()
    _args.result(len(digest))
    return digest


def compare(a, b) -> bool:
    left = _args.data("crypto.compare", "a", a)
    right = _args.data("crypto.compare", "b", b)
    _args.work(max(len(left), len(right)))
    return _hmac.compare_digest(left, right)


def random_bytes(n) -> bytes:
    n = _args.integer("crypto.random_bytes", "n", n, 0, MAX_RANDOM_BYTES)
    _args.result(n)
    return secrets.token_bytes(n)


def random_token(n=32) -> str:
    n = _args.integer("crypto.random_token", "n", n, 1, MAX_RANDOM_BYTES)
    _args.result(n * 4 // 3 + 4)
    return secrets.token_urlsafe(n)


def _b64_text(raw: bytes) -> str:
    return _b64.b64encode(raw).decode("ascii").rstrip("=")


def _b64_bytes(text: str) -> bytes:
    return _b64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    _args.work(0, base=max(1, _SCRYPT_STEPS * (n * r * p) // (SCRYPT_N * SCRYPT_R * SCRYPT_P)))
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=SCRYPT_KEY_BYTES,
                          maxmem=_MAX_SCRYPT_MEMORY + 1024 * 1024)


def _password(fname: str, pw) -> bytes:
    password = _args.data(fname, "password", pw)
    if len(password) > MAX_PASSWORD_BYTES:
        raise _args.value_error(fname, f"password longer than {MAX_PASSWORD_BYTES} bytes")
    return password


def password_hash(pw) -> str:
    password = _password("crypto.password_hash", pw)
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64_text(salt)}${_b64_text(key)}"
    _args.result(len(encoded))
    return encoded


def _parse_hash(stored: str):
    """(n, r, p, salt, key) from `scrypt$N$r$p$salt$hash`, or None if it is not one we accept."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isdigit() and len(x) < 10 for x in parts[1:4]):
        return None
    n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    if n < 2 or n & (n - 1) or r < 1 or not 1 <= p <= _MAX_SCRYPT_P or 128 * n * r > _MAX_SCRYPT_MEMORY:
        return None
    try:
        salt, key = _b64_bytes(parts[4]), _b64_bytes(parts[5])
    except ValueError:
        return None
    if not salt or len(key) != SCRYPT_KEY_BYTES:
        return None
    return n, r, p, salt, key


def password_verify(pw, hash) -> bool:  # noqa: A002 - the script-level argument name
    password = _password("crypto.password_verify", pw)
    stored = _args.text("crypto.password_verify", "hash", hash)
    parsed = _parse_hash(stored) if len(stored) < 512 else None
    if parsed is None:
        raise _args.value_error("crypto.password_verify",
                                "hash is not a password hash made by crypto.password_hash()")
    n, r, p, salt, key = parsed
    return _hmac.compare_digest(_scrypt(password, salt, n, r, p), key)


MODULE = Module.of("crypto", [hash_, hmac, compare, random_bytes, random_token,
                              password_hash, password_verify])
