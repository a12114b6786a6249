"""stdlib audit against STDLIB.md: cases found wrong by calling every function as a script
would (one test per discrepancy fixed)."""
import re

import pytest

from stdlib_helpers import budget, run_script


def _caught(call: str, imports: str) -> str:
    exports = run_script(f'''
{imports}
let got = nil
try {{ {call} }} catch e {{ got = e.kind + ": " + e.message }}
''')
    return exports["got"]


@pytest.mark.parametrize("imports, call, expected", [
    ("import crypto", "crypto.hash()",
     "TypeError: crypto.hash() missing 1 required positional argument: 'data'"),
    ("import crypto", 'crypto.hash("x", "sha1", "extra")',
     "TypeError: crypto.hash() takes from 1 to 2 positional arguments but 3 were given"),
    ("import crypto", 'crypto.hash("x", algorithm: "sha1")',
     "TypeError: crypto.hash() got an unexpected named argument 'algorithm'"),
    ("import crypto", 'crypto.hash("x", from: 1)',  # a Python keyword: the compiler's suffix is not shown
     "TypeError: crypto.hash() got an unexpected named argument 'from'"),
    ("import uuid", "uuid.v4(1)", "TypeError: uuid.v4() takes 0 positional arguments but 1 was given"),
    ("import random", "random.int(1)", "TypeError: random.int() missing 1 required positional argument: 'hi'"),
    ("import math", "math.floor(1, 2)", "TypeError: math.floor() takes 1 positional argument but 2 were given"),
])
def test_argument_count_and_name_errors_name_the_module_function(imports, call, expected):
    # STDLIB.md: "the message names the script-level function" -- Python's own argument
    # errors included, and in the language's words ("named", not "keyword", arguments)
    assert _caught(call, imports) == expected


# --- middleware.gzip: "also br if offered and available" ----------------------------------

class _FakeBrotli:
    """Stands in for the optional `brotli` package (not in this project's registries): a
    marked zlib stream, so a test can tell which coder packed a body and with what quality."""
    @staticmethod
    def compress(data, quality):
        import zlib
        return b"BR%d:" % quality + zlib.compress(data)


def _gzip_answer(accept, brotli, monkeypatch):
    from rtserve.lang.values import Response
    from rtserve.stdlib import middleware
    monkeypatch.setattr(middleware, "_brotli", lambda: brotli)
    body = "hello brotli " * 200
    res = middleware.gzip(min_size=10, level=5)(
        {"headers": {"accept-encoding": accept} if accept is not None else {}},
        lambda req: Response(status=200, headers={}, body=body))
    return res, body.encode()


@pytest.mark.parametrize("accept, expected", [
    ("gzip, br", "br"), ("br", "br"), ("br;q=0.5, gzip;q=0.4", "br"), ("*", "br"),
    ("br;q=0.4, gzip;q=0.5", "gzip"), ("br;q=0, gzip", "gzip"), ("gzip, *;q=0", "gzip"),
    ("identity", None), (None, None), ("br;q=0, gzip;q=0", None),
])
def test_gzip_chooses_br_when_brotli_is_there_and_the_client_takes_it(accept, expected, monkeypatch):
    import gzip as pygzip
    import zlib
    with budget():
        res, plain = _gzip_answer(accept, _FakeBrotli, monkeypatch)
    assert res.headers.get("content-encoding") == expected
    if expected == "br":
        assert res.body.startswith(b"BR5:") and zlib.decompress(res.body[4:]) == plain
        assert res.headers["vary"] == "Accept-Encoding"
    elif expected == "gzip":
        assert pygzip.decompress(res.body) == plain
    else:
        assert res.body == plain.decode()


@pytest.mark.parametrize("accept, expected", [("br", None), ("gzip, br", "gzip"), ("*", "gzip")])
def test_gzip_never_sends_br_without_brotli(accept, expected, monkeypatch):
    with budget():
        res, _ = _gzip_answer(accept, None, monkeypatch)
    assert res.headers.get("content-encoding") == expected


# --- http.cookie: Domain is a host name -----------------------------------------------------

@pytest.mark.parametrize("domain", ["a..b", "example.com.", "-x.com", "x-.com", ".", "a_b.com",
                                    "x" * 64 + ".com"])
