"""The App: route registration (decorators), routing, middleware and result encoding.

Strategy: `App` owns the router and turns a parsed `Request` into response bytes. The
protocol calls the function `dispatcher()` builds at server start, which returns either the
finished bytes (a sync handler: no task, no await, the fast path) or an awaitable of them
(an `async def` handler or a middleware chain), or a `Streamed` response. Everything a
client can cause ends as a response: no route -> 404, wrong method -> 405 with `Allow`,
`HTTPError` -> its status, any other exception -> 500 with the request id, the traceback
going to the server log only.

Seams for the layers above: `middleware` is a list of callables `(request, call_next)`
wrapped around routing (unmatched requests included); `call_next(request)` returns an
awaitable of a `Response`, and a middleware returns anything a handler may return (or an
awaitable of it). `add_route` is what the scripting layer uses to mount script handlers
with their script source locations. `on_start`/`on_stop` hold callables (sync or async) run
when serving starts and after a graceful shutdown drained.
"""
from __future__ import annotations

import logging
import os
import sys
from types import CoroutineType
from typing import Any, Awaitable, Callable, Iterable

from rtserve.lang.errors import RtError

from .http.deferred import Deferred
from .http.metrics import Metrics
from .config import Settings
from .http.request import Request
from .http.wire import OK_JSON, OK_TEXT, dumps_json, encode_ok
from .http.response import (INTERNAL, METHOD_NOT_ALLOWED, NOT_FOUND, HTTPError, Rendered, Response,
                            Streamed, render, render_error, _RENDERERS)
from .router import METHOD_NOT_ALLOWED as NO_METHOD, Match, Router

__all__ = ["App"]

log = logging.getLogger("rt")
access_log = logging.getLogger("rt.access")

Handler = Callable[[Request], Any]
# What a handler may raise that answers 500: any error, and SystemExit too (a library's
# sys.exit() inside a handler ends that request, not the server or the connection).
HANDLER_FAILURES = (Exception, SystemExit)
Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Any]


def _source_of(handler: Any, depth: int) -> str:
    """`file:line` of a native handler (or of the registering call for non-functions), with
    the file relative to the current directory when it lies below it."""
    code = getattr(handler, "__code__", None)
    if code is not None:
        filename, line = code.co_filename, code.co_firstlineno
    else:
        frame = sys._getframe(depth + 1)
        filename, line = frame.f_code.co_filename, frame.f_lineno
    try:
        relative = os.path.relpath(filename)
        if not relative.startswith(".."):
            filename = relative
    except ValueError:
        pass
    return f"{filename}:{line}"


def _is_awaitable(value: Any) -> bool:
    return type(value) is CoroutineType or hasattr(value, "__await__")


