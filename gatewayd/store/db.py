"""The till's SQLite store (DESIGN §5).

One write connection, owned by one writer thread: every `write()` hands its function to that
thread and waits, one at a time, for the `BEGIN IMMEDIATE` transaction that appends journal
events and updates projections. A write is never abandoned on cancel (the thread finishes
the commit or the rollback before the caller sees the cancellation). Point reads use a
separate connection on the trio thread: index lookups take microseconds. Reads whose cost
grows with history (reports, exports, lists) go to `Store.read`, a pool of reader threads
with their own connections, a deadline and cancel (gatewayd/store/reader.py).

WAL checkpoints: SQLite copies the WAL back into the database file inside the commit that
crosses WAL_AUTOCHECKPOINT_PAGES (a sale of five lines logs about 90 pages, 130-150
distinct ones in eight sales), so one sale in about ten pays for writing and fsyncing the
pages the commits since wrote, scattered over the file (on a store of years, 90-110 runs of
pages far apart, a third of them the (sku, seq) index of stock moves, a page per item; 300
pages instead of SQLite's 1000 was tried: no gain at the sale's p99 beyond the runs'
spread, and the reprint's p50 on a three-year store rose, docs/bench.md). The daemon runs
`Store.checkpoints`, which checkpoints on a connection of its own in a worker thread when
the till has been quiet for `CHECKPOINT_IDLE_S`: a till that sells with pauses between
customers empties its WAL in the pauses, and a sale does not meet the mark. A
till selling flat out still meets it, and pays it inline as before: a writer that never
checkpointed (tried: the task after every 200 commits instead) made the burst of
`make bench` sale 12-20 % slower here, its checkpoints' fsyncs competing with the commits'
(the cause as we read it; a WAL of 4,000 frames alone did not slow a report, measured
since). A PASSIVE checkpoint takes no lock a writer waits on.

Why a thread of our own rather than `trio.to_thread`: a commit waits on fsync, so it cannot
run on the event loop, but the hop to another thread is paid on every write. The writer
blocks on a queue and wakes the waiting task through a pipe that trio watches; that is about
half the cost of a `to_thread` round trip (bench/journal.py).

Riders (`Store.ride`): a change too small to be worth a commit of its own (the replicator's
acknowledged cursor) rides in the next write's transaction, whoever writes: a commit of its
own costs an fsync, and a sale's write queued behind it would wait for that fsync.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

from gatewayd.store.migrations import migrate
from gatewayd.store.reader import ReaderPool, Snapshot
from protocol import journal
from protocol.codec import pack, unpack

T = TypeVar("T")
log = logging.getLogger("gatewayd.store")

PRAGMAS = (
    # first: a new store gives the pages retention frees back in steps (gatewayd/store/
    # retention.py); on an existing file it changes nothing until a VACUUM
    "PRAGMA auto_vacuum=INCREMENTAL",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
# The writer's page cache (KiB): the interior pages of every index a sale writes stay in
# memory on a store of years, instead of a read from the OS for each (the default is 2 MB).
WRITER_CACHE_KIB = 16384
# The writer's automatic checkpoint (SQLite's default, set here so a test holds it; see the
# module docstring)
WAL_AUTOCHECKPOINT_PAGES = 1000
CHECKPOINT_IDLE_S = 10.0  # after the last commit: the WAL is copied back when the till idles
# Background work in this process (a staged import's chunks; a master download's process's
# transactions, which the daemon lends its write lock, `lend`):
# between its steps it waits for the daemon's writer to have been this long without a write
# asked for (a sale's sale.add and sale.tender come a round trip apart: the gap between two
# of them is not a pause), or at most MAKE_WAY_PATIENCE_S (a till that never pauses still
# gets its download, a step between two of its writes).
MAKE_WAY_QUIET_S = 0.004
MAKE_WAY_PATIENCE_S = 0.1
# ...and rests this many times as long as its last step took: at most a quarter of the time
# is background work's, so a sale seldom meets it on the GIL (a download's steps back to
# back in every pause made the sale's p50 2.4x)
MAKE_WAY_REST = 3.0


# The write lock held by another process: tried again this often (an import's chunk holds
# it 2-3 ms) for LOCK_POLL_FAST_S, then twice as long after each try up to LOCK_POLL_MAX_S
# (a longer hold costs a try every 2 ms, not 5,000 a second), for LOCK_WAIT_S in all (as
# the busy timeout, PRAGMAS)
LOCK_POLL_S = 0.0002
LOCK_POLL_FAST_S = 0.02
LOCK_POLL_MAX_S = 0.002
LOCK_WAIT_S = 5.0
SQLITE_BUSY = 5

# SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN: the disk, not the write
STORAGE_ERRORS = {8, 10, 13, 14}


def private_file(path: Path, create: bool = True) -> None:
    """Make `path` (created empty if missing and `create`) readable by its owner only."""
    if create:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    try:
        os.chmod(path, 0o600)
    except FileNotFoundError:
        pass


def put_in_place(complete: Path, target: Path) -> None:
    """Rename a file written beside `target` to its name, durably: its content on disk
    before the name (a file with the name is always whole), then the rename itself."""
    with open(complete, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(complete, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class JournalEvent:
    seq: int
    at: int
    kind: str
    data: dict[str, Any]

    def as_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "data": self.data}


class Tx:
    """One open write transaction. `append` puts an event on the journal; `execute` and
    friends update projections. Everything commits together or not at all.

    `check_schema`: every appended event is first validated against its kind's model in
    protocol/journal.py (what it will be as stored: packed and unpacked) and must round-trip
    unchanged; a kind without a model or a payload off its model raises, so nothing off the
    schema is journaled. The tests turn it on (GATEWAYD_CHECK_JOURNAL=1); it costs a
    validation per event, so production does not."""

    def __init__(self, conn: sqlite3.Connection, last_seq: int, check_schema: bool = False):
        self.conn = conn
        self.check_schema = check_schema
        self.seq = last_seq
        self.events: list[JournalEvent] = []
        self.at = now_us()
        self.committed: list[Callable[[], None]] = []

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once this transaction has committed, in the writing thread before the
        next write starts: for an in-memory copy that must never run ahead of the store."""
        self.committed.append(fn)

    def append(self, kind: str, data: dict[str, Any], packed: bytes | None = None) -> int:
        """`packed`: `pack(data)` made beforehand, outside the transaction (a big event's
        packing need not hold the write lock)."""
        if packed is None:
            packed = pack(data)
        if self.check_schema:
            journal.check(kind, unpack(packed))
        self.seq += 1
        self.conn.execute(
            "INSERT INTO journal(seq, at, kind, data) VALUES (?, ?, ?, ?)",
            (self.seq, self.at, kind, packed),
        )
        self.events.append(JournalEvent(self.seq, self.at, kind, data))
        return self.seq

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def row(self, sql: str, params: Any = ()) -> sqlite3.Row:
        """The one row a query must give: an aggregate's, or one this transaction knows is
        there (LookupError if not)."""
        return _must(self.conn.execute(sql, params).fetchone(), sql)

    def scalar(self, sql: str, params: Any = ()) -> Any:
        """The first column of `row`: COUNT(*), COALESCE(SUM(...), 0), ..."""
        return self.row(sql, params)[0]


