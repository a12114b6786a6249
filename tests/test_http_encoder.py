"""Pure parts without sockets: the response encoder, result rendering, the lazy request, and
the protocol driven through a fake transport one byte at a time."""
import asyncio
import re

import pytest
from hypothesis import given, settings, strategies as st

from rtserve.runtime.http import wire
from rtserve.runtime.app import App
from rtserve.runtime.config import Settings
from rtserve.runtime.http.protocol import HttpProtocol, Shared
from rtserve.runtime.http.request import Request
from rtserve.runtime.http.response import HTTPError, Response, Streamed, render


def split(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return lines[0], headers, body


def test_status_lines_are_precomputed_and_unknown_codes_allowed():
    assert wire.status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert wire.status_line(200) is wire.status_line(200)
    assert wire.status_line(599) == b"HTTP/1.1 599 \r\n"
    with pytest.raises(ValueError):
        wire.status_line(42)


def test_encode_has_length_date_and_close_only_when_closing():
    status, headers, body = split(wire.encode(200, wire.CT_TEXT, b"hi", keep_alive=True))
    names = [h[0] for h in headers]
    assert status == "HTTP/1.1 200 OK" and body == b"hi"
    assert ("Content-Length", "2") in headers and "Date" in names and "Connection" not in names
    _, headers, _ = split(wire.encode(200, None, b"hi", keep_alive=False))
    assert ("Connection", "close") in headers


def test_head_only_keeps_length_drops_body():
    data = wire.encode(200, wire.CT_TEXT, b"hello", keep_alive=True, head_only=True)
    assert data.endswith(b"\r\n\r\n") and b"Content-Length: 5\r\n" in data


def test_date_refreshes_per_second_only():
    wire.refresh_date(1_000_000_000.2)
    first = wire.date_line()
    wire.refresh_date(1_000_000_000.9)
    assert wire.date_line() is first
    wire.refresh_date(1_000_000_001.0)
    assert wire.date_line() == b"Date: Sun, 09 Sep 2001 01:46:41 GMT\r\n"
    wire.refresh_date()


@pytest.mark.parametrize("bad", [{"X": "a\r\nInjected: 1"}, {"Bad Name": "v"}, {"X": "a\nb"}])
def test_header_injection_is_refused(bad):
    with pytest.raises(ValueError):
        wire.encode_headers(bad)


def test_chunks():
    assert wire.encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert wire.encode_chunk(b"") == b""
    assert wire.LAST_CHUNK == b"0\r\n\r\n"


@pytest.mark.parametrize("result, status, ctype, body", [
    ("é", 200, "text/plain; charset=utf-8", "é".encode()),
    (b"\x00", 200, "application/octet-stream", b"\x00"),
    ({"a": [1, 2]}, 200, "application/json", b'{"a":[1,2]}'),
    ([], 200, "application/json", b"[]"),
    (Response("x", status=201, content_type="text/csv"), 201, "text/csv", b"x"),
    (Response({"k": 1}, status=202), 202, "application/json", b'{"k":1}'),
])
def test_render_by_result_type(result, status, ctype, body):
    line, headers, got = split(render(result, True))
    assert line.startswith(f"HTTP/1.1 {status} ") and ("Content-Type", ctype) in headers
    assert got == body and ("Content-Length", str(len(body))) in headers


def test_render_none_is_204_and_bad_type_raises():
    assert render(None, True).startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"Content-Length" not in render(None, True)
    with pytest.raises(TypeError):
        render(object(), True)


def test_render_iterable_body_streams():
    out = render(Response(iter([b"a", b"b"])), True)
    assert isinstance(out, Streamed) and b"Transfer-Encoding: chunked" in out.head(True)
    assert b"Connection: close" in out.head(False)
    plain = out.head(True, chunked=False)  # for HTTP/1.0: raw body until the connection closes
    assert b"Transfer-Encoding" not in plain and b"Connection: close" in plain


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([200, 201, 404, 500]), st.booleans(), st.booleans())
def test_encoded_length_always_matches_body(body, status, keep_alive, head_only):
    data = wire.encode(status, wire.CT_BYTES, body, keep_alive, head_only)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert length == len(body) and rest == (b"" if head_only else body)


def test_request_is_lazy_and_parses_on_demand():
    raw = [(b"Host", b"x"), (b"Cookie", b"a=1"), (b"cookie", b'b="2"'), (b"X-Y", b" v ")]
    req = Request("GET", "/p%20q?x=1&x=2&y", raw)
    assert not hasattr(req, "_headers") and req._query is None  # nothing parsed yet
    assert req.path == "/p q" and req.raw_path == "/p%20q"
    assert req.query == {"x": "2", "y": ""} and req.query_all == {"x": ["1", "2"], "y": [""]}
    assert req.headers == {"host": "x", "cookie": 'a=1; b="2"', "x-y": "v"}
    assert req.cookies == {"a": "1", "b": "2"}
    assert req.get("query") is req.query and req.get("nope", 5) == 5