def test_cookie_domain_must_be_dot_separated_host_labels(domain):
    from stdlib_helpers import functions, raises
    with raises("ValueError", r"http.cookie\(\): domain .* is not a host name"):
        functions("http")("cookie")("sid", "v", domain=domain)


@pytest.mark.parametrize("domain", ["example.com", ".example.com", "a-b.c0.io", "localhost"])
def test_cookie_domain_takes_host_names(domain):
    from stdlib_helpers import functions
    assert functions("http")("cookie")("sid", "v", domain=domain) == \
        f"sid=v; Path=/; Domain={domain}; HttpOnly; SameSite=Lax"


# --- re.find_all / re.split: a list of pieces is charged as the strings it holds -----------

@pytest.mark.parametrize("call", [
    lambda re: re("split")("", "a" * 100_000),
    lambda re: re("split")("(,)|;", "x;" * 50_000),
    lambda re: re("find_all")(".", "a" * 100_000, limit=1_000_000),
])
def test_many_short_pieces_are_charged_what_they_take(call):
    # 100,000 one-character strings take ~5 MB in CPython (a 49-byte header each and a
    # slot), not the 200 KB of the text: a budget of 2 MB must stop them
    from rtserve.lang.errors import LimitError
    from stdlib_helpers import functions
    with budget(memory=2_000_000), pytest.raises(LimitError, match="memory budget"):
        call(functions("re"))


def test_split_still_splits_as_python_does():
    import re as pyre
    from stdlib_helpers import functions
    split = functions("re")("split")
    with budget(memory=10_000_000):
        for pattern, text, limit in [(",", "a,b,,c", 0), ("(,)|(;)", "a,b;c", 0), ("x*", "axbc", 0),
                                     (",", "a,b,c", 2), ("", "abc", 0), ("(a)?b", "bab", 1), ("z", "", 0)]:
            assert split(pattern, text, limit=limit) == pyre.split(pattern, text, maxsplit=limit), pattern


# --- kv.get: a value of many small parts is charged what it takes -----------------------------

def test_kv_get_charges_each_part_of_the_value_not_its_encoded_size(tmp_path):
    from rtserve import stdlib
    from rtserve.lang.errors import LimitError
    from rtserve.runtime.config import Settings
    kv = stdlib.modules(Settings(data_dir=str(tmp_path)))["kv"]
    with budget():
        kv.get("set")("many", ["ab"] * 100_000)     # ~400 KB encoded, ~6 MB as strings and slots
        kv.get("set")("blob", b"x" * 900_000)       # 900 KB encoded, 900 KB in memory
        kv.get("set")("floats", [0.5] * 50_000)     # 450 KB encoded, ~2 MB as float objects
    with budget(memory=2_000_000), pytest.raises(LimitError, match="memory budget"):
        kv.get("get")("many")
    with budget(memory=1_500_000), pytest.raises(LimitError, match="memory budget"):
        kv.get("get")("floats")
    with budget(memory=2_000_000):
        assert kv.get("get")("blob") == b"x" * 900_000  # one part: not charged more than it takes
    with budget(memory=8_000_000):  # what it really takes (~7.2 MB) passes
        assert kv.get("get")("many") == ["ab"] * 100_000
    with budget():
        kv.get("set")("wide", "a" * 200_000 + "日")  # 200 KB UTF-8, 400 KB in memory
        kv.get("set")("cjk", "日" * 200_000)         # 600 KB UTF-8, 400 KB in memory
    with budget(memory=350_000), pytest.raises(LimitError, match="memory budget"):
        kv.get("get")("wide")
    with budget(memory=1_000_000):
        assert kv.get("get")("cjk") == "日" * 200_000


# --- db.query: each row map is charged its real size -------------------------------------------

def test_db_rows_are_charged_the_size_of_their_maps(tmp_path):
    from rtserve import stdlib
    from rtserve.lang.errors import LimitError
    from rtserve.runtime.config import Settings
    db = stdlib.modules(Settings(data_dir=str(tmp_path)))["db"]
    sql = ("with recursive n(i) as (select 1000 union all select i + 1 from n where i < 10999) "
           "select i from n")
    # 10,000 one-column rows: a 184-byte map, a slot and an int each, ~2.2 MB in all
    with budget(memory=1_800_000), pytest.raises(LimitError, match="memory budget"):
        db.get("query")(sql)
    with budget(memory=3_000_000):
        rows = db.get("query")(sql)
    assert len(rows) == 10_000 and rows[0] == {"i": 1000}


