"""Native routes the HTTP end-to-end tests serve (`rt serve --native tests/native_routes.py`)."""
import asyncio
import logging
import os

from rtserve import App, HTTPError, Response

BIG = b"x" * (256 * 1024)


def setup(app: App) -> None:
    @app.get("/plaintext")
    def plaintext(req):
        return "Hello, World!"

    @app.get("/json")
    def as_json(req):
        return {"message": "Hello, World!", "n": 1}

    @app.get("/list")
    def as_list(req):
        return [1, "two", None]

    @app.get("/bytes")
    def as_bytes(req):
        return b"\x00\x01raw"

    @app.get("/none")
    def as_none(req):
        return None

    @app.get("/custom")
    def custom(req):
        return Response("<p>made</p>", status=201, headers={"X-Made": "yes"},
                        content_type="text/html; charset=utf-8")

    @app.get("/async")
    async def async_handler(req):
        await asyncio.sleep(0.01)
        return {"async": True}

    @app.get("/slow")
    async def slow(req):
        await asyncio.sleep(float(req.query.get("s", "0.3")))
        return "slow " + req.query.get("tag", "")

    @app.get("/boom")
    def boom(req):
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/boom-async")
    async def boom_async(req):
        await asyncio.sleep(0)
        raise KeyError("secret-key")

    @app.get("/bad-result")
    def bad_result(req):
        return object()

    @app.get("/teapot")
    def teapot(req):
        raise HTTPError(418, "short and stout")

    @app.post("/echo")
    def echo(req):
        return Response(req.body, content_type=req.headers.get("content-type"))

    @app.post("/json-body")
    def json_body(req):
        return {"got": req.json()}

    @app.get("/big")
    def big(req):
        return BIG

    @app.get("/users/:id")
    def user(req):
        return {"id": req.params["id"]}

    @app.route("/files/*path", methods=["GET", "PUT"])
    def files(req):
        return {"path": req.params["path"], "method": req.method}

    @app.get("/request")
    def request_fields(req):
        names = ("method", "path", "target", "params", "query", "query_all", "headers",
                 "cookies", "ip", "id", "http_version")
        fields = {name: req.get(name) for name in names}
        fields["missing"] = req.get("nope", "dflt")
        return fields

    @app.post("/request")
    def request_body(req):
        return {"body": req.text(), "len": len(req.body)}

    @app.get("/stream")
    def stream(req):
        return Response((f"part{i};" for i in range(5)), content_type="text/plain")

    @app.get("/sized")
    def sized(req):
        return b"s" * int(req.query.get("n", "65536"))

    app.on_stop.append(lambda: logging.getLogger("rt").info("native on_stop ran"))

    @app.get("/pid")
    def pid(req):
        return str(os.getpid())

    @app.head("/head-only")
    def head_only(req):
        return Response(b"", headers={"X-Head": "1"})
