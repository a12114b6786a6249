"""One asyncio.Protocol per connection: httptools callbacks in, response bytes out.

Strategy: the protocol stays thin. httptools calls `on_*` as it parses; those callbacks only
collect the raw pieces (target, header pairs, body chunks) and enforce the limits that must
be decided while parsing (head size, header count, body size from Content-Length, then from
the running total for chunked bodies). Header bytes are only counted one by one in a read
that could carry a head past the limit (a head continued from an earlier read, or a read
longer than the limit); any other head fits in its read, so the count waits for the end.
A complete request goes to the function `App.dispatcher()` built, which returns the response
bytes (sync handler: written at once, one `transport.write`) or an awaitable (async handler:
a task; later pipelined requests wait in `_queue` so responses leave in request order).
Flow control is `FlowControl`'s job; timeouts are enforced by the server's single periodic
sweep calling `check_timeouts`, so a connection owns no task and no timer, and an idle
connection holds just this object, its parser and its transport (nothing of its last
request). Read clocks (head, stalled body, whole body) stand still while rt itself stopped
reading; the write clock (a client reading none of its answers) runs from when answer bytes
start waiting in the transport and restarts only when the client reads some. Past
`max_connections` open connections a new one is closed at once and counted.

Parse states: IDLE (between requests), HEAD (a request began, head incomplete), BODY (head
done, body incomplete), DEAD (a fatal error or a final response: further input is ignored).
`_since` is when the current state's clock started (idle since / head began / last body byte);
`_body_due` is when the whole body must be in.
Protocol errors are answered in order behind pending responses, always with
`Connection: close`, and never with internals; then the connection lingers (`_linger`: FIN
sent, input read and dropped for up to LINGER seconds) so that unread input does not make
the kernel reset the answer away. Body reads that add nothing to the body (chunk framing,
trailer fields, which httptools buffers) count against the head limit, and trailer fields
count against it one by one in any read, the one completing the message included.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import httptools

from . import wire
from .deferred import Deferred
from .flow import FlowControl
from .request import NO_PARAMS, Request, new_request, origin_path
from .response import Streamed, render_error

__all__ = ["HttpProtocol", "Shared"]

log = logging.getLogger("rt")

IDLE, HEAD, BODY, DEAD = 0, 1, 2, 3
# Seconds a connection closed after an error answer goes on reading what the client still
# sends (see HttpProtocol._linger).
LINGER = 2.0

_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
_CLOSE, _KEEP_ALIVE = b"Connection: close\r\n", b"Connection: keep-alive\r\n"
# HTTP versions whose keep-alive goes without saying (None: 1.1 read whole, see data_received);
# an HTTP/1.0 client keeps a connection only when the answer says so. Versions that know no
# chunked coding.
_KEEP_ALIVE_VERSIONS = (None, "1.1")
_UNCHUNKED_VERSIONS = ("1.0", "0.9")
# What feed_data raises: a parse error (our own refusals included, as callback errors) or an
# upgrade request (not an HttpParserError).
_PARSE_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)
_new = object.__new__


class Shared:
    """State every connection of one server shares: the app, settings, the clock (updated by
    the sweep, so callbacks never call time()), the live connections and shutdown flag."""

    __slots__ = ("app", "dispatch", "settings", "loop", "connections", "now", "closing", "tasks",
                 "max_head", "max_headers", "max_body", "whole", "count_headers_from",
                 "body_deadline", "max_connections", "refused", "rejected", "metrics")

    def __init__(self, app: Any, settings: Any, loop: Any) -> None:
        self.app = app
        # With the admin port on, every answer is counted (metrics.py); off, nothing is.
        self.metrics = getattr(app, "metrics", None) if getattr(settings, "admin_port", 0) else None
        self.dispatch = self._metered(app.dispatcher())
        self.settings = settings
        self.loop = loop
        self.connections: set[HttpProtocol] = set()
        self.now = loop.time()
        self.closing = False
        self.tasks: set = set()
        # Limits copied out of settings: callbacks read them once per header/chunk.
        self.max_head = settings.max_head
        self.max_headers = settings.max_headers
        self.max_body = settings.max_body
        self.body_deadline = settings.body_deadline
        self.max_connections = settings.max_connections
        self.refused = 0  # connections closed at once because max_connections were open
        self.rejected: dict[int, int] = {}  # protocol errors answered, by status (400, 408, 413, 431...)
        self.whole = WholeReads()
        # Under this many bytes a head cannot hold more than max_headers lines ("a:\r\n").
        self.count_headers_from = 4 * self.max_headers
        app.routes_swapped.append(self.rebuild_dispatch)

    def rebuild_dispatch(self) -> None:
        """The app's routes changed (a reload): answer the next requests from the new ones."""
        self.dispatch = self._metered(self.app.dispatcher())

    def _metered(self, dispatch: Any) -> Any:
        return dispatch if self.metrics is None else self.metrics.meter(dispatch)


