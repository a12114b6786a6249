"""The examples a newcomer starts from, served for real: `examples/app.script` (what `make
serve` serves) with `examples/fast.py` mounted beside it, as the README shows.

Every request the script's header comment suggests is made here over a real socket, so a
change that breaks the tour (or makes the two files clash) fails a test. Expected values are
worked out from the example's own data where they can be (the primes from a sieve here, the
static file from disk), not copied from a run.
"""
from __future__ import annotations

import json
import re

import pytest

from serverproc import ROOT, ServerProcess, call

APP = "examples/app.script"
FAST = "examples/fast.py"


@pytest.fixture(scope="module")
def server():
    with ServerProcess(APP, native=FAST) as proc:
        yield proc


def books_in_script() -> list[dict]:
    """The BOOKS the script declares, read off its source."""
    source = (ROOT / APP).read_text()
    return [{"id": int(i), "title": t, "year": int(y)} for i, t, y in
            re.findall(r'\{"id": (\d+), "title": "([^"]+)", "year": (\d+)\}', source)]


def test_the_script_comment_lists_the_requests_tested_here():
    suggested = re.findall(r"curl (?:-H '[^']*' )?(?:-d '[^']*' )?localhost:8080(\S+)",
                           (ROOT / APP).read_text())
    assert suggested == ["/", "/hello/Ann?greeting=Hi", "/api/v1/books", "/api/v1/books/2",
                         "/api/v1/books", "/api/v1/primes?below=50", "/assets/index.html"]


def test_home(server):
    status, headers, body = call(server, "/")
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body.startswith(b"Welcome to rt")
    assert float(headers["x-elapsed-ms"]) >= 0  # the top-level middleware timed it


def test_hello_with_a_query(server):
    assert call(server, "/hello/Ann?greeting=Hi")[2] == b"Hi, Ann!"
    assert call(server, "/hello/Bo%20Li")[2] == b"Hello, Bo Li!"


def test_books_list_and_one_book(server):
    books = books_in_script()
    assert len(books) == 3
    status, headers, body = call(server, "/api/v1/books")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"books": books, "count": len(books)}
    newest = max(b["year"] for b in books)
    assert json.loads(call(server, f"/api/v1/books?since={newest}")[2])["books"] == \
        [b for b in books if b["year"] >= newest]
    assert json.loads(call(server, "/api/v1/books/2")[2]) == books[1]
    status, _, body = call(server, "/api/v1/books/99")
    assert status == 404 and json.loads(body) == {"error": "no book 99"}


def test_posting_a_book_needs_the_token(server):
    book = json.dumps({"title": "Dune", "year": 1965})
    status, headers, body = call(server, "/api/v1/books", "POST", book,
                                 {"Content-Type": "application/json"})
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    status, _, body = call(server, "/api/v1/books", "POST", book,
                           {"Authorization": "Bearer letmein", "Content-Type": "application/json"})
    assert status == 201
    assert json.loads(body) == {"id": len(books_in_script()) + 1, "title": "Dune", "year": 1965}
    status, _, body = call(server, "/api/v1/books", "POST", "{not json",
                           {"Authorization": "Bearer letmein"})
    assert status == 400
    status, _, body = call(server, "/api/v1/books", "POST", "[1]",
                           {"Authorization": "Bearer letmein"})
    assert status == 422 and json.loads(body) == {"error": "a book needs a title"}


def test_primes(server):
    below = 50
    sieve = [n for n in range(2, below) if all(n % d for d in range(2, n))]
    assert json.loads(call(server, f"/api/v1/primes?below={below}")[2]) == sieve
    status, _, body = call(server, "/api/v1/primes?below=100001")
    assert status == 400 and "at most" in json.loads(body)["error"]


def test_static_file(server):
    status, headers, body = call(server, "/assets/index.html")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert body == (ROOT / "examples" / "public" / "index.html").read_bytes()
    assert "etag" in headers


def test_the_native_routes_beside_the_script(server):
    assert call(server, "/plaintext")[2] == b"Hello, World!"
    assert json.loads(call(server, "/json")[2]) == {"message": "Hello, World!"}
    assert json.loads(call(server, "/users/7?name=Ann")[2]) == {"id": "7", "name": "Ann"}
    status, _, body = call(server, "/echo", "POST", '{"a": [1, 2]}',
                           {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"received": {"a": [1, 2]}}
    assert call(server, "/ready")[:3:2] == (200, b"ok")
    status, _, body = call(server, "/ready?fail=1")
    assert status == 503 and json.loads(body)["error"] == "asked to fail"
    # the script's /health is still the script's
    assert json.loads(call(server, "/health")[2])["ok"] is True
