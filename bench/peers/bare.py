"""The reference point: a bare uvloop + httptools server with just enough HTTP for the bench
(keep-alive, the bench routes, precomputed responses apart from Date). Not a server to
use: no limits, no timeouts, no pipelining order guarantees beyond what sync code gives.

    python bench/peers/bare.py PORT
"""
import asyncio
import sys
import time
from email.utils import formatdate

import httptools
import uvloop

from json.encoder import c_make_encoder, encode_basestring
from urllib.parse import parse_qs

try:  # the fastest JSON encoder Python has, as a server tuned by hand would use
    from orjson import dumps
except ImportError:  # else the fastest compact JSON of the standard library
    _encode = c_make_encoder(None, None, encode_basestring, None, ":", ",", False, False, True)

    def dumps(value) -> bytes:
        return "".join(_encode(value, 0)).encode()

DATE = [b""]


def refresh_date(loop):
    DATE[0] = formatdate(time.time(), usegmt=True).encode()
    loop.call_later(1, refresh_date, loop)


def response(ctype: bytes, body: bytes, keep_alive: bool) -> bytes:
    return b"".join((b"HTTP/1.1 200 OK\r\nContent-Type: ", ctype, b"\r\nContent-Length: ",
                     str(len(body)).encode(), b"\r\nDate: ", DATE[0],
                     b"\r\n" if keep_alive else b"\r\nConnection: close\r\n", b"\r\n", body))


def records(path, query):
    n = int(parse_qs(query.decode()).get("n", ["10"])[-1])
    return b"application/json", dumps([{"id": i, "name": f"item-{i}", "even": i % 2 == 0}
                                       for i in range(n)])


def plaintext(path, query):
    return b"text/plain; charset=utf-8", b"Hello, World!"


def as_json(path, query):
    return b"application/json", dumps({"message": "Hello, World!"})


def user(path, query):
    return b"application/json", dumps({"id": path[7:].decode()})


ROUTES = {b"/plaintext": plaintext, b"/json": as_json, b"/records": records}


class Bare(asyncio.Protocol):
    __slots__ = ("transport", "parser", "url")

    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.transport.close()

    def on_url(self, url):
        self.url += url

    def on_message_complete(self):
        path, _, query = self.url.partition(b"?")
        self.url = b""
        handler = ROUTES.get(path)
        if handler is None and path.startswith(b"/users/"):
            handler = user
        keep_alive = self.parser.should_keep_alive()
        if handler is None:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            self.transport.write(response(*handler(path, query), keep_alive))
        if not keep_alive:
            self.transport.close()


def main():
    port = int(sys.argv[1])
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    refresh_date(loop)
    server = loop.run_until_complete(loop.create_server(Bare, "127.0.0.1", port, backlog=2048))
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    server.close()


if __name__ == "__main__":
    main()
