"""`import jwt`: sign and verify JSON Web Tokens (RFC 7519) in the compact JWS form (RFC 7515).

Strategy: the signatures are PyJWT's (`jwt.api_jws`, on `cryptography`); what is checked, and
in which order, is decided here, in one place, so each refusal has one clear reason:

1. Arguments: `algs` must be non-empty, known, and all of one family: HMAC (HS256/384/512)
   *or* public-key (RS256, ES256). A list mixing both is refused outright, because that is
   exactly the algorithm-confusion hole (an attacker signs an HS256 token with the server's
   RS public key as the HMAC secret). `none` is never an algorithm. An HMAC key must not be
   empty nor a PEM key; a shorter key than the hash (RFC 7518 section 3.2 asks for as long)
   is taken, as PyJWT and jsonwebtoken take it, and docs/stdlib.md says to use a long random
   one; a public key must be a PEM key of the algorithm's type (parsed keys are cached).
2. The token: three base64url parts whose header names an allowed `alg` (else "algorithm
   not allowed"), then the signature (else "bad signature"); anything unparsable is
   "malformed".
3. The claims: the `require`d ones present (none by default, as in PyJWT: STDLIB.md's
   `verify` gives the claims of any validly signed token; `require: ["exp"]` asks more), `exp` and `nbf` numbers checked
   against `now` (default the clock) with `leeway` seconds of slack, `aud` and `iss` when
   given (a token naming an audience is refused unless `audience:` matches, RFC 7519 4.1.3).

A refused token is a catchable `JWTError` whose message says why and whose `value` is the
reason code ("expired", "not yet valid", "bad signature", "malformed", "algorithm not
allowed", "missing claim", "wrong audience", "wrong issuer"); a wrong argument is a
TypeError/ValueError as everywhere. `sign` encodes the claims with the json module's
encoder (so what `json.encode` refuses, `jwt.sign` refuses too) and adds `iat` and `exp`
when `expires_in` is given.
"""
from __future__ import annotations

import functools
import time as _time
import warnings
from types import SimpleNamespace

from rtserve.lang.errors import ScriptError
from rtserve.lang.values import FrozenList, Module

from . import _args
from .json import decode as decode_json, encode_compact

HMAC_ALGS = ("HS256", "HS384", "HS512")
PUBLIC_ALGS = ("RS256", "ES256")
ALGS = tuple(HMAC_ALGS) + PUBLIC_ALGS
MAX_TOKEN = 64 * 1024
_TIME_CLAIMS = ("exp", "nbf", "iat")
# Steps charged for one signature operation beyond the bytes hashed (RSA/ECDSA cost more).
_SIGNATURE_STEPS = {"HS256": 20, "HS384": 20, "HS512": 20, "RS256": 2000, "ES256": 4000}



@functools.cache
def _lib():
    """PyJWT and cryptography, imported at the first use (they cost ~35 ms to import, which
    every `rt check` and server start would pay otherwise)."""
    import jwt
    # a short HMAC secret is the script's choice (docs/stdlib.md): no warning on stderr
    warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt import exceptions
    key_types = {(False, "RS256"): rsa.RSAPublicKey, (False, "ES256"): ec.EllipticCurvePublicKey,
                 (True, "RS256"): rsa.RSAPrivateKey, (True, "ES256"): ec.EllipticCurvePrivateKey}
    reasons = ((exceptions.InvalidSignatureError, "bad signature"),  # most specific first
               (exceptions.InvalidAlgorithmError, "algorithm not allowed"),
               (exceptions.PyJWTError, "malformed"))
    return SimpleNamespace(jws=jwt.PyJWS(), errors=exceptions, serialization=serialization,
                           key_types=key_types, p256=ec.SECP256R1, reasons=reasons)


def _refused(fname: str, reason: str, detail: str = "") -> ScriptError:
    return ScriptError("JWTError", f"{fname}(): {reason}" + (f": {detail}" if detail else ""), reason)