class WholeReads:
    """The parser of reads that hold one whole request without a body (see
    HttpProtocol.data_received), shared by every connection of a server: between messages a
    parser holds no state, and all connections run on one loop. It has no per-header
    callbacks; the ones it has note each target and each message end in `notes` (`on_url`
    is `notes.append` itself: a C call, no Python frame).

    Its callables live in slots, and CPython 3.11 never specializes a method call on a slot
    (`whole.feed(data)` takes the generic lookup each time), so callers fetch them first
    (`feed = whole.feed`), which is specialized."""

    __slots__ = ("feed", "method", "version", "default_keep_alive", "notes", "body_seen", "on_url",
                 "_keep_alive")

    def __init__(self) -> None:
        self.notes: list = []
        self.renew()

    def renew(self) -> None:
        """A fresh parser and notes, after the last parser saw an error, a closing message,
        or anything but one whole request."""
        self.notes.clear()
        self.body_seen = False
        self.on_url = self.notes.append  # read by the parser when it is made
        parser = httptools.HttpRequestParser(self)
        self.feed, self.method, self.version = parser.feed_data, parser.get_method, parser.get_http_version
        # Asked after a message, llhttp answers for its version alone (it has forgotten the
        # Connection header): True for HTTP/1.1, False for HTTP/1.0.
        self._keep_alive = self.default_keep_alive = parser.should_keep_alive

    def on_body(self, data: bytes) -> None:
        self.body_seen = True

    def on_message_complete(self) -> None:
        # Asked now: llhttp forgets the message's Connection header once the callback returns.
        keep_alive = self._keep_alive
        self.notes.append(keep_alive())


class _Reject(Exception):
    """Raised inside a parser callback to stop parsing; the reason is in `_error`."""


