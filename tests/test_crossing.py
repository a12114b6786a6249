"""The one crossing to worker threads (DESIGN.md "Layout"): under `--async`, what a worker
reads of a request was read on the loop before the job was queued, and what comes back is
wire values only, on every path (script routes, unmatched paths, native routes under script
middleware).

Strategy: serve a script in-process with `--async` on a real loop and a real bridge, call
the handlers the App built with requests whose peer records which thread asked for its
address, and look at what the bridge hands back.
"""
import asyncio
import threading

from rtserve.runtime.app import App
from rtserve.runtime.config import Settings
from rtserve.runtime.http.deferred import Deferred
from rtserve.runtime.http.request import Request
from rtserve.runtime.scripts.load import mount_script

SCRIPT = """
use fn (req, next) { let res = next(req)
    res.headers["x-ip"] = req.ip
    return res }
get "/records" (req) { return [{"ip": req.ip, "n": 1}] }
"""


class Peer:
    """Stands for the protocol: the transport may be read on the loop thread only."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def peer_ip(self) -> str:
        self.threads.append(threading.current_thread().name)
        return "10.1.2.3"


def test_workers_read_nothing_of_the_loop_and_send_back_wire_values(tmp_path):
    path = tmp_path / "app.script"
    path.write_text(SCRIPT)
    app = App(Settings(async_mode=True, threads=2))

    @app.get("/native")
    def native(req):
        return {"native": True}

    mount_script(app, str(path), app.settings)
    dispatch_targets = ("/records", "/native", "/missing")

    async def main():
        for hook in app.on_start:
            result = hook()
            if asyncio.iscoroutine(result):
                await result
        dispatch = app.dispatcher()
        answers = {}
        for target in dispatch_targets:
            peer = Peer()
            req = Request("GET", target, [(b"Host", b"x")], peer=peer)
            pending = dispatch(req)
            assert isinstance(pending, Deferred) or hasattr(pending, "__await__"), target
            answers[target] = (await pending, peer.threads)
        for hook in app.on_stop:
            hook()
        return answers

    answers = asyncio.run(main())
    for target, (answer, threads) in answers.items():
        assert threads == ["MainThread"], (target, threads)  # read once, on the loop
        assert isinstance(answer, bytes), (target, type(answer))  # wire bytes came back
        assert b"x-ip: 10.1.2.3" in answer, target
    assert b'[{"ip":"10.1.2.3","n":1}]' in answers["/records"][0]
    assert b" 404 " in answers["/missing"][0].split(b"\r\n")[0] + b" "
