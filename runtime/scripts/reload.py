"""`--reload`: restart the server when one of its script files changes (for development).

Strategy. A timer on the event loop compares the files' modification times every half
second. On a change the new version is checked first (parse, resolve, compile, nothing run):
with mistakes, they are logged and the running version keeps serving; clean, the process
replaces itself (`os.execv` with its own command line), which re-reads everything. The
listening socket closes with the old process, so a client may see one refused connection.
"""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys
from typing import Callable

from rtserve.lang.errors import ErrorList, StaticError

log = logging.getLogger("rt")

INTERVAL = 0.5


class ReloadWatch:
    def __init__(self, files: list[str], check: Callable[[], None]) -> None:
        self.files = files
        self.check = check  # raises ErrorList/StaticError when the new version has mistakes
        self.seen = self._stamps()

    def _stamps(self) -> dict[str, float]:
        stamps = {}
        for path in self.files:
            try:
                stamps[path] = os.stat(path).st_mtime_ns
            except OSError:
                stamps[path] = 0
        return stamps

    def start(self) -> None:
        asyncio.get_running_loop().call_later(INTERVAL, self._tick)

    def _tick(self) -> None:
        stamps = self._stamps()
        if stamps != self.seen:
            self.seen = stamps
            try:
                self.check()
            except (ErrorList, StaticError) as exc:
                log.error("not reloading: the changed script has errors:\n%s", exc.render())
            else:
                log.info("a script changed: reloading")
                logging.shutdown()
                # The loop holds duplicates of the listening socket that would survive exec
                # and keep the port: close every descriptor but the standard three.
                os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
                os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        asyncio.get_running_loop().call_later(INTERVAL, self._tick)
