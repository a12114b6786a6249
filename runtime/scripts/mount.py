"""Serve a script: its routes, groups, middleware, static folders and `on` blocks.

Strategy. The script is loaded once (checked, run, frozen) and each declaration becomes
part of the App: a route becomes a handler on the shared router, a `static` a native file
handler, `on start`/`on stop` the App's lifecycle hooks, and top-level `use` also wraps the
requests no route matched (for them `next` returns the 404 or 405 response).

A request runs its whole script chain (middleware, then the handler) in one *invocation*,
under a fresh step budget and deadline, either inline on the event loop or, with
`--async`, on the bridge's thread pool. An invocation never raises: `invoke` turns every
ending into a response value (abort -> its response, deadline -> 503, limit -> 500,
error -> `on error` or 500 with the request id, logged with the script's stack). In async
mode the result crosses back through lang.sendable.to_sendable before anything else sees it.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

from rtserve.lang import limits, nodes as N
from rtserve.lang.builtins import set_print_sink
from rtserve.lang.errors import Abort, DeadlineExceeded, LimitError, RtError, ScriptError
from rtserve.lang.sendable import NotSendable, to_sendable
from rtserve.lang.stack import format_error
from rtserve.lang.values import ErrorValue, FrozenList, FrozenMap, Response as ScriptResponse, translate_exception

from ..http import wire
from .bridge import Bridge, QueueFull
from ..http.response import Rendered, Response
from ..router import METHOD_NOT_ALLOWED
from .record import ScriptRequest, script_request
from ..static import StaticFiles

log = logging.getLogger("rt.script")

_METHODS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE",
            "head": "HEAD", "options": "OPTIONS", "any": "*"}


class MountError(RtError):
    """A declaration that cannot be served (bad middleware value, route clash...)."""


def join_paths(*parts: str) -> str:
    path = "/".join(p.strip("/") for p in parts if p.strip("/"))
    last = parts[-1] if parts else ""
    # A group's "/" route is the group's own path: `group "/api" { get "/" }` serves /api.
    return "/" + path + ("/" if last.endswith("/") and last.strip("/") and path else "")


# --------------------------------------------------------------------------- results


def as_response(value) -> ScriptResponse:
    """What `next(req)` gives a middleware: always a response value it can read and change."""
    if type(value) is ScriptResponse:
        return value
    if value is None:
        return ScriptResponse(status=204)
    return ScriptResponse(status=200, body=value)


def _body_bytes(body) -> tuple[bytes, str]:
    t = type(body)
    if t is str:
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if t is bytes:
        return body, "application/octet-stream"
    if body is None:  # no body (a redirect, an abort(403)): no content type either
        return None, None
    return wire.dumps_json(body), "application/json"


_JSON_RESULTS = frozenset({dict, list, FrozenMap, FrozenList, int, float, bool})


def _error_response(status: int, message: str, request_id: str | None = None, headers=None) -> Response:
    return Response(wire.error_body(message, request_id), status=status, headers=headers,
                    content_type="application/json")


# --------------------------------------------------------------------------- the app


class ScriptApp:
    def __init__(self, app, path: str, settings, loader_factory: Callable) -> None:
        self.app = app
        self.path = path
        self.settings = settings
        self.loader_factory = loader_factory
        self.top_uses: list = []
        self.group_uses: dict[int, list] = {}
        self.on_error = None
        self.bridge: Bridge | None = None
        self.routes: list = []  # (method, path, chain, source)
        self.statics: list = []  # (pattern, StaticFiles, groups, source)

    # -- loading -----------------------------------------------------------------------------

    def mount(self) -> None:
        set_print_sink(lambda line: log.info("%s", line))
        limits.depth_guard().__enter__()  # script call depth, process-wide
        previous = limits.activate(limits.Budget(self.settings.max_steps))
        try:
            self.loader = self.loader_factory()
            script = self.loader.load(self.path)
        finally:
            limits.activate(previous)
        if self.settings.reload:
            from .reload import ReloadWatch
            files = [s.real_path for s in self.loader.scripts.values()]
            watch = ReloadWatch(files, lambda: self.loader_factory().check(self.path))
            self.app.on_start.append(watch.start)
        base = os.path.dirname(self.path)
        for node, groups, value in script.declarations:
            self._declare(node, groups, value, base)
        for method, path, chain, source in self.routes:
            self.app.add_route(method, path, self._handler(chain, source), source=source)
        for pattern, files, groups, source in self.statics:
            if _Chain(self, groups, None).uses():
                files = self._static_through_middleware(files, groups, source)
            self.app.add_route("GET", pattern, files, source=source)
        if self.top_uses:
            self.app.unrouted = self._unrouted_handler()
        if self.settings.async_mode:
            self.bridge = Bridge(self.settings.threads, self.settings.queue)
            self.app.on_start.insert(0, self._start_bridge)
            self.app.on_stop.append(self.bridge.stop)

    def _declare(self, node, groups, value, base: str) -> None:
        source = str(node.span)
        if isinstance(node, N.Route):
            path = join_paths(*(g.prefix for g in groups), node.path)
            # Group middleware is known in full only when the group is done: resolve late.
            self.routes.append((_METHODS[node.method], path, _Chain(self, groups, value), source))
        elif isinstance(node, N.Use):
            if not callable(value):
                raise MountError(f"{source}: error: 'use' needs a function (req, next), not {type(value).__name__}")
            if groups:
                self.group_uses.setdefault(id(groups[-1]), []).append(value)
            else:
                self.top_uses.append(value)
        elif isinstance(node, N.Static):
            prefix = join_paths(*(g.prefix for g in groups), node.prefix)
            files = StaticFiles(os.path.join(base, node.directory))
            pattern = prefix.rstrip("/") + "/*path"
            self.statics.append((pattern, files, groups, source))
        elif isinstance(node, N.On):
            if node.event == "start":
                self.app.on_start.append(lambda fn=value: self._lifecycle(fn, "on start"))
            elif node.event == "stop":
                self.app.on_stop.append(lambda fn=value: self._lifecycle(fn, "on stop"))
            elif node.event == "error":
                self.on_error = value
            else:
                raise MountError(f"{source}: error: unknown event '{node.event}' (start, stop or error)")
        # `test` blocks are for `rt test`, never served.

    def _start_bridge(self) -> None:
        import asyncio
        self.bridge.start(asyncio.get_running_loop())

    def _lifecycle(self, fn, what: str) -> None:
        previous = limits.activate(limits.Budget(self.settings.max_steps))
        try:
            fn()
        except BaseException as exc:  # noqa: B036 - reported, then re-raised as a startup error
            err = translate_exception(exc)
            message = format_error(getattr(err, "kind", "Error"), getattr(err, "message", str(err)), exc)
            log.error("%s failed:\n%s", what, message)
            raise MountError(f"{what} failed: {getattr(err, 'message', err)}") from None
        finally:
            limits.activate(previous)

    # -- invocation ---------------------------------------------------------------------------

    def invoke(self, run: Callable[[ScriptRequest], Any], sreq: ScriptRequest, where: str):
        """Run one request's chain under its limits; always returns a value to send.

        Each thread keeps one Budget (lang.limits); an invocation just refills it, which is
        cheaper than making and activating a new one per request."""
        settings = self.settings
        budget = limits.current()
        budget.max_steps = budget.remaining = settings.max_steps
        budget.deadline = time.monotonic() + settings.deadline
        try:
            return run(sreq)
        except BaseException as exc:  # noqa: B036 - sorted out below, re-raised if not ours
            return self._ended(exc, sreq, where)

    def _ended(self, exc: BaseException, sreq: ScriptRequest, where: str):
        """The response for an invocation that did not return normally."""
        if isinstance(exc, Abort):
            return ScriptResponse(status=exc.status, body=exc.body)
        if isinstance(exc, DeadlineExceeded):
            self._log_failure(sreq, exc, where)
            return _error_response(503, "deadline exceeded", sreq.http.id)
        if isinstance(exc, LimitError):
            self._log_failure(sreq, exc, where)
            return _error_response(500, "internal server error", sreq.http.id)
        if isinstance(exc, Exception):
            return self._uncaught(sreq, exc, where)
        raise exc

    def _uncaught(self, sreq: ScriptRequest, exc: BaseException, where: str):
        self._log_failure(sreq, exc, where)
        if self.on_error is not None:
            err = translate_exception(exc)
            if isinstance(err, ScriptError):
                try:
                    return self.on_error(sreq, ErrorValue(err.kind, err.message, err.value))
                except Abort as abort:
                    return ScriptResponse(status=abort.status, body=abort.body)
                except BaseException as again:  # noqa: B036 - the error handler failed too
                    if not isinstance(again, Exception) and not isinstance(again, LimitError):
                        raise
                    self._log_failure(sreq, again, "on error")
        return _error_response(500, "internal server error", sreq.http.id)

    def _log_failure(self, sreq: ScriptRequest, exc: BaseException, where: str) -> None:
        err = translate_exception(exc)
        kind = getattr(err, "kind", type(err).__name__)
        message = getattr(err, "message", str(err))
        log.error("%s %s failed (request_id=%s, %s):\n%s", sreq.http.method, sreq.http.target,
                  sreq.http.id, where, format_error(kind, message, exc))

    def _handler(self, chain: "_Chain", source: str):
        if self.settings.async_mode:
            return self._async_handler(chain, source)

        run = chain.handler if not chain.uses() else chain
        # `invoke`, inlined: this is the per-request hot path of inline mode.
        current_budget, monotonic, ended = limits.current, time.monotonic, self._ended
        max_steps, deadline = self.settings.max_steps, self.settings.deadline

        def script_handler(req):
            sreq = script_request(req)
            budget = current_budget()
            budget.max_steps = budget.remaining = max_steps
            budget.deadline = monotonic() + deadline
            try:
                result = run(sreq)
            except BaseException as exc:  # noqa: B036 - _ended sorts it out, re-raises what is not ours
                result = ended(exc, sreq, source)
            return result if result.__class__ is str else to_wire_or_500(result, req, source)
        script_handler.kind = "script"
        return script_handler

    def _async_handler(self, chain: "_Chain", source: str):
        render, invoke = self.app.render_result, self.invoke
        run = chain.handler if not chain.uses() else chain

        def job(sreq: ScriptRequest):
            result = invoke(run, sreq, source)
            # Rendered on the worker too: the loop only writes the bytes, so only bytes
            # cross. A JSON result is encoded as it is (the encoder refuses what cannot be
            # sent, as to_sendable would, and a frozen copy first would double the work);
            # a response value is made sendable first, so its parts are checked the same way.
            cls = result.__class__
            if cls is not str:
                if cls not in _JSON_RESULTS:
                    result = _sendable_or_500(result, sreq, source)
                result = to_wire_or_500(result, sreq.http, source)
            return render(sreq.http, result)

        submit = None

        def script_handler(req):
            nonlocal submit
            if submit is None:
                submit = self.bridge.submit_call
            try:
                return submit(job, script_request(req))
            except QueueFull:
                return _error_response(503, "server busy", req.id, headers={"Retry-After": "1"})
        script_handler.kind = "script"
        script_handler.renders = True  # its future gives finished bytes (see App.dispatch)
        return script_handler

    def _static_through_middleware(self, files: StaticFiles, groups: tuple, source: str):
        """Static files pass through the script's middleware too. The middleware sees a
        response with the file's status and headers (its body stays a file, shown as nil);
        if the same response comes back, the file is sent with whatever headers and status
        the middleware set, else the middleware's own answer is."""
        def answer(req):
            sent = []

            def respond(sreq):
                native = files(sreq.http)
                headers = {str(k).lower(): str(v) for k, v in (native.headers or {}).items()}
                if native.content_type:
                    headers["content-type"] = native.content_type
                proxy = ScriptResponse(status=native.status, headers=headers)
                sent.append((proxy, native))
                return proxy

            chain = _Chain(self, groups, respond)
            result = self.invoke(chain, ScriptRequest(req), source)
            if sent and result is sent[0][0]:
                proxy, native = sent[0]
                headers = dict(proxy.headers)
                content_type = headers.pop("content-type", None)
                return Response(native.body, status=proxy.status, headers=headers, content_type=content_type)
            return to_wire_or_500(result, req, source)

        answer.kind = "static"
        if not self.settings.async_mode:
            return answer

        def answer_async(req):
            try:
                return self.bridge.submit(lambda: answer(req))
            except QueueFull:
                return _error_response(503, "server busy", req.id, headers={"Retry-After": "1"})
        answer_async.kind = "static"
        return answer_async

    def _unrouted_handler(self):
        """Top-level `use` wraps requests no route matched; `next` gives the 404/405."""
        def terminal(match):
            def respond(sreq):
                if match.status is METHOD_NOT_ALLOWED:
                    return ScriptResponse(status=405, headers={"allow": ", ".join(match.allowed)},
                                          body={"error": "method not allowed"})
                return ScriptResponse(status=404, body={"error": "not found"})
            return respond

        def unrouted(req, match):
            chain = _Chain(self, (), terminal(match), uses=self.top_uses)
            if self.settings.async_mode:
                sreq = ScriptRequest(req)

                def job():
                    result = self.invoke(chain, sreq, "middleware")
                    return to_wire_or_500(_sendable_or_500(result, sreq, "middleware"), req, "middleware")
                try:
                    return self.bridge.submit(job)
                except QueueFull:
                    return _error_response(503, "server busy", req.id, headers={"Retry-After": "1"})
            return to_wire_or_500(self.invoke(chain, ScriptRequest(req), "middleware"), req, "middleware")
        return unrouted


