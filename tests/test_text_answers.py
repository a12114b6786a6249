"""Text and bytes answers are charged to their request (issue 11, "Memory": "the encoded answer
counts too"; "Work": no single step runs long).

A script's string is often built once at load time and shared, frozen, by every request; each
request that answers with it makes its own UTF-8 bytes (and a bytes answer its own copy in the
wire message). Those bytes are charged to the request's invocation, as a JSON answer's are
(runtime/scripts/mount.py `text_answer`, `bytes_answer`), and a big text is encoded in pieces
beside the event loop or when it is not ASCII (lang/builds.py `utf8`), refused where it goes
past the budget.

By hypothesis, `builds.utf8` with pieces of a few bytes gives exactly `str.encode` and reports
every byte it makes. Then over HTTP, with a 4 MiB budget, inline and with --async (the hostile
harness: a /ping probe runs beside each request): a shared string whose UTF-8 bytes alone are
past the budget (Latin-1 text: one byte a character stored, two on the wire) answers 500 with
the LimitError logged, whether returned, through `response()` or `text()`; a text or bytes
answer that fits the budget alone is sent whole, and refused when the handler already spent
the rest; the server serves everyone else throughout.
"""
from __future__ import annotations

import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from hostile_harness import HostileServer, run_case
from serverproc import call
from test_big_answers import with_tiny_pieces
from rtserve.lang import builds, limits
from rtserve.lang.errors import LimitError
from rtserve.runtime.scripts import mount


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
@with_tiny_pieces
def test_utf8_in_pieces_is_str_encode(text):
    spent: list[int] = []
    got = builds.utf8(text, spent.append)
    assert got == text.encode("utf-8")
    assert sum(spent) == len(got)


def test_which_texts_are_encoded_in_pieces(monkeypatch):
    big = 3 * builds.LARGE_BYTES
    assert not builds.utf8_in_parts("x" * big)  # ASCII on the loop's thread: one call
    assert builds.utf8_in_parts("\u00e9" * big)  # not ASCII: its bytes are charged as they grow
    assert not builds.utf8_in_parts("\u00e9" * 1000)
    monkeypatch.setattr(limits, "beside_a_loop", lambda: True)
    assert builds.utf8_in_parts("x" * big)  # beside a loop: no long call
    assert not builds.utf8_in_parts("x" * (builds.LARGE_BYTES // 2))


class budget_of:
    def __init__(self, nbytes: int) -> None:
        self.budget = limits.Budget(max_memory=nbytes)

    def __enter__(self) -> limits.Budget:
        self.previous = limits.activate(self.budget)
        return self.budget

    def __exit__(self, *exc) -> None:
        limits.activate(self.previous)


def test_a_text_answer_is_charged_its_bytes():
    with budget_of(1 << 30) as budget:
        assert mount.text_answer("\u20ac" * 100_000) == ("\u20ac" * 100_000).encode()
        assert budget.max_memory - budget.memory_left == 300_000  # its UTF-8 bytes, exactly
    with budget_of(1 << 30) as budget:
        assert mount.bytes_answer(b"z" * 100_000) == b"z" * 100_000
        assert budget.max_memory - budget.memory_left == 100_000


def test_a_text_past_the_budget_is_refused_while_it_is_made():
    text = "\u00e9" * (4 << 20)  # 4 MiB stored, 8 MiB of UTF-8
    tracemalloc.start()
    try:
        with budget_of(6 << 20), pytest.raises(LimitError, match="memory budget"):
            mount.text_answer(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 7 << 20  # not the whole 8 MiB (and its copy) first


# --------------------------------------------------------------------------- over HTTP

BUDGET = 4 * 1024 * 1024
WIDE = 2_200_000  # Latin-1 characters: 2.2 MB stored at load, 4.4 MB of UTF-8 per answer
SCRIPT = f"""\
import base64
get "/ping" {{ return "pong" }}
let wide = "é" * {WIDE}
let page = "x" * 600000
let blob = base64.decode(base64.encode("z" * 300000))
any "/h/wide" {{ return wide }}
any "/h/wide-response" {{ return response(wide, status: 201) }}
any "/h/wide-text" {{ return text(wide) }}
any "/h/page" {{ return page }}
any "/h/blob" {{ return blob }}
any "/h/page-after-spending" {{
    let spent = "y" * 4000000
    return page
}}
any "/h/blob-after-spending" {{
    let spent = "y" * 4000000
    return blob
}}
any "/h/blob-response-after-spending" {{
    let spent = "y" * 4000000
    return response(blob)
}}
"""
REFUSED = ["/h/wide", "/h/wide-response", "/h/wide-text", "/h/page-after-spending",
           "/h/blob-after-spending", "/h/blob-response-after-spending"]
SENT = {"/h/page": ("text/plain; charset=utf-8", b"x" * 600000),
        "/h/blob": ("application/octet-stream", b"z" * 300000)}


@pytest.fixture(scope="module", params=["async", "inline"])
def host(request):
    with tempfile.TemporaryDirectory(prefix="rt-text-answers-") as folder:
        script = Path(folder) / "answers.script"
        script.write_text(SCRIPT, encoding="utf-8")
        server = HostileServer(script, async_mode=request.param == "async",
                               extra=("--max-memory", str(BUDGET)))
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize("path", REFUSED)
def test_an_answer_past_the_budget_is_refused_and_others_are_served(host, path):
    verdict = run_case(host, path, statuses=(500,), method="GET", body=b"")
    assert not verdict.problems, verdict.summary()
    log = host.ensure().log()
    assert f"memory budget exhausted ({BUDGET:,} bytes)" in log
    assert call(host.ensure(), "/ping")[0] == 200


@pytest.mark.parametrize("path", sorted(SENT))
def test_an_answer_within_the_budget_is_sent_whole(host, path):
    verdict = run_case(host, path, statuses=(200,), method="GET", body=b"")
    assert not verdict.problems, verdict.summary()
    status, headers, body = call(host.ensure(), path, timeout=30)
    content_type, expected = SENT[path]
    assert (status, headers["content-type"]) == (200, content_type)
    assert body == expected


NATIVE_MIDDLEWARE = """\
from rtserve import App


def setup(app: App) -> None:
    @app.use
    async def seen(req, call_next):
        resp = await call_next(req)
        resp.headers["x-body-length"] = str(len(resp.body))
        return resp
"""


def test_native_middleware_reads_a_charged_text_answer():
    """Under native middleware a big text answer is the Response it reads (its UTF-8 bytes,
    its content type), charged all the same."""
    from serverproc import ServerProcess
    with tempfile.TemporaryDirectory(prefix="rt-text-answers-mw-") as folder:
        script, native = Path(folder) / "answers.script", Path(folder) / "seen.py"
        script.write_text(SCRIPT, encoding="utf-8")
        native.write_text(NATIVE_MIDDLEWARE)
        with ServerProcess(str(script), "--max-memory", str(BUDGET), native=str(native)) as srv:
            status, headers, body = call(srv, "/h/page", timeout=30)
            assert (status, headers["content-type"]) == (200, "text/plain; charset=utf-8")
            assert body == b"x" * 600000 and headers["x-body-length"] == "600000"
            assert call(srv, "/h/wide", timeout=30)[0] == 500
            assert f"memory budget exhausted ({BUDGET:,} bytes)" in srv.log()
            assert call(srv, "/ping")[0] == 200
