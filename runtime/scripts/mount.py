"""Serve a script: its routes, groups, middleware, static folders and `on` blocks.

Strategy. The script is loaded once (checked, run, frozen) and each declaration becomes
part of the App: a route becomes a handler on the shared router, a `static` a native file
handler, `on start`/`on stop` the App's lifecycle hooks, and top-level `use` also wraps the
requests no route matched (for them `next` returns the 404 or 405 response).

A request runs its whole script chain (middleware, then the handler) in one *invocation*,
under a fresh step budget and deadline, either inline on the event loop or, with
`--async`, on the bridge's thread pool. An invocation never raises: `invoke` turns every
ending into a response value (abort -> its response, deadline -> 503, limit -> 500,
error -> `on error` or 500 with the request id, logged with the script's stack).

The crossing to worker threads is in one place, `_submit`: the request is detached there
(what belongs to the loop, the peer address, read before the job is queued), and the job
turns its result into wire values (`to_wire_or_500`: bytes, or an HTTP Response over bytes)
on the worker, rendering them too unless native middleware will read the Response, so no
script value ever leaves its thread and no deep copy is needed: the bytes are the sendable
form (LANGUAGE.md §12). Measured for 20 JSON records, the copy cost 4x the encoding itself.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import os
import time
from typing import Any, Callable

from rtserve.lang import builds, limits, nodes as N
from rtserve.lang.builtins import set_print_sink
from rtserve.lang.errors import Abort, DeadlineExceeded, ErrorList, LimitError, RtError, ScriptError
from rtserve.lang.sendable import NotSendable, to_sendable
from rtserve.lang.stack import format_error
from rtserve.lang.nested import measure
from rtserve.lang.values import (MAX_SIZE, ErrorValue, FrozenList, FrozenMap, Module, Response as ScriptResponse,
                                 check_header, translate_exception)
from rtserve.stdlib.log import Output as ScriptOutput

from ..http import wire
from .bridge import Bridge, QueueFull
from .checks import METHODS, join_paths, route_errors
from .observe import install as install_observers, limit_hit
from ..http.response import (BAD_BODY, BUSY, DEADLINE, INTERNAL, METHOD_NOT_ALLOWED, NOT_FOUND,
                             HTTPError, Rendered, Response)
from ..router import METHOD_NOT_ALLOWED as NO_METHOD
from .record import BadBody, ScriptRequest, script_request
from ..static import StaticFiles

log = logging.getLogger("rt.script")



class MountError(RtError):
    """A declaration that cannot be served (bad middleware value, a failing `on start`...).
    `where` is the declaration's position, or None; `report` a full report (a script stack)
    that replaces the one-line form when given."""

    def __init__(self, message: str, where: str | None = None, report: str | None = None):
        super().__init__(message)
        self.where, self.report = where, report

    def render(self) -> str:
        if self.report is not None:
            return self.report
        return f"{self.where}: error: {self}" if self.where else super().render()


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
        return text_answer(body), "text/plain; charset=utf-8"
    if t is bytes:
        return bytes_answer(body), "application/octet-stream"
    if body is None:  # no body (a redirect, an abort(403)): no content type either
        return None, None
    return json_answer(body), "application/json"


def json_answer(value) -> bytes:
    """The compact JSON of a handler's result, charged to its invocation before it is built:
    one step per node, its bytes against the memory budget, refused past the string cap or
    the nesting cap (LimitError), for a cycle and for NaN or infinity (ScriptError).

    The size measured first is a lower bound (a float's or a big int's text can be longer
    than it counts), so what the text really takes is charged too (limits.Meter: the bound
    before, the rest as it is made). A big text (`json_in_parts`: past 256 KiB by the bound on
    a --async worker, past 1 MiB anywhere) is made in parts of about 64 KiB (lang/builds.py
    `json_text`), each charged before the next is made, so that no call holds the interpreter
    lock for long beside the event loop and an answer past the memory budget is refused while
    it is being built; a smaller one is made in one call and what it took past the bound
    charged after."""
    size = measure(value, MAX_SIZE)
    try:
        if builds.json_in_parts(size):
            return builds.json_text(value, wire.dumps_json, _text_bound, limits.Meter(size).spend)
        if size <= limits.SMALL_WORK:
            return wire.dumps_json(value)  # part of the step
        # limits.Meter's rule, inlined (every JSON answer comes here: the object and its
        # calls were 3% of a 20-record request): the bound before, what it took past it after.
        # 2 x: the text, then its UTF-8 bytes (the reference encoder makes both).
        limits.allocate(2 * size)
        data = wire.dumps_json(value)
        if len(data) > 2 * size:
            limits.allocate(len(data) - 2 * size)
        return data
    except ValueError:  # what else would make an encodable-sized value fail: NaN, infinity
        raise ValueError("cannot encode NaN or infinity as JSON") from None


# A text answer up to this many characters is encoded by the HTTP layer, uncharged (part of
# the step: its copy costs what one step's work does); a longer one by `text_answer`.
SMALL_TEXT = limits.SMALL_WORK * limits.TEXT_PER_STEP


def text_answer(text: str) -> bytes:
    """A text answer's UTF-8 bytes, charged to its invocation as JSON is (json_answer): the
    copy's work, its bytes against the memory budget (limits.Meter: a byte a character
    before they are made, what they take past that as they are made). A big one is made in
    pieces (lang/builds.py `utf8_in_parts`) beside a loop, or anywhere when it is not ASCII,
    so that no call holds the interpreter lock long and an answer past the budget is refused
    while it is being made. A script's string may be a big frozen one every request shares:
    each request's bytes are its own, and charged to it."""
    limits.work_text(len(text))
    made = limits.Meter(len(text))
    if builds.utf8_in_parts(text):
        return builds.utf8(text, made.spend)
    data = text.encode("utf-8")
    made.spend(len(data))
    return data


