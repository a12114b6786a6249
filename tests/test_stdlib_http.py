"""stdlib `http`: fetch against local servers the tests start (success, timeouts, the body cap,
refused hosts and addresses, redirects re-checked hop by hop, connection reuse, the address
checked is the address connected to) and cookie's checked Set-Cookie values."""
import json
import re
import socket
import time

import pytest

from fetch_servers import FetchServer
from rtserve.lang import limits
from rtserve.lang.errors import DeadlineExceeded, LimitError
from rtserve.runtime.config import ConfigError, Settings
from rtserve.stdlib._fetch_policy import Policy, PolicyError, Refused
from rtserve.stdlib.http import Fetcher
from stdlib_helpers import budget, functions, raises, run_script


@pytest.fixture(scope="module")
def server():
    with FetchServer() as s:
        yield s


@pytest.fixture(scope="module")
def other():
    with FetchServer() as s:
        yield s


def fetcher(*allow, max_body=8 * 1024 * 1024):
    return Fetcher(allow, max_body).fetch


def allowed(server, *more, **kw):
    return fetcher(f"127.0.0.1:{server.port}", *more, **kw)


# --- success ---------------------------------------------------------------------------------

def test_get_answers_status_headers_body_bytes_and_json(server):
    answer = allowed(server)(server.url("/hello"))
    assert answer["status"] == 200 and answer["body"] == '{"ok": true, "n": 1}'
    assert answer["bytes"] == b'{"ok": true, "n": 1}' and answer["url"] == server.url("/hello")
    assert answer["headers"]["content-type"] == "application/json" and answer["headers"]["x-twice"] == "a, b"
    assert answer["json"]() == {"ok": True, "n": 1}
    missing = allowed(server)(server.url("/nowhere"))
    assert missing["status"] == 404
    with raises("ValueError", r"http.fetch\(...\).json\(\): invalid JSON"):
        missing["json"]()


def test_post_json_body_and_headers_are_sent(server):
    fetch = allowed(server)
    echoed = fetch(server.url("/echo?q=1"), method="post", json={"a": [1, "é"]}, headers={"X-Key": "k", "X-N": 5})["json"]()
    assert echoed["method"] == "POST" and echoed["path"] == "/echo?q=1"
    assert json.loads(echoed["body"].encode("latin-1")) == {"a": [1, "é"]}
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-key"] == "k" and echoed["headers"]["x-n"] == "5"
    assert echoed["headers"]["host"] == f"127.0.0.1:{server.port}"
    raw = fetch(server.url("/echo"), method="PUT", body=b"\x00\x01")["json"]()
    assert raw["method"] == "PUT" and raw["body"] == "\x00\x01"
    assert fetch(server.url("/hello"), method="HEAD")["bytes"] == b""


def test_gzip_bodies_are_decoded(server):
    assert allowed(server)(server.url("/gzip?n=5000"))["bytes"] == b"z" * 5000


def test_one_tcp_connection_for_100_sequential_fetches(other):
    fetch = allowed(other)
    before = other.connections
    for _ in range(100):
        assert fetch(other.url("/hello"))["status"] == 200
    assert other.connections - before == 1


# --- time bounds -----------------------------------------------------------------------------

def test_a_slow_answer_times_out(server):
    start = time.monotonic()
    with raises("FetchError", r"http.fetch\(\): timed out after 0.5 s") as info:
        allowed(server)(server.url("/slow?s=3"), timeout=0.5)
    assert info.value.value == "timeout"
    assert time.monotonic() - start < 2.5


def test_the_timeout_covers_the_whole_body_not_each_read(server):
    start = time.monotonic()
    with raises("FetchError", "timed out after 1 s"):
        allowed(server)(server.url("/drip"), timeout=1)  # each byte within 0.2 s, all of them in 5 s
    assert time.monotonic() - start < 3


