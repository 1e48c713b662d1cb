"""The store of DESIGN §5: gap-free journal, atomic transactions, kill -9 safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial

import pytest
import trio

from gatewayd.store.db import Store
from gatewayd.store.migrations import migrate, migrations


@pytest.fixture(autouse=True)
def synthetic_kinds(monkeypatch):
    """These tests drive the single writer with synthetic events ("w", "x", ...), in this
    process and in the writer they spawn: no journal schema check (that is
    test_journal_schema.py's)."""
    monkeypatch.delenv("GATEWAYD_CHECK_JOURNAL", raising=False)


def test_pragmas_and_schema(tmp_path):
    store = Store(tmp_path / "t.db")
    w = store._w
    assert w.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert w.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert w.execute("PRAGMA user_version").fetchone()[0] == max(migrations())
    assert migrate(w) == max(migrations())  # idempotent


def test_a_failed_transaction_leaves_nothing(tmp_path):
    store = Store(tmp_path / "t.db")
    store.write_sync(lambda tx: tx.append("a", {}))

    def boom(tx):
        tx.append("b", {})
        tx.execute("INSERT INTO tokens(id, name, role, hash, created_at) VALUES "
                   "('x','x','admin',x'00',0)")
        raise RuntimeError("handler failed half-way")

    with pytest.raises(RuntimeError):
        store.write_sync(boom)
    assert [e.kind for e in store.journal()] == ["a"]
    assert store.one("SELECT COUNT(*) FROM tokens")[0] == 0
    _, events = store.write_sync(lambda tx: tx.append("c", {}))
    assert events[0].seq == 2  # no gap where the rollback was


def test_the_write_lock_held_elsewhere_is_polled_for_not_slept_on(tmp_path, monkeypatch):
    """Another process's transaction (a catalog import's chunk): the writer tries the lock
    again every LOCK_POLL_S, not through SQLite's busy handler (which sleeps 1, 2, 5 ms...
    between tries), then less often (a long hold costs a try every LOCK_POLL_MAX_S), until
    the busy timeout; any other error is raised at once."""
    from gatewayd.store import db

    store = Store(tmp_path / "t.db")
    assert store._w.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, check_same_thread=False)
    sleeps: list[float] = []
    real_sleep = time.sleep

    def counted(s: float) -> None:
        sleeps.append(s)
        real_sleep(s)

    monkeypatch.setattr(db.time, "sleep", counted)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.05, lambda: other.execute("COMMIT"))
    release.start()
    store.write_sync(lambda tx: tx.append("a", {}))
    release.join()
    fast = [s for s in sleeps if s == db.LOCK_POLL_S]
    assert len(fast) >= 10 and sleeps[:len(fast)] == fast  # first polled fast
    assert max(sleeps) == db.LOCK_POLL_MAX_S  # then backing off, to the bound
    assert [e.kind for e in store.journal()] == ["a"]
    sleeps.clear()  # a hold of 0.3 s: ~100 fast tries and ~150 slow ones, not ~1,500
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    store.write_sync(lambda tx: tx.append("a2", {}))
    release.join()
    assert len(sleeps) < db.LOCK_POLL_FAST_S / db.LOCK_POLL_S + 0.3 / db.LOCK_POLL_MAX_S + 10
    monkeypatch.setattr(db, "LOCK_WAIT_S", 0.05)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.write_sync(lambda tx: tx.append("b", {}))
    other.execute("ROLLBACK")
    sleeps.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.write_sync(lambda tx: tx.execute("SELECT * FROM nowhere"))
    assert sleeps == []
    store.write_sync(lambda tx: tx.append("c", {}))
    assert [e.kind for e in store.journal()] == ["a", "a2", "c"]
    other.close()
    store.close()


async def test_cancel_waits_for_the_commit(tmp_path):
    store = Store(tmp_path / "t.db")

    def slow(tx):
        for i in range(100):
            tx.append("x", {"i": i})
            time.sleep(0.002)

    with trio.move_on_after(0.05) as scope:  # cancelled mid-transaction
        await store.write(slow)
        await trio.sleep(0)  # the pending cancel lands at the next checkpoint
    assert scope.cancelled_caught
    # the cancel was delivered only after the transaction committed, whole
    assert len(store.journal()) == 100