class HttpProtocol(asyncio.Protocol):
    """The protocol of one HTTP/1.1 connection (asyncio.Protocol has empty __slots__)."""

    __slots__ = (
        "_shared", "_transport", "_parser", "_flow", "_state", "_since", "_url",
        "_raw_headers", "_head_size", "_phase_bytes", "_body", "_queue", "_busy",
        "_closed", "_closing", "_error", "_expect", "_body_follows", "_connection_header",
        "_counting", "_chunked", "_continue_owed", "_stalled", "_lingering", "_body_due",
        "_trailer_fields", "_write_since", "_write_pending", "_paused_seen",
    )

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._transport: Any = None
        self._parser: Any = None
        self._flow: FlowControl | None = None
        self._state = IDLE
        self._since = shared.now
        self._url = b""
        self._raw_headers: list | None = None
        self._head_size = 0
        self._phase_bytes = 0
        self._body: list | None = None
        self._queue: deque | None = None
        self._busy = False
        self._closed = False
        self._closing = False
        self._error: tuple[int, str] | None = None
        self._expect: bytes | None = None
        self._body_follows = False
        self._connection_header = False
        self._counting = False
        self._chunked = False  # the request body is chunked
        self._continue_owed = False  # a 100 Continue waits for the pending answers to go out
        self._stalled = 0  # bytes of body reads that added nothing to the body
        self._lingering = False  # answered an error, reading what still comes (_linger)
        self._body_due = 0.0  # when the whole body must be in (BODY state)
        self._trailer_fields = 0  # trailer fields of the current chunked body
        self._write_since: float | None = None  # since when the client has read none of what is pending
        self._write_pending = 0  # bytes waiting in the transport at the last sweep
        self._paused_seen: float | None = None  # the last sweep that saw reading paused

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        shared = self._shared
        if len(shared.connections) >= shared.max_connections:
            # Past --max-connections: closed at once, before it costs anything, and counted
            # (the sweep reports the count).
            shared.refused += 1
            self._state = DEAD
            self._closed = True
            transport.abort()
            return
        self._flow = FlowControl(transport)
        self._since = shared.now
        shared.connections.add(self)
        if shared.closing:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._state = DEAD
        self._queue = None
        self._shared.connections.discard(self)
        if self._flow is not None:
            self._flow.release()

    def eof_received(self) -> bool:
        # The client finished sending; answer what is pending, then close.
        if self._lingering:
            return False
        if self._busy or self._queue:
            self._closing = True
            return True
        return False

    def pause_writing(self) -> None:
        self._flow.pause_writing()

    def resume_writing(self) -> None:
        self._write_since = None  # the client is reading: the write clock starts again
        self._flow.resume_writing()
        self._next()

    def data_received(self, data: bytes) -> None:
        state = self._state
        if state == IDLE:
            shared = self._shared
            # The commonest read by far: exactly one whole request without a body. It is
            # parsed by the server's shared parser, which has no per-header callbacks (the
            # headers stay in the raw head until a handler reads them), and answered right
            # here: on this path a call more or less is a percent of the requests served
            # (bench/http_bench.py). Exactly one: the notes are one target and one message
            # end, and the read ends in a line feed, so no next request began (its target
            # would come before any line feed). Anything else (a body follows, an error, an
            # upgrade, several requests) goes on below to this connection's own parser,
            # which answers it as its callbacks decide. tests/test_http_whole_reads.py holds
            # the two paths to the same answers.
            # (llhttp takes no bare line feed, so counting them counts the head's lines; in
            # CPython 3.11 deleting them with replace counts them twice as fast as count.)
            size = len(data)
            if data[-1] == 10 and size <= shared.max_head and (
                    size <= shared.count_headers_from or
                    size - len(data.replace(b"\n", b"")) - 2 <= shared.max_headers):
                whole = shared.whole
                notes = whole.notes
                feed = whole.feed
                try:
                    feed(data)
                    taken = len(notes) == 2 and not whole.body_seen
                except _PARSE_ERRORS:
                    taken = False
                if taken:
                    target, keep_alive = notes
                    notes.clear()
                    method = whole.method
                    raw_method = method()
                    if not keep_alive:
                        whole.renew()  # llhttp refuses input after a closing message
                        self._state = DEAD
                    elif self._closing:
                        keep_alive = False
                        self._state = DEAD
                    version = None  # HTTP/1.1, read off the raw head if a handler asks
                    if keep_alive:
                        default_keep_alive = whole.default_keep_alive
                        if not default_keep_alive():  # HTTP/1.0 asking for keep-alive
                            version = whole.version()
                    # `new_request`, written out. llhttp refuses methods and targets with
                    # bytes outside ASCII: decoding cannot fail.
                    request = _new(Request)
                    request.method = _METHODS.get(raw_method) or raw_method.decode("ascii", "replace")
                    request.target = target = target.decode()
                    if "?" in target:
                        path, _, request.raw_query = target.partition("?")
                        request._query = None  # parsed when asked (see Request.query)
                    else:
                        path = target
                        request.raw_query = ""
                    request.raw_path = path if path[0] == "/" else origin_path(path)
                    request.params = NO_PARAMS
                    request.body = b""
                    request._http_version = version
                    request.keep_alive = keep_alive
                    request.route = None
                    request._raw_headers = data
                    request._peer = self
                    self._since = shared.now
                    # `_take`, written out.
                    if self._busy or self._queue or self._flow.writing_paused:
                        self._enqueue(request)
                        return
                    dispatch = shared.dispatch
                    out = dispatch(request)
                    if out.__class__ is bytes:
                        if version is not None:
                            out = _with_connection(out, _KEEP_ALIVE)
                        self._transport.write(out)
                        if not keep_alive:
                            self._close()
                    else:
                        self._respond_later(request, out)
                    return
                whole.renew()
        elif state == DEAD:
            return
        elif state == BODY:
            self._body_feed(data)
            return
        if state == HEAD or len(data) > self._shared.max_head:
            self._counted_feed(data)
            return
        # A head that begins and ends in this read is no longer than the read, so within the
        # head limit: its headers need no counting (see _counted_feed).
        try:
            self._own_parser().feed_data(data)
        except _PARSE_ERRORS as exc:
            self._parse_failed(exc)

    def _counted_feed(self, data: bytes) -> None:
        """Feed a read that could take a head past `max_head`: a head began in an earlier
        read, or the read itself is larger than the limit. Every header is counted here."""
        head_in_progress = self._raw_headers if self._state == HEAD else None
        if head_in_progress is not None:
            self._head_size = len(self._url) + sum(len(n) + len(v) for n, v in head_in_progress)
        self._counting = True
        try:
            fed = self._feed(data)
        finally:
            self._counting = False
        if fed and head_in_progress is not None and self._raw_headers is head_in_progress:
            # A whole read stayed inside one head: httptools buffers partial header values,
            # so count raw bytes too or one endless header line would grow without bound.
            self._phase_bytes += len(data)
            if self._phase_bytes > self._shared.max_head:
                self._reject(431, "request header fields too large")

    def _body_feed(self, data: bytes) -> None:
        """Feed a read of a request body. A read that adds nothing to the body (chunk framing,
        trailer fields) counts against the head limit: httptools buffers a partial trailer
        field without bound, so an endless trailer line is cut off like an endless header.
        A read longer than the head limit is counted like one (a next head may begin in it)."""
        before = self._phase_bytes
        self._counting = len(data) > self._shared.max_head
        try:
            fed = self._feed(data)
        finally:
            self._counting = False
        if fed and self._state == BODY:
            if self._phase_bytes != before:
                self._stalled = 0
            else:
                self._stalled += len(data)
                if self._stalled > self._shared.max_head:
                    self._reject(431, "request header fields too large")

    def _own_parser(self) -> Any:
        """This connection's parser, made when a read first needs it (most connections
        never do: see data_received)."""
        parser = self._parser
        if parser is None:
            parser = self._parser = httptools.HttpRequestParser(self)
        return parser

    def _feed(self, data: bytes) -> bool:
        """Parse `data`; a protocol error is answered here. False when parsing stopped."""
        try:
            self._own_parser().feed_data(data)
            return True
        except _PARSE_ERRORS as exc:
            self._parse_failed(exc)
            return False

    def _parse_failed(self, exc: Exception) -> None:
        if isinstance(exc, httptools.HttpParserCallbackError):
            if self._state == DEAD and self._error is None:
                return  # input after a final response: ignored
            status, message = self._error or (400, "bad request")
            if self._error is None:
                log.error("internal error while parsing a request", exc_info=exc)
            self._reject(status, message)
        elif isinstance(exc, httptools.HttpParserUpgrade):
            # No protocol switching here: the request was answered as plain HTTP.
            self._closing = True
            self._state = DEAD
            if not self._busy and not self._queue:
                self._close()
        else:
            self._reject(400, "malformed request")

    # -- httptools callbacks -------------------------------------------------------------------

    # There is no on_message_begin: every request has a target, so the first `on_url` of a
    # message starts it, and one Python callback per request is saved.

    def on_url(self, url: bytes) -> None:
        if self._state == HEAD:  # the target arrived in pieces
            if self._url.__class__ is bytes:  # grown in place from now on, not copied per piece
                self._url = bytearray(self._url)
            self._url += url
            self._head_size += len(url)
            if self._head_size > self._shared.max_head:
                self._fail(414, "request target too long")
            return
        if self._state == DEAD:
            raise _Reject()
        self._state = HEAD
        self._since = self._shared.now
        self._url = url
        self._raw_headers = []
        self._head_size = len(url)
        self._phase_bytes = 0
        self._connection_header = False
        self._expect = None
        self._body_follows = False
        self._chunked = False
        if self._counting and len(url) > self._shared.max_head:  # only in a read that long
            self._fail(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._state == BODY:
            # A trailer field of a chunked body: ignored, never merged into the headers, but
            # counted against the head limits whichever read brought it (the last read of a
            # body, which completes the message, included).
            self._head_size += len(name) + len(value)
            self._trailer_fields += 1
            if self._head_size > self._shared.max_head or self._trailer_fields > self._shared.max_headers:
                self._fail(431, "request header fields too large")
            return
        headers = self._raw_headers
        headers.append((name, value))
        if self._counting:
            self._head_size += len(name) + len(value)
            if self._head_size > self._shared.max_head or len(headers) > self._shared.max_headers:
                self._fail(431, "request header fields too large")
        size = len(name)
        if size == 14 or size == 6 or size == 10 or size == 17:
            lowered = name.lower()
            if lowered == b"connection":
                self._connection_header = True
            elif lowered == b"content-length":
                # llhttp has already rejected duplicates and non-digits; int() alone would
                # take "1_0", "+1" or other scripts' digits, so ASCII digits are checked.
                if not value.isdigit():
                    self._fail(400, "malformed request")
                length = int(value)
                if length > self._shared.max_body:
                    self._fail(413, "request body too large")
                self._body_follows = length > 0
            elif lowered == b"transfer-encoding":
                # RFC 9112 6.1 and 6.3: a coding after chunked leaves the body's end unknown
                # (400); rt decodes no coding but chunked (501 for one before it).
                codings = value.lower().split(b",")
                if codings[-1].strip() != b"chunked":
                    self._fail(400, "malformed request")
                if len(codings) > 1:
                    self._fail(501, "transfer coding not implemented")
                self._body_follows = self._chunked = True
            elif lowered == b"expect":
                self._expect = value  # acted on once the whole head is in

    def on_headers_complete(self) -> None:
        if len(self._raw_headers) > self._shared.max_headers:
            self._fail(431, "request header fields too large")
        self._state = BODY
        self._since = now = self._shared.now
        self._body_due = now + self._shared.body_deadline
        self._phase_bytes = self._stalled = self._head_size = self._trailer_fields = 0
        if self._expect is not None and self._body_follows and \
                self._parser.get_http_version() == "1.1":
            # An expectation only concerns a body: without one it is ignored (RFC 9110 10.1.1
            # lets a server do either), as when the request came whole (data_received); an
            # HTTP/1.0 client knows no 100 Continue, so its expectation is ignored too.
            if self._expect.strip().lower() != b"100-continue":
                self._fail(417, "unsupported expectation")
            # The body is acceptable (a too large Content-Length was refused above). Behind
            # pending answers, the 100 waits for them (see _next).
            if self._busy or self._queue:
                self._continue_owed = True
            else:
                self._transport.write(wire.CONTINUE_100)

    def on_body(self, data: bytes) -> None:
        size = self._phase_bytes + len(data)
        if size > self._shared.max_body:
            self._fail(413, "request body too large")
        self._phase_bytes = size
        self._since = self._shared.now
        if self._body is None:
            self._body = [data]
        else:
            self._body.append(data)

    def on_message_complete(self) -> None:
        parser = self._parser
        raw_method = parser.get_method()
        keep_alive = parser.should_keep_alive()
        # llhttp accepts versions 0.9, 1.0, 1.1 and 2.0, and only 1.1 keeps a connection
        # alive without a Connection header: formatting the version string is then skipped.
        version = "1.1" if keep_alive and not self._connection_header else parser.get_http_version()
        if self._closing or (keep_alive and (parser.should_upgrade() or (self._chunked and version != "1.1"))):
            # No protocol switch (upgrade, CONNECT): answered as plain HTTP, then closed. A
            # chunked body from an HTTP/1.0 client is framing it cannot have meant (RFC 9112
            # 6.1): the connection closes after it.
            keep_alive = False
        self._continue_owed = False
        body = self._body
        if body is not None:
            self._body = None
            body = b"".join(body)
        else:
            body = b""
        # llhttp refuses targets with bytes outside ASCII: decoding cannot fail.
        request = new_request(_METHODS.get(raw_method) or raw_method.decode("ascii", "replace"),
                              self._url.decode(), self._raw_headers, body, version, keep_alive, self)
        self._url = self._raw_headers = None  # an idle connection keeps nothing of its last request
        self._since = self._shared.now
        self._state = IDLE if keep_alive else DEAD
        self._take(request)

    def _take(self, request: Request) -> None:
        """Answer a complete request now, or queue it behind the pending ones."""
        if self._busy or self._queue or self._flow.writing_paused:
            self._enqueue(request)
            return
        dispatch = self._shared.dispatch
        out = dispatch(request)
        if out.__class__ is bytes:
            self._write(out, request)
        else:
            self._respond_later(request, out)

    # -- answering -----------------------------------------------------------------------------

    def _respond(self, request: Request) -> None:
        dispatch = self._shared.dispatch
        out = dispatch(request)
        if out.__class__ is bytes:
            self._write(out, request)
        else:
            self._respond_later(request, out)

    def _respond_later(self, request: Request, out: Any) -> None:
        """An async handler's awaitable or a streamed body: a task answers, later requests
        on this connection wait for it."""
        self._busy = True
        if out.__class__ is Deferred:  # finished bytes to come from a worker: no task needed
            out.when_done(lambda ok, value: self._deferred_done(ok, value, request))
            return
        coro = self._stream(out, request) if out.__class__ is Streamed else self._complete(out, request)
        task = self._shared.loop.create_task(coro)
        tasks = self._shared.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _deferred_done(self, ok: bool, out: Any, request: Request) -> None:
        if self._closed:
            return
        if not ok:
            log.error("handler failed (request_id=%s)", request.id, exc_info=out)
            out = render_error(500, "internal server error", request.keep_alive,
                               request.method == "HEAD", request_id=request.id)
        if out.__class__ is Streamed:
            self._respond_later(request, out)
            return
        self._busy = False
        self._write(out, request)
        self._next()

    async def _complete(self, pending: Any, request: Request) -> None:
        out = await pending
        if out.__class__ is Streamed:
            await self._stream(out, request)
            return
        self._busy = False
        self._write(out, request)
        self._next()

    async def _stream(self, streamed: Streamed, request: Request) -> None:
        """Write a streamed response piece by piece, waiting while the client is slow:
        chunked, or to an HTTP/1.0 client (which knows no chunked coding) raw, ended by
        closing the connection."""
        self._busy = True
        transport, flow = self._transport, self._flow
        chunked = request.http_version not in _UNCHUNKED_VERSIONS
        last = not chunked or self._closes_after(request)
        transport.write(streamed.head(not last, chunked))
        encode = wire.encode_chunk if chunked else _as_is
        chunks = streamed.chunks
        try:
            if chunks is not None:
                if hasattr(chunks, "__aiter__"):
                    async for piece in chunks:
                        if self._closed:
                            return
                        transport.write(encode(_as_bytes(piece)))
                        await flow.drained()
                else:
                    for piece in chunks:
                        if self._closed:
                            return
                        transport.write(encode(_as_bytes(piece)))
                        await flow.drained()
        except Exception:
            # The head is already out: the only honest signal left is an aborted connection.
            log.exception("streamed response failed; aborting the connection")
            self._closed = True
            transport.abort()
            return
        self._busy = False
        if self._closed:
            return
        if chunked and chunks is not None:  # a HEAD answer has no body, not even the last chunk
            transport.write(wire.LAST_CHUNK)
        if last:
            self._close()
            return
        if self._state == IDLE:
            self._since = self._shared.now
        self._next()

    def _closes_after(self, request: Request) -> bool:
        """Whether the connection closes after the answer to `request`: the request said so,
        or rt is closing (shutdown, or the client sent EOF) and nothing else was received."""
        return not request.keep_alive or ((self._closing or self._shared.closing) and not self._queue)

    def _write(self, data: bytes, request: Request) -> None:
        """Write the whole answer to `request`, and close after it if it is the last."""
        if self._closed:
            return
        if self._closes_after(request):
            if request.keep_alive:  # rt decided to close after the answer was made
                data = _with_connection(data, _CLOSE)
            self._transport.write(data)
            self._close()
            return
        if request._http_version not in _KEEP_ALIVE_VERSIONS:
            data = _with_connection(data, _KEEP_ALIVE)
        self._transport.write(data)
        if self._state == IDLE:
            self._since = self._shared.now

    def _enqueue(self, item: Any) -> None:
        if self._queue is None:
            self._queue = deque()
        self._queue.append(item)
        self._flow.queue_length(len(self._queue))

    def _next(self) -> None:
        """Answer waiting pipelined requests, in order, while nothing else is pending; then
        the 100 Continue a request reading its body may be owed."""
        queue = self._queue
        if queue:
            flow = self._flow
            while queue and not self._busy and not self._closed and not flow.writing_paused:
                item = queue.popleft()
                if item.__class__ is bytes:  # a protocol error's response: the last word
                    self._transport.write(item)
                    self._linger()
                    return
                self._respond(item)
            flow.queue_length(len(queue))
        if self._continue_owed and not self._busy and not queue and not self._closed:
            self._continue_owed = False
            self._transport.write(wire.CONTINUE_100)

    def _fail(self, status: int, message: str) -> None:
        """From inside a parser callback: stop parsing and answer `status`."""
        self._error = (status, message)
        raise _Reject()

    def _reject(self, status: int, message: str) -> None:
        """Answer a protocol error (after any pending responses) and close."""
        head_only = self._state != IDLE and self._parser is not None and self._parser.get_method() == b"HEAD"
        rejected = self._shared.rejected
        rejected[status] = rejected.get(status, 0) + 1
        self._state = DEAD
        self._body = None
        self._continue_owed = False
        data = render_error(status, message, keep_alive=False, head_only=head_only)
        if self._busy or self._queue:
            self._enqueue(data)
            try:
                self._transport.pause_reading()
            except RuntimeError:
                pass
            return
        if not self._closed:
            self._transport.write(data)
            self._linger()

    def _linger(self) -> None:
        """Close after an error answer while the client may still be sending (a body rt
        refused, the rest of a malformed request): send FIN after the answer and read, and
        drop, what still comes. Closing at once with unread bytes would make the kernel
        answer them with a reset, which can destroy the answer before the client reads it.
        The client's EOF ends it, or the sweep LINGER seconds later."""
        self._state = DEAD
        if self._closed:
            return
        self._lingering = True
        self._since = self._shared.now
        try:
            self._transport.write_eof()
            self._transport.resume_reading()
        except (RuntimeError, OSError, NotImplementedError):  # no half-close here: just close
            self._close()

    def _close(self) -> None:
        self._state = DEAD
        if not self._closed:
            self._closed = True
            self._transport.close()

    # -- called by the server ------------------------------------------------------------------

    def check_timeouts(self, now: float, settings: Any) -> None:
        """The sweep's per-connection check: a client reading none of its answers, idle
        keep-alive, slow head, stalled or overlong body, the end of a lingering close."""
        transport = self._transport
        if transport is not None and self._write_timed_out(now, transport, settings.write_timeout):
            return
        if self._lingering:
            if now - self._since > LINGER:
                self._close()
            return
        if self._flow is not None and self._flow.reading_paused:
            # We stopped reading (backpressure): the client cannot be late sending; its
            # clocks (the body's deadline too, from the first sweep that saw the pause)
            # stand still until reading resumes. The write clock above runs meanwhile.
            if self._state == BODY and self._paused_seen is not None:
                self._body_due += now - self._paused_seen
            self._paused_seen = self._since = now
            return
        self._paused_seen = None
        state = self._state
        if state == IDLE:
            if not self._busy and not self._queue and now - self._since > settings.keep_alive:
                self._close()
        elif state == HEAD:
            if now - self._since > settings.head_timeout:
                self._reject(408, "request head timeout")
        elif state == BODY:
            if now - self._since > settings.body_timeout or now > self._body_due:
                self._reject(408, "request body timeout")

    def _write_timed_out(self, now: float, transport: Any, write_timeout: float) -> bool:
        """Abort the connection when answer bytes have waited in the transport for
        `write_timeout` seconds without the client reading any (the buffer never shrank):
        a client that never reads would otherwise hold its connection, and the answers,
        forever, since reading is paused meanwhile and no read clock runs. Closed
        connections still flushing are covered too."""
        pending = transport.get_write_buffer_size()
        if not pending:
            self._write_since = None
            return False
        if self._write_since is None or pending < self._write_pending:
            self._write_since = now  # first seen pending, or the client read some since
        self._write_pending = pending
        if now - self._write_since <= write_timeout:
            return False
        log.info("closed a connection whose client read nothing for %gs (%d bytes unsent)",
                 write_timeout, pending)
        self._closed = True
        self._state = DEAD
        self._queue = None
        transport.abort()
        return True

    def shutdown(self) -> None:
        """Graceful shutdown: close now if idle, else after the pending response."""
        self._closing = True
        if self._state == IDLE and not self._busy and not self._queue:
            self._close()

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._transport.abort()

    def peer_ip(self) -> str:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        if isinstance(peer, tuple) and peer:
            return str(peer[0])
        return str(peer or "")


def _with_connection(data: bytes, line: bytes) -> bytes:
    """The response `data` with the Connection header `line` added to its head (rt decided
    to close after an answer made without knowing it, or an HTTP/1.0 client must be told
    that the connection persists)."""
    head_end = data.find(b"\r\n\r\n") + 2
    if head_end < 2 or b"\r\n" + line in data[:head_end]:
        return data
    return data[:head_end] + line + data[head_end:]


def _as_is(piece: bytes) -> bytes:
    return piece


def _as_bytes(piece: Any) -> bytes:
    if isinstance(piece, str):
        return piece.encode("utf-8")
    return bytes(piece)