def test_a_slow_name_lookup_is_bounded_by_the_timeout(monkeypatch):
    real = socket.getaddrinfo

    def slow(host, port, *args, **kw):
        if host == "slow-dns.test":
            time.sleep(3)
        return real(host, port, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    start = time.monotonic()
    with raises("FetchError", "timed out after 0.5 s"):
        fetcher("slow-dns.test")("http://slow-dns.test/", timeout=0.5)
    assert time.monotonic() - start < 2.5


def test_a_fetch_never_waits_past_the_request_deadline(server):
    b = limits.Budget(deadline=time.monotonic() + 0.5)
    previous = limits.activate(b)
    start = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded):
            allowed(server)(server.url("/slow?s=3"), timeout=10)
    finally:
        limits.activate(previous)
    assert time.monotonic() - start < 2.5


def test_a_fetch_announces_that_it_blocks(server):
    calls = []
    limits.set_on_slow(lambda: calls.append(1))
    try:
        allowed(server)(server.url("/hello"))
    finally:
        limits.set_on_slow(None)
    assert calls


# --- the body cap ----------------------------------------------------------------------------

@pytest.mark.parametrize("path, match", [
    ("/big?n=5000", r"the response body \(5,000 bytes\) is larger than --fetch-max-body \(1,000 bytes\)"),
    ("/big-unannounced?n=200000", r"the response body is larger than --fetch-max-body \(1,000 bytes\)"),
    ("/gzip?n=200000", r"the response body is larger than --fetch-max-body"),  # decoded size counts
])
def test_a_body_over_the_cap_fails(server, path, match):
    with raises("FetchError", match) as info:
        allowed(server, max_body=1000)(server.url(path))
    assert info.value.value == "too large"
    assert allowed(server, max_body=1000)(server.url("/big?n=1000"))["bytes"] == b"x" * 1000
    head = allowed(server, max_body=1000)(server.url("/big?n=5000"), method="HEAD")
    assert head["status"] == 200 and head["headers"]["content-length"] == "5000" and head["bytes"] == b""


def test_fetch_charges_a_wide_body_text_its_real_size(server):
    # 200,000 ASCII bytes and one emoji: `body` is a 4-byte-wide string of ~800 KB
    with budget(memory=900_000), pytest.raises(LimitError, match="memory budget"):
        allowed(server)(server.url("/wide?n=200000"))
    with budget(memory=1_500_000):
        assert allowed(server)(server.url("/wide?n=200000"))["body"].endswith("x\U0001F600")


def test_fetch_charges_the_answer_to_the_memory_budget(server):
    with budget(memory=10_000):
        with pytest.raises(LimitError, match="memory budget"):
            allowed(server)(server.url("/big?n=100000"))


# --- what may be reached ---------------------------------------------------------------------

def test_nothing_is_reachable_by_default(server):
    with raises("PermissionError", rf"http.fetch\(\): {server.url('/hello')}: 127.0.0.1:{server.port} is not allowed; "
                                   rf"the operator can allow it with --allow-fetch 127.0.0.1"):
        fetcher()(server.url("/hello"))
    with raises("PermissionError", "is not allowed"):
        fetcher("127.0.0.1:1")(server.url("/hello"))  # another port of an allowed host


def test_a_name_resolving_to_loopback_needs_the_address_allowed(server, monkeypatch):
    # an allowed name that is not a localhost name (here pointed at loopback, as a DNS
    # rebinding would) reaches it only when the address itself is allowed
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kw):
        if host == "svc.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with raises("PermissionError", r"svc.test resolves to 127.0.0.1, a loopback address; the operator must "
                                   r"allow that address explicitly"):
        fetcher("svc.test")(f"http://svc.test:{server.port}/hello")
    with raises("PermissionError", "resolves to 127.0.0.1"):
        fetcher("*.test")(f"http://svc.test:{server.port}/hello")
    answer = fetcher("svc.test", f"127.0.0.1:{server.port}")(f"http://svc.test:{server.port}/hello")
    assert answer["status"] == 200


