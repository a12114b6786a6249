"""The state examples served for real: examples/notes/notes.script (a notes API on `db`, its
tables from examples/notes/migrations) and examples/shortener.script (a URL shortener with
click counters on `kv`, on SQLite and on Redis). Each request the scripts' header comments
suggest is made here over a real socket."""
from __future__ import annotations

import json
import re
import threading

import pytest

from backends import redis_server  # noqa: F401 (fixture)
from serverproc import ROOT, ServerProcess, call

NOTES = "examples/notes/notes.script"
SHORTENER = "examples/shortener.script"


def suggested(script: str) -> list[str]:
    return re.findall(r"curl (?:-\w+ (?:'[^']*' |[A-Z]+ )?)*localhost:8080(\S+)",
                      (ROOT / script).read_text())


def send(server, path, method="GET", data=None):
    body = json.dumps(data).encode() if data is not None else None
    status, headers, raw = call(server, path, method=method, body=body)
    return status, headers, (json.loads(raw) if raw and headers.get("content-type") == "application/json" else raw)


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    with ServerProcess(NOTES, "--data-dir", str(tmp_path_factory.mktemp("notes")), native=None) as proc:
        yield proc


def test_the_notes_comment_lists_the_requests_tested_here():
    assert suggested(NOTES) == ["/notes", "/notes", "/notes/1", "/notes?tag=home", "/search?q=milk",
                                "/notes/1", "/notes/1"]


def test_notes_tour(tmp_path):
    # The ids the script's comments show (/notes/1) hold on a fresh database: the tour has its
    # own server, so the module's other tests may run before it in any order.
    with ServerProcess(NOTES, "--data-dir", str(tmp_path), native=None) as notes:
        assert "migration 001_notes.sql applied" in notes.log()
        assert "migration 002_tag_index.sql applied" in notes.log()
        status, headers, made = send(notes, "/notes", "POST",
                                     {"title": "Groceries", "body": "milk, eggs", "tags": ["home"]})
        assert status == 201 and headers["location"] == "/notes/1"
        assert made["id"] == 1 and made["tags"] == ["home"] and made["body"] == "milk, eggs"
        send(notes, "/notes", "POST", {"title": "Work", "body": "it's 100% -- done?", "tags": ["job"]})
        assert [n["title"] for n in send(notes, "/notes")[2]] == ["Groceries", "Work"]
        assert send(notes, "/notes/1")[2]["title"] == "Groceries"
        assert [n["id"] for n in send(notes, "/notes?tag=home")[2]] == [1]
        assert send(notes, "/search?q=milk")[2] == [{"id": 1, "title": "Groceries"}]
        # what the user searches for is a parameter: quotes, %, -- are just text
        assert send(notes, "/search?q=100%25%20--")[2] == [{"id": 2, "title": "Work"}]
        assert send(notes, "/search?q=%27%20OR%201%3D1%20--")[2] == []
        status, _, updated = send(notes, "/notes/1", "PUT", {"title": "Groceries", "body": "milk, eggs, bread"})
        assert status == 200 and updated["body"] == "milk, eggs, bread" and updated["tags"] == []
        assert send(notes, "/notes/1", "DELETE")[0] == 204
        assert send(notes, "/notes/1")[0] == 404
        assert send(notes, "/notes/1", "DELETE")[0] == 404


def test_notes_bad_input_is_a_400(notes):
    assert send(notes, "/notes", "POST", {"body": "no title"})[0] == 400
    assert send(notes, "/notes", "POST", {"title": "t", "tags": "x"})[0] == 400
    assert send(notes, "/notes?limit=lots")[0] == 400
    assert send(notes, "/notes/abc")[0] == 404


def test_a_note_and_its_tags_are_written_together_or_not_at_all(notes):
    before = send(notes, "/notes?limit=100")[2]
    status, _, refused = send(notes, "/notes", "POST", {"title": "t", "tags": ["ok", "x" * 41]})
    assert status == 400 and "CHECK constraint" in refused["error"]
    assert send(notes, "/notes?limit=100")[2] == before  # the note was rolled back with its tags
    status, _, made = send(notes, "/notes", "POST", {"title": "dup", "tags": ["a", "a"]})
    assert status == 201 and made["tags"] == ["a"]


@pytest.fixture(params=["sqlite", "redis"])
def shortener(request, tmp_path):
    flags = ["--data-dir", str(tmp_path)]
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        import redis
        redis.Redis.from_url(server.url).flushdb()
        flags += ["--kv", server.url]
    with ServerProcess(SHORTENER, *flags, native=None) as proc:
        yield proc


def test_the_shortener_comment_lists_the_requests_tested_here():
    assert suggested(SHORTENER) == ["/links", "/CODE", "/links/CODE", "/links"]


def test_shortener_tour(shortener):
    status, headers, made = send(shortener, "/links", "POST", {"url": "https://example.org/a/long/path"})
    assert status == 201 and made["url"] == "https://example.org/a/long/path"
    code = made["code"]
    assert made["short"] == f"/{code}" and headers["location"] == f"/links/{code}"
    status, headers, _ = send(shortener, f"/{code}")
    assert status == 302 and headers["location"] == "https://example.org/a/long/path"
    assert send(shortener, f"/links/{code}")[2]["clicks"] == 1
    assert send(shortener, "/links", "POST", {"url": "https://example.org", "code": "home"})[0] == 201
    assert send(shortener, "/links", "POST", {"url": "https://other.org", "code": "home"})[0] == 409
    other = send(shortener, "/links", "POST", {"url": "https://x.org"})[2]["code"]
    assert other != code
    assert send(shortener, "/nope")[0] == 404
    assert send(shortener, "/links", "POST", {"url": "ftp://x"})[0] == 400
    assert send(shortener, "/links", "POST", {"url": "https://x.org", "code": "a b"})[0] == 400


def test_shortener_counts_every_click_under_load(shortener):
    code = send(shortener, "/links", "POST", {"url": "https://example.org"})[2]["code"]

    def click():
        for _ in range(25):
            assert call(shortener, f"/{code}")[0] == 302
    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert send(shortener, f"/links/{code}")[2]["clicks"] == 200
