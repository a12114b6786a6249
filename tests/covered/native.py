"""Native routes under a script's middleware (tests/test_covered_routes.py)."""
import asyncio

from rtserve import App, HTTPError, Response

NOTES: list[str] = []


def setup(app: App) -> None:
    @app.use
    async def outermost(req, call_next):
        # Native `app.use` runs outside the script's `use`: it sees the script's header.
        res = await call_next(req)
        res.headers["x-native-mw"] = "saw " + str(res.headers.get("access-control-allow-origin"))
        return res

    @app.post("/api/notes")
    def add_note(req):
        NOTES.append(req.body.decode())
        return Response({"count": len(NOTES)}, status=201)

    @app.get("/api/slow")
    async def slow(req):
        await asyncio.sleep(0.01)
        return {"async": True, "ip_seen": bool(req.ip)}

    @app.get("/api/text")
    def text(req):
        return Response("plain native", headers={"X-From": "native"}, content_type="text/plain")

    @app.get("/api/teapot")
    def teapot(req):
        raise HTTPError(418, "short and stout", headers={"X-Kettle": "yes"})

    @app.get("/api/boom")
    def boom(req):
        raise RuntimeError("secret internals")

    @app.get("/api/stream")
    def stream(req):
        return Response(iter([b"one,", b"two"]), content_type="text/csv")
