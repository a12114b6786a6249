"""stdlib: crypto, base64, uuid, random and text — behaviour, argument errors, charging."""
import base64 as pybase64
import hashlib
import hmac as pyhmac
import html
import re
import time as pytime
import urllib.parse
import uuid as pyuuid

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.lang.errors import LimitError
from rtserve.lang.values import FrozenList, freeze
from stdlib_helpers import budget, functions, raises, run_script

crypto = functions("crypto")
b64 = functions("base64")
uuid = functions("uuid")
rnd = functions("random")
text = functions("text")


def test_every_module_is_registered_under_its_name():
    from rtserve.lang.values import Module
    from rtserve.stdlib import modules
    found = modules()
    assert sorted(found) == ["base64", "crypto", "env", "http", "json", "jwt", "log", "math", "middleware", "random",
                             "re", "text", "time", "uuid"]
    assert all(isinstance(m, Module) and m.name == name for name, m in found.items())


# --- crypto ----------------------------------------------------------------------------------

@pytest.mark.parametrize("algo", ["sha1", "sha256", "sha384", "sha512", "blake2b"])
def test_crypto_hash_matches_hashlib(algo):
    assert crypto("hash")("héllo", algo) == hashlib.new(algo, "héllo".encode()).hexdigest()
    assert crypto("hash")(b"\x00\xff", algo=algo) == hashlib.new(algo, b"\x00\xff").hexdigest()


