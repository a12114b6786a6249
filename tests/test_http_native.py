"""Native handlers over a real socket: return types, sync/async, errors, routing outcomes,
request fields, and registration conflicts naming both handlers' file:line."""
import http.client
import json
import subprocess
import sys
import textwrap

import pytest

from http_talk import FAULTY_ROUTES, H, SECRET, clean
from serverproc import NATIVE_ROUTES, ROOT, ServerProcess, call, exchange, recv_all


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as srv:
        yield srv


@pytest.mark.parametrize("path, status, ctype, body", [
    ("/plaintext", 200, "text/plain; charset=utf-8", b"Hello, World!"),
    ("/json", 200, "application/json", b'{"message":"Hello, World!","n":1}'),
    ("/list", 200, "application/json", b'[1,"two",null]'),
    ("/bytes", 200, "application/octet-stream", b"\x00\x01raw"),
    ("/custom", 201, "text/html; charset=utf-8", b"<p>made</p>"),
    ("/async", 200, "application/json", b'{"async":true}'),
])
def test_each_return_type_is_encoded(server, path, status, ctype, body):
    got_status, headers, got_body = call(server, path)
    assert (got_status, headers["content-type"], got_body) == (status, ctype, body)
    assert headers["content-length"] == str(len(body))


def test_none_is_204_without_body(server):
    status, headers, body = call(server, "/none")
    assert status == 204 and body == b"" and "content-length" not in headers


def test_response_headers_are_sent(server):
    assert call(server, "/custom")[1]["x-made"] == "yes"


@pytest.mark.parametrize("path", ["/boom", "/boom-async", "/bad-result"])
def test_handler_exception_is_500_without_internals(server, path):
    status, headers, body = call(server, path, headers={"X-Request-Id": "req-77"})
    assert status == 500
    assert json.loads(body) == {"error": "internal server error", "request_id": "req-77"}
    assert b"secret" not in body and b"Traceback" not in body
    # ... while the server log has the traceback.
    assert "Traceback" in server.log() and "req-77" in server.log()


def test_http_error_gives_its_status(server):
    status, _, body = call(server, "/teapot")
    assert status == 418 and json.loads(body) == {"error": "short and stout"}


def test_unknown_path_is_404(server):
    status, _, body = call(server, "/nowhere")
    assert status == 404 and json.loads(body) == {"error": "not found"}