def bytes_answer(data: bytes) -> bytes:
    """A bytes answer, charged as a text answer's bytes are: nothing encodes it, but the
    response copies it into its wire message (as it does every body), and that copy is the
    answer's memory; the work of the copy too."""
    if len(data) > SMALL_TEXT:
        limits.work_text(len(data))
        limits.allocate(len(data))
    return data


def _text_bound(value, level: int = 0) -> int:
    return measure(value, MAX_SIZE)  # compact: the level adds nothing


_JSON_RESULTS = frozenset({dict, list, FrozenMap, FrozenList, int, float, bool})


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
        self.stop_hooks: list = []  # the script's `on stop` blocks, as app.on_stop hooks

    # -- loading -----------------------------------------------------------------------------

    def mount(self, bridge: Bridge | None = None) -> None:
        """Load the script (static checks, route clashes included, before anything runs;
        then its top level) and register what it declares on the app. `bridge`: a running
        bridge to share (a reload's new version runs on the old version's threads)."""
        # print() and log.* share one writer: the per-request bound and the request id
        set_print_sink(ScriptOutput(self.settings.log_format).print_line)
        limits.depth_guard().__enter__()  # script call depth, process-wide
        self.loader = self.loader_factory()
        script = self.loader.check(self.path)
        clashes = route_errors(script.module)
        if clashes:
            raise ErrorList(clashes)
        previous = limits.activate(limits.Budget(self.settings.max_steps, max_memory=self.settings.max_memory))
        try:
            self.loader.load(self.path)
        finally:
            limits.activate(previous)
        if not self.settings.async_mode and _imports_stdlib(self.loader, "http"):
            # http.fetch waits on the network: never on the event loop.
            self.settings = self.settings.replace(async_mode=True)
            logging.getLogger("rt").info(
                "%s imports http: its handlers run on the worker thread pool (as with --async), "
                "so the event loop never waits on the network", self.path)
        base = os.path.dirname(self.path)
        for node, groups, value in script.declarations:
            self._declare(node, groups, value, base)
        for method, path, chain, source in self.routes:
            self.app.add_route(method, path, self._handler(chain, source), source=source)
        if bridge is not None:
            self.bridge = bridge
        elif self.settings.async_mode:
            self._make_bridge()
        for pattern, files, groups, source in self.statics:
            if _Chain(self, groups, None).uses() or self.on_error is not None:
                files = self._through_script(files, groups, source, "static")
            self.app.add_route("GET", pattern, files, source=source)
        if self.top_uses:
            self.app.unrouted = self._unrouted_handler()
        if self.top_uses or self.on_error is not None:
            self.app.route_layers.append(self._cover)
        install_observers(self)

    def _declare(self, node, groups, value, base: str) -> None:
        source = str(node.span)
        if isinstance(node, N.Route):
            path = join_paths(*(g.prefix for g in groups), node.path)
            # Group middleware is known in full only when the group is done: resolve late.
            self.routes.append((METHODS[node.method], path, _Chain(self, groups, value, where=source),
                                source))
        elif isinstance(node, N.Use):
            if not callable(value):
                raise MountError(f"'use' needs a function (req, next), not {type(value).__name__}", source)
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
                hook = lambda fn=value: self._lifecycle(fn, "on stop")  # noqa: E731
                self.stop_hooks.append(hook)
                self.app.on_stop.append(hook)
            elif node.event == "error":
                self.on_error = value
            else:
                raise MountError(f"unknown event '{node.event}' (start, stop or error)", source)
        # `test` blocks are for `rt test`, never served.

    def _start_bridge(self) -> None:
        import asyncio
        self.bridge.start(asyncio.get_running_loop())

    def _lifecycle(self, fn, what: str) -> None:
        previous = limits.activate(limits.Budget(self.settings.max_steps, max_memory=self.settings.max_memory))
        try:
            fn()
        except (Exception, LimitError, Abort) as exc:  # the report is the script's stack only
            err = translate_exception(exc)
            raise MountError(f"{what} failed: {getattr(err, 'message', err)}",
                             report=f"{what} failed:\n{err.render(exc)}") from None
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
        budget.max_memory = budget.memory_left = settings.max_memory
        budget.deadline = time.monotonic() + settings.deadline
        budget.begin(sreq.http)
        try:
            return run(sreq)
        except BaseException as exc:  # noqa: B036 - sorted out below, re-raised if not ours
            return self._ended(exc, sreq, where)

    def _ended(self, exc: BaseException, sreq: ScriptRequest, where: str):
        """The response for an invocation that did not return normally."""
        if isinstance(exc, Abort):
            return ScriptResponse(status=exc.status, body=exc.body)
        if isinstance(exc, LimitError):
            limit_hit(exc)
        if isinstance(exc, DeadlineExceeded):
            self._log_failure(sreq, exc, where)
            return DEADLINE.response(sreq.http.id)
        if isinstance(exc, LimitError):
            self._log_failure(sreq, exc, where)
            return INTERNAL.response(sreq.http.id)
        if isinstance(exc, Exception):
            return self._uncaught(sreq, exc, where)
        raise exc

    def _uncaught(self, sreq: ScriptRequest, exc: BaseException, where: str):
        if isinstance(exc, BadBody) and self.on_error is None:
            return BAD_BODY.response(sreq.http.id)  # the client's mistake, not the script's
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
                    if isinstance(again, LimitError):
                        limit_hit(again)
                    self._log_failure(sreq, again, "on error")
        return INTERNAL.response(sreq.http.id)

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
        current_budget, monotonic, ended, app = limits.current, time.monotonic, self._ended, self.app
        max_steps, deadline = self.settings.max_steps, self.settings.deadline
        max_memory = self.settings.max_memory

        def script_handler(req):
            sreq = script_request(req)
            budget = current_budget()
            budget.max_steps = budget.remaining = max_steps
            budget.max_memory = budget.memory_left = max_memory
            budget.deadline = monotonic() + deadline
            budget.begin(req)
            try:
                result = run(sreq)
            except BaseException as exc:  # noqa: B036 - _ended sorts it out, re-raises what is not ours
                result = ended(exc, sreq, source)
            if result.__class__ is str and len(result) <= SMALL_TEXT:  # to_wire_or_500's, inlined
                return result
            return to_wire_or_500(result, req, source, not app.middleware)
        script_handler.kind = "script"
        script_handler.covered = True  # its own chain holds the script's middleware
        return script_handler

    def _async_handler(self, chain: "_Chain", source: str):
        render, invoke, app = self.app.render_result, self.invoke, self.app
        run = chain.handler if not chain.uses() else chain

        def job(req):
            sreq = script_request(req)
            result = invoke(run, sreq, source)
            # The crossing: the result becomes wire values here, on the worker, and is
            # rendered here too unless native middleware wants to read the Response.
            if result.__class__ is not str or len(result) > SMALL_TEXT:  # to_wire_or_500's, inlined
                result = to_wire_or_500(result, req, source, not app.middleware)
            if not app.middleware:
                result = render(req, result)
            limits.release_if_heavy()  # its values are dropped: if it was heavy, give them back
            return result

        submit = self._submit

        def script_handler(req):
            return submit(job, req)
        script_handler.kind = "script"
        script_handler.covered = True
        script_handler.renders = True  # its future gives finished bytes (see App.dispatch)
        return script_handler

    # -- native and static routes under the script's middleware ---------------------------

    def _cover(self, handler, method: str, pattern: str, source: str):
        """The App's route layer: every route the script did not declare (native handlers,
        and static folders) runs inside the script's top-level `use` chain and `on error`."""
        if getattr(handler, "covered", False):
            return handler
        kind = "static" if isinstance(handler, StaticFiles) else getattr(handler, "kind", "native")
        return self._through_script(handler, (), source, kind)

    def _through_script(self, handler, groups: tuple, source: str, kind: str):
        """`handler` (a native callable: sync or async, returning anything a native handler
        may) as the last link of the script chain of `groups`. The middleware's `next` gives a
        response value showing the native answer (its body as a script value when it is
        text, bytes or JSON, else nil: a file or a stream). When the middleware hands that
        same response back with that same body, the native body is sent with the status and
        headers the middleware left on it; else the middleware's own answer is sent. A native
        handler's exception is logged with its traceback and reaches `on error` as a
        `NativeError`, whose answer the middleware sees; an `HTTPError` is the response it
        names."""
        on_bridge = self.settings.async_mode or _is_async_callable(handler)
        if on_bridge and self.bridge is None:
            self._make_bridge()
            log.info("script middleware covers the async native route at %s: its chain runs "
                     "on the bridge's threads", source)
        call_native = self._native_on_loop if on_bridge else _native_here

        def answer(req):
            sent = []

            def respond(sreq):
                native = _as_native_response(call_native(handler, req, source))
                proxy = _proxy_of(native)
                sent.append((proxy, proxy.body, native))
                return proxy

            sreq = script_request(req)
            result = self.invoke(_Chain(self, groups, respond, where=source), sreq, source)
            if sent and result is sent[0][0] and result.body is sent[0][1]:
                proxy, _, native = sent[0]
                headers = {str(k).lower(): v for k, v in proxy.headers.items()}
                content_type = headers.pop("content-type", native.content_type)
                return Response(native.body, status=proxy.status, headers=headers,
                                content_type=content_type)
            return to_wire_or_500(result, req, source, not self.app.middleware)

        if on_bridge:
            def covered(req):
                return self._submit(answer, req)
        else:
            covered = answer
        covered.kind = kind
        covered.covered = True
        return covered

    def _native_on_loop(self, handler, req, source: str):
        """From a worker: run the native handler on the event loop (where native code always
        runs) and wait for its outcome, never past the request's deadline."""
        limits.blocking()
        future = asyncio.run_coroutine_threadsafe(_settled(handler, req), self.bridge.loop)
        try:
            ok, value = future.result(timeout=limits.current().time_left())
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeadlineExceeded("deadline exceeded") from None
        if ok:
            return value
        return _native_failure(value, req, source)

    def _submit(self, job: Callable[[Any], Any], req):
        """The one crossing to the workers: `job(req)` on the bridge, once what the worker
        may read of the request that belongs to the loop has been read here (`detach`).
        What comes back is wire values only (`to_wire_or_500` runs on the worker). A full
        queue answers 503 with Retry-After."""
        req.detach()
        try:
            return self.bridge.submit_call(job, req)
        except QueueFull:
            return BUSY.response(req.id, headers={"Retry-After": "1"})

    def _make_bridge(self) -> None:
        self.bridge = Bridge(self.settings.threads, self.settings.queue)
        self.app.on_start.insert(0, self._start_bridge)
        self.app.on_stop.append(self.bridge.stop)

    def _unrouted_handler(self):
        """Top-level `use` wraps requests no route matched; `next` gives the 404/405."""
        def terminal(match):
            def respond(sreq):
                if match.status is NO_METHOD:
                    return ScriptResponse(status=METHOD_NOT_ALLOWED.status,
                                          headers={"allow": ", ".join(match.allowed)},
                                          body={"error": METHOD_NOT_ALLOWED.message})
                return ScriptResponse(status=NOT_FOUND.status, body={"error": NOT_FOUND.message})
            return respond

        def unrouted(req, match):
            chain = _Chain(self, (), terminal(match), uses=self.top_uses)

            def answer(req):
                return to_wire_or_500(self.invoke(chain, script_request(req), "middleware"), req,
                                      "middleware", not self.app.middleware)
            return self._submit(answer, req) if self.settings.async_mode else answer(req)
        return unrouted