class App:
    """An rt application: routes, middleware and lifecycle hooks; `serve()` runs it."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings()
        self.router = Router()
        self.middleware: list[Middleware] = []
        self.on_start: list[Callable[[], Any]] = []
        self.on_stop: list[Callable[[], Any]] = []
        self.access_log = self.settings.access_log
        # Answers requests no route matched, given (request, match): the scripting layer's
        # top-level `use` wraps those too. None: a plain 404/405.
        self.unrouted: Callable[[Request, Any], Any] | None = None
        # Layers put around every route's handler when serving starts, whenever the route was
        # registered: `wrap(handler, method, pattern, source)` -> handler. The scripting layer
        # puts a script's top-level `use` and `on error` around native and static routes here.
        self.route_layers: list[Callable[..., Handler]] = []
        # Called after `swap_routes`: each running server rebuilds its dispatch function.
        self.routes_swapped: list[Callable[[], None]] = []
        # What the admin port reports (counted only while it is on) and what /ready checks:
        # (name, check(seconds)) pairs, a check raising when its backend is down.
        self.metrics = Metrics()
        self.ready_checks: list[tuple[str, Callable[[float], Any]]] = []

    # -- registration --------------------------------------------------------------------------

    def add_route(self, method: str, path: str, handler: Handler, source: str | None = None) -> None:
        """Register `handler` for `method` and `path`. The router raises on a route that can
        never be told apart from an earlier one, naming both sources."""
        self.router.add(method.upper(), path, handler,
                        source=source if source is not None else _source_of(handler, 1))

    def route(self, path: str, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
        """Decorator: `@app.route("/items/:id", methods=["GET", "PUT"])`."""
        methods = [methods] if isinstance(methods, str) else list(methods)

        def register(handler: Handler) -> Handler:
            source = _source_of(handler, 2)
            for method in methods:
                self.add_route(method, path, handler, source)
            return handler
        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("GET",))

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("POST",))

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("PUT",))

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("PATCH",))

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("DELETE",))

    def head(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("HEAD",))

    def options(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, ("OPTIONS",))

    def swap_routes(self, router: Router, unrouted: Callable[[Request, Any], Any] | None) -> None:
        """Serve from `router` (and `unrouted`) from the next request on (`--reload`);
        requests in flight finish on the handlers they started with."""
        router.compile()
        self.router, self.unrouted = router, unrouted
        for rebuild in self.routes_swapped:
            rebuild()

    def use(self, middleware: Middleware) -> Middleware:
        """Append a middleware `(request, call_next)`; the first added runs outermost."""
        self.middleware.append(middleware)
        return middleware

    # -- dispatch --------------------------------------------------------------------------------

    def apply_route_layers(self) -> None:
        """Put the pending `route_layers` around every route registered so far (once)."""
        for layer in self.route_layers:
            self.router.wrap_handlers(layer)
        self.route_layers = []

    def dispatcher(self) -> Callable[[Request], Any]:
        """The function that answers each request: bytes when the handler was sync, else an
        awaitable, a Deferred (the scripting bridge) or a Streamed response. Built once the
        routes and settings are final (the server does at start), with everything it needs
        bound, since it runs for every request."""
        self.apply_route_layers()
        if self.middleware:
            return self._dispatch_through_middleware
        self.router.compile()
        find_route, renderers, unrouted = self.router.find, _RENDERERS, self.unrouted
        finish, client_error, server_error = self._finish, self._client_error, self._server_error
        log_access = self._log_access if self.access_log else None

        def dispatch(req: Request) -> Any:
            handler, params, pattern = find_route(req.method, req.raw_path)
            if handler is None:  # params, pattern: the status, the allowed methods
                match = Match.of((None, params, pattern))
                if unrouted is not None:
                    return self._finish_result(req, unrouted, match)
                return finish(req, self._unrouted(match))
            req.params = params
            req.route = pattern
            try:
                result = handler(req)
            except HTTPError as exc:
                return client_error(req, exc)
            except HANDLER_FAILURES:
                return server_error(req)
            cls = result.__class__
            try:
                # The commonest results first, without the renderer table's extra call.
                if cls is str:
                    data = encode_ok(OK_TEXT, result.encode(), req.keep_alive, req.method == "HEAD")
                elif cls is dict or cls is list:
                    data = encode_ok(OK_JSON, dumps_json(result), req.keep_alive, req.method == "HEAD")
                elif cls is Rendered:  # a script's JSON, encoded by its handler
                    data = result.data
                else:
                    renderer = renderers.get(cls)
                    data = None if renderer is None else renderer(result, req.keep_alive,
                                                                  req.method == "HEAD")
            except Exception:
                return server_error(req)
            if data is not None:
                if log_access is not None:
                    log_access(req, data)
                return data
            if result.__class__ is Deferred and getattr(handler, "renders", False):
                return result  # finished bytes to come (the scripting bridge renders on its worker)
            if _is_awaitable(result):
                return self._await_handler(req, result)
            return finish(req, result)
        return dispatch

    def render_result(self, req: Request, result: Any) -> bytes | Streamed:
        """What a handler's result becomes on the wire (any thread may call this)."""
        return self._finish(req, result)

    def _finish_result(self, req: Request, handler: Callable, arg: Any) -> Any:
        """Run `handler(req, arg)` and answer with what it returns (sync or awaitable)."""
        try:
            result = handler(req, arg)
        except HTTPError as exc:
            return self._client_error(req, exc)
        except HANDLER_FAILURES:
            return self._server_error(req)
        if _is_awaitable(result):
            return self._await_handler(req, result)
        return self._finish(req, result)

    def _finish(self, req: Request, result: Any) -> bytes | Streamed:
        try:
            data = render(result, req.keep_alive, req.method == "HEAD")
        except Exception:
            return self._server_error(req)
        if self.access_log:
            self._log_access(req, data)
        return data

    async def _await_handler(self, req: Request, pending: Awaitable[Any]) -> bytes | Streamed:
        try:
            result = await pending
        except HTTPError as exc:
            return self._client_error(req, exc)
        except HANDLER_FAILURES:
            return self._server_error(req)
        return self._finish(req, result)

    async def _dispatch_through_middleware(self, req: Request) -> bytes | Streamed:
        try:
            result = await self._call_chain(req, 0)
        except HTTPError as exc:
            return self._client_error(req, exc)
        except HANDLER_FAILURES:
            return self._server_error(req)
        return self._finish(req, result)

    async def _call_chain(self, req: Request, index: int) -> Any:
        if index == len(self.middleware):
            result = self._route_only(req)
        else:
            result = self.middleware[index](req, lambda r: self._call_chain_response(r, index + 1))
        while _is_awaitable(result):
            result = await result
        return result

    async def _call_chain_response(self, req: Request, index: int) -> Response:
        """What `call_next` gives a middleware: always a `Response` it can inspect."""
        try:
            result = await self._call_chain(req, index)
        except HTTPError as exc:
            return Response({"error": exc.message}, status=exc.status, headers=exc.headers)
        return _as_response(result)

    def _route_only(self, req: Request) -> Any:
        handler, params, pattern = self.router.find(req.method, req.raw_path)
        if handler is None:
            match = Match.of((None, params, pattern))
            return self._unrouted(match) if self.unrouted is None else self.unrouted(req, match)
        req.params = params
        req.route = pattern
        return handler(req)

    @staticmethod
    def _unrouted(match: Any) -> Response:
        if match.status is NO_METHOD:
            return Response({"error": METHOD_NOT_ALLOWED.message}, status=METHOD_NOT_ALLOWED.status,
                            headers=[("Allow", ", ".join(match.allowed))])
        return Response({"error": NOT_FOUND.message}, status=NOT_FOUND.status)

    def _client_error(self, req: Request, exc: HTTPError) -> bytes:
        try:
            data = render_error(exc.status, exc.message, req.keep_alive, req.method == "HEAD",
                                headers=exc.headers)
        except Exception:
            return self._server_error(req)
        if self.access_log:
            self._log_access(req, data)
        return data

    def _server_error(self, req: Request) -> bytes:
        request_id = req.id
        log.exception("handler failed: %s %s (request_id=%s, route=%s)",
                      req.method, req.target, request_id, req.route)
        data = render_error(INTERNAL.status, INTERNAL.message, req.keep_alive,
                            req.method == "HEAD", request_id=request_id)
        if self.access_log:
            self._log_access(req, data)
        return data

    def _log_access(self, req: Request, data: bytes | Streamed) -> None:
        status = data.status if isinstance(data, Streamed) else int(data[9:12])
        access_log.info("%s %s %s %d", req.ip, req.method, req.target, status,
                        extra={"method": req.method, "target": req.target, "status": status,
                               "request_id": req.id})

    # -- running ---------------------------------------------------------------------------------

    def serve(self, host: str | None = None, port: int | None = None, **overrides: Any) -> int:
        """Serve until SIGTERM/SIGINT, then drain and return 0. Keyword overrides are
        Settings fields (e.g. keep_alive=2.0, max_body=1024)."""
        from .http.server import StartFailed, serve
        settings = self.settings.replace(**{k: v for k, v in
                                            (("host", host), ("port", port)) if v is not None},
                                         **overrides)
        self.settings = settings
        self.access_log = settings.access_log
        try:
            return serve(self, settings)
        except StartFailed as exc:
            self.report_hook_failure("on_start", exc.__cause__)
            return 1

    def report_hook_failure(self, what: str, exc: BaseException) -> None:
        """Log a failed `on_start`/`on_stop` hook once: an rt error (a script's `on start`)
        as its own report, the script's stack only; a native hook's with its traceback."""
        if isinstance(exc, RtError):
            log.error("%s", exc.render())
        else:
            log.error("%s hook failed: %s: %s", what, type(exc).__name__, exc, exc_info=exc)


def _as_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(None, status=204)
    return Response(result)
