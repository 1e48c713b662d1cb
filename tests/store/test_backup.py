"""Backups that complete while the till writes, their rotation, the restore's check, and
the daemon's scheduled backup (issue 18 item 4)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest
import trio

from clients.python.client import connect
from gatewayd.store import backup as backups
from gatewayd.store.db import Store


@pytest.fixture(autouse=True)
def synthetic_kinds(monkeypatch):
    """The backups here copy synthetic events ("w"): no journal schema check (that is
    test_journal_schema.py's)."""
    monkeypatch.delenv("GATEWAYD_CHECK_JOURNAL", raising=False)


def _fill(store: Store, n: int) -> None:
    blob = "x" * 2000  # a few pages per event: the copy takes many steps
    for i in range(n):
        store.write_sync(lambda tx, i=i: tx.append("w", {"i": i, "pad": blob}))


def test_backup_completes_without_restarting_while_another_connection_commits(tmp_path):
    """SQLite's online backup restarts on every commit of another connection; this one
    reads one snapshot: the pages left only ever go down, and the copy is that snapshot."""
    store = Store(tmp_path / "t.db")
    _fill(store, 3000)
    stop = threading.Event()
    committed = [0]

    def writer() -> None:  # commits all along, as a selling till does
        while not stop.is_set():
            store.write_sync(lambda tx: tx.append("w", {"i": -1}))
            committed[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        threading.Event().wait(0.005)  # a slow disk: commits land between the steps

    try:
        result = backups.backup(store.path, tmp_path / "b.db", progress, pages_per_step=32)
    finally:
        stop.set()
        thread.join()
    assert committed[0] > 0, "nothing was committed during the backup (the test tests nothing)"
    assert len(seen) > 3 and seen[-1][0] == seen[-1][1] == result.pages
    dones = [d for d, _ in seen]
    assert dones == sorted(dones), "the backup restarted"
    copy = Store(result.path)
    try:
        seqs = [e.seq for e in copy.journal(limit=10**6)]
        assert seqs == list(range(1, result.journal_seq + 1))
        assert copy._r.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        copy.close()
    assert not (tmp_path / "b.db.partial").exists()
    store.close()


def test_a_backup_stopped_or_past_its_deadline_leaves_no_file(tmp_path):
    store = Store(tmp_path / "t.db")
    _fill(store, 2000)
    with pytest.raises(backups.BackupError, match="cancelled"):
        backups.backup(store.path, tmp_path / "b.db", stop=lambda: True)
    with pytest.raises(backups.BackupError, match="within"):
        backups.backup(store.path, tmp_path / "b.db", deadline_s=1e-9)
    assert list(tmp_path.glob("b.db*")) == []
    with pytest.raises(backups.BackupError, match="exists"):
        (tmp_path / "there.db").write_bytes(b"")
        backups.backup(store.path, tmp_path / "there.db")
    store.close()


def test_rotation_keeps_the_newest_scheduled_backups_only(tmp_path):
    names = [backups.backup_name(dt.datetime(2026, 1, d, 3, 30)) for d in range(1, 11)]
    for name in [*names, "mine.db", "gatewayd.db"]:
        (tmp_path / name).write_bytes(b"")
    removed = backups.rotate(tmp_path, 3)
    assert sorted(p.name for p in removed) == names[:7]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[7:], "mine.db",
                                                                 "gatewayd.db"])


def test_next_run_is_today_or_tomorrow_at_the_store_time():
    tz = dt.timezone(dt.timedelta(hours=8))
    at = dt.time(3, 30)
    assert backups.next_run(dt.datetime(2026, 5, 1, 2, 0, tzinfo=tz), at) == \
        dt.datetime(2026, 5, 1, 3, 30, tzinfo=tz)
    assert backups.next_run(dt.datetime(2026, 5, 1, 3, 30, tzinfo=tz), at) == \
        dt.datetime(2026, 5, 2, 3, 30, tzinfo=tz)


def test_check_reports_progress_and_finds_damage(tmp_path):
    store = Store(tmp_path / "t.db")
    _fill(store, 500)
    store.close()
    seen: list[tuple[int, int]] = []
    assert backups.check(tmp_path / "t.db", lambda d, t: seen.append((d, t))) == []
    assert seen and seen[-1][0] == seen[-1][1] > 5
    # damage the journal's b-tree: overwrite a page in the middle of the file
    data = bytearray((tmp_path / "t.db").read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle:middle + 200] = b"\xff" * 200
    (tmp_path / "bad.db").write_bytes(bytes(data))
    assert backups.check(tmp_path / "bad.db")
    (tmp_path / "not.db").write_bytes(b"hello, not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        backups.check(tmp_path / "not.db")


def test_check_stops_at_its_deadline(tmp_path):
    store = Store(tmp_path / "t.db")
    _fill(store, 500)
    store.close()
    with pytest.raises(backups.BackupError, match="within"):
        backups.check(tmp_path / "t.db", deadline_s=1e-9)


async def test_the_daemon_backs_up_rotates_and_shows_it_in_health(daemon):
    app = daemon.app
    app.config.backup.keep = 2
    for _ in range(3):
        result = await app.maintenance.backup_now()
        await trio.sleep(1.01)  # backups are named to the second
    kept = sorted(app.config.backup_dir.iterdir())
    assert len(kept) == 2 and kept[-1] == result.path
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        health = await gw.call("system.health")
    assert health["backup"]["state"] == "idle"
    assert health["backup"]["last_path"] == str(result.path)
    assert health["backup"]["last_seq"] == result.journal_seq


async def test_system_backup_publishes_its_progress_to_subscribers(daemon, monkeypatch):
    """`system.backup` as a manager: a subscriber of topic `backup` sees progress in pages
    up to the whole store, then `backup.done` naming the file the call answered with."""
    from gatewayd import maintenance

    monkeypatch.setattr(maintenance, "PROGRESS_S", 0.0)  # every step: several events
    monkeypatch.setattr(backups, "PAGES_PER_STEP", 4)
    _fill(daemon.app.store, 50)
    async with connect(daemon.url, daemon.token("manager")) as gw, \
            connect(daemon.url, daemon.token("viewer")) as watcher:
        await watcher.subscribe(["backup"])
        done = await gw.call("system.backup")
        progress = []
        while True:
            ev = await watcher.next_event("backup")
            if ev["topic"] == "backup.done":
                break
            progress.append(ev["data"])
    assert len(progress) >= 2, progress
    assert all(p["path"] == done["path"] for p in progress)
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert progress[-1]["done"] == progress[-1]["total"] == done["pages"]
    assert ev["data"] == done
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        with pytest.raises(Exception) as exc:
            await gw.call("system.backup")  # a manager's
    assert getattr(exc.value, "code", None) in ("forbidden", "approval_required")
