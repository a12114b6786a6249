"""stdlib `jwt`: the RFC 7515/7519 example tokens verify; the usual pitfalls are refused with
the right reason; sign/verify round trips; argument errors; charging."""
import base64
import hashlib
import hmac
import json
import time as pytime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings, strategies as st

from rtserve.lang.errors import LimitError
from stdlib_helpers import budget, functions, raises, run_script

jwt = functions("jwt")
VECTORS = json.loads((Path(__file__).parent / "jwt_vectors" / "rfc7515.json").read_text())
RFC_TIME = 1300819380 - 60  # a minute before the example tokens expire
SECRET = "s" * 32


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pem_public(key) -> str:
    if hasattr(key, "public_key"):  # a private key: its public half
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def pem_private(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def rfc_rsa_public_pem() -> str:
    numbers = rsa.RSAPublicNumbers(int.from_bytes(unb64url(VECTORS["rs256"]["e"]), "big"),
                                   int.from_bytes(unb64url(VECTORS["rs256"]["n"]), "big"))
    return pem_public(numbers.public_key())


def refused(reason: str, match: str = ""):
    return raises("JWTError", r"jwt.verify\(\): " + reason + match)


# --- the RFC examples ------------------------------------------------------------------------

def test_rfc_7515_a1_hs256_example_verifies():
    key = unb64url(VECTORS["hs256"]["k"])
    claims = jwt("verify")(VECTORS["hs256"]["token"], key, now=RFC_TIME)
    assert claims == VECTORS["payload"]


def test_rfc_7515_a2_rs256_example_verifies_with_the_pem_public_key():
    claims = jwt("verify")(VECTORS["rs256"]["token"], rfc_rsa_public_pem(), algs=["RS256"], now=RFC_TIME)
    assert claims == VECTORS["payload"]


def test_the_rfc_examples_are_expired_today():
    with refused("expired") as info:
        jwt("verify")(VECTORS["hs256"]["token"], unb64url(VECTORS["hs256"]["k"]))
    assert info.value.value == "expired"


# --- refusals --------------------------------------------------------------------------------

def _forge(header: dict, claims: dict, key: bytes | None) -> str:
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def test_alg_none_is_refused():
    token = _forge({"alg": "none", "typ": "JWT"}, {"sub": "admin", "exp": pytime.time() + 60}, None)
    with refused("algorithm not allowed", ": the token's algorithm is 'none'") as info:
        jwt("verify")(token, SECRET)
    assert info.value.value == "algorithm not allowed"
    with raises("ValueError", r"jwt.verify\(\): unknown algorithm 'none'"):
        jwt("verify")(token, SECRET, algs=["none"])


def test_a_tampered_payload_is_a_bad_signature():
    token = jwt("sign")({"sub": "alice"}, SECRET, expires_in=60)
    head, payload, sig = token.split(".")
    forged = json.loads(unb64url(payload))
    forged["sub"] = "admin"
    with refused("bad signature") as info:
        jwt("verify")(head + "." + b64url(json.dumps(forged).encode()) + "." + sig, SECRET)
    assert info.value.value == "bad signature"
    with refused("bad signature"):
        jwt("verify")(token, "t" * 32)


def test_an_hs_token_signed_with_the_rs_public_key_is_refused(rsa_key):
    # Algorithm confusion: the attacker knows the public key and uses its PEM text as an
    # HMAC secret. A verifier that let the token pick the algorithm would accept it.
    public = pem_public(rsa_key)
    token = _forge({"alg": "HS256", "typ": "JWT"}, {"sub": "admin", "exp": pytime.time() + 60}, public.encode())
    with refused("algorithm not allowed", ": the token's algorithm is 'HS256', allowed with this key: RS256"):
        jwt("verify")(token, public, algs=["RS256"])
    with raises("ValueError", r"jwt.verify\(\): algs must not mix HMAC"):
        jwt("verify")(token, public, algs=["RS256", "HS256"])
    with raises("ValueError", r"jwt.verify\(\): a PEM key cannot be an HMAC secret"):
        jwt("verify")(token, public, algs=["HS256"])


def test_expired_and_not_yet_valid_tokens_are_refused_with_leeway_respected():
    now = 1_700_000_000
    expired = jwt("sign")({"exp": now - 30}, SECRET)
    with refused("expired", ": expired 30 seconds ago"):
        jwt("verify")(expired, SECRET, now=now)
    assert jwt("verify")(expired, SECRET, now=now, leeway=60) == {"exp": now - 30}
    early = jwt("sign")({"exp": now + 3600, "nbf": now + 100}, SECRET)
    with refused("not yet valid", ": valid in 100 seconds") as info:
        jwt("verify")(early, SECRET, now=now)
    assert info.value.value == "not yet valid"
    assert jwt("verify")(early, SECRET, now=now + 100)["nbf"] == now + 100
    assert jwt("verify")(early, SECRET, now=now, leeway=120)["nbf"] == now + 100
    with refused("expired"):  # exp is exclusive
        jwt("verify")(jwt("sign")({"exp": now}, SECRET), SECRET, now=now)


def test_no_claim_is_required_by_default_and_require_names_the_ones_that_are():
    # STDLIB.md: verify gives the claims map of any valid token; a sign/verify round trip
    # without expires_in works, as in PyJWT and jsonwebtoken
    token = jwt("sign")({"sub": "x"}, SECRET)
    assert jwt("verify")(token, SECRET) == {"sub": "x"}
    with refused("missing claim", ": the token has no 'exp' claim") as info:
        jwt("verify")(token, SECRET, require=["exp"])
    assert info.value.value == "missing claim"
    with refused("missing claim", ": the token has no 'sub' claim"):
        jwt("verify")(jwt("sign")({"exp": pytime.time() + 60}, SECRET), SECRET, require=["exp", "sub"])


@pytest.mark.parametrize("token, detail", [
    ("not-a-token", ""),
    ("a.b", ""),
    ("eyJhbGciOiJIUzI1NiJ9.e30.!!", ""),
    (_forge({"alg": "HS256"}, {"exp": "tomorrow"}, SECRET.encode()), "claim 'exp' must be a number"),
    (_forge({"alg": "HS256"}, {"exp": True}, SECRET.encode()), "claim 'exp' must be a number"),
    (_forge({"alg": "HS256"}, {"exp": None}, SECRET.encode()), "claim 'exp' must be a number"),
    (_forge({"alg": "HS256"}, {"nbf": "later"}, SECRET.encode()), "claim 'nbf' must be a number"),
    ("x" * 70_000, "token longer than"),
])
def test_malformed_tokens(token, detail):
    with refused("malformed", ".*" + detail) as info:
        jwt("verify")(token, SECRET, require=[])
    assert info.value.value == "malformed"


def test_a_payload_that_is_not_an_object_is_malformed():
    signing_input = b64url(b'{"alg":"HS256"}') + "." + b64url(b"[1,2]")
    token = signing_input + "." + b64url(hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest())
    with refused("malformed", ": the payload is not a JSON object"):
        jwt("verify")(token, SECRET, require=[])


def test_audience_and_issuer():
    token = jwt("sign")({"aud": ["api", "web"], "iss": "auth", "exp": pytime.time() + 60}, SECRET)
    assert jwt("verify")(token, SECRET, audience="web", issuer="auth")["iss"] == "auth"
    with refused("wrong audience", ": the token names an audience"):
        jwt("verify")(token, SECRET)
    with refused("wrong audience", ": the token is not for 'mobile'"):
        jwt("verify")(token, SECRET, audience="mobile")
    with refused("wrong issuer"):
        jwt("verify")(token, SECRET, audience="api", issuer="other")
    with refused("wrong audience"):
        jwt("verify")(jwt("sign")({"exp": pytime.time() + 60}, SECRET), SECRET, audience="api")


# --- signing ---------------------------------------------------------------------------------

def test_sign_hs_is_a_standard_jws():
    key = "k" * 48
    token = jwt("sign")({"sub": "alice", "n": 1}, key, alg="HS384")
    head, payload, sig = token.split(".")
    assert json.loads(unb64url(head)) == {"alg": "HS384", "typ": "JWT"}
    assert json.loads(unb64url(payload)) == {"sub": "alice", "n": 1}
    assert unb64url(sig) == hmac.new(key.encode(), f"{head}.{payload}".encode(), hashlib.sha384).digest()
    assert jwt("verify")(token, key, algs=["HS384"], require=[]) == {"sub": "alice", "n": 1}
    with refused("algorithm not allowed"):
        jwt("verify")(token, key, require=[])


def test_sign_expires_in_sets_iat_and_exp():
    before = int(pytime.time())
    claims = jwt("verify")(jwt("sign")({"sub": "a"}, SECRET, expires_in=300), SECRET)
    assert before <= claims["iat"] <= before + 2 and claims["exp"] == claims["iat"] + 300


def test_rs256_and_es256_sign_and_verify(rsa_key, ec_key):
    for alg, key in (("RS256", rsa_key), ("ES256", ec_key)):
        token = jwt("sign")({"sub": "b"}, pem_private(key), alg=alg, expires_in=60)
        assert jwt("verify")(token, pem_public(key), algs=[alg])["sub"] == "b"
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
        with refused("bad signature"):
            jwt("verify")(token, pem_public(other), algs=[alg])
    with raises("ValueError", r"jwt.verify\(\): key is not a ES256 public key"):
        jwt("verify")(token, pem_public(rsa_key), algs=["ES256"])


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("exp", "nbf", "iat", "aud")),
                       st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=10), max_size=5))