class _Chain:
    """One route's middleware (top-level, then each enclosing group's) around its handler."""
    __slots__ = ("owner", "groups", "handler", "_uses")

    def __init__(self, owner: ScriptApp, groups: tuple, handler, uses=None) -> None:
        self.owner, self.groups, self.handler, self._uses = owner, groups, handler, uses

    def uses(self) -> list:
        if self._uses is None:
            uses = list(self.owner.top_uses)
            for g in self.groups:
                uses += self.owner.group_uses.get(id(g), [])
            self._uses = uses
        return self._uses

    def __call__(self, sreq):
        uses = self._uses if self._uses is not None else self.uses()
        if not uses:
            return self.handler(sreq)
        return as_response(self._step(0, uses, sreq))

    def _step(self, i: int, uses: list, sreq):
        if i == len(uses):
            try:
                return as_response(self.handler(sreq))
            except Abort as exc:  # the handler ended with this response: middleware sees it
                return ScriptResponse(status=exc.status, body=exc.body)

        def next_(req=sreq):
            return as_response(self._step(i + 1, uses, req))
        return uses[i](sreq, next_)


def _sendable_or_500(result, sreq: ScriptRequest, where: str):
    if type(result) is Response:  # already an HTTP answer (an error the invocation made)
        return result
    try:
        return to_sendable(result)
    except NotSendable as exc:
        log.error("%s %s (request_id=%s): the handler at %s returned a value that cannot be sent: %s",
                  sreq.http.method, sreq.http.target, sreq.http.id, where, exc)
        return _error_response(500, "internal server error", sreq.http.id)