async def test_concurrent_writers_are_serialised(tmp_path):
    store = Store(tmp_path / "t.db")
    async with trio.open_nursery() as n:
        for i in range(200):
            n.start_soon(store.write, lambda tx, i=i: tx.append("w", {"i": i}))
    seqs = [e.seq for e in store.journal(limit=1000)]
    assert seqs == list(range(1, 201))


async def test_writes_run_in_order_on_one_writer_thread(tmp_path):
    store = Store(tmp_path / "t.db")
    threads = set()

    def write(tx, i):
        threads.add(threading.get_ident())
        tx.append("w", {"i": i})

    async with trio.open_nursery() as n:
        for i in range(50):
            n.start_soon(store.write, partial(write, i=i))
            await trio.sleep(0)  # each task queues for its turn before the next starts
    assert [e.data["i"] for e in store.journal()] == list(range(50))
    assert len(threads) == 1 and threading.get_ident() not in threads
    store.close()
    assert store._writer is None


async def test_a_failed_async_write_raises_and_the_writer_goes_on(tmp_path):
    store = Store(tmp_path / "t.db")

    def boom(tx):
        tx.append("b", {})
        raise ValueError("refused half-way")

    with pytest.raises(ValueError, match="refused half-way"):
        await store.write(boom)
    (_, events) = await store.write(lambda tx: tx.append("ok", {}))
    assert [e.kind for e in store.journal()] == ["ok"] and events[0].seq == 1


async def test_a_rider_goes_in_the_next_write_and_never_fails_it(tmp_path):
    """Store.ride: a small change (the replicator's acked cursor) rides in the next write's
    transaction instead of a commit (an fsync) of its own; the last one set for a key wins; a
    rider that raises is undone alone; a write that rolls back takes its riders with it."""
    store = Store(tmp_path / "t.db")
    store.write_sync(lambda tx: tx.execute("CREATE TABLE marks(key TEXT PRIMARY KEY, n INT)"))
    commits = store.commits
    saved = []

    def mark(tx, name):
        tx.execute("INSERT INTO marks(key, n) VALUES (?, 1)"
                   " ON CONFLICT(key) DO UPDATE SET n=n+1", (name,))
        tx.on_commit(lambda: saved.append(name))

    store.ride("k", partial(mark, name="stale"))
    store.ride("k", partial(mark, name="first"))  # replaces the one that has not run
    assert store.riding("k") and store.commits == commits  # nothing written yet
    await store.write(lambda tx: tx.append("sale", {}))
    assert not store.riding("k") and saved == ["first"] and store.commits == commits + 1
    assert store.one("SELECT n FROM marks WHERE key='first'")[0] == 1
    assert store.one("SELECT 1 FROM marks WHERE key='stale'") is None

    def broken(tx):
        tx.execute("INSERT INTO marks(key, n) VALUES ('broken', 1)")
        raise RuntimeError("a rider that fails")

    store.ride("b", broken)
    store.ride("k", partial(mark, name="first"))
    (_, events) = await store.write(lambda tx: tx.append("sale", {}))
    assert events[0].seq == 2 and saved == ["first", "first"]  # the write went on
    assert store.one("SELECT 1 FROM marks WHERE key='broken'") is None  # undone alone

    def refused(tx):
        tx.append("sale", {})
        raise ValueError("the sale's own failure")

    store.ride("k", partial(mark, name="lost"))
    with pytest.raises(ValueError):
        await store.write(refused)
    # the rider ran after the write's function, which failed: it waits for the next one
    assert store.riding("k")
    await store.write(lambda tx: tx.append("sale", {}))
    assert saved == ["first", "first", "lost"] and not store.riding("k")
    assert [e.seq for e in store.journal()] == [1, 2, 3]
    # a write that is not synced carries none: a power cut could take the rider back
    store.ride("k", partial(mark, name="later"))
    store.write_sync(lambda tx: tx.execute("INSERT INTO marks(key, n) VALUES ('x', 0)"),
                     durable=False)
    assert store.riding("k")
    await store.write(lambda tx: tx.append("sale", {}))
    assert saved[-1] == "later" and not store.riding("k")


