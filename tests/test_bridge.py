"""The bridge (runtime/scripts/bridge.py): a bounded pool of worker threads fed in batches
from the event loop, results settled back on the loop.

Strategy: a real loop and real threads; jobs are plain Python callables that record which
thread ran them and when, so each property is observed rather than assumed: every job runs
once and its outcome reaches its waiter; a failing job (even with a BaseException) fails only
its own request and the worker lives on; a full queue refuses at once; a slow or blocking job
hands the rest of its batch to other workers instead of holding them up; exactly `threads`
workers run at once; a job stopped by its deadline fails alone, after the rest of its batch.
"""
import asyncio
import threading
import time

import pytest

from rtserve.lang import limits
from rtserve.runtime.scripts.bridge import Bridge, QueueFull


def run_with_bridge(body, threads=2, queue=64):
    async def main():
        bridge = Bridge(threads, queue)
        bridge.start(asyncio.get_running_loop())
        try:
            return await body(bridge)
        finally:
            bridge.stop()
    return asyncio.run(main())


def test_every_job_runs_once_and_its_result_reaches_its_waiter():
    async def body(bridge):
        deferreds = [bridge.submit_call(lambda n: n * n, n) for n in range(200)]
        return [await d for d in deferreds]
    assert run_with_bridge(body, threads=4, queue=1000) == [n * n for n in range(200)]


def test_when_done_callback_gets_the_outcome_on_the_loop():
    async def body(bridge):
        loop_thread = threading.current_thread()
        seen = asyncio.get_running_loop().create_future()
        bridge.submit(lambda: "done").when_done(
            lambda ok, value: seen.set_result((ok, value, threading.current_thread() is loop_thread)))
        return await seen
    assert run_with_bridge(body) == (True, "done", True)


@pytest.mark.parametrize("error", [ValueError("bad"), SystemExit(3), KeyboardInterrupt()])
def test_a_failing_job_fails_alone_and_the_worker_lives_on(error):
    def fail():
        raise error

    async def body(bridge):
        with pytest.raises(Exception) as caught:
            await bridge.submit(fail)
        after = [await bridge.submit(lambda: threading.current_thread().name) for _ in range(20)]
        return caught.value, after
    raised, after = run_with_bridge(body, threads=1)
    assert isinstance(raised, Exception)  # a BaseException arrives as an Exception for its request
    assert type(error).__name__ in str(raised) or raised is error
    assert len(after) == 20 and set(after) == {"rt-worker-0"}


def test_a_full_queue_refuses_at_once():
    release = threading.Event()

    async def body(bridge):
        blocking = [bridge.submit(release.wait)]
        await asyncio.sleep(0.3)  # the worker has taken it
        blocking += [bridge.submit(release.wait) for _ in range(3)]  # the queue is now full
        with pytest.raises(QueueFull):
            bridge.submit(release.wait)
        release.set()
        return [await d for d in blocking]
    assert all(run_with_bridge(body, threads=1, queue=3))


@pytest.mark.parametrize("slow", ["steps", "blocking"])
def test_a_slow_job_hands_the_rest_of_its_batch_to_another_worker(slow):
    def slow_job():
        if slow == "blocking":
            limits.blocking()  # what sleep, kv, db and fetch announce before they wait
        else:
            limits.refill(-limits.CHUNK)  # what a script does past its first ~1,000 steps
        time.sleep(0.5)
        return time.monotonic()

    async def body(bridge):
        # All submitted in one loop turn: one batch, the slow job first.
        first = bridge.submit(slow_job)
        rest = [bridge.submit(time.monotonic) for _ in range(5)]
        finished_rest = [await d for d in rest]
        return await first, finished_rest
    slow_done, rest_done = run_with_bridge(body, threads=2)
    assert max(rest_done) < slow_done  # none of them waited for the slow one


def test_stop_ends_every_worker():
    async def body(bridge):
        await bridge.submit(lambda: None)
        workers = list(bridge._workers)
        bridge.stop()
        return workers
    workers = run_with_bridge(body, threads=3)
    assert len(workers) == 3 and not any(t.is_alive() for t in workers)


def test_exactly_threads_workers_run_jobs_at_once():
    # Jobs that announce a blocking wait hand the rest of their batch on, so three jobs
    # meet at a barrier of three on a pool of three; a barrier of four never fills.
    def meet(barrier):
        limits.blocking()
        barrier.wait()
        return threading.current_thread().name

    async def body(bridge):
        three = threading.Barrier(3, timeout=20)
        met = [await d for d in [bridge.submit_call(meet, three) for _ in range(3)]]
        four = threading.Barrier(4, timeout=1)
        missed = []
        for d in [bridge.submit_call(meet, four) for _ in range(4)]:
            try:
                missed.append(await d)
            except threading.BrokenBarrierError as exc:
                missed.append(exc)
        return met, missed
    met, missed = run_with_bridge(body, threads=3)
    assert sorted(met) == ["rt-worker-0", "rt-worker-1", "rt-worker-2"]
    assert all(isinstance(m, threading.BrokenBarrierError) for m in missed)


def test_a_job_past_its_deadline_fails_alone_while_its_batch_is_answered():
    # A script's deadline is checked as it refills its step credit; that refill also hands
    # the rest of its batch on, so the others are answered long before it is stopped.
    def endless():
        previous = limits.activate(limits.Budget(deadline=time.monotonic() + 0.5))
        try:
            while True:
                limits.refill(-limits.CHUNK)
        finally:
            limits.activate(previous)

    async def body(bridge):
        doomed = bridge.submit(endless)
        rest = [bridge.submit(time.monotonic) for _ in range(5)]
        answered = [await d for d in rest]
        with pytest.raises(RuntimeError, match="DeadlineExceeded"):  # a BaseException, as data
            await doomed
        stopped = time.monotonic()
        after = await bridge.submit(lambda: "alive")
        return answered, stopped, after
    answered, stopped, after = run_with_bridge(body, threads=2)
    assert max(answered) < stopped and after == "alive"