def test_an_exact_localhost_entry_reaches_loopback_and_nothing_else(server, monkeypatch):
    # RFC 6761: localhost names are loopback, so naming one allows what it means
    assert fetcher(f"localhost:{server.port}")(f"http://localhost:{server.port}/hello")["status"] == 200
    assert fetcher("localhost")(f"http://localhost:{server.port}/hello")["status"] == 200
    with raises("PermissionError", "is not allowed"):
        fetcher("localhost:1")(f"http://localhost:{server.port}/hello")
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kw):
        if host == "evil.localhost":  # a misconfigured resolver: still refused
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real(host, port, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with raises("PermissionError", r"evil.localhost resolves to 10.1.2.3, a private address"):
        fetcher("evil.localhost")(f"http://evil.localhost:{server.port}/hello")


def test_the_address_checked_is_the_address_connected_to(server, monkeypatch):
    # svc.test resolves once, to 127.0.0.1 (allowed); a second lookup would give an address
    # nobody allowed. The request still reaches 127.0.0.1, with the name in Host.
    lookups = []
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kw):
        if host == "svc.test":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    echoed = fetcher("svc.test", f"127.0.0.1:{server.port}")(f"http://svc.test:{server.port}/echo")["json"]()
    assert echoed["headers"]["host"] == f"svc.test:{server.port}" and lookups == ["svc.test"]
    with raises("PermissionError", r"svc.test resolves to 10.9.9.9, a private address"):
        fetcher("svc.test", f"127.0.0.1:{server.port}")(f"http://svc.test:{server.port}/echo")


def test_policy_refuses_a_name_with_any_non_public_address():
    def resolve(addresses):
        return lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
    policy = Policy(["api.example.com", "*.corp.example", "10.1.0.0/16"])
    assert policy.check("api.example.com", 443, resolve(["93.184.215.14"])) == "93.184.215.14"
    with raises_refused("a private address"):
        policy.check("api.example.com", 443, resolve(["93.184.215.14", "192.168.1.5"]))
    with raises_refused("169.254.169.254, a link-local address"):
        policy.check("api.example.com", 80, resolve(["169.254.169.254"]))
    assert policy.check("db.corp.example", 5432, resolve(["10.1.2.3"])) == "10.1.2.3"  # the range allows it
    with raises_refused("is not allowed"):
        policy.check("corp.example", 80, resolve(["10.1.2.3"]))
    with raises_refused("::ffff:7f00:1, a"):  # 127.0.0.1 mapped into IPv6
        policy.check("api.example.com", 80, lambda *a, **k: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", 80, 0, 0))])


def raises_refused(match):
    return pytest.raises(Refused, match=match)


@pytest.mark.parametrize("entry", ["a b", "host:0", "host:99999", "[::1", "10.0.0.0/33", "exa_mple.com", "a:b:c"])
def test_bad_allow_fetch_entries_are_config_errors(entry):
    with pytest.raises(PolicyError, match="^" + re.escape(repr(entry)) + ": "):
        Policy([entry])
    with pytest.raises(ConfigError, match=re.escape(f"setting 'allow-fetch' entry {entry!r}: ")):
        Settings().replace(allow_fetch=(entry,))


def test_allow_fetch_flags_add_to_rt_toml(tmp_path):
    from rtserve.runtime.config import resolve
    path = tmp_path / "rt.toml"
    path.write_text('allow-fetch = ["api.example.com"]\nenv = ["A"]\n')
    settings = resolve({"allow_fetch": ["10.0.0.0/8", "127.0.0.1:8080"]}, {}, str(path))
    assert settings.allow_fetch == ("api.example.com", "10.0.0.0/8", "127.0.0.1:8080")
    assert settings.allow_env == ("A",) and settings.fetch_max_body == 8 * 1024 * 1024


# --- redirects -------------------------------------------------------------------------------

def test_redirects_are_followed(server):
    fetch = allowed(server)
    answer = fetch(server.url(f"/redirect?to=/hello"))
    assert answer["status"] == 200 and answer["url"] == server.url("/hello")
    seen = fetch(server.url("/redirect?code=303&to=/echo"), method="POST", body="data")["json"]()
    assert seen["method"] == "GET" and seen["body"] == ""
    kept = fetch(server.url("/redirect?code=307&to=/echo"), method="POST", body="data")["json"]()
    assert kept["method"] == "POST" and kept["body"] == "data"
    with raises("FetchError", r"redirected to an unusable location: url must start with http:// or https://") as info:
        fetch(server.url("/redirect?to=ftp://example.com/file"))
    assert info.value.value == "protocol"
    with raises("FetchError", "more than 5 redirects") as info:
        fetch(server.url("/loop"))
    assert info.value.value == "redirects"


def test_a_redirect_to_a_refused_address_is_refused(server):
    fetch = allowed(server)
    with raises("PermissionError", r"169.254.169.254:80 is not allowed"):
        fetch(server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))
    with raises("PermissionError", r"127.0.0.1:1 is not allowed"):
        fetch(server.url("/redirect?to=http://127.0.0.1:1/"))