class _Chain:
    """One route's middleware (top-level, then each enclosing group's) around its handler.

    `next(req)` always gives a response value (LANGUAGE.md §5 "Middleware"): a link that
    ends in `abort` gives that response, and one that fails with an error gives what `on
    error` builds for it (or the 500), logged where it failed; so every middleware outside it
    still sees the answer and adds what it adds (CORS and security headers on a 500 too, a
    logging middleware the status). Limits are not answers: they end the whole request."""
    __slots__ = ("owner", "groups", "handler", "_uses", "where")

    def __init__(self, owner: ScriptApp, groups: tuple, handler, uses=None,
                 where: str = "middleware") -> None:
        self.owner, self.groups, self.handler, self._uses = owner, groups, handler, uses
        self.where = where

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
        try:
            if i == len(uses):
                return as_response(self.handler(sreq))

            def next_(req=sreq):
                return self._step(i + 1, uses, req)
            return as_response(uses[i](sreq, next_))
        except Abort as exc:  # this link ended with this response: the ones outside see it
            return ScriptResponse(status=exc.status, body=exc.body)
        except Exception as exc:  # noqa: BLE001 - the script's error: its answer, logged
            answer = self.owner._uncaught(sreq, exc, self.where)
            return _proxy_of(answer) if answer.__class__ is Response else as_response(answer)


