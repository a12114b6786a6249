"""Extra native routes for the strict server of tests/http_talk.py (served next to
tests/native_routes.py):
handlers whose results or failures a server must turn into clean answers."""
import asyncio

from rtserve import App, HTTPError, Response

SECRET = "audit-secret-4711"


def setup(app: App) -> None:
    @app.get("/audit/injected-header")
    def injected_header(req):
        # A handler bug: CR/LF in a header value must not split the response.
        return Response("x", headers={"X-Bad": "a\r\nX-Injected: " + SECRET})

    @app.get("/audit/bad-status")
    def bad_status(req):
        return Response("x", status=1000)

    @app.get("/audit/bad-body")
    def bad_body(req):
        return Response(12345)

    @app.get("/audit/not-json")
    def not_json(req):
        return {"value": {SECRET}}  # a set: not JSON

    @app.get("/audit/http-error-bad-header")
    def http_error_bad_header(req):
        raise HTTPError(409, "conflict", headers={"X-Bad": "b\nX-Injected: " + SECRET})

    @app.get("/audit/traceback-text")
    def traceback_text(req):
        raise ValueError("Traceback (most recent call last): " + SECRET)

    @app.get("/audit/async-raises")
    async def async_raises(req):
        await asyncio.sleep(0.01)
        raise LookupError(SECRET)

    @app.get("/audit/system-exit")
    def system_exit(req):
        raise SystemExit(SECRET)

    @app.get("/audit/stream-fails")
    def stream_fails(req):
        def pieces():
            yield "first;"
            raise RuntimeError(SECRET)
        return Response(pieces(), content_type="text/plain")
