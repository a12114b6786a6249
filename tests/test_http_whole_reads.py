"""Requests that arrive whole in one read take the protocol's quick path (one shared parser,
headers left in the raw head); every other read goes through the connection's own parser.
These tests hold the two paths to the same answers, and check what decides between them:
several requests in a read, a body, a request cut short, a broken or closing request."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from serverproc import ServerProcess, exchange, read_response


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as srv:
        yield srv


def fields(reply):
    """What /request reports, less what differs between any two requests (generated id)."""
    got = reply.json()
    if "x-request-id" not in got["headers"]:
        del got["id"]
    return got


# -- the same request, whole or through the connection's own parser ---------------------------

_TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~",
                 min_size=1, max_size=12)
_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(
    lambda text: text.replace(" ", ""))
_RESERVED = {"content-length", "transfer-encoding", "connection", "expect", "upgrade", "host"}
_HEADERS = st.lists(st.tuples(_TOKEN, _VALUE).filter(lambda pair: pair[0].lower() not in _RESERVED),
                    max_size=12)
_QUERY = st.lists(st.tuples(st.sampled_from(["a", "b", "c%20d", "%C3%A9"]), st.text("xyz%20=", max_size=4)),
                  max_size=3)


def _request(version: str, connection: str | None, headers, query) -> bytes:
    target = "/request"
    if query:
        target += "?" + "&".join(f"{name}={value}" for name, value in query)
    lines = [f"GET {target} HTTP/{version}", "Host: x"]
    lines += [f"{name}: {value}" for name, value in headers]
    if connection:
        lines.append(f"Connection: {connection}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from(["1.1", "1.0"]), connection=st.sampled_from([None, "keep-alive", "close"]),
       headers=_HEADERS, query=_QUERY)
def test_a_whole_request_is_read_as_the_connection_parser_reads_it(server, version, connection,
                                                                   headers, query):
    data = _request(version, connection, headers, query)
    [whole] = exchange(server, data)
    # Sent twice in one write, the first copy goes through the connection's own parser
    # (a read with two requests is not a whole request); the second may not be answered.
    with server.connect() as sock:
        sock.sendall(data + data)
        pipelined = read_response(sock.makefile("rb"))
    assert whole.status == pipelined.status == 200
    assert fields(whole) == fields(pipelined)
    assert whole.headers.get("connection") == pipelined.headers.get("connection")


def test_header_names_and_values_come_from_the_raw_head(server):
    [reply] = exchange(server, b"GET /request?q=1 HTTP/1.1\r\nHost: x\r\nX-A:  padded \t\r\n"
                               b"x-a: 2\r\nCookie: a=1\r\nCOOKIE: b=2\r\nEmpty:\r\n"
                               b"X-Request-Id: abc\r\n\r\n")
    got = reply.json()
    assert got["headers"] == {"host": "x", "x-a": "padded, 2", "cookie": "a=1; b=2", "empty": "",
                              "x-request-id": "abc"}
    assert got["cookies"] == {"a": "1", "b": "2"} and got["id"] == "abc"
    assert got["http_version"] == "1.1" and got["target"] == "/request?q=1"


@pytest.mark.parametrize("before", [b"\r\n", b"\r\n\r\n\r\n"])
def test_empty_lines_before_the_request_line_are_skipped_on_both_paths(server, before):
    # RFC 9112 2.2: a server may ignore empty lines before a request line; llhttp does, so a
    # whole read can begin with them and the headers are read past them.
    data = b"GET /request?a=1 HTTP/1.1\r\nHost: x\r\nCookie: s=1; t=2\r\nX-Request-Id: r-1\r\n\r\n"
    [whole] = exchange(server, before + data)
    with server.connect() as sock:
        sock.sendall(before + data + data)
        pipelined = read_response(sock.makefile("rb"))
    assert whole.status == pipelined.status == 200
    got = whole.json()
    assert got["headers"] == {"host": "x", "cookie": "s=1; t=2", "x-request-id": "r-1"}
    assert got["cookies"] == {"s": "1", "t": "2"} and got["id"] == "r-1"
    assert got["http_version"] == "1.1"
    assert fields(whole) == fields(pipelined)


def test_extra_spaces_in_the_request_line_are_not_in_the_target(server):
    [reply] = exchange(server, b"GET  /request?q=1  HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.json()["target"] == "/request?q=1"


class _Transport:
    def __init__(self):
        self.written = []
        self.closed = False

    def write(self, data):
        self.written.append(data)

    def close(self):
        self.closed = True

    def write_eof(self):  # an error answer's lingering close (HttpProtocol._linger)
        pass

    def resume_reading(self):
        pass

    def get_write_buffer_size(self):
        return 0

    def set_write_buffer_limits(self, *args, **kwargs):
        pass


@pytest.fixture
def connect():
    """Connections of one server's protocol to recording transports (no sockets), to see
    which parser answered."""
    import uvloop
    from rtserve import App
    from rtserve.runtime.http.protocol import HttpProtocol, Shared

    app = App()
    app.get("/hi")(lambda req: "hi " + req.headers["x-name"])
    loop = uvloop.new_event_loop()
    shared = Shared(app, app.settings, loop)

    def new_connection():
        protocol = HttpProtocol(shared)
        protocol.connection_made(_Transport())
        return protocol
    yield new_connection
    loop.close()


def test_a_whole_request_never_makes_the_connection_parser(connect):
    protocol = connect()
    protocol.data_received(b"GET /hi HTTP/1.1\r\nX-Name: rt\r\n\r\n")
    assert protocol._parser is None
    assert protocol._transport.written[0].endswith(b"\r\n\r\nhi rt")
    # Two requests in one read: the connection's own parser answers both.
    protocol.data_received(b"GET /hi HTTP/1.1\r\nX-Name: a\r\n\r\nGET /hi HTTP/1.1\r\nX-Name: b\r\n\r\n")
    assert protocol._parser is not None
    assert [out[-4:] for out in protocol._transport.written[1:]] == [b"hi a", b"hi b"]


@pytest.mark.parametrize("first", [
    b"GET /hi HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET /hi HTTP/1.1\r\nX-Name: a\r\nConnection: close\r\n\r\n",
    b"GET /hi HTTP/1.0\r\nX-Name: a\r\n\r\n",
    b"GET /hi HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Name: a\r\n\r\n",
    b"POST /hi HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
    b"POST /hi HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
])
def test_the_quick_path_stays_open_after_a_request_it_could_not_take(connect, first):
    connect().data_received(first)
    after = connect()
    after.data_received(b"GET /hi HTTP/1.1\r\nX-Name: rt\r\n\r\n")
    assert after._parser is None and after._transport.written[0].endswith(b"hi rt")


# -- what keeps a read off the quick path ---------------------------------------------------

@pytest.mark.parametrize("cut", [b"GE", b"GET /plain", b"GET /plaintext HTTP/1.1\r\n",
                                 b"GET /plaintext HTTP/1.1\r\nHost: x\r\n"])
def test_a_whole_request_then_the_start_of_the_next(server, cut):
    second = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n" + cut)
        rfile = sock.makefile("rb")
        first = read_response(rfile)
        # Another connection's whole request in between: the cut request is not in its way.
        [between] = exchange(server, b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        assert between.status == 200
        sock.sendall(second[len(cut):])
        assert (first.status, read_response(rfile).body) == (200, b"Hello, World!")


def test_a_head_whose_body_comes_in_the_next_read(server):
    with server.connect() as sock:
        sock.sendall(b"POST /request HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        sock.sendall(b"hello")
        assert read_response(sock.makefile("rb")).json() == {"body": "hello", "len": 5}


def test_a_body_in_the_same_read(server):
    [reply] = exchange(server, b"POST /request HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    assert reply.json() == {"body": "hello", "len": 5}


def test_an_empty_chunked_body_with_trailers_in_one_read(server):
    [reply] = exchange(server, b"POST /request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"0\r\nX-Trailer: 1\r\n\r\n")
    assert reply.json() == {"body": "", "len": 0}
    [reply] = exchange(server, b"GET /request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"0\r\nX-Trailer: 1\r\n\r\n")
    assert "x-trailer" not in reply.json()["headers"]
    assert reply.json()["headers"]["transfer-encoding"] == "chunked"


def test_a_chunked_body_in_one_read(server):
    [reply] = exchange(server, b"POST /request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"3\r\nabc\r\n0\r\n\r\n")
    assert reply.json() == {"body": "abc", "len": 3}


# -- Expect ----------------------------------------------------------------------------------

def test_an_expectation_without_a_body_is_ignored_however_it_arrives(server):
    data = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(data + data)  # the first through the connection's own parser
        rfile = sock.makefile("rb")
        assert [read_response(rfile).status for _ in range(2)] == [200, 200]
    [reply] = exchange(server, data)  # whole
    assert reply.status == 200


@pytest.mark.parametrize("body", [b"", b"abc"])
def test_an_unknown_expectation_with_a_body_is_417(server, body):
    [reply] = exchange(server, b"POST /request HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                               b"Expect: something-else\r\n\r\n" + body)
    assert reply.status == 417


def test_no_100_continue_for_a_request_without_a_body(server):
    [reply] = exchange(server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
    assert (reply.status, reply.body) == (200, b"Hello, World!")


# -- the shared parser after a bad or closing request -----------------------------------------

@pytest.mark.parametrize("bad, rest", [
    (b"GET /plaintext HTTP/1.1\r\nBad Header\r\n\r\n", b""),
    (b"GET /plaintext HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", b""),
    (b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b""),
    (b"GET /plaintext HTTP/1.0\r\n\r\n", b""),
    (b"GET /plaintext HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", b""),
    (b"POST /request HTTP/1.1\r\nContent-Length: 10\r\n\r\n", b"0123456789"),
])
def test_other_connections_are_served_after_a_bad_or_closing_request(server, bad, rest):
    with server.connect() as idle, server.connect() as other:
        idle_file = idle.makefile("rb")
        idle.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(idle_file).status == 200
        other.sendall(bad)
        if rest:
            other.sendall(rest)
        other.settimeout(5)
        assert other.recv(1)  # answered, whatever the request was
        for sock, rfile in ((idle, idle_file), (server.connect(), None)):
            sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = read_response(rfile or sock.makefile("rb"))
            assert (reply.status, reply.body) == (200, b"Hello, World!")
            if rfile is None:
                sock.close()


def test_whole_requests_behind_a_slow_one_are_answered_in_order(server):
    """A whole request that arrives while the connection's previous answer is pending waits
    for it (the quick path queues it like the connection parser's requests)."""
    with server.connect() as sock:
        rfile = sock.makefile("rb")
        sock.sendall(b"GET /slow?s=0.3 HTTP/1.1\r\nHost: x\r\n\r\n")
        for path in (b"/plaintext", b"/json"):
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        replies = [read_response(rfile) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 200]
    assert replies[1].body == b"Hello, World!" and replies[2].json()["message"] == "Hello, World!"
    assert replies[0].body == b"slow "