def _is_pem(key: bytes) -> bool:
    return key.lstrip().startswith(b"-----BEGIN")


@functools.lru_cache(maxsize=64)
def _load_pem(key: bytes, private: bool):
    if private:
        return _lib().serialization.load_pem_private_key(key, password=None)
    return _lib().serialization.load_pem_public_key(key)


def _pem_key(fname: str, key: bytes, algs, private: bool):
    """The PEM key loaded, and the algorithms of `algs` it fits (at least one)."""
    kind = "private" if private else "public"
    try:
        loaded = _load_pem(key, private)
    except (ValueError, TypeError, _lib().errors.PyJWTError):
        raise _args.value_error(fname, f"key must be a PEM {kind} key for {' or '.join(algs)}") from None
    types, p256 = _lib().key_types, _lib().p256
    fits = [a for a in algs if isinstance(loaded, types[private, a])
            and (a != "ES256" or isinstance(loaded.curve, p256))]
    if not fits:
        raise _args.value_error(fname, f"key is not a {' or '.join(algs)} {kind} key")
    return loaded, fits


def _hmac_key(fname: str, key: bytes, algs) -> bytes:
    if _is_pem(key):
        raise _args.value_error(fname, "a PEM key cannot be an HMAC secret (use the RS256 or ES256 algorithm)")
    if not key:
        raise _args.value_error(fname, "an HMAC key must not be empty")
    return key


def _algs(fname: str, algs) -> list[str]:
    algs = _args.sequence(fname, "algs", algs)
    if not algs:
        raise _args.value_error(fname, "algs must name at least one algorithm")
    for alg in algs:
        if type(alg) is not str:
            raise _args.type_error(fname, "each of algs", "a string", alg)
        if alg not in ALGS:
            raise _args.value_error(fname, f"unknown algorithm {alg!r} (one of: {', '.join(ALGS)})")
    if any(a in HMAC_ALGS for a in algs) and any(a in PUBLIC_ALGS for a in algs):
        raise _args.value_error(fname, "algs must not mix HMAC (HS*) and public-key (RS256, ES256) "
                                "algorithms: one key cannot serve both safely")
    return list(dict.fromkeys(algs))


def _time_claim(claims: dict, name: str, refuse) -> float | None:
    if name not in claims:
        return None
    value = claims[name]  # present but null is malformed: it must not mean "never expires"
    if type(value) is not int and type(value) is not float:
        raise refuse(f"claim {name!r} must be a number of seconds")
    return value


def sign(claims, key, alg="HS256", expires_in=None) -> str:
    fname = "jwt.sign"
    claims = dict(_args.mapping(fname, "claims", claims))
    for name in claims:
        if type(name) is not str:
            raise _args.type_error(fname, "a claim name", "a string", name)
    secret = _args.data(fname, "key", key)
    alg = _args.choice(fname, "alg", alg, ALGS)
    if expires_in is not None:
        expires_in = _args.number(fname, "expires_in", expires_in)
        if not 0 < expires_in <= 10 * 365 * 86400:
            raise _args.value_error(fname, "expires_in must be a positive number of seconds (at most 10 years)")
        now = int(_time.time())
        claims.setdefault("iat", now)
        claims["exp"] = now + int(expires_in)
    for name in _TIME_CLAIMS:
        if name in claims:
            _args.number(fname, f"claim {name!r}", claims[name])
    signing_key = _hmac_key(fname, secret, [alg]) if alg in HMAC_ALGS else _pem_key(fname, secret, [alg], True)[0]
    try:
        payload = encode_compact(claims).encode("utf-8")
    except ScriptError as exc:
        raise ScriptError(exc.kind, f"{fname}(): claims cannot be JSON: {exc.message.split(': ', 1)[-1]}") from None
    _args.work(len(payload) * 2, base=_SIGNATURE_STEPS[alg])
    token = _lib().jws.encode(payload, signing_key, algorithm=alg, headers={"typ": "JWT"})
    _args.result(len(token))
    return token