def test_a_write_that_is_not_durable_commits_unsynced_and_the_next_is_synced(tmp_path):
    store = Store(tmp_path / "t.db")
    modes = []
    store.write_sync(lambda tx: modes.append(tx.one("PRAGMA synchronous")[0]), durable=False)

    def boom(tx):
        modes.append(tx.one("PRAGMA synchronous")[0])
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        store.write_sync(boom, durable=False)
    store.write_sync(lambda tx: modes.append(tx.one("PRAGMA synchronous")[0]))
    assert modes == [1, 1, 2]  # NORMAL, NORMAL, FULL
    # a write that journals is refused unsynced, and nothing of it stays
    with pytest.raises(RuntimeError, match="must be durable"):
        store.write_sync(lambda tx: tx.append("sale", {}), durable=False)
    assert store.journal() == [] and store.last_seq == 0
    store.close()


def test_one_store_serves_several_trio_runs(tmp_path):
    store = Store(tmp_path / "t.db")
    for i in range(3):
        trio.run(store.write, lambda tx, i=i: tx.append("run", {"i": i}))
    assert [e.data["i"] for e in store.journal()] == [0, 1, 2]
    store.close()


def test_close_with_a_write_in_flight_lets_it_commit_and_return(tmp_path):
    # close() joins the writer after the job in flight; the task waiting on it is woken
    # (it once waited for ever on the closed pipe). Run in a thread so a hang fails the test.
    store = Store(tmp_path / "t.db")
    got: list = []

    def slow(tx):
        time.sleep(0.05)
        return tx.append("x", {})

    async def scenario():
        async def one():
            got.append(await store.write(slow))

        async with trio.open_nursery() as n:
            n.start_soon(one)
            await trio.sleep(0.01)  # the job is in the writer thread now
            store.close()
        with pytest.raises(RuntimeError, match="closed"):
            await store.write(lambda tx: tx.append("late", {}))
        got.append("done")

    runner = threading.Thread(target=trio.run, args=(scenario,), daemon=True)
    runner.start()
    runner.join(10)
    assert not runner.is_alive(), "a write() was stranded by close()"
    assert got[0][0] == 1 and got[-1] == "done"
    assert [e.kind for e in Store(tmp_path / "t.db").journal()] == ["x"]


def test_newer_schema_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute(f"PRAGMA user_version = {max(migrations()) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(tmp_path / "t.db")


WRITER = textwrap.dedent("""
    import sys
    import trio
    from gatewayd.store.db import Store
    store = Store(sys.argv[1])

    def pair(tx, i):
        tx.append("w", {"i": i})
        tx.append("w2", {"i": i})

    async def through_the_writer_thread():
        i = 0
        while True:
            i += 1
            await store.write(lambda tx: pair(tx, i))
            print(i, flush=True)   # acknowledged only after COMMIT returned

    if sys.argv[2] == "async":
        trio.run(through_the_writer_thread)
    i = 0
    while True:
        i += 1
        store.write_sync(lambda tx: pair(tx, i))
        print(i, flush=True)
""")


@pytest.mark.parametrize(("run", "path"), [(0, "async"), (1, "sync"), (2, "async")])
def test_kill_9_during_writes_keeps_every_acknowledged_write(tmp_path, run, path):
    db = tmp_path / "t.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), path],
                            stdout=subprocess.PIPE,
                            text=True, cwd=os.getcwd())
    acked = 0
    deadline = time.monotonic() + 30
    target = 50 + run * 97
    while acked < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            acked = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acked >= target
    store = Store(db)
    events = store.journal(limit=10**6)
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "journal has a gap"
    written = {e.data["i"] for e in events if e.kind == "w"}
    assert set(range(1, acked + 1)) <= written, "an acknowledged write was lost"
    # each transaction is whole: every w has its w2
    assert written == {e.data["i"] for e in events if e.kind == "w2"}
    assert store._w.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_online_backup_while_writing(tmp_path):
    store = Store(tmp_path / "t.db")
    for i in range(300):
        store.write_sync(lambda tx, i=i: tx.append("w", {"i": i}))
    progress = []
    store.backup(tmp_path / "b.db", lambda done, total: progress.append((done, total)))
    copy = Store(tmp_path / "b.db")
    assert len(copy.journal(limit=1000)) == 300
    assert progress and progress[-1][0] == progress[-1][1]


