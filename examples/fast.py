"""A native fast-path module: `rt serve examples/app.script --native examples/fast.py`.

`setup(app)` registers plain Python handlers on the same router as the script's routes.
They run on the event loop with no interpreter in between, so keep them quick; an
`async def` handler may await. Return str, bytes, dict/list (JSON), None (204) or Response.
"""
from rtserve import App, HTTPError, Response


def setup(app: App) -> None:
    @app.get("/plaintext")
    def plaintext(req):
        return Response(b"Hello, World!", content_type="text/plain")

    @app.get("/json")
    def json_hello(req):
        return {"message": "Hello, World!"}

    @app.get("/users/:id")
    def user(req):
        return {"id": req.params["id"], "name": req.query.get("name", "anonymous")}

    @app.post("/echo")
    async def echo(req):
        if req.headers.get("content-type", "").startswith("application/json"):
            return {"received": req.json()}
        return Response(req.body, content_type=req.headers.get("content-type"))

    @app.get("/ready")
    def ready(req):
        if req.query.get("fail"):
            raise HTTPError(503, "asked to fail")
        return "ok"