# --- text.slug: decomposition is bounded -----------------------------------------------------

def test_slug_output_is_capped_and_charged_as_it_grows():
    # U+3250 decomposes to "PTE": a long run of it makes three times its length in ASCII
    from rtserve.lang.errors import LimitError
    from stdlib_helpers import functions
    slug = functions("text")("slug")
    with budget(memory=1_000_000), pytest.raises(LimitError, match="memory budget"):
        slug("\u3250" * 400_000)  # 1.2 MB of slug from 400,000 characters
    with budget(memory=4_000_000):
        assert slug("\u3250" * 400_000) == "pte" * 400_000
    with budget(), pytest.raises(LimitError, match=r"string too large \(over 16 MiB\)"):
        slug("\u3250" * 6_000_000)  # 18 MB of slug: past the 16 MiB size cap of any value


def test_slug_in_chunks_equals_slug_of_the_whole():
    import unicodedata
    import random as pyrandom
    from stdlib_helpers import functions
    slug = functions("text")("slug")
    rng = pyrandom.Random(7)
    alphabet = "aZ09 -_,.éüñ\u0301\u0308ﬁ\u3250\ufdfa日本Ωß\u1e9b\u0323"
    for _ in range(20):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20_000)))
        whole = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()
        expected = re.sub(r"[^a-z0-9]+", "-", whole).strip("-")
        with budget():
            assert slug(s) == expected


# --- lone surrogates (json.decode makes them) are a ValueError naming the function -----------

@pytest.mark.parametrize("imports, call, expected", [
    ("import re", "re.test(bad, \"x\")", "re.test(): pattern is not valid text (a lone surrogate at position 1)"),
    ("import re", "re.search(\"a\", bad)", "re.search(): text is not valid text (a lone surrogate at position 1)"),
    ("import re", "re.replace(\"a\", \"a\", bad)", "re.replace(): with is not valid text"),
    ("import kv", "kv.get(bad)", "kv.get(): key is not valid text"),
    ("import kv", "kv.keys(prefix: bad)", "kv.keys(): prefix is not valid text"),
    ("import db", "db.query(bad)", "db.query(): sql is not valid text"),
    ("import db", "db.query(\"select ?\", bad)", "db.query(): parameter 1 is not valid text"),
])
def test_a_lone_surrogate_is_a_value_error_naming_the_function(imports, call, expected, tmp_path):
    from rtserve.runtime.config import Settings
    exports = run_script(f'''
{imports}
import json
let bad = json.decode("\\"a\\\\ud800\\"")
let got = nil
try {{ {call} }} catch e {{ got = e.kind + ": " + e.message }}
''', config=Settings(data_dir=str(tmp_path)))
    assert exports["got"].startswith("ValueError: " + expected), exports["got"]


@pytest.mark.parametrize("token", ["\ud800", "é.b.c", "a.b.c\U0001F600"])
def test_jwt_verify_calls_a_non_ascii_token_malformed(token):
    from stdlib_helpers import functions, raises
    with raises("JWTError", r"jwt.verify\(\): malformed: the token holds a character that is not base64url") as info:
        functions("jwt")("verify")(token, "k" * 32)
    assert info.value.value == "malformed"


def test_crypto_algorithm_names_are_case_insensitive():
    import hashlib
    import hmac as pyhmac
    from stdlib_helpers import functions, raises
    crypto = functions("crypto")
    assert crypto("hash")("abc", "SHA256") == hashlib.sha256(b"abc").hexdigest()
    assert crypto("hmac")("k", "d", algo="Sha512") == pyhmac.new(b"k", b"d", "sha512").hexdigest()
    with raises("ValueError", r"crypto.hash\(\): unknown algo 'md5'"):
        crypto("hash")("abc", "MD5")


def test_jwt_takes_a_short_hmac_secret_as_pyjwt_and_jsonwebtoken_do(tmp_path):
    import os
    import subprocess
    import sys
    script = tmp_path / "short.script"
    script.write_text('''import jwt
let token = jwt.sign({sub: "ann"}, "secret", expires_in: 60)
let claims = jwt.verify(token, "secret", leeway: 0)
print(claims["sub"], claims["exp"] - claims["iat"])
''')
    rt = os.path.join(os.path.dirname(sys.executable), "rt")
    done = subprocess.run([rt, "run", str(script)], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ann 60\n", "")  # no warning either