def test_sign_then_verify_round_trips(claims):
    assert jwt("verify")(jwt("sign")(claims, SECRET), SECRET, require=[]) == claims


@pytest.mark.parametrize("call, kind, match", [
    (lambda: jwt("sign")([1], SECRET), "TypeError", r"jwt.sign\(\): claims must be a map, not list"),
    (lambda: jwt("sign")({1: "x"}, SECRET), "TypeError", r"jwt.sign\(\): a claim name must be a string, not int"),
    (lambda: jwt("sign")({"b": b"x"}, SECRET), "TypeError", r"jwt.sign\(\): claims cannot be JSON: cannot encode bytes"),
    (lambda: jwt("sign")({}, ""), "ValueError", r"jwt.sign\(\): an HMAC key must not be empty"),
    (lambda: jwt("verify")("a.b.c", b""), "ValueError", r"jwt.verify\(\): an HMAC key must not be empty"),
    (lambda: jwt("sign")({}, SECRET, alg="none"), "ValueError", r"jwt.sign\(\): unknown alg 'none'"),
    (lambda: jwt("sign")({}, SECRET, alg="RS256"), "ValueError", r"jwt.sign\(\): key must be a PEM private key for RS256"),
    (lambda: jwt("sign")({}, SECRET, expires_in=-5), "ValueError", r"jwt.sign\(\): expires_in must be a positive"),
    (lambda: jwt("sign")({"exp": "soon"}, SECRET), "TypeError", r"jwt.sign\(\): claim 'exp' must be a number, not string"),
    (lambda: jwt("sign")({"exp": None}, SECRET), "TypeError", r"jwt.sign\(\): claim 'exp' must be a number, not nil"),
    (lambda: jwt("verify")(5, SECRET), "TypeError", r"jwt.verify\(\): token must be a string, not int"),
    (lambda: jwt("verify")("a.b.c", None), "TypeError", r"jwt.verify\(\): key must be a string or bytes, not nil"),
    (lambda: jwt("verify")("a.b.c", SECRET, algs="HS256"), "TypeError", r"jwt.verify\(\): algs must be a list, not string"),
    (lambda: jwt("verify")("a.b.c", SECRET, algs=[]), "ValueError", r"algs must name at least one"),
    (lambda: jwt("verify")("a.b.c", SECRET, leeway=-1), "ValueError", r"jwt.verify\(\): leeway must be from 0"),
    (lambda: jwt("verify")("a.b.c", "x" * 40, algs=["RS256"]), "ValueError", r"key must be a PEM public key for RS256"),
])
def test_argument_errors(call, kind, match):
    with raises(kind, match):
        call()


def test_verify_is_charged():
    token = jwt("sign")({"pad": "x" * 40_000}, SECRET)
    with budget(steps=1000):
        with pytest.raises(LimitError, match="step budget"):
            jwt("verify")(token, SECRET, require=[])


def test_from_a_script_a_refusal_is_a_catchable_jwt_error():
    exports = run_script('''
import jwt
let secret = "0123456789abcdef0123456789abcdef"
let token = jwt.sign({"sub": "ann"}, secret, expires_in: 60)
let claims = jwt.verify(token, secret)
let why = nil
try { jwt.verify(token + "x", secret) } catch e { why = [e.kind, e.value, e.message] }
''')
    assert exports["claims"]["sub"] == "ann"
    assert exports["why"] == ["JWTError", "bad signature", "jwt.verify(): bad signature"]