def test_crypto_hash_default_is_sha256_of_the_utf8():
    assert crypto("hash")("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_crypto_hmac_rfc_4231_case_2():
    assert crypto("hmac")("Jefe", "what do ya want for nothing?") == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert crypto("hmac")(b"k", b"d", algo="sha512") == pyhmac.new(b"k", b"d", "sha512").hexdigest()


@pytest.mark.parametrize("call, kind, match", [
    (lambda: crypto("hash")(5), "TypeError", r"crypto.hash\(\): data must be a string or bytes, not int"),
    (lambda: crypto("hash")("x", "md5"), "ValueError", r"crypto.hash\(\): unknown algo 'md5'"),
    (lambda: crypto("hash")("x", algo=1), "TypeError", r"crypto.hash\(\): algo must be a string"),
    (lambda: crypto("hmac")(1, "d"), "TypeError", r"crypto.hmac\(\): key must be a string or bytes, not int"),
    (lambda: crypto("hmac")("k", None), "TypeError", r"crypto.hmac\(\): data must be a string or bytes, not nil"),
    (lambda: crypto("compare")("a", 1.5), "TypeError", r"crypto.compare\(\): b must be a string or bytes, not float"),
    (lambda: crypto("random_bytes")(1025), "ValueError", r"crypto.random_bytes\(\): n must be from 0 to 1024"),
    (lambda: crypto("random_bytes")(-1), "ValueError", r"crypto.random_bytes\(\): n must be from 0 to 1024, not -1"),
    (lambda: crypto("random_bytes")("8"), "TypeError", r"crypto.random_bytes\(\): n must be an int, not string"),
    (lambda: crypto("random_token")(0), "ValueError", r"crypto.random_token\(\): n must be from 1"),
    (lambda: crypto("random_token")(True), "TypeError", r"crypto.random_token\(\): n must be an int, not bool"),
    (lambda: crypto("password_hash")(None), "TypeError", r"crypto.password_hash\(\): password must be"),
    (lambda: crypto("password_hash")("x" * 1025), "ValueError", r"crypto.password_hash\(\): password longer"),
    (lambda: crypto("password_verify")("pw", "nope"), "ValueError", r"crypto.password_verify\(\): hash is not"),
    (lambda: crypto("password_verify")("pw", 5), "TypeError", r"crypto.password_verify\(\): hash must be a string"),
    (lambda: crypto("hash")("\ud800"), "ValueError", r"crypto.hash\(\): data is not valid text"),
])
def test_crypto_argument_errors_name_the_function(call, kind, match):
    with raises(kind, match):
        call()


def test_crypto_compare():
    assert crypto("compare")("abc", "abc") is True
    assert crypto("compare")("abc", b"abc") is True  # data: a string is its UTF-8
    assert crypto("compare")("abc", "abd") is False and crypto("compare")("abc", "ab") is False
    assert crypto("compare")("", "") is True


def _fastest(fn, rounds=15):
    best = float("inf")
    for _ in range(rounds):
        start = pytime.perf_counter()
        fn()
        best = min(best, pytime.perf_counter() - start)
    return best


def test_crypto_compare_takes_as_long_whether_the_first_or_the_last_byte_differs():
    # With `==` (memcmp) a difference in the first byte answers ~1000x sooner than one in the
    # last byte of 4 MiB; compare_digest reads every byte either way. The fastest of several
    # runs is compared, with a wide margin, so the machine's noise cannot flip the answer.
    size = 4 * 1024 * 1024
    secret = b"s" * size
    first = b"x" + b"s" * (size - 1)
    last = b"s" * (size - 1) + b"x"
    compare = crypto("compare")
    early, late = _fastest(lambda: compare(secret, first)), _fastest(lambda: compare(secret, last))
    assert early > 0.3 * late, (early, late)
    # ...and the same test does catch a comparison that stops early:
    assert _fastest(lambda: secret == first) < 0.3 * _fastest(lambda: secret == last)


def test_crypto_random_bytes_and_tokens():
    assert crypto("random_bytes")(0) == b"" and len(crypto("random_bytes")(1024)) == 1024
    assert crypto("random_bytes")(16) != crypto("random_bytes")(16)
    token = crypto("random_token")()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 bytes, base64url without padding
    assert len(pybase64.urlsafe_b64decode(crypto("random_token")(3) + "=" * 0)) == 3


def test_crypto_password_hash_is_self_describing_salted_scrypt():
    stored = crypto("password_hash")("correct horse")
    algo, n, r, p, salt, key = stored.split("$")
    assert (algo, n, r, p) == ("scrypt", "16384", "8", "1")
    raw_salt = pybase64.b64decode(salt + "=" * (-len(salt) % 4))
    expected = hashlib.scrypt(b"correct horse", salt=raw_salt, n=16384, r=8, p=1, dklen=32)
    assert pybase64.b64decode(key + "=" * (-len(key) % 4)) == expected
    assert crypto("password_hash")("correct horse") != stored  # a fresh salt each time
    assert crypto("password_verify")("correct horse", stored) is True
    assert crypto("password_verify")("correct horsf", stored) is False
    assert crypto("password_verify")(b"correct horse", stored) is True


@pytest.mark.parametrize("stored", [
    "scrypt$16384$8$1$c2FsdA$",                                 # no key
    "scrypt$1000$8$1$c2FsdA$" + "A" * 43,                       # N not a power of two
    "scrypt$1048576$8$1$c2FsdA$" + "A" * 43,                    # 1 GiB of memory: refused
    "scrypt$16384$8$99$c2FsdA$" + "A" * 43,                     # p past the bound
    "scrypt$16384$8$1$c2Fs*dA$" + "A" * 43,                     # not base64
    "bcrypt$2b$12$abcdefghijklmnopqrstuu",
    "scrypt$16384$8$1$" + "A" * 600,
])
def test_crypto_password_verify_refuses_hashes_it_did_not_make(stored):
    with raises("ValueError", r"crypto.password_verify\(\): hash is not a password hash"):
        crypto("password_verify")("pw", stored)


def test_crypto_charges_work_and_result_bytes():
    with budget(steps=1000):  # 1 MiB is ~16,000 steps of hashing
        with pytest.raises(LimitError, match="step budget"):
            crypto("hash")(b"x" * (1 << 20))
    with budget(steps=100_000):  # scrypt is charged as the work it is
        with pytest.raises(LimitError, match="step budget"):
            crypto("password_hash")("pw")
    with budget(memory=100):
        with pytest.raises(LimitError, match="memory budget"):
            crypto("random_bytes")(200)
    with budget(steps=1_000_000, memory=1000) as b:
        crypto("hash")(b"x" * 64_000)
        assert 1_000_000 - b.remaining >= 1000 and 1000 - b.memory_left == 64


# --- base64 ----------------------------------------------------------------------------------

def test_base64_standard_and_url():
    assert b64("encode")(b"\xfb\xff\xfe") == "+//+" and b64("encode")("hé") == "aMOp"
    assert b64("encode")(b"\xfb\xff\xfe", url=True) == "-__-"
    assert b64("encode")(b"ab", url=True) == "YWI" and b64("encode")(b"ab") == "YWI="
    assert b64("decode")("YWI=") == b"ab" and b64("decode")("YWI") == b"ab"
    assert b64("decode")("-__-", url=True) == b"\xfb\xff\xfe" and b64("decode")(b"+//+") == b"\xfb\xff\xfe"
    assert b64("decode")("YWJj\nZGVm\r\n") == b"abcdef"  # line breaks as in PEM text


@pytest.mark.parametrize("value, url, match", [
    ("YW*I", False, "character '\\*' at position 2"),
    ("-__-", False, "character '-' at position 0"),
    ("+//+", True, "character '\\+' at position 0"),
    ("YWI=x", False, "padding"),
    ("Y", False, "length"),
    ("YW===", False, "padding"),
    ("YWé", False, "position 2"),
])
def test_base64_decode_refuses_bad_input_naming_the_position(value, url, match):
    with raises("ValueError", r"base64.decode\(\): invalid base64.*" + match):
        b64("decode")(value, url=url)


def test_base64_argument_types():
    with raises("TypeError", r"base64.encode\(\): data must be a string or bytes, not list"):
        b64("encode")([1])
    with raises("TypeError", r"base64.encode\(\): url must be a bool, not int"):
        b64("encode")("x", url=1)
    with raises("TypeError", r"base64.decode\(\): text must be a string or bytes, not nil"):
        b64("decode")(None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.booleans())
def test_base64_round_trips_and_agrees_with_python(raw, url):
    encoded = b64("encode")(raw, url=url)
    assert b64("decode")(encoded, url=url) == raw
    reference = pybase64.urlsafe_b64encode(raw).rstrip(b"=") if url else pybase64.b64encode(raw)
    assert encoded == reference.decode()


# --- uuid ------------------------------------------------------------------------------------

def test_uuid_v4_is_random_version_4():
    values = {uuid("v4")() for _ in range(100)}
    assert len(values) == 100
    for value in values:
        parsed = pyuuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == pyuuid.RFC_4122 and str(parsed) == value


def test_uuid_v7_is_time_ordered_per_rfc_9562():
    before = pytime.time_ns() // 1_000_000
    values = [uuid("v7")() for _ in range(5000)]
    after = pytime.time_ns() // 1_000_000
    assert values == sorted(values) and len(set(values)) == len(values)  # strictly increasing
    for value in values[:50] + values[-50:]:
        parsed = pyuuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == pyuuid.RFC_4122
        # 48-bit Unix milliseconds; a burst may borrow a few ms ahead
        assert before <= parsed.int >> 80 <= after + 5


def test_uuid_v7_stays_ordered_when_the_clock_steps_back(monkeypatch):
    import rtserve.stdlib.uuid as uuid_module
    first = uuid("v7")()
    monkeypatch.setattr(uuid_module.time, "time_ns", lambda: 1_000_000)  # 1970
    assert uuid("v7")() > first


# --- random ----------------------------------------------------------------------------------

def test_random_int_is_inclusive_and_covers_the_range():
    seen = {rnd("int")(1, 3) for _ in range(300)}
    assert seen == {1, 2, 3}
    assert rnd("int")(5, 5) == 5 and 0 <= rnd("int")(0, 10**30) <= 10**30


def test_random_float_choice_shuffle_sample():
    assert all(0.0 <= rnd("float")() < 1.0 for _ in range(100))
    items = freeze([1, 2, 3, 4, 5])
    assert rnd("choice")(items) in items
    shuffled = rnd("shuffle")(items)
    assert sorted(shuffled) == [1, 2, 3, 4, 5] and type(shuffled) is list and type(items) is FrozenList
    assert len({tuple(rnd("shuffle")(list(range(10)))) for _ in range(20)}) > 1
    sample = rnd("sample")(items, 3)
    assert len(sample) == 3 and len(set(sample)) == 3 and set(sample) <= set(items)
    assert rnd("sample")([], 0) == []


@pytest.mark.parametrize("call, kind, match", [
    (lambda: rnd("int")(3, 1), "ValueError", r"random.int\(\): lo \(3\) is greater than hi \(1\)"),
    (lambda: rnd("int")(1.5, 2), "TypeError", r"random.int\(\): lo must be an int, not float"),
    (lambda: rnd("choice")([]), "ValueError", r"random.choice\(\): cannot choose from an empty list"),
    (lambda: rnd("choice")("abc"), "TypeError", r"random.choice\(\): list must be a list, not string"),
    (lambda: rnd("shuffle")({}), "TypeError", r"random.shuffle\(\): list must be a list, not map"),
    (lambda: rnd("sample")([1], 2), "ValueError", r"random.sample\(\): k \(2\) is larger than the list"),
    (lambda: rnd("sample")([1], -1), "ValueError", r"random.sample\(\): k must be at least 0"),
])
def test_random_argument_errors(call, kind, match):
    with raises(kind, match):
        call()


def test_random_shuffle_charges_the_new_list():
    with budget(memory=1000):
        with pytest.raises(LimitError, match="memory"):
            rnd("shuffle")(list(range(1000)))


# --- text ------------------------------------------------------------------------------------

@pytest.mark.parametrize("given_text, slug", [
    ("Héllo, World!", "hello-world"), ("  --Already-a-slug--  ", "already-a-slug"),
    ("Ça va? Très bien", "ca-va-tres-bien"), ("日本語", ""), ("a_b.c", "a-b-c"), ("ＡＢＣ１", "abc1"),
])
def test_text_slug(given_text, slug):
    assert text("slug")(given_text) == slug


def test_text_truncate_counts_the_end_marker():
    assert text("truncate")("hello world", 8) == "hello..."
    assert text("truncate")("hello", 5) == "hello" and text("truncate")("hello", 50) == "hello"
    assert text("truncate")("hello world", 6, end="…") == "hello…"
    assert text("truncate")("hello world", 2) == ".."
    assert text("truncate")("hello", 0) == ""


def test_text_escape_html_and_url_coding():
    assert text("escape_html")("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
    assert text("url_encode")("a b/c?d=é&~") == "a%20b%2Fc%3Fd%3D%C3%A9%26~"
    assert text("url_decode")("a%20b%2Fc%3Fd%3D%C3%A9%26~+") == "a b/c?d=é&~+"


def test_text_query():
    assert text("query")({"q": "a b&c", "page": 2, "tag": ["x", "y"], "on": True, "skip": None,
                          "f": 1.5}) == "q=a%20b%26c&page=2&tag=x&tag=y&on=true&f=1.5"
    assert text("query")({}) == ""


@pytest.mark.parametrize("call, kind, match", [
    (lambda: text("slug")(5), "TypeError", r"text.slug\(\): s must be a string, not int"),
    (lambda: text("truncate")("x", -1), "ValueError", r"text.truncate\(\): n must be at least 0"),
    (lambda: text("truncate")("x", 1, end=None), "TypeError", r"text.truncate\(\): end must be a string"),
    (lambda: text("escape_html")(None), "TypeError", r"text.escape_html\(\): s must be a string, not nil"),
    (lambda: text("url_decode")("%zz"), "ValueError", r"text.url_decode\(\): invalid percent escape at position 0"),
    (lambda: text("url_decode")("a%ff"), "ValueError", r"text.url_decode\(\): the decoded bytes are not valid UTF-8"),
    (lambda: text("query")([1]), "TypeError", r"text.query\(\): map must be a map, not list"),
    (lambda: text("query")({1: "x"}), "TypeError", r"text.query\(\): a key must be a string, not int"),
    (lambda: text("query")({"k": {"n": 1}}), "TypeError", r"text.query\(\): the value of 'k' must be"),
    (lambda: text("query")({"k": [[1]]}), "TypeError", r"text.query\(\): the value of 'k' must be"),
])
def test_text_argument_errors(call, kind, match):
    with raises(kind, match):
        call()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_text_agrees_with_python_references(s):
    assert text("escape_html")(s) == html.escape(s, quote=True)
    if "\ud800" <= max(s, default="a") and any("\ud800" <= c <= "\udfff" for c in s):
        return  # lone surrogates are not text that can be url-encoded
    assert text("url_decode")(text("url_encode")(s)) == s
    assert urllib.parse.parse_qs(text("query")({"k": s}), keep_blank_values=True) == {"k": [s]}
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|", text("slug")(s))


# --- from a script ---------------------------------------------------------------------------

def test_a_script_catches_module_errors_by_kind_without_python_text():
    exports = run_script('''
import crypto
import base64
import random
let caught = []
try { crypto.hmac(5, "x") } catch e { caught.append(e.kind + ": " + e.message) }
try { base64.decode("!!") } catch e { caught.append(e.kind + ": " + e.message) }
try { random.int(2, 1) } catch e { caught.append(e.kind + ": " + e.message) }
try { crypto.hash("x", algo: "md5", extra: 1) } catch e { caught.append(e.kind) }
let sig = crypto.hmac("secret", "body")
let ok = crypto.compare(sig, crypto.hmac("secret", "body"))
''')
    assert exports["caught"] == [
        "TypeError: crypto.hmac(): key must be a string or bytes, not int",
        "ValueError: base64.decode(): invalid base64: character '!' at position 0",
        "ValueError: random.int(): lo (2) is greater than hi (1)",
        "TypeError",
    ]
    assert exports["ok"] is True


def test_results_are_capped_like_any_script_value(monkeypatch):
    import rtserve.lang.values as values_module
    monkeypatch.setattr(values_module, "MAX_SIZE", 10)
    re_replace = functions("re")("replace")
    for call in (lambda: re_replace("a", "aaaa", "xxxxx"), lambda: text("escape_html")("<<<"),
                 lambda: text("url_encode")("ééé"), lambda: b64("encode")(b"x" * 9),
                 lambda: text("query")({"k": "v" * 9})):
        with pytest.raises(LimitError, match="too large"):
            call()
    assert re_replace("a", "aaaa", "xx") == "xxxxxxxx" and text("escape_html")("<<") == "&lt;&lt;"
