"""Reads whose cost grows with history run here, never on the event loop (DESIGN §5).

A report over a year of sales, an export or a long list can take seconds on a big store; on
the trio thread that would freeze every client (keepalive pings time out, handshakes fail).
`ReaderPool.run(fn)` hands `fn` a read-only connection of its own on a worker thread, inside
one read transaction (a consistent WAL snapshot however long it takes), and gives the loop
back until it is done.

Every read has a deadline, and a cancelled caller stops its query: SQLite calls a progress
handler every few thousand VM steps, and the handler aborts the statement once the job's
deadline has passed or its caller has gone (the thread then gives its connection back to the
pool by itself). A caller sees `ReadTimeout` when its deadline passed.

Point lookups by index (a barcode, the active sale) stay on the store's own read connection:
they take microseconds and the hop to a thread would cost more than the query.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import trio

T = TypeVar("T")

PROGRESS_STEPS = 4000  # SQLite VM instructions between deadline checks (~0.1 ms)


class ReadTimeout(Exception):
    """A read ran past its deadline and was stopped."""


class Reads(Protocol):
    """What read-only code takes: the store's own connection or a reader's snapshot."""

    def one(self, sql: str, params: Any = ...) -> sqlite3.Row | None: ...

    def all(self, sql: str, params: Any = ...) -> list[sqlite3.Row]: ...


class Snapshot:
    """A read-only connection inside one read transaction, with the `one`/`all` of `Store`
    so report code takes either."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)


@dataclass(slots=True)
class _Job:
    seconds: float  # the deadline as the caller gave it, for the error message
    deadline: float  # time.monotonic() after which the query is stopped
    abandoned: bool = False  # the caller was cancelled: stop as soon as SQLite lets us

    def should_stop(self) -> int:
        return 1 if self.abandoned or time.monotonic() > self.deadline else 0


class ReaderPool:
    """`size` worker threads, each borrowing one of the pool's read-only connections."""

    def __init__(self, path: Path | str, connect: Callable[..., sqlite3.Connection],
                 size: int = 2, deadline_s: float = 30.0):
        self.path = Path(path)
        self._connect = connect
        self.size = size
        self.deadline_s = deadline_s
        self._limiter = trio.CapacityLimiter(size)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _idle: threads give connections back
        self._closed = False
        self.running = 0  # reads in flight, for /metrics and the tests

    async def run(self, fn: Callable[[Snapshot], T], *, deadline_s: float | None = None) -> T:
        """`fn(snapshot)` on a worker thread; raises ReadTimeout past the deadline. A
        cancelled caller returns at once; its query stops at SQLite's next progress call."""
        if self._closed:
            raise RuntimeError("the store is closed")
        job = self._job(deadline_s)
        self.running += 1
        try:
            return await trio.to_thread.run_sync(self._work, fn, job, limiter=self._limiter,
                                                 abandon_on_cancel=True)
        except trio.Cancelled:
            job.abandoned = True
            raise
        finally:
            self.running -= 1

    def run_sync(self, fn: Callable[[Snapshot], T], *, deadline_s: float | None = None) -> T:
        """The same read in the calling thread (the CLI, which has no event loop to keep)."""
        return self._work(fn, self._job(deadline_s))

    def _job(self, deadline_s: float | None) -> _Job:
        seconds = deadline_s or self.deadline_s
        return _Job(seconds, time.monotonic() + seconds)

    def _work(self, fn: Callable[[Snapshot], T], job: _Job) -> T:
        conn = self._borrow()
        conn.set_progress_handler(job.should_stop, PROGRESS_STEPS)
        try:
            conn.execute("BEGIN")
            try:
                return fn(Snapshot(conn))
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc) and not job.abandoned:
                    raise ReadTimeout(f"the read took longer than its deadline "
                                      f"({job.seconds:g} s) and was stopped") from None
                raise
            finally:
                conn.set_progress_handler(None, 0)
                conn.execute("ROLLBACK")
        finally:
            self._give_back(conn)

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect(self.path, readonly=True)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