def _must(row: sqlite3.Row | None, sql: str) -> sqlite3.Row:
    if row is None:
        raise LookupError(f"no row for {sql}")
    return row


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5.0)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        if readonly and ("journal_mode" in pragma or "auto_vacuum" in pragma):
            continue
        conn.execute(pragma)
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    return conn


@dataclass(slots=True)
class _Job:
    """One write handed to the writer thread; `done` is set before the wake byte is sent."""

    fn: Callable[[Tx], Any]
    result: Any = None
    error: BaseException | None = None
    done: bool = False


class Store:
    def __init__(self, path: Path | str, *, readers: int = 2, read_deadline_s: float = 30.0,
                 archive_dir: Path | None = None):
        self.path = Path(path)
        # where retention put old sales and journal (gatewayd/store/retention.py): returns
        # and reprints of an archived sale find it there
        self.archive_dir = archive_dir
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(self.path)  # sales, tokens' hashes, PIN hashes: the till user's only
        self._w = connect(self.path)
        self._w.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._w.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self.commits = 0  # committed writes, for the checkpointer
        self.checkpointed = 0  # checkpoints `checkpoints` ran
        for suffix in ("-wal", "-shm"):  # SQLite gives them the store's mode; older ones too
            private_file(Path(f"{self.path}{suffix}"), create=False)
        self.schema_version = migrate(self._w)
        # the write lock is waited for by `_begin`, not by SQLite's busy handler; inside a
        # transaction begun IMMEDIATE no statement waits for a lock
        self._w.execute("PRAGMA busy_timeout=0")
        self._r = connect(self.path, readonly=True)
        self.readers = ReaderPool(self.path, connect, readers, read_deadline_s)
        self._lock = threading.Lock()  # guards the write connection for sync callers (CLI)
        self.check_schema = os.environ.get("GATEWAYD_CHECK_JOURNAL") == "1"  # see Tx
        self.last_seq = self._w.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
        self.write_error: str | None = None  # why the last write failed, if the disk did
        self._busy = False  # a write() is in flight
        self._asked = 0  # write()s asked for and not yet returned (background work waits)
        self._asked_done = time.monotonic()  # when the last of them returned
        self._stepped = threading.local()  # per background thread: when its step began
        self._waiting = trio.lowlevel.ParkingLot()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first write()
        self._wake_r, self._wake_w = os.pipe()
        self._riders: dict[str, Callable[[Tx], None]] = {}  # see ride()
        self._lent: trio.Event | None = None  # set while another process writes (lend())
        self._riders_lock = threading.Lock()
        os.set_blocking(self._wake_r, False)
        self._closed = False

    # -- writes ------------------------------------------------------------------------
    def write_sync(self, fn: Callable[[Tx], T], *,
                   durable: bool = True) -> tuple[T, list[JournalEvent]]:
        """Run `fn` in one BEGIN IMMEDIATE transaction (in the calling thread). `durable`
        False: committed without an fsync of the log (synchronous=NORMAL), for writes a
        power cut may take back because nothing stands on them until a durable commit
        follows, which syncs the log they are in (a staged import's chunks: only the
        switch must survive). Never for a write that journals: the replicator sends an
        event to head office as soon as it is committed, and a seq head office holds must
        never be taken back and given to another event. Riders wait for a durable write."""
        with self._lock:
            conn = self._w
            if not durable:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self._begin(conn)
                # Another process (the CLI) may have appended since we last looked.
                last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
                tx = Tx(conn, last, self.check_schema)
                result = fn(tx)
                if self._riders and durable:  # a rider's change must not be taken back
                    self._run_riders(tx)
                if tx.events and not durable:
                    raise RuntimeError("a write that journals must be durable: head office "
                                       "may hold its events as soon as it commits")
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._note_storage_failure(exc)
                raise
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")
            self.write_error = None  # a write went through: the disk has room again
            self.commits += 1
            self.last_seq = tx.seq
            for done in tx.committed:
                try:
                    done()
                except Exception:  # committed already: the write stands, whatever a hook does
                    log.exception("an on_commit hook failed")
            return result, tx.events

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, polling every LOCK_POLL_S while another process (a catalog
        import's chunk) holds the write lock, backing off after LOCK_POLL_FAST_S, for at
        most the busy timeout. SQLite's busy handler sleeps 1, 2, 5, 10 ms... between its
        tries: a write that met a 2-3 ms chunk slept up to 5 ms past it (one write of the
        till's in 10 during a 200,000-item import, docs/bench.md)."""
        began = time.monotonic()
        pause = LOCK_POLL_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - began
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF != SQLITE_BUSY or \
                        waited >= LOCK_WAIT_S:
                    raise
            if waited >= LOCK_POLL_FAST_S:
                pause = min(pause * 2, LOCK_POLL_MAX_S)
            time.sleep(pause)

    def ride(self, key: str, fn: Callable[[Tx], None]) -> None:
        """Run `fn` in the next write's transaction, after that write's own function, whoever
        writes (a rider, see the module docstring). The last `fn` given for a `key` replaces
        one that has not run yet. It runs in a savepoint: a rider that raises is logged and
        undone, and never fails the write it rode on. A write that rolls back drops its
        riders; `fn` may use `tx.on_commit` to learn that it went in."""
        with self._riders_lock:
            self._riders[key] = fn

    def riding(self, key: str) -> bool:
        """A rider for `key` waits for the next write."""
        return key in self._riders

    def _run_riders(self, tx: Tx) -> None:
        with self._riders_lock:
            riders, self._riders = self._riders, {}
        for key, fn in riders.items():
            tx.execute("SAVEPOINT rider")
            try:
                fn(tx)
            except Exception:
                tx.execute("ROLLBACK TO rider")
                log.exception("the rider %s failed; the write it rode on goes on", key)
            tx.execute("RELEASE rider")

    def _note_storage_failure(self, exc: BaseException) -> None:
        """A write that failed for the disk's sake (full, I/O error, read-only), not for its
        own (a constraint, a refused request): /healthz says degraded until one succeeds."""
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in STORAGE_ERRORS:
            if self.write_error is None:
                log.error("a store write failed: %s", exc)
            self.write_error = f"the last write failed: {exc}"

    async def write(self, fn: Callable[[Tx], T]) -> tuple[T, list[JournalEvent]]:
        """The one way to change the store from trio. Cancellation waits for the commit."""
        await trio.lowlevel.checkpoint_if_cancelled()
        self._asked += 1
        try:
            while self._lent is not None:  # another process's transaction (`lend`)
                await self._lent.wait()
            return await self._write(fn)
        finally:
            self._asked -= 1
            self._asked_done = time.monotonic()

    async def _write(self, fn: Callable[[Tx], T]) -> tuple[T, list[JournalEvent]]:
        if self._busy:  # one write in flight at a time; the others wait here, in order
            await self._waiting.park()  # woken with the turn handed over
        self._busy = True
        try:
            if self._closed:
                raise RuntimeError("the store is closed")
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop,
                                                name="gatewayd-writer", daemon=True)
                self._writer.start()
            job = _Job(fn)
            self._jobs.put(job)
            with trio.CancelScope(shield=True):  # never abandon a commit half-way
                await self._done(job)
        finally:
            if self._waiting:
                self._waiting.unpark()  # hand the turn to the next writer
            else:
                self._busy = False
        if job.error is not None:
            raise job.error
        return job.result

    async def _done(self, job: _Job) -> None:
        while not job.done:
            try:
                await trio.lowlevel.wait_readable(self._wake_r)
            except trio.ClosedResourceError:  # close() ran meanwhile; it waited for the job
                break
            try:
                os.read(self._wake_r, 64)
            except BlockingIOError:
                pass
        if not job.done:
            raise RuntimeError("the store was closed before the write finished")

    def _write_loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job.result = self.write_sync(job.fn)
            except BaseException as exc:  # handed to the waiting task, which raises it
                job.error = exc
            job.done = True
            os.write(self._wake_w, b"\0")

    # -- background work ----------------------------------------------------------------
    def serves_writes(self) -> bool:
        """This process runs the daemon's writer (write() has been used): background work
        here paces itself with `make_way`, not with SQLite's busy handler."""
        return self._writer is not None

    def _way_wait(self, quiet_s: float, until: float) -> float:
        """Seconds to wait yet before background work takes its next step (0: go)."""
        now = time.monotonic()
        if now >= until:
            return 0.0
        if self._asked:
            return min(quiet_s, until - now)
        return max(0.0, min(quiet_s - (now - self._asked_done), until - now))

    def make_way(self, quiet_s: float = MAKE_WAY_QUIET_S,
                 patience_s: float = MAKE_WAY_PATIENCE_S) -> bool:
        """Between two steps of background work on a worker thread (a staged chunk, a
        slice of decoding): returns once no write() has been asked for in `quiet_s` (the
        till is between sales), or after `patience_s` whatever. A sale then waits behind
        at most the one step that began just before it. False, at once: no writer runs in
        this process (the CLI; the daemon's sales are another process's), pace otherwise."""
        if not self.serves_writes():
            return False
        now = time.monotonic()
        began = getattr(self._stepped, "at", None)
        if began is not None:
            time.sleep(min(patience_s, (now - began) * MAKE_WAY_REST))
        until = time.monotonic() + patience_s
        while (wait := self._way_wait(quiet_s, until)) > 0:
            time.sleep(wait)
        self._stepped.at = time.monotonic()
        return True

    async def make_way_async(self, step_s: float = 0.0, quiet_s: float = MAKE_WAY_QUIET_S,
                             patience_s: float = MAKE_WAY_PATIENCE_S) -> None:
        """`make_way` for a trio task whose last step took `step_s`."""
        await trio.sleep(min(patience_s, step_s * MAKE_WAY_REST))
        until = time.monotonic() + patience_s
        while (wait := self._way_wait(quiet_s, until)) > 0:
            await trio.sleep(wait)
        await trio.lowlevel.checkpoint()

    def lend(self) -> Callable[[], None]:
        """The write lock lent to another process for one transaction (a master download's,
        gatewayd/replication/download.py), after `make_way_async`: write()s asked for
        meanwhile wait here until the returned function is called (when that transaction
        committed or the process ended), not in SQLite's busy handler, which would sleep
        1, 2, 5, 10 ms... between its tries. From the event loop's thread only."""
        lent = self._lent = trio.Event()

        def back() -> None:
            if self._lent is lent:
                self._lent = None
            lent.set()

        return back

    # -- checkpoints -------------------------------------------------------------------
    async def checkpoints(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Checkpoint the WAL from a worker thread whenever the till has been quiet for
        CHECKPOINT_IDLE_S after a commit (see the module docstring). Cancelled, it leaves
        the rest to close() (the last connection to close checkpoints the WAL)."""
        conn = connect(self.path)
        try:
            done = seen = self.commits
            changed = trio.current_time()
            task_status.started()
            while True:
                await trio.sleep(1.0)
                if self.commits != seen:
                    seen, changed = self.commits, trio.current_time()
                quiet = trio.current_time() - changed >= CHECKPOINT_IDLE_S
                if seen != done and quiet:
                    done = seen
                    await trio.to_thread.run_sync(self._checkpoint, conn)
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """The log copied back now on the write connection (PASSIVE: no writer waits for
        it): background work in another process (an import, a master download) after each
        of its transactions, so its pages are written back a few at a time by itself, not
        1,000 at once inside the commit of a sale that found them in the log."""
        with self._lock:
            self._w.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpointed += 1
        except sqlite3.Error as exc:  # the next one tries again; the WAL only grows
            log.warning("WAL checkpoint failed: %s", exc)

    # -- reads -------------------------------------------------------------------------
    async def read(self, fn: Callable[[Snapshot], T], *, deadline_s: float | None = None) -> T:
        """A read whose cost grows with history, off the event loop (see reader.py)."""
        return await self.readers.run(fn, deadline_s=deadline_s)

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Reads on the store's own connection that must see one commit (a sale's row, its
        lines, its tenders): each statement alone sees the latest commit, and a write that
        lands between two of them (payment recovery beside a client's read) tears the
        picture. On the event loop's thread, with no await inside."""
        if self._r.in_transaction:  # nested: the outer snapshot holds
            yield self
            return
        self._r.execute("BEGIN")
        try:
            yield self
        finally:
            self._r.execute("ROLLBACK")

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self._r.execute(sql, params).fetchone()

    def row(self, sql: str, params: Any = ()) -> sqlite3.Row:
        """As Tx.row, on the read connection."""
        return _must(self._r.execute(sql, params).fetchone(), sql)

    def scalar(self, sql: str, params: Any = ()) -> Any:
        return self.row(sql, params)[0]

    def all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self._r.execute(sql, params).fetchall()

    def journal(self, after: int = 0, limit: int = 1000) -> list[JournalEvent]:
        rows = self._r.execute(
            "SELECT seq, at, kind, data FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [JournalEvent(r["seq"], r["at"], r["kind"], unpack(r["data"])) for r in rows]

    def journal_seq(self) -> int:
        return self._r.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]

    def backup(self, target: Path | str, progress: Callable[[int, int], None] | None = None,
               **kw: Any) -> Any:
        """A consistent copy while the daemon keeps writing (gatewayd/store/backup.py)."""
        from gatewayd.store.backup import backup

        return backup(self.path, target, progress, **kw)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._jobs.put(None)  # after the job in flight, if any: it commits first
            self._writer.join()
            self._writer = None
        try:  # a write() still waiting to hear that its job is done is woken, not stranded
            trio.lowlevel.notify_closing(self._wake_r)
        except RuntimeError:
            pass  # not inside trio: nobody can be waiting
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.readers.close()
        self._r.close()
        self._w.close()