def test_credentials_are_dropped_when_a_redirect_leaves_the_origin(server, other):
    fetch = fetcher(f"127.0.0.1:{server.port}", f"127.0.0.1:{other.port}")
    headers = {"Authorization": "Bearer t", "Cookie": "s=1", "X-Other": "kept"}
    same = fetch(server.url("/redirect?to=/echo"), headers=headers)["json"]()["headers"]
    assert same["authorization"] == "Bearer t" and same["cookie"] == "s=1"
    moved = fetch(server.url(f"/redirect?to={other.url('/echo')}"), headers=headers)["json"]()["headers"]
    assert "authorization" not in moved and "cookie" not in moved and moved["x-other"] == "kept"


# --- failures and arguments ------------------------------------------------------------------

def test_connection_failures_are_fetch_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        with raises("FetchError", rf"cannot connect to 127.0.0.1:{port}: connection refused") as info:
            fetcher(f"127.0.0.1:{port}")(f"http://127.0.0.1:{port}/")
    assert info.value.value == "connect"
    with raises("FetchError", "cannot resolve host 'no-such-host.invalid'") as info:
        fetcher("no-such-host.invalid")("http://no-such-host.invalid/")
    assert info.value.value == "dns"


def test_https_verifies_the_certificate(tmp_path):
    from fetch_servers import self_signed_context
    with FetchServer(tls=self_signed_context(str(tmp_path))) as tls_server:
        with raises("FetchError", rf"TLS with 127.0.0.1 failed: .*certificate verify failed") as info:
            fetcher(f"127.0.0.1:{tls_server.port}")(tls_server.url("/hello"))
        assert info.value.value == "tls" and tls_server.url("/").startswith("https://")


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"url": "ftp://x/"}, "ValueError", r"url must start with http:// or https://"),
    ({"url": "http:///x"}, "ValueError", r"has no host"),
    ({"url": "http://u:p@x/"}, "ValueError", r"credentials in the url"),
    ({"url": "http://x/a b"}, "ValueError", r"url must be ASCII without spaces"),
    ({"url": "http://x:99999/"}, "ValueError", r"bad url"),
    ({"url": 5}, "TypeError", r"http.fetch\(\): url must be a string, not int"),
    ({"method": "BREW"}, "ValueError", r"http.fetch\(\): unknown method 'BREW'"),
    ({"headers": {"X-A": "a\r\nInjected: 1"}}, "ValueError", r"header 'X-A' holds a line break"),
    ({"headers": {"Host": "evil"}}, "ValueError", r"header 'Host' is set by the client"),
    ({"headers": {"Bad Name": "x"}}, "ValueError", r"is not an HTTP token"),
    ({"headers": {"X-A": [1]}}, "TypeError", r"header 'X-A' must be a string or number, not list"),
    ({"headers": "x"}, "TypeError", r"headers must be a map, not string"),
    ({"body": "a", "json": {}}, "ValueError", r"give body or json, not both"),
    ({"json": {"b": b"x"}}, "TypeError", r"json cannot be encoded: cannot encode bytes"),
    ({"body": 5}, "TypeError", r"body must be a string or bytes, not int"),
    ({"timeout": 0}, "ValueError", r"timeout must be more than 0"),
    ({"timeout": "5"}, "TypeError", r"timeout must be a number, not string"),
])
def test_argument_errors(kwargs, kind, match):
    call = {"url": "http://example.com/", **kwargs}
    with raises(kind, match):
        fetcher("example.com")(**call)