def _is_async_callable(handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None))


async def _settled(handler, req):
    """On the loop: (True, what the native handler returned) or (False, what it raised)."""
    try:
        result = handler(req)
        while hasattr(result, "__await__"):
            result = await result
        return True, result
    except (Exception, SystemExit) as exc:
        return False, exc


def _native_here(handler, req, source: str):
    """On the loop (inline mode): call a sync native handler directly."""
    try:
        result = handler(req)
    except (Exception, SystemExit) as exc:
        return _native_failure(exc, req, source)
    if hasattr(result, "__await__"):
        getattr(result, "close", lambda: None)()
        return _native_failure(TypeError("a sync handler returned an awaitable"), req, source)
    return result


def _native_failure(exc: BaseException, req, source: str):
    """A native handler's exception as its chain sees it: an HTTPError is the response it
    names; anything else is logged with its traceback and raised as a NativeError."""
    if isinstance(exc, HTTPError):
        return Response({"error": exc.message}, status=exc.status, headers=exc.headers)
    log.error("%s %s (request_id=%s): the native handler at %s failed", req.method, req.target,
              req.id, source, exc_info=exc)
    raise ScriptError("NativeError", f"the native handler at {source} failed") from None


def _as_native_response(result) -> Response:
    if result.__class__ is Response:
        return result
    if result is None:
        return Response(None, status=204)
    return Response(result)