def test_wrong_method_is_405_with_allow(server):
    status, headers, _ = call(server, "/plaintext", method="DELETE")
    assert status == 405
    assert set(headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_head_falls_back_to_get_without_body(server):
    [reply] = exchange(server, b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n", head=True)
    assert reply.status == 200
    assert reply.headers["content-length"] == str(len(b'{"message":"Hello, World!","n":1}'))
    # Nothing after the head: a GET on the same connection would be parsed next.
    with server.connect() as sock:
        sock.sendall(b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        rfile = sock.makefile("rb")
        from serverproc import read_response
        first = read_response(rfile, head=True)
        second = read_response(rfile)
    assert first.headers["content-length"] == "13" and second.body == b"Hello, World!"


def test_explicit_head_route_wins(server):
    [reply] = exchange(server, b"HEAD /head-only HTTP/1.1\r\nHost: x\r\n\r\n", head=True)
    assert reply.headers["x-head"] == "1"


def test_params_and_catch_all(server):
    assert json.loads(call(server, "/users/a%20b")[2]) == {"id": "a b"}
    assert json.loads(call(server, "/files/a/b.txt", method="PUT")[2]) == {
        "path": "a/b.txt", "method": "PUT"}


def test_request_fields(server):
    status, _, body = call(server, "/request?a=1&a=2&b=%C3%A9",
                          headers={"Cookie": "sid=abc; theme=dark", "X-Twice": "1",
                                   "X-Request-Id": "rid-1"})
    fields = json.loads(body)
    assert fields["method"] == "GET" and fields["path"] == "/request"
    assert fields["target"] == "/request?a=1&a=2&b=%C3%A9"
    assert fields["query"] == {"a": "2", "b": "é"}
    assert fields["query_all"] == {"a": ["1", "2"], "b": ["é"]}
    assert fields["cookies"] == {"sid": "abc", "theme": "dark"}
    assert fields["headers"]["x-twice"] == "1" and fields["headers"]["host"].startswith("127.0.0.1")
    assert fields["ip"] == "127.0.0.1" and fields["id"] == "rid-1"
    assert fields["http_version"] == "1.1" and fields["missing"] == "dflt"


@pytest.mark.parametrize("request_line, connection, version", [
    (b"GET /request HTTP/1.1", b"", "1.1"),
    (b"GET /request HTTP/1.1", b"Connection: keep-alive\r\n", "1.1"),
    (b"GET /request HTTP/1.1", b"Connection: close\r\n", "1.1"),
    (b"GET /request HTTP/1.0", b"", "1.0"),
    (b"GET /request HTTP/1.0", b"Connection: keep-alive\r\n", "1.0"),
])
def test_http_version_as_sent(server, request_line, connection, version):
    [reply] = exchange(server, request_line + b"\r\nHost: x\r\n" + connection + b"\r\n")
    assert reply.json()["http_version"] == version


def test_trailers_of_a_chunked_body_are_not_headers(server):
    [reply] = exchange(server, b"GET /request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert reply.status == 200
    assert "x-trailer" not in reply.json()["headers"] and "host" in reply.json()["headers"]


def test_repeated_headers_are_joined(server):
    [reply] = exchange(server, b"GET /request HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert reply.json()["headers"]["x-a"] == "1, 2"


def test_generated_request_id_when_none_sent(server):
    first = json.loads(call(server, "/request")[2])["id"]
    second = json.loads(call(server, "/request")[2])["id"]
    assert first and second and first != second


def test_invalid_json_body_is_400(server):
    status, _, body = call(server, "/json-body", method="POST", body=b"{nope",
                          headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(body) == {"error": "request body is not valid JSON"}
    status, _, body = call(server, "/json-body", method="POST", body=b'{"a": [1]}')
    assert status == 200 and json.loads(body) == {"got": {"a": [1]}}


def test_streamed_response_is_chunked(server):
    [reply] = exchange(server, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.headers["transfer-encoding"] == "chunked" and "content-length" not in reply.headers
    assert reply.body == b"part0;part1;part2;part3;part4;"


def _serve_module(tmp_path, source):
    module = tmp_path / "mod.py"
    module.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--port", "0",
                           "--native", str(module)], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)


def test_conflicting_native_routes_name_both_file_lines(tmp_path):
    result = _serve_module(tmp_path, """\
        def setup(app):
            @app.get("/users/:id")
            def first(req):
                return "1"

            @app.get("/users/:name")
            def second(req):
                return "2"
        """)
    assert result.returncode == 1
    assert "mod.py:2" in result.stderr and "mod.py:6" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("source, message", [
    ("x = 1\n", "has no setup(app) function"),
    ("raise ValueError('bad module')\n", "failed to import: ValueError: bad module"),
    ("def setup(app):\n    app.get('/a/*rest/b')(lambda r: 1)\n", "/a/*rest/b"),
])
def test_native_module_errors_are_one_line(tmp_path, source, message):
    result = _serve_module(tmp_path, source)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_native_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rtserve.runtime.cli", "serve", "--native",
                             "no_such_module_xyz"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1 and "no_such_module_xyz" in result.stderr
    assert "not found" in result.stderr


def test_app_serves_from_python_without_the_cli(tmp_path):
    import re
    import signal
    import time
    script = tmp_path / "embedded.py"
    script.write_text(textwrap.dedent("""\
        from rtserve import App

        app = App()
        stopped = []
        app.on_stop.append(lambda: print("on_stop ran", flush=True))

        @app.get("/hello/:name")
        async def hello(req):
            return f"hello {req.params['name']}"

        raise SystemExit(app.serve(port=0, keep_alive=2.0))
        """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={"PYTHONPATH": str(ROOT)})
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            found = re.search(r"listening on http://[^:]+:(\d+)", line)
            port = int(found.group(1)) if found else None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/hello/w%C3%B6rld")
        assert conn.getresponse().read() == "hello wörld".encode()
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert b"on_stop ran" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_native_handler_raising_system_exit_is_a_500_and_the_server_lives():
    # "An exception becomes a 500": SystemExit is one a native handler can raise (sys.exit()
    # in library code). rt drops the connection without an answer (uvloop logs "Fatal error
    # on transport"); the client should get the same 500 as for any other exception.
    with ServerProcess("--native", NATIVE_ROUTES, native=FAULTY_ROUTES) as srv:
        with srv.connect() as sock:
            sock.sendall(b"GET /audit/system-exit HTTP/1.1\r\n" + H + b"\r\n")
            data = recv_all(sock, timeout=10)
        clean(data)
        with srv.connect() as sock:
            sock.sendall(b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
            after = recv_all(sock, timeout=10)
        assert after.startswith(b"HTTP/1.1 200 ") and srv.proc.poll() is None
    assert data.startswith(b"HTTP/1.1 500 "), data
    assert SECRET.encode() not in data
