"""examples/webhook.script and examples/login.script, served for real and spoken to over
sockets: signatures checked in constant time over the raw body, secrets from env, structured
log lines; JWT login with scrypt password hashes and the refusal reasons."""
import hashlib
import hmac
import json
import time

import pytest

from serverproc import ServerProcess, call

WEBHOOK_SECRET = "webhook-secret-for-tests"
JWT_SECRET = "j" * 40


@pytest.fixture(scope="module")
def webhook():
    with ServerProcess("examples/webhook.script", "--allow-env", "WEBHOOK_SECRET", native=None,
                       env={"WEBHOOK_SECRET": WEBHOOK_SECRET}) as server:
        yield server


@pytest.fixture(scope="module")
def login():
    with ServerProcess("examples/login.script", "--allow-env", "JWT_SECRET", native=None,
                       env={"JWT_SECRET": JWT_SECRET}) as server:
        yield server


def _signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "x-github-event": "issues",
            "x-github-delivery": "d-1", "content-type": "application/json"}


def _wait_for(server, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        if time.monotonic() > deadline:
            pytest.fail(f"log never showed {text!r}:\n{server.log()[-2000:]}")
        time.sleep(0.05)
    return server.log()


def test_webhook_accepts_a_signed_delivery_and_logs_it(webhook):
    body = b'{"action":"opened",  "number": 7}'  # odd spacing: the raw bytes are what is signed
    status, _, answer = call(webhook, "/webhooks/github", "POST", body, _signed(body))
    assert status == 200 and json.loads(answer) == {"ok": True, "event": "issues"}
    log = _wait_for(webhook, "webhook received event=issues action=opened delivery=d-1")
    assert "request_id=" in log.split("webhook received", 1)[1].splitlines()[0]


@pytest.mark.parametrize("headers", [
    {},
    {"x-hub-signature-256": "sha256=" + "0" * 64},
    _signed(b'{"action":"other"}'),
    _signed(b'{"action":"opened"}', secret="another-secret"),
])
def test_webhook_refuses_a_missing_or_wrong_signature(webhook, headers):
    status, _, answer = call(webhook, "/webhooks/github", "POST", b'{"action":"opened"}', headers)
    assert status == 401 and json.loads(answer) == {"error": "bad signature"}


def test_webhook_lets_its_browser_dashboard_call_it(webhook):
    status, headers, _ = call(webhook, "/webhooks/github", "OPTIONS", None, {
        "Origin": "https://dashboard.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-hub-signature-256"})
    assert status == 204 and headers["access-control-allow-origin"] == "https://dashboard.example"
    assert headers["access-control-allow-headers"] == "x-hub-signature-256"
    body = b'{"action":"closed"}'
    status, headers, _ = call(webhook, "/webhooks/github", "POST", body,
                              {**_signed(body), "Origin": "https://dashboard.example"})
    assert status == 200 and headers["access-control-allow-origin"] == "https://dashboard.example"
    _, headers, _ = call(webhook, "/webhooks/github", "POST", body,
                         {**_signed(body), "Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in headers


def test_webhook_does_not_start_unless_its_secret_is_allowed():
    server = ServerProcess("examples/webhook.script", native=None, env={"WEBHOOK_SECRET": "x" * 20})
    with pytest.raises(RuntimeError, match="env.get\\(\\): 'WEBHOOK_SECRET' is not an allowed environment "
                                           "variable; allow it with --allow-env WEBHOOK_SECRET"):
        server.start()
    server.stop()


def test_webhook_with_its_secret_unset_refuses_every_delivery(monkeypatch):
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with ServerProcess("examples/webhook.script", "--allow-env", "WEBHOOK_SECRET", native=None) as server:
        body = b"{}"
        status, _, answer = call(server, "/webhooks/github", "POST", body, _signed(body, ""))
        assert status == 503 and json.loads(answer) == {"error": "not configured"}
        _wait_for(server, "WEBHOOK_SECRET is unset or shorter than 16 characters")


def test_login_gives_a_token_that_me_accepts(login):
    status, _, answer = call(login, "/login", "POST", b'{"user": "ann", "password": "correct horse"}')
    assert status == 200
    token = json.loads(answer)["token"]
    status, _, me = call(login, "/me", headers={"authorization": f"Bearer {token}"})
    assert status == 200 and json.loads(me) == {"user": "ann", "role": "admin"}


@pytest.mark.parametrize("body", [
    b'{"user": "ann", "password": "wrong"}',
    b'{"user": "nobody", "password": "correct horse"}',
    b'{"user": "bob"}',
])
def test_login_refuses_wrong_credentials(login, body):
    status, _, answer = call(login, "/login", "POST", body)
    assert status == 401 and json.loads(answer) == {"error": "wrong user name or password"}


def _token(claims: dict, secret: str = JWT_SECRET) -> str:
    import base64
    enc = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    signing_input = enc(b'{"alg":"HS256","typ":"JWT"}') + "." + enc(json.dumps(claims).encode())
    return signing_input + "." + enc(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())


@pytest.mark.parametrize("authorization, reason", [
    (f"Bearer {_token({'sub': 'ann', 'role': 'admin', 'exp': 1})}", "expired"),
    (f"Bearer {_token({'sub': 'ann', 'role': 'admin', 'exp': 4102444800}, secret='x' * 40)}", "bad signature"),
    (f"Bearer {_token({'sub': 'ann', 'role': 'admin'})}", "missing claim"),
    ("Bearer not.a.token", "malformed"),
])
def test_me_refuses_bad_tokens_with_the_reason(login, authorization, reason):
    status, _, answer = call(login, "/me", headers={"authorization": authorization})
    assert status == 401 and json.loads(answer) == {"error": "invalid token", "reason": reason}


def test_me_needs_a_bearer_token(login):
    status, _, answer = call(login, "/me")
    assert status == 401 and json.loads(answer)["error"] == "send authorization: Bearer TOKEN"