async def test_the_checkpointer_empties_the_wal_when_the_till_is_quiet(tmp_path, monkeypatch):
    """`Store.checkpoints` copies the WAL back once no commit came for CHECKPOINT_IDLE_S,
    never while commits keep coming; the writer's own auto-checkpoint stays the bound for a
    till that never pauses."""
    from gatewayd.store import db

    monkeypatch.setattr(db, "CHECKPOINT_IDLE_S", 1.5)
    store = Store(tmp_path / "t.db")
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(store.checkpoints)
            assert (store._w.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                    == db.WAL_AUTOCHECKPOINT_PAGES)
            for i in range(25):  # commits closer together than the quiet time
                await store.write(lambda tx, i=i: tx.append("test.event", {"i": i}))
                await trio.sleep(0.1)
            assert store.checkpointed == 0
            with trio.fail_after(10):
                while store.checkpointed == 0:
                    await trio.sleep(0.1)
            wal = store._w.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert wal[1] == wal[2], "the quiet checkpoint left frames in the WAL"
            nursery.cancel_scope.cancel()
    finally:
        store.close()


def test_a_till_that_never_pauses_keeps_its_wal_at_the_writers_mark(tmp_path):
    """Commits back to back (no quiet time for `Store.checkpoints`): the commit that crosses
    WAL_AUTOCHECKPOINT_PAGES copies the log back, so the WAL file (reused from its start
    after each checkpoint) never grows much past that many pages."""
    from gatewayd.store import db

    store = Store(tmp_path / "t.db")
    try:
        page = store._w.execute("PRAGMA page_size").fetchone()[0]
        wal = tmp_path / "t.db-wal"
        frames = 0
        while frames < 2 * db.WAL_AUTOCHECKPOINT_PAGES:  # well past the mark
            store.write_sync(lambda tx: tx.append("test.event", {"pad": "x" * 3000}))
            frames += 1
        most = (wal.stat().st_size - 32) // (page + 24)
        assert db.WAL_AUTOCHECKPOINT_PAGES <= most < db.WAL_AUTOCHECKPOINT_PAGES + 50, most
    finally:
        store.close()


def test_the_start_up_check_of_a_large_store_stops_at_its_deadline(tmp_path, caplog):
    """PRAGMA quick_check runs inside one VDBE step, where no progress handler is called: the
    deadline must interrupt it from outside, or a big store's start-up waits for all of it."""
    import logging

    from gatewayd.store.check import check_store

    path = tmp_path / "big.db"
    Store(path).close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("CREATE TABLE filler (k INTEGER PRIMARY KEY, v BLOB)")
    conn.execute("CREATE INDEX filler_v ON filler(v)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO filler (v) VALUES (randomblob(200))",
                     ((),) * 300_000)  # ~130 MB with its index: far more than 1 ms to check
    conn.execute("COMMIT")
    conn.close()
    t0 = time.perf_counter()
    assert check_store(path, 60) is None  # checked to the end: ok
    whole = time.perf_counter() - t0
    with caplog.at_level(logging.WARNING, logger="gatewayd.store"):
        t0 = time.perf_counter()
        assert check_store(path, 0.001) is None
        stopped = time.perf_counter() - t0
    assert "quick_check stopped after 0.001 s" in caplog.text
    # stopped at its deadline, not after the b-trees' check (most of the whole check's time)
    assert stopped < whole / 4, (stopped, whole)


def test_a_deadline_that_passes_before_the_statement_starts_still_stops_it():
    """SQLite forgets an interrupt that lands while no statement runs: on a loaded machine the
    start-up check's deadline can pass before its quick_check has begun (CI saw it once)."""
    from gatewayd.store.check import interrupted_after

    conn = sqlite3.connect(":memory:", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        with interrupted_after(conn, 0):
            time.sleep(0.05)  # the deadline passes here, before the statement starts
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                         "LIMIT 100000000) SELECT count(*) FROM c").fetchone()
    conn.close()
