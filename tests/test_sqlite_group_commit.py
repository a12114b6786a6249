"""SQLite kv writes of concurrent threads commit in groups (stdlib/backends/sqlite.py "Group
commit"): writers queued while one commits go in the next transaction together, each gets its
own result or error, a failing write undoes only itself, and a writer whose time runs out
while queued is refused with its write not applied."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from rtserve.stdlib.backends import BackendDown
from rtserve.stdlib.backends.sqlite import SqliteKv


class CountingKv(SqliteKv):
    """SqliteKv that records the size of each group it commits."""

    def __init__(self, path: str) -> None:
        super().__init__(path, timeout=5.0)
        self.groups: list[int] = []

    def _commit_group(self, batch, wait):
        self.groups.append(len(batch))
        super()._commit_group(batch, wait)


def held_leader(kv: CountingKv) -> tuple[threading.Event, threading.Thread]:
    """A thread leading a group whose one write waits for the returned event: writers that
    come meanwhile queue for the next group."""
    release, started = threading.Event(), threading.Event()

    def gate(conn):
        started.set()
        assert release.wait(10)
    thread = threading.Thread(target=kv._write, args=(gate, 10.0))
    thread.start()
    assert started.wait(10)
    return release, thread


def wait_queued(kv: CountingKv, n: int) -> None:
    stop = time.monotonic() + 10
    while len(kv._group.queued) < n:
        assert time.monotonic() < stop, "writers never queued"
        time.sleep(0.005)


def stored(path: str, key: str):
    """The value of `key` as another connection (another process) reads it."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def test_writers_queued_behind_a_commit_share_the_next_one(tmp_path):
    path = str(tmp_path / "kv.sqlite3")
    kv = CountingKv(path)
    kv.set("big", str((1 << 63) - 1).encode(), None, 5.0)
    kv.set("text", b'"not a number"', None, 5.0)
    release, leader = held_leader(kv)
    outcomes: dict[str, object] = {}

    def run(name, call):
        try:
            outcomes[name] = call()
        except Exception as exc:
            outcomes[name] = exc
    calls = {f"incr{i}": (lambda: kv.incr("n", 1, None, 5.0)) for i in range(12)}
    calls["overflow"] = lambda: kv.incr("big", 1, None, 5.0)       # fails: this write only
    calls["not-int"] = lambda: kv.incr("text", 1, None, 5.0)       # the stored bytes, unchanged
    calls["set"] = lambda: kv.set("other", b"1", None, 5.0)
    calls["add"] = lambda: kv.add("other2", b"2", None, 5.0)
    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    wait_queued(kv, len(calls))
    release.set()
    for t in threads + [leader]:
        t.join(10)
    assert kv.groups == [1, 1, 1, len(calls)]  # two sets, the held leader, then everyone
    assert sorted(outcomes[f"incr{i}"] for i in range(12)) == list(range(1, 13))
    assert isinstance(outcomes["overflow"], OverflowError)
    assert outcomes["not-int"] == b'"not a number"'
    assert outcomes["add"] is True and outcomes["set"] is None
    assert stored(path, "n") == b"12" and stored(path, "other") == b"1" and stored(path, "other2") == b"2"
    assert stored(path, "big") == str((1 << 63) - 1).encode()


def test_a_writer_whose_time_runs_out_in_the_queue_is_refused_and_not_applied(tmp_path):
    path = str(tmp_path / "kv.sqlite3")
    kv = CountingKv(path)
    release, leader = held_leader(kv)
    started = time.monotonic()
    with pytest.raises(BackendDown, match="busy"):
        kv.set("late", b"1", None, 0.3)
    assert 0.25 < time.monotonic() - started < 5
    release.set()
    leader.join(10)
    kv.set("after", b"1", None, 5.0)  # the queue goes on
    assert stored(path, "late") is None and stored(path, "after") == b"1"
    assert kv.groups == [1, 1]


def test_a_lone_writer_commits_alone_and_survives_a_new_connection(tmp_path):
    path = str(tmp_path / "kv.sqlite3")
    kv = CountingKv(path)
    for i in range(5):
        assert kv.incr("n", 2, None, 5.0) == 2 * (i + 1)
    assert kv.groups == [1] * 5 and stored(path, "n") == b"10"
