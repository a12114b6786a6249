"""Peer: a raw ASGI app (no framework), served by uvicorn and by granian."""
import json
from urllib.parse import parse_qs

PLAIN = [(b"content-type", b"text/plain"), (b"content-length", b"13")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        return
    path = scope["path"]
    if path == "/plaintext":
        headers, body = PLAIN, b"Hello, World!"
    elif path == "/json":
        body = json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    elif path == "/records":
        n = int(parse_qs(scope["query_string"].decode()).get("n", ["10"])[-1])
        body = json.dumps([{"id": i, "name": f"item-{i}", "even": i % 2 == 0} for i in range(n)],
                          separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    elif path.startswith("/users/"):
        body = json.dumps({"id": path[7:]}, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    else:
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