def to_wire_or_500(value, req, where: str):
    """A handler's (sendable) result as what the HTTP layer renders (LANGUAGE.md §7, §8), or
    a 500 logged with the handler's location when it is not a response."""
    t = type(value)
    try:
        if t in _JSON_RESULTS:
            # JSON, encoded here so an unencodable value is the script's error, logged with
            # its route, and the whole response in one go (the common case for APIs).
            return Rendered(wire.encode_ok(wire.OK_JSON, wire.dumps_json(value),
                                             req.keep_alive, req.method == "HEAD"))
        if t is str or t is bytes or t is Response or value is None:
            return value
        if t is ScriptResponse:
            headers = {str(k).lower(): str(v) for k, v in value.headers.items()}
            data, content_type = _body_bytes(value.body)
            content_type = headers.pop("content-type", content_type)
            # A line break in a header is the script's mistake: refuse it here, where the
            # route is known and logged, not later in the HTTP layer with a Python traceback.
            wire.encode_headers(headers)
            if content_type is not None:
                wire.content_type_line(content_type)
            return Response(data, status=value.status, headers=headers, content_type=content_type)
        raise NotSendable(f"a handler returned a {t.__name__}, which is not a response")
    except (NotSendable, TypeError, ValueError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            exc = "it is nested too deeply"
        log.error("%s %s (request_id=%s): the handler at %s returned a value that cannot be sent: %s",
                  req.method, req.target, req.id, where, exc)
        return _error_response(500, "internal server error", req.id)


def mount_script(app, path: str, settings, loader_factory) -> ScriptApp:
    script_app = ScriptApp(app, path, settings, loader_factory)
    script_app.mount()
    return script_app