class _Map(dict):  # what the language's frozen maps and lists are: subclasses
    pass


class _List(list):
    pass


_json_keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats()
_json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text()
                 | st.sampled_from(["null", "a null", "\ud800", "\x00\x1f\x7f\u2028", "é\"\\"]))


def _reference(value):
    """json.dumps as the answer path promises it, or the class of its error."""
    import json
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        return type(exc)


def _dumps(value):
    try:
        return wire.dumps_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(st.recursive(_json_scalars,
                    lambda children: st.lists(children) | st.dictionaries(_json_keys, children)
                    | st.lists(children).map(_List) | st.dictionaries(st.text(), children).map(_Map),
                    max_leaves=20))
def test_fast_json_matches_the_reference_encoder(value):
    # orjson where it agrees, the standard encoder where it would not: NaN and infinities
    # refused (orjson writes null), non-string keys converted, ints past 64 bits, bad UTF-8.
    import json
    fast, reference = _dumps(value), _reference(value)
    if _has_tiny_float(value) and type(reference) is bytes:
        # Floats under 1e-4 are written without the exponent Python's repr uses
        # (0.00001 for 1e-05): the same JSON value, decoded to the same float.
        assert type(fast) is bytes and _typed(json.loads(fast)) == _typed(json.loads(reference))
    else:
        assert fast == reference