# --- cookie ----------------------------------------------------------------------------------

cookie = functions("http")("cookie")


def test_cookie_defaults_are_the_safe_ones():
    assert cookie("sid", "abc123") == "sid=abc123; Path=/; HttpOnly; SameSite=Lax"
    assert cookie("sid", "v", max_age=3600, path="/app", domain="example.com", secure=True,
                  http_only=False, same_site="strict") == \
        "sid=v; Max-Age=3600; Path=/app; Domain=example.com; Secure; SameSite=Strict"
    assert cookie("gone", "", max_age=0) == "gone=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    assert cookie("x", "1", same_site="None", secure=True).endswith("Secure; HttpOnly; SameSite=None")
    assert cookie("__Host-id", "1", secure=True) == "__Host-id=1; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert cookie("p", "1", path=None, same_site=None, http_only=False) == "p=1"


@pytest.mark.parametrize("args, kwargs, kind, match", [
    (("a b", "v"), {}, "ValueError", r"http.cookie\(\): name 'a b' is not a cookie name"),
    (("s", "a;b"), {}, "ValueError", r"value holds a character a cookie cannot.*text.url_encode"),
    (("s", "a b"), {}, "ValueError", r"value holds a character"),
    (("s", "é"), {}, "ValueError", r"value holds a character"),
    (("s", 5), {}, "TypeError", r"http.cookie\(\): value must be a string, not int"),
    (("s", "v"), {"path": "/a;Domain=evil"}, "ValueError", r"path must start with / and hold no ';'"),
    (("s", "v"), {"path": "a"}, "ValueError", r"path must start with /"),
    (("s", "v"), {"domain": "evil.com; Secure"}, "ValueError", r"domain 'evil.com; Secure' is not a host name"),
    (("s", "v"), {"max_age": 1.5}, "TypeError", r"max_age must be an int, not float"),
    (("s", "v"), {"same_site": "sometimes"}, "ValueError", r"same_site must be Strict, Lax or None"),
    (("s", "v"), {"same_site": "None"}, "ValueError", r"same_site None needs secure: true"),
    (("s", "v"), {"secure": "yes"}, "TypeError", r"secure must be a bool, not string"),
    (("__Secure-s", "v"), {}, "ValueError", r"a __Secure- cookie needs secure: true"),
    (("__Host-s", "v"), {"secure": True, "domain": "example.com"}, "ValueError", r"a __Host- cookie needs"),
])
def test_cookie_refuses_what_would_break_the_header(args, kwargs, kind, match):
    with raises(kind, match):
        cookie(*args, **kwargs)


def test_from_a_script_fetch_errors_are_catchable():
    exports = run_script('''
import http
let why = nil
try { http.fetch("http://127.0.0.1:9/") } catch e { why = e.kind }
let c = http.cookie("a", "b", max_age: 60, same_site: "Strict")
''')
    assert exports["why"] == "PermissionError"
    assert exports["c"] == "a=b; Max-Age=60; Path=/; HttpOnly; SameSite=Strict"


# --- through a real server -------------------------------------------------------------------

def test_a_served_script_fetches_on_the_worker_pool_without_async(server):
    from serverproc import ServerProcess, exchange
    with ServerProcess("tests/scripts/fetching.script", "--allow-fetch", f"127.0.0.1:{server.port}",
                       "--allow-env", "FETCH_BASE", native=None,
                       env={"FETCH_BASE": f"http://127.0.0.1:{server.port}"}) as rt:
        assert "fetching.script imports http: its handlers run on the worker thread pool" in rt.log()
        (reply,) = exchange(rt, b"GET /proxy HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.status == 200 and reply.json() == {"status": 200, "data": {"ok": True, "n": 1}}
        (reply,) = exchange(rt, b"GET /refused HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.json()["kind"] == "PermissionError"
        assert "169.254.169.254:80 is not allowed" in reply.json()["message"]
        (reply,) = exchange(rt, b"GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n")
        cookies = [v for k, v in reply.header_list if k.lower() == "set-cookie"]
        assert cookies == ["a=1; Path=/; HttpOnly; SameSite=Lax", "b=2; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"]
