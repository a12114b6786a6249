"""`import middleware` served for real: CORS as the Fetch standard says (preflight and actual
requests, header by header), gzip that curl and Python's gzip decode, Basic auth, request ids,
security headers and a shorter deadline.

Strategy: one server for the module (tests/middleware/app.script), spoken to with http.client;
each middleware sits on its own group so each test reads one behaviour.
"""
import base64
import gzip
import json
import re
import shutil
import subprocess

import pytest

from serverproc import ServerProcess, call, exchange

ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def server():
    srv = ServerProcess("tests/middleware/app.script", "--deadline", "5", native=None).start()
    yield srv
    srv.__exit__(None, None, None)


# -- cors ---------------------------------------------------------------------------------------

def test_preflight_from_an_allowed_origin_is_answered_without_the_handler(server):
    status, headers, body = call(server, "/cors/data", method="OPTIONS", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "content-type, x-token"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-max-age"] == "120"
    assert headers["vary"] == "Origin"


def test_preflight_from_another_origin_gets_no_cors_headers(server):
    status, headers, _ = call(server, "/cors/data", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    assert not any(name.startswith("access-control-") for name in headers)
    assert status == 405  # no OPTIONS route: the request went on as any other


def test_actual_request_gets_the_origin_and_credentials(server):
    status, headers, body = call(server, "/cors/data", headers={"Origin": ORIGIN})
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    assert "Origin" in headers["vary"]


def test_request_without_origin_is_untouched(server):
    _, headers, _ = call(server, "/cors/data")
    assert "access-control-allow-origin" not in headers


def test_any_origin_without_credentials_is_a_star_and_echoes_asked_headers():
    with ServerProcess("tests/middleware/open.script", native=None) as server:
        _, headers, _ = call(server, "/data", headers={"Origin": "https://x.example"})
        assert headers["access-control-allow-origin"] == "*" and "vary" not in headers
        status, headers, _ = call(server, "/data", method="OPTIONS", headers={
            "Origin": "https://x.example", "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-custom"})
    assert status == 204 and headers["access-control-allow-headers"] == "x-custom"
    assert "access-control-allow-credentials" not in headers


# -- gzip ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, plain, ctype", [
    ("/gzip/text", b"hello gzip " * 50, "text/plain; charset=utf-8"),
    ("/gzip/json", json.dumps({"items": list(range(200))}, separators=(",", ":")).encode(),
     "application/json"),
])
def test_gzip_decodes_with_python(server, path, plain, ctype):
    status, headers, body = call(server, path, headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["content-type"] == ctype and "Accept-Encoding" in headers["vary"]
    assert gzip.decompress(body) == plain and len(body) < len(plain)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (Debian: curl)")
def test_gzip_decodes_with_curl_compressed(server):
    out = subprocess.run(["curl", "-s", "--compressed", f"http://127.0.0.1:{server.port}/gzip/text"],
                         capture_output=True, timeout=30)
    assert out.stdout == b"hello gzip " * 50


@pytest.mark.parametrize("accept", [None, "gzip;q=0", "identity", "br"])
def test_no_gzip_unless_the_client_takes_it(server, accept):
    _, headers, body = call(server, "/gzip/text", headers={"Accept-Encoding": accept} if accept else {})
    assert "content-encoding" not in headers and body == b"hello gzip " * 50


def test_small_answers_are_not_compressed(server):
    _, headers, body = call(server, "/gzip/small", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers and body == b"tiny"


# -- basic auth, ids, security headers, timeout ------------------------------------------------

def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("headers", [{}, basic("ada", "wrong"), basic("eve", "s3cret"),
                                     {"Authorization": "Basic !!notbase64"},
                                     {"Authorization": "Bearer s3cret"}])
def test_basic_auth_refuses_with_a_challenge(server, headers):
    status, got, _ = call(server, "/auth/me", headers=headers)
    assert status == 401 and got["www-authenticate"] == 'Basic realm="notes", charset="UTF-8"'


def test_basic_auth_lets_a_user_in(server):
    assert call(server, "/auth/me", headers=basic("bob", "hunter2"))[:3:2] == (200, b"welcome")


def test_request_id_and_security_headers_never_override_the_handler(server):
    status, headers, _ = call(server, "/ids/x", headers={"X-Request-Id": "abc-123"})
    assert status == 200 and headers["x-request-id"] == "abc-123"
    assert headers["x-frame-options"] == "DENY"  # the handler's own
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_timeout_lowers_the_deadline(server):
    status, _, body = call(server, "/slow/loop")
    assert status == 503 and json.loads(body)["error"] == "deadline exceeded"


# -- what a client sends is echoed only when a header may carry it ---------------------------

def _raw_get(server, path: str, *fields: bytes):
    head = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + b"".join(f + b"\r\n" for f in fields)
    return exchange(server, head + b"Connection: close\r\n\r\n")[0]


def test_cors_does_not_echo_an_origin_a_header_cannot_carry(server):
    reply = _raw_get(server, "/anycors/data", b"Origin: https://caf\xe9.example")  # obs-text
    assert reply.status == 200 and reply.body == b"any"
    assert "access-control-allow-origin" not in reply.headers
    reply = _raw_get(server, "/anycors/data", b"Origin: https://cafe.example")
    assert reply.headers["access-control-allow-origin"] == "https://cafe.example"


def test_request_id_replaces_an_id_a_header_cannot_carry(server):
    reply = _raw_get(server, "/ids/x", b"X-Request-Id: ab\xe9cd")
    assert reply.status == 200 and reply.body == b"x"
    assert re.fullmatch(r"[0-9a-f]{16}", reply.headers["x-request-id"])
    assert _raw_get(server, "/ids/x", b"X-Request-Id: abc-123").headers["x-request-id"] == "abc-123"