def _has_tiny_float(value) -> bool:
    if type(value) is float:
        return 0 < abs(value) < 1e-4
    if isinstance(value, dict):
        return any(_has_tiny_float(k) or _has_tiny_float(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_tiny_float(v) for v in value)


def _typed(value):
    """A decoded JSON value with each scalar tagged by its type (so 1 != 1.0 != true)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def test_fast_json_refuses_nan_and_infinity_anywhere():
    for bad in (float("nan"), float("inf"), -float("inf")):
        for value in (bad, [1, bad], {"a": {"b": [None, bad]}}, {"k": bad, "n": None}):
            with pytest.raises(ValueError):
                wire.dumps_json(value)


def test_fast_json_cases_orjson_refuses_go_to_the_reference():
    deep = []
    for _ in range(400):  # past orjson's 255 levels, within Python's recursion limit
        deep = [deep]
    assert wire.dumps_json(deep) == b"[" * 401 + b"]" * 401
    assert wire.dumps_json({1: 2, None: 4, 1.5: 5}) == b'{"1":2,"null":4,"1.5":5}'
    assert wire.dumps_json({False: [True]}) == b'{"false":[true]}'
    assert wire.dumps_json([2**64, -2**63 - 1]) == b"[18446744073709551616,-9223372036854775809]"
    import datetime
    with pytest.raises(TypeError):
        wire.dumps_json({"at": datetime.date(2026, 1, 1)})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&%+;2x é", max_size=16))
def test_query_pairs_match_parse_qsl(raw_query):
    from urllib.parse import parse_qsl
    from rtserve.runtime.http.request import query_pairs
    assert query_pairs(raw_query) == parse_qsl(raw_query, keep_blank_values=True, errors="replace")


def test_query_of_a_target_without_one_is_empty_and_its_own():
    first, second = Request("GET", "/p", []), Request("GET", "/p?", [])
    assert first.query == {} and second.query == {} and first.get("query") is first.query
    first.query["x"] = "1"  # a native handler may change its copy: no other request sees it
    assert Request("GET", "/p", []).query == {}
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"),
                                   {"x": [1, {"y": float("nan")}]}])
def test_json_bodies_refuse_nan_and_infinities(value):
    with pytest.raises(ValueError):
        wire.dumps_json(value)




def test_request_json_and_text_errors_are_http_400():
    req = Request("POST", "/", [], body=b"\xff")
    with pytest.raises(HTTPError) as info:
        req.text()
    assert info.value.status == 400
    with pytest.raises(HTTPError):
        req.json()


class FakeTransport:
    def __init__(self):
        self.written = []
        self.closed = False
        self.eof = False  # half-closed: the answer is the last word
        self.paused = False

    def write(self, data):
        self.written.append(data)

    def close(self):
        self.closed = True

    abort = close

    def write_eof(self):
        self.eof = True

    def pause_reading(self):
        self.paused = True

    def resume_reading(self):
        self.paused = False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1234) if name == "peername" else default


def _app():
    app = App(Settings(max_body=100))
    app.get("/a")(lambda req: "A")
    app.post("/echo")(lambda req: req.body)

    @app.get("/later")
    async def later(req):
        await asyncio.sleep(0.01)
        return "L"
    return app


def _drive(chunks, app=None):
    loop = asyncio.new_event_loop()
    try:
        protocol = HttpProtocol(Shared(app or _app(), (app or _app()).settings, loop))
        transport = FakeTransport()
        protocol.connection_made(transport)
        for chunk in chunks:
            protocol.data_received(chunk)
            loop.run_until_complete(asyncio.sleep(0.02))
        loop.run_until_complete(asyncio.sleep(0.05))
        return b"".join(transport.written), transport
    finally:
        loop.close()


REQUESTS = (b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
            b"GET /a HTTP/1.1\r\n\r\n")


def _bodies(data):
    return re.findall(rb"\r\n\r\n(L|hi|A)", data)


def test_fake_transport_whole_and_one_byte_at_a_time_agree():
    whole, _ = _drive([REQUESTS])
    bytewise, _ = _drive([REQUESTS[i:i + 1] for i in range(len(REQUESTS))])
    assert _bodies(whole) == _bodies(bytewise) == [b"L", b"hi", b"A"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, len(REQUESTS) - 1), max_size=6, unique=True))
def test_any_split_of_the_input_gives_the_same_responses(cuts):
    cuts = sorted(cuts)
    pieces = [REQUESTS[a:b] for a, b in zip([0] + cuts, cuts + [len(REQUESTS)])]
    data, _ = _drive(pieces)
    assert _bodies(data) == [b"L", b"hi", b"A"]


def test_fake_transport_trailing_garbage_closes_after_400():
    data, transport = _drive([b"GET /a HTTP/1.1\r\n\r\n\x01\x02garbage"])
    assert data.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.1 400 Bad Request" in data
    assert transport.eof  # and the connection goes on reading what still comes (lingering)


def test_middleware_wraps_routing_including_404():
    app = _app()
    seen = []

    async def tag(req, call_next):
        response = await call_next(req)
        seen.append((req.path, response.status))
        response.headers = [("X-Tag", "1")]
        return response
    app.use(tag)
    data, _ = _drive([b"GET /a HTTP/1.1\r\n\r\nGET /zz HTTP/1.1\r\n\r\n"], app)
    assert seen == [("/a", 200), ("/zz", 404)] and data.count(b"X-Tag: 1\r\n") == 2


def test_sync_middleware_can_short_circuit():
    app = _app()
    app.use(lambda req, call_next: Response("no", status=403) if req.path == "/a" else call_next(req))
    data, _ = _drive([b"GET /a HTTP/1.1\r\n\r\n"], app)
    assert data.startswith(b"HTTP/1.1 403 Forbidden") and data.endswith(b"no")


# -- the header rule (RFC 9110 5.1, 5.5, 5.6.2), against a model written from the grammar --

_TCHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _model_value_ok(value: str) -> bool:
    return all(c == "\t" or " " <= c <= "~" for c in value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x200), max_size=12),
       st.text(alphabet=st.characters(max_codepoint=0x200), max_size=12))
def test_header_rule_matches_the_grammar(name, value):
    ok = (bool(name) and set(name) <= _TCHARS and _model_value_ok(value)
          and name.lower() not in ("content-length", "transfer-encoding", "connection"))
    assert (wire.header_problem(name, value) is None) == ok
    if ok:
        line = wire.encode_headers({name: value})
        assert line == (name + ": " + value.strip(" \t") + "\r\n").encode()
        assert line.count(b"\r\n") == 1
    else:
        with pytest.raises(ValueError):
            wire.encode_headers({name: value})


@pytest.mark.parametrize("value, problem", [
    (print, "not builtin_function_or_method"), (True, "not bool"), (None, "not NoneType"),
    (b"x", "not bytes"), (float("nan"), "not a finite number"), (["a", 2], "strings only"),
])
def test_header_values_that_are_no_string_or_number_are_refused(value, problem):
    assert problem in wire.header_problem("x-a", value)


@pytest.mark.parametrize("status", [100, 101, 103, 199, 600, 1000, 0, -1, True, 200.0, "200", None])
def test_only_final_statuses_have_a_status_line(status):
    with pytest.raises(ValueError):
        wire.status_line(status)
    assert wire.status_problem(status) is not None


def test_status_lines_of_final_statuses():
    assert [wire.status_problem(s) for s in (200, 204, 304, 418, 599)] == [None] * 5
    assert wire.status_line(299) == b"HTTP/1.1 299 \r\n"