_DEFAULT_ALGS = FrozenList(["HS256"])
_DEFAULT_REQUIRE = FrozenList([])


def verify(token, key, algs=_DEFAULT_ALGS, leeway=0, audience=None, issuer=None,
           require=_DEFAULT_REQUIRE, now=None) -> dict:
    fname = "jwt.verify"
    token = _args.text(fname, "token", token)
    secret = _args.data(fname, "key", key)
    algs = _algs(fname, algs)
    leeway = _args.number(fname, "leeway", leeway)
    if not 0 <= leeway <= 86400:
        raise _args.value_error(fname, "leeway must be from 0 to 86400 seconds")
    required = [_args.text(fname, "each of require", r) for r in _args.sequence(fname, "require", require)]
    if audience is not None:
        audience = _args.text(fname, "audience", audience)
    if issuer is not None:
        issuer = _args.text(fname, "issuer", issuer)
    now = _time.time() if now is None else _args.number(fname, "now", now)
    if algs[0] in HMAC_ALGS:
        verifying_key, fits = _hmac_key(fname, secret, algs), algs
    else:
        verifying_key, fits = _pem_key(fname, secret, algs, False)

    if len(token) > MAX_TOKEN:
        raise _refused(fname, "malformed", f"token longer than {MAX_TOKEN} characters")
    if not token.isascii():  # a compact JWS is base64url and dots, ASCII only
        raise _refused(fname, "malformed", "the token holds a character that is not base64url")
    _args.work(len(token) * 2, base=max(_SIGNATURE_STEPS[a] for a in algs))
    lib = _lib()
    try:
        # PyJWS refuses a header `alg` outside `fits` before any signature work.
        decoded = lib.jws.decode_complete(token, verifying_key, algorithms=fits)
    except lib.errors.PyJWTError as exc:
        reason = next(r for cls, r in lib.reasons if isinstance(exc, cls))
        if reason == "algorithm not allowed":
            alg = lib.jws.get_unverified_header(token).get("alg")
            raise _refused(fname, reason, f"the token's algorithm is {alg!r}, "
                           f"allowed with this key: {', '.join(fits)}") from None
        raise _refused(fname, reason, str(exc) if reason == "malformed" else "") from None
    return _checked_claims(fname, decoded["payload"], required, now, leeway, audience, issuer)


def _checked_claims(fname, payload: bytes, required, now, leeway, audience, issuer) -> dict:
    try:
        claims = decode_json(payload)
    except ScriptError:
        claims = None
    if type(claims) is not dict:
        raise _refused(fname, "malformed", "the payload is not a JSON object")

    def malformed(why):
        return _refused(fname, "malformed", why)
    for name in required:
        if name not in claims:
            raise _refused(fname, "missing claim", f"the token has no {name!r} claim")
    exp = _time_claim(claims, "exp", malformed)
    nbf = _time_claim(claims, "nbf", malformed)
    _time_claim(claims, "iat", malformed)
    if exp is not None and now >= exp + leeway:
        raise _refused(fname, "expired", f"expired {int(now - exp)} seconds ago")
    if nbf is not None and now < nbf - leeway:
        raise _refused(fname, "not yet valid", f"valid in {int(nbf - now)} seconds")
    aud = claims.get("aud")
    if aud is not None or audience is not None:
        auds = aud if isinstance(aud, list) else [aud]
        if audience is None or audience not in auds:
            raise _refused(fname, "wrong audience", "the token names an audience; pass audience: to accept it"
                           if audience is None else f"the token is not for {audience!r}")
    if issuer is not None and claims.get("iss") != issuer:
        raise _refused(fname, "wrong issuer", f"the token is not from {issuer!r}")
    _args.result(len(payload) * 2)
    return claims


MODULE = Module.of("jwt", [sign, verify])
