"""Native handlers that try to send malformed answers (`rt serve --native tests/answer_routes.py`):
statuses outside 200-599, headers that are no tokens or hold control characters, framing
headers, values that are no string or number, NaN in JSON. tests/test_http_answers.py holds
that each ends as a logged 500 and that the well-formed neighbours of each still pass."""
import math

from rtserve import App, HTTPError, Response

# Status attempts by name: `/status/<name>`.
STATUSES = {
    "100": 100, "101": 101, "103": 103, "199": 199, "600": 600, "0": 0, "-200": -200,
    "true": True, "string": "200", "none": None,
    "200": 200, "299": 299, "599": 599,
}

# Header attempts by name: `/header/<name>` answers "ok" with these headers.
HEADERS = {
    "tab-in-name": {"a\tb": "x"},
    "space-in-name": {"a b": "x"},
    "colon-in-name": {"a:b": "x"},
    "empty-name": {"": "x"},
    "non-ascii-name": {"ñame": "x"},
    "bytes-name": {b"x-bytes": "x"},
    "control-in-value": {"x-a": "a\x01b"},
    "nul-in-value": {"x-a": "a\x00b"},
    "del-in-value": {"x-a": "a\x7fb"},
    "cr-in-value": {"x-a": "a\rb"},
    "lf-in-value": {"x-a": "a\nInjected: 1"},
    "non-ascii-value": {"x-a": "caf\u00e9"},
    "function-value": {"x-a": print},
    "object-value": {"x-a": object()},
    "bool-value": {"x-a": True},
    "none-value": {"x-a": None},
    "nan-value": {"x-a": math.nan},
    "inf-value": {"x-a": math.inf},
    "dict-value": {"x-a": {"k": "v"}},
    "list-with-number": {"x-a": ["ok", 3]},
    "list-with-bad-text": {"x-a": ["ok", "bad\r\nX: 1"]},
    "content-length": {"Content-Length": "99"},
    "transfer-encoding": {"transfer-encoding": "chunked"},
    "connection": {"CONNECTION": "keep-alive"},
}

# Well-formed neighbours: `/header/<name>` answers "ok" with these.
GOOD_HEADERS = {
    "cookies": {"Set-Cookie": ["a=1; Path=/", "b=2; HttpOnly"]},
    "number": {"X-Int": 42, "X-Float": 1.5},
    "inner-space-and-tab": {"X-Text": "a b\tc"},
    "token-chars": {"X-!#$%&'*+-.^_`|~": "v"},
    "empty-value": {"X-Empty": ""},
    "surrounding-space": {"X-Padded": "  padded  "},
    "pairs": [("X-Rep", "1"), ("X-Rep", "2")],
    "content-type": {"Content-Type": "text/csv"},
}


def setup(app: App) -> None:
    @app.get("/status/:name")
    def status(req):
        return Response("s", status=STATUSES[req.params["name"]])

    @app.get("/status-error/:name")
    def status_error(req):
        raise HTTPError(STATUSES[req.params["name"]], "no")

    @app.get("/status-stream/:name")
    def status_stream(req):
        return Response(iter([b"a", b"b"]), status=STATUSES[req.params["name"]])

    @app.get("/status-async/:name")
    async def status_async(req):
        return Response("s", status=STATUSES[req.params["name"]])

    @app.get("/header/:name")
    def header(req):
        name = req.params["name"]
        return Response("ok", headers=HEADERS.get(name) or GOOD_HEADERS[name])

    @app.get("/nan/:where")
    def nan(req):
        return {
            "dict": {"x": math.inf},
            "list": [1, -math.inf],
            "nested": {"a": [{"b": math.nan}]},
            "response": Response({"x": math.nan}, status=201),
            "fine": {"x": 1.5, "big": 1e308},
        }[req.params["where"]]

    @app.get("/ok")
    def ok(req):
        return "fine"
