"""`--reload`: when a script file changes, load the new version beside the old one and swap
only when it loaded cleanly (for development).

Strategy. A timer on the event loop compares the files' (size, mtime, inode) every half
second. On a change the stamps are taken first, then the new version is loaded in-process on
a staging App that already holds the native routes: one Loader reads each file once, and the
text it checked is the text it compiles and runs (no second read can pick up a half-written
or newer file). Loading means every step serving needs: the static checks (route clashes
included), the top level, the route table (clashes with native routes too), and the new
version's `on start`. Only when all succeed does the live app switch to the new routes, from
the next request on; requests in flight finish on the version they started on, and the
listening socket never closes. A version that fails anywhere is logged and the old one keeps
serving. Writes that land while a version loads change the stamps taken before it, so the
next tick loads again: rapid writes converge on the last one. The script's `on stop` that
runs at shutdown is the current version's; a replaced version's `on stop` does not run.
"""
from __future__ import annotations

import asyncio
import logging
import os

from rtserve.lang.errors import Abort, LimitError, RtError

log = logging.getLogger("rt")

INTERVAL = 0.5


class Reloader:
    def __init__(self, app, script_app, native_routes: list) -> None:
        self.app = app
        self.current = script_app
        self.native_routes = native_routes  # (method, pattern, handler, source)
        self.seen = self._stamps()

    def install(self) -> None:
        self.app.on_start.append(self.start)

    def start(self) -> None:
        asyncio.get_running_loop().call_later(INTERVAL, self._tick)

    # -- watching ------------------------------------------------------------------------------

    def _files(self) -> list[str]:
        return [script.real_path for script in self.current.loader.scripts.values()]

    def _stamps(self) -> dict[str, tuple]:
        stamps = {}
        for path in self._files():
            try:
                info = os.stat(path)
                stamps[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
            except OSError:
                stamps[path] = None
        return stamps

    def _tick(self) -> None:
        try:
            stamps = self._stamps()
            if stamps != self.seen:
                self.seen = stamps
                self.reload()
                self.seen = self._merge(stamps)
        finally:
            asyncio.get_running_loop().call_later(INTERVAL, self._tick)

    def _merge(self, before: dict) -> dict:
        """The stamps to compare against next: the ones taken before loading for the files
        watched before, so a write during the load is seen; a new version's new imports
        start from now."""
        now = self._stamps()
        return {path: before.get(path, stamp) for path, stamp in now.items()}

    # -- loading ------------------------------------------------------------------------------

    def reload(self) -> bool:
        """Load the changed version beside the old; swap if it loaded cleanly. Never raises."""
        from ..app import App
        from .mount import ScriptApp
        old = self.current
        stage = App(self.app.settings)
        # The new version counts into the served app's metrics and readiness checks.
        stage.metrics, stage.ready_checks = self.app.metrics, self.app.ready_checks
        try:
            for method, pattern, handler, source in self.native_routes:
                stage.router.add(method, pattern, handler, source)
            new = ScriptApp(stage, old.path, old.settings, old.loader_factory)
            new.mount(bridge=old.bridge)
            stage.apply_route_layers()  # the new version's `use`/`on error` around native routes
            stage.router.compile()
            for hook in stage.on_start:  # the new version's `on start`
                hook()
        except RtError as exc:
            log.error("not reloading: the changed script failed to load; the previous version "
                      "keeps serving:\n%s", exc.render())
            return False
        except (Exception, LimitError, Abort) as exc:  # its top level raised
            from .load import describe_runtime_error
            log.error("not reloading: the changed script failed to load; the previous version "
                      "keeps serving:\n%s", describe_runtime_error(exc))
            return False
        app = self.app
        app.on_stop[:] = [hook for hook in app.on_stop if hook not in old.stop_hooks] + new.stop_hooks
        app.swap_routes(stage.router, stage.unrouted)
        self.current = new
        log.info("reloaded %s", old.path)
        return True