def _proxy_of(native: Response) -> ScriptResponse:
    """A response value showing a native answer to script middleware."""
    headers = {str(k).lower(): v for k, v in native.headers.items()}
    if native.content_type:
        headers["content-type"] = native.content_type
    body = native.body
    if type(body) in (str, bytes, dict, list):
        try:
            body = to_sendable(body)
        except NotSendable:
            body = None
    else:
        body = None  # a file, a stream: the middleware sees nil and cannot change it in place
    return ScriptResponse(status=native.status, headers=headers, body=body)


def to_wire_or_500(value, req, where: str, whole: bool = True):
    """A handler's (sendable) result as what the HTTP layer renders (LANGUAGE.md §7, §8), or
    a 500 logged with the handler's location when it is not a response. JSON is encoded
    here, so an unencodable value is the script's error logged with its route; `whole`: as
    the finished answer (the common case for APIs), else as a Response native middleware
    can read."""
    t = type(value)
    try:
        if t in _JSON_RESULTS:
            if not whole:
                return Response(json_answer(value), content_type="application/json")
            return Rendered(wire.encode_ok(wire.OK_JSON, json_answer(value),
                                             req.keep_alive, req.method == "HEAD"))
        if t is str or t is bytes:
            if len(value) <= SMALL_TEXT:
                return value  # the HTTP layer encodes it (str)
            # a longer one is charged here, while its invocation's budget is the thread's
            if t is str:
                data, line, content_type = text_answer(value), wire.CT_TEXT, "text/plain; charset=utf-8"
            else:
                data, line, content_type = bytes_answer(value), wire.CT_BYTES, "application/octet-stream"
            if not whole:
                return Response(data, content_type=content_type)
            return Rendered(wire.encode(200, line, data, req.keep_alive, req.method == "HEAD"))
        if t is Response or value is None:
            return value
        if t is ScriptResponse:
            # Headers set through `res.headers[...]` were not checked where they were set:
            # they are here (HTTP's rule, as check_header applies it), where the route is
            # known and logged, not later in the HTTP layer with a Python traceback.
            headers = {str(k).lower(): check_header(k, v) for k, v in value.headers.items()}
            data, content_type = _body_bytes(value.body)
            content_type = headers.pop("content-type", content_type)
            wire.encode_headers(headers)
            if content_type is not None:
                wire.content_type_line(content_type)
            return Response(data, status=value.status, headers=headers, content_type=content_type)
        raise NotSendable(f"a handler returned a {t.__name__}, which is not a response")
    except (NotSendable, ScriptError, LimitError, TypeError, ValueError, RecursionError) as exc:
        if isinstance(exc, (LimitError, RecursionError)):
            limit_hit(exc)
        if isinstance(exc, RecursionError):  # a value nested past what encoding can walk
            exc = "it is nested too deeply to encode"
        log.error("%s %s (request_id=%s): the handler at %s returned a value that cannot be sent: %s",
                  req.method, req.target, req.id, where, getattr(exc, "message", exc))
        return (DEADLINE if isinstance(exc, DeadlineExceeded) else INTERNAL).response(req.id)


def _imports_stdlib(loader, name: str) -> bool:
    """Whether any script the loader loaded imports the stdlib module `name`."""
    return any(isinstance(target, Module) and target.name == name
               for script in loader.scripts.values() for _, target in script.imports)


def mount_script(app, path: str, settings, loader_factory) -> ScriptApp:
    native_routes = app.router.routes()  # before the script's: a reload keeps these
    script_app = ScriptApp(app, path, settings, loader_factory)
    script_app.mount()
    if settings.reload:
        from .reload import Reloader
        Reloader(app, script_app, native_routes).install()
    return script_app
