"""`static "/assets" "./public"` served for real: types, validators, 304, ranges, streaming of
large files, and directory traversal refused.

Strategy: the module copies tests/scripts/static.script and tests/scripts/public/ into a
temporary site, then adds what must not live in the repository: a file larger than the
64 KiB piece size, a secret file and a secret index.html *beside* public/ (outside it), and
symlinks from inside public/ to outside it (plus one that stays inside, which must work).
One server per mode serves that site from its own folder. Traversal attempts go over a raw
socket so no client library normalizes `..` or percent-escapes away before the server sees
them; each must answer like a missing file and never contain the secret.
"""
from __future__ import annotations

import os
import random
import shutil
from email.utils import formatdate

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.runtime.static import UNSATISFIABLE, parse_range
from serverproc import ROOT, ServerProcess, call, exchange, read_response, recv_all

SECRET = b"TOP-SECRET-0xC0FFEE"
MODES = {"inline": [], "async": ["--async", "--threads", "4"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    shutil.copy(ROOT / "tests/scripts/static.script", root / "static.script")
    shutil.copytree(ROOT / "tests/scripts/public", root / "public")
    public = root / "public"
    (root / "secret.txt").write_bytes(SECRET + b"\n")
    (root / "index.html").write_bytes(b"<p>" + SECRET + b"</p>\n")
    rng = random.Random(4)
    (public / "big.bin").write_bytes(bytes(rng.getrandbits(8) for _ in range(200_003)))
    os.symlink(root / "secret.txt", public / "leak.txt")          # absolute, leads out
    os.symlink("../secret.txt", public / "leak-relative.txt")    # relative, leads out
    os.symlink(root, public / "outside-dir")                     # a folder outside
    os.symlink("hello.txt", public / "alias.txt")                # stays inside: fine
    (public / "linked").mkdir()                                  # a folder whose index.html
    os.symlink(root / "index.html", public / "linked" / "index.html")  # leads out
    (public / "linked-rel").mkdir()
    os.symlink("../../index.html", public / "linked-rel" / "index.html")
    (public / "inner").mkdir()                                   # ... or stays inside: fine
    os.symlink("../hello.txt", public / "inner" / "index.html")
    return root


@pytest.fixture(scope="module", params=list(MODES))
def server(request, site):
    # Started from elsewhere: "./public" is relative to the script, not to the working directory.
    srv = ServerProcess(str(site / "static.script"), *MODES[request.param], native=None,
                        cwd=str(site.parent))
    srv.start()
    yield srv
    srv.__exit__(None, None, None)


def raw_get(server, target: str):
    return exchange(server, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())[0]


# --------------------------------------------------------------------------- plain GET


@pytest.mark.parametrize("name, ctype", [
    ("hello.txt", "text/plain; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("data.json", "application/json"),
    ("docs/index.html", "text/html; charset=utf-8"),
    ("big.bin", "application/octet-stream"),
])
def test_file_with_content_type_etag_and_last_modified(server, site, name, ctype):
    path = site / "public" / name
    status, headers, body = call(server, f"/assets/{name}")
    assert status == 200
    assert body == path.read_bytes()
    assert headers["content-type"].startswith(ctype)
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')
    assert headers["last-modified"] == formatdate(path.stat().st_mtime, usegmt=True)


def test_etag_changes_when_the_file_changes(server, site):
    path = site / "public" / "changing.txt"
    path.write_bytes(b"first")
    first = call(server, "/assets/changing.txt")[1]["etag"]
    path.write_bytes(b"second version")
    status, headers, body = call(server, "/assets/changing.txt")
    assert (status, body) == (200, b"second version")
    assert headers["etag"] != first


def test_directory_serves_its_index_html(server, site):
    status, headers, body = call(server, "/assets/docs/")
    assert status == 200
    assert body == (site / "public/docs/index.html").read_bytes()
    assert headers["content-type"].startswith("text/html")


def test_static_inside_a_group(server, site):
    status, _, body = call(server, "/v1/files/hello.txt")
    assert (status, body) == (200, (site / "public/hello.txt").read_bytes())


def test_missing_file_is_404(server):
    assert call(server, "/assets/nope.txt")[0] == 404


def test_script_route_beside_static(server):
    status, _, body = call(server, "/")
    assert (status, body) == (200, b"script route beside the static ones")


def test_top_level_use_wraps_script_routes(server):
    assert call(server, "/")[1].get("x-wrapped") == "yes"


def test_top_level_use_wraps_static_files(server):
    status, headers, _ = call(server, "/assets/hello.txt")
    assert (status, headers.get("x-wrapped")) == (200, "yes")


def test_large_file_is_served_intact(server, site):
    data = (site / "public/big.bin").read_bytes()
    assert len(data) > 64 * 1024
    reply = raw_get(server, "/assets/big.bin")
    assert reply.status == 200
    assert reply.body == data


def test_streamed_file_keeps_the_connection_alive(server, site):
    data = (site / "public/big.bin").read_bytes()
    with server.connect() as sock:
        rfile = sock.makefile("rb")
        sock.sendall(b"GET /assets/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        first = read_response(rfile)
        assert first.status == 200 and first.body == data
        assert first.headers.get("connection", "").lower() != "close"
        sock.sendall(b"GET /assets/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(rfile).status == 200


def test_head_of_small_file_has_length_and_no_body(server, site):
    size = (site / "public/hello.txt").stat().st_size
    with server.connect() as sock:
        sock.sendall(b"HEAD /assets/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = recv_all(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"content-length: {size}".encode() in head.lower()
    assert rest == b""


def test_head_of_large_file_sends_no_body_bytes(server, site):
    with server.connect() as sock:
        sock.sendall(b"HEAD /assets/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = recv_all(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b""


# --------------------------------------------------------------------------- 304


def test_if_none_match_gives_304(server):
    etag = call(server, "/assets/hello.txt")[1]["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, headers, body = call(server, "/assets/hello.txt", headers={"If-None-Match": sent})
        assert (status, body) == (304, b""), sent
        assert headers["etag"] == etag


def test_if_none_match_with_another_tag_gives_200(server, site):
    status, _, body = call(server, "/assets/hello.txt", headers={"If-None-Match": '"stale"'})
    assert (status, body) == (200, (site / "public/hello.txt").read_bytes())


def test_if_modified_since_gives_304(server):
    last_modified = call(server, "/assets/style.css")[1]["last-modified"]
    status, _, body = call(server, "/assets/style.css", headers={"If-Modified-Since": last_modified})
    assert (status, body) == (304, b"")


def test_if_modified_since_older_gives_200(server, site):
    older = formatdate((site / "public/style.css").stat().st_mtime - 86400, usegmt=True)
    status, _, body = call(server, "/assets/style.css", headers={"If-Modified-Since": older})
    assert (status, body) == (200, (site / "public/style.css").read_bytes())


def test_if_none_match_wins_over_if_modified_since(server):
    last_modified = call(server, "/assets/style.css")[1]["last-modified"]
    status, _, _ = call(server, "/assets/style.css",
                        headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert status == 200


# --------------------------------------------------------------------------- ranges


def test_range_gives_206_with_content_range(server, site):
    data = (site / "public/hello.txt").read_bytes()
    status, headers, body = call(server, "/assets/hello.txt", headers={"Range": "bytes=0-4"})
    assert (status, body) == (206, data[:5])
    assert headers["content-range"] == f"bytes 0-4/{len(data)}"
    assert headers["content-length"] == "5"


def test_suffix_range(server, site):
    data = (site / "public/hello.txt").read_bytes()
    status, headers, body = call(server, "/assets/hello.txt", headers={"Range": "bytes=-6"})
    assert (status, body) == (206, data[-6:])
    assert headers["content-range"] == f"bytes {len(data) - 6}-{len(data) - 1}/{len(data)}"


def test_open_ended_range(server, site):
    data = (site / "public/hello.txt").read_bytes()
    status, _, body = call(server, "/assets/hello.txt", headers={"Range": "bytes=7-"})
    assert (status, body) == (206, data[7:])


def test_range_past_the_end_is_clamped(server, site):
    data = (site / "public/hello.txt").read_bytes()
    status, headers, body = call(server, "/assets/hello.txt", headers={"Range": "bytes=3-99999"})
    assert (status, body) == (206, data[3:])
    assert headers["content-range"] == f"bytes 3-{len(data) - 1}/{len(data)}"


def test_unsatisfiable_range_is_416(server, site):
    size = (site / "public/hello.txt").stat().st_size
    status, headers, _ = call(server, "/assets/hello.txt", headers={"Range": "bytes=5000-6000"})
    assert status == 416
    assert headers["content-range"] == f"bytes */{size}"


def test_range_inside_a_large_file(server, site):
    data = (site / "public/big.bin").read_bytes()
    wanted = "bytes=65530-199999"  # crosses the 64 KiB piece boundary
    status, headers, body = call(server, "/assets/big.bin", headers={"Range": wanted})
    assert (status, body) == (206, data[65530:200000])
    assert headers["content-range"] == f"bytes 65530-199999/{len(data)}"


def test_if_range_with_a_stale_tag_sends_the_whole_file(server, site):
    data = (site / "public/hello.txt").read_bytes()
    status, _, body = call(server, "/assets/hello.txt",
                           headers={"Range": "bytes=0-4", "If-Range": '"stale"'})
    assert (status, body) == (200, data)


# --------------------------------------------------------------------------- traversal


TRAVERSALS = [
    "/assets/../secret.txt",
    "/assets/%2e%2e/secret.txt",
    "/assets/..%2fsecret.txt",
    "/assets/%2e%2e%2fsecret.txt",
    "/assets/%2E%2E%2Fsecret.txt",
    "/assets/docs/../../secret.txt",
    "/assets/docs/%2e%2e/%2e%2e/secret.txt",
    "/assets/..%5csecret.txt",
    "/assets/..\\secret.txt",
    "/assets/%2e%2e/",
    "/assets/..",
    "/assets/%2e%2e",
    "/assets/leak.txt",
    "/assets/leak-relative.txt",
    "/assets/outside-dir/secret.txt",
    "/assets/outside-dir/",
    "/assets/linked/",
    "/assets/linked",
    "/assets/linked-rel/",
    "/v1/files/linked/",
    "/assets/secret.txt%00.txt",
    "http://x/assets/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_reveals_the_secret(server, target):
    reply = raw_get(server, target)
    assert SECRET not in reply.body
    assert reply.status in (400, 404), reply


@pytest.mark.parametrize("form", ["/assets/{abs}", "/assets//{abs}", "/assets/{enc}", "/assets/%2F{enc}"])
def test_absolute_paths_are_refused(server, site, form):
    secret = str(site / "secret.txt").lstrip("/")
    target = form.format(abs=secret, enc=secret.replace("/", "%2F"))
    reply = raw_get(server, target)
    assert SECRET not in reply.body
    assert reply.status in (400, 404), (target, reply)
    reply = raw_get(server, "/assets/%2Fetc%2Fpasswd")
    assert reply.status in (400, 404) and b"root:" not in reply.body


def test_refusal_looks_like_a_missing_file(server):
    missing = raw_get(server, "/assets/no-such-file.txt")
    refused = raw_get(server, "/assets/%2e%2e/secret.txt")
    assert (refused.status, refused.body) == (missing.status, missing.body)


def test_symlink_that_stays_inside_is_served(server, site):
    status, _, body = call(server, "/assets/alias.txt")
    assert (status, body) == (200, (site / "public/hello.txt").read_bytes())


def test_index_html_symlink_that_stays_inside_is_served(server, site):
    status, _, body = call(server, "/assets/inner/")
    assert (status, body) == (200, (site / "public/hello.txt").read_bytes())


# --------------------------------------------------------------------------- strict ranges


@pytest.mark.parametrize("wanted", ["bytes=99999999999999999999999-",
                                    "bytes=99999999999999999999999-99999999999999999999999",
                                    "bytes=" + "9" * 5000 + "-",
                                    "bytes=5000-,6000-7000", "bytes=-0"])
def test_ranges_past_the_end_are_416(server, site, wanted):
    size = (site / "public/hello.txt").stat().st_size
    status, headers, body = call(server, "/assets/hello.txt", headers={"Range": wanted})
    assert status == 416 and headers["content-range"] == f"bytes */{size}" and body == b""


@pytest.mark.parametrize("wanted", ["bytes=1_0-2_0", "bytes=0-1_0", "bytes=-1_0", "bytes=+1-2",
                                    "bytes=\u0663-\u0664", "bytes=1 0-20", "bytes=0x1-2",
                                    "bytes=4-2", "bytes=0-1,5-3", "bytes=1-2,x", "bytes",
                                    "pages=0-1", "bytes=", "bytes=0-1,3-4", "bytes=-2,0-1"])
def test_malformed_or_disjoint_ranges_send_the_whole_file(server, site, wanted):
    data = (site / "public/hello.txt").read_bytes()
    assert len(data) > 8
    with server.connect() as sock:  # raw bytes: http.client would refuse non-ASCII headers
        sock.sendall(b"GET /assets/hello.txt HTTP/1.1\r\nHost: x\r\nRange: " +
                     wanted.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = read_response(sock.makefile("rb"))
    assert (reply.status, reply.body) == (200, data) and "content-range" not in reply.headers


@pytest.mark.parametrize("wanted, start, end", [("bytes=0-1,2-4", 0, 4), ("bytes=3-5,0-3", 0, 5),
                                                ("bytes=1-2,1-2", 1, 2), ("bytes= 1-2 , ,", 1, 2)])
def test_ranges_that_merge_into_one_are_206(server, site, wanted, start, end):
    data = (site / "public/hello.txt").read_bytes()
    status, headers, body = call(server, "/assets/hello.txt", headers={"Range": wanted})
    assert (status, body) == (206, data[start:end + 1])
    assert headers["content-range"] == f"bytes {start}-{end}/{len(data)}"


# A model of RFC 9110 14.1.1 written the slow, obvious way: the set of byte positions the
# ranges select. The parser must agree: one contiguous set -> its span (206), none -> 416,
# several pieces -> the whole file; an invalid int-range (last < first) -> the whole file.
_spec = st.one_of(
    st.tuples(st.just("int"), st.integers(0, 40), st.none() | st.integers(0, 40)),
    st.tuples(st.just("suffix"), st.integers(0, 40), st.none()))


@settings(max_examples=400, deadline=None)
@given(st.lists(_spec, min_size=1, max_size=5), st.integers(0, 30))
def test_parse_range_matches_a_byte_set_model(specs, size):
    texts, selected, invalid = [], set(), False
    for kind, a, b in specs:
        if kind == "suffix":
            texts.append(f"-{a}")
            selected |= set(range(max(0, size - a), size)) if a else set()
        else:
            texts.append(f"{a}-" + ("" if b is None else str(b)))
            if b is not None and b < a:
                invalid = True
            selected |= set(range(a, size if b is None else min(b + 1, size)))
    got = parse_range("bytes=" + ",".join(texts), size)
    if invalid:
        assert got is None
    elif not selected:
        assert got == UNSATISFIABLE
    elif max(selected) - min(selected) + 1 == len(selected):
        assert got == (min(selected), max(selected))
    else:
        assert got is None


@pytest.mark.parametrize("text", ["1_0", "+1", "1 1", "1\t1", "\u0663", "\uff11", "0x1", "1e3"])
def test_range_positions_are_ascii_digits_only(text):
    assert parse_range(f"bytes={text}-20", 100) is None
    assert parse_range(f"bytes=0-{text}", 100) is None
    assert parse_range(f"bytes=-{text}", 100) is None
