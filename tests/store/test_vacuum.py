"""A store from before incremental vacuum is converted once (issue 18 item 3): by
`gatewayd vacuum` with progress, or at start-up when small; after it, retention's freed pages
go back to the file system."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.store import lock, retention, vacuum
from gatewayd.store.db import Store


@pytest.fixture(autouse=True)
def synthetic_kinds(monkeypatch):
    """Synthetic events ("w"): no journal schema check (test_journal_schema.py's)."""
    monkeypatch.delenv("GATEWAYD_CHECK_JOURNAL", raising=False)


def old_store(path: Path, events: int = 400) -> int:
    """A store as created before incremental vacuum, with some events; its last seq."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA auto_vacuum=NONE")
    conn.execute("CREATE TABLE before_incremental(x)")  # fixes the mode, as an old store's
    conn.close()
    store = Store(path)
    try:
        return fill(store, events)
    finally:
        store.close()


def fill(store: Store, events: int = 400) -> int:
    """`events` journal events of 3 KB each (pages to free later); the last seq."""
    blob = "x" * 3000
    for i in range(events):
        store.write_sync(lambda tx, i=i: tx.append("w", {"i": i, "pad": blob}))
    return store.journal_seq()


def journal_seq(path: Path) -> int:
    store = Store(path)
    try:
        return store.journal_seq()
    finally:
        store.close()


def mode(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA auto_vacuum").fetchone()[0]
    finally:
        conn.close()


def test_conversion_keeps_everything_and_lets_retention_give_pages_back(tmp_path):
    path = tmp_path / "gatewayd.db"
    seq = old_store(path)
    assert mode(path) == 0 and vacuum.needs_conversion(path)
    seen: list[tuple[int, int]] = []
    vacuum.convert(path, lambda d, t: seen.append((d, t)))
    assert mode(path) == vacuum.INCREMENTAL and not vacuum.needs_conversion(path)
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert not list(tmp_path.glob("*.vacuum"))
    store = Store(path)
    try:
        assert store.journal_seq() == seq
        store.write_sync(lambda tx: tx.execute("DELETE FROM journal WHERE seq < ?", (seq,)))
        size = path.stat().st_size
        assert retention.vacuum(store, store._r) > 0
        store._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL's pages, into the file
        assert path.stat().st_size < size // 2, "the freed pages did not leave the file"
    finally:
        store.close()


def test_one_vacuum_step_gives_back_the_pages_it_was_sized_for(tmp_path):
    """incremental_vacuum(N) frees a page per step of its statement; one execute from Python
    steps it once, which gave back one page a step (2,000 sales' retention took 80 s)."""
    path = tmp_path / "gatewayd.db"
    store = Store(path)
    try:
        fill(store)
        store.write_sync(lambda tx: tx.execute("DELETE FROM journal"))
        free = store._r.execute("PRAGMA freelist_count").fetchone()[0]
        first = retention.VACUUM_PAGES[1]
        assert free > first
        steps = iter([False, True])  # one step, then stop
        assert retention.vacuum(store, store._r, lambda: next(steps)) == first
        assert store._r.execute("PRAGMA freelist_count").fetchone()[0] == free - first
    finally:
        store.close()


def test_a_new_store_needs_no_conversion(tmp_path):
    Store(tmp_path / "new.db").close()
    assert not vacuum.needs_conversion(tmp_path / "new.db")
    assert not vacuum.needs_conversion(tmp_path / "missing.db")


def gatewayd(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gatewayd", "--config", str(cfg), *args],
                          capture_output=True, text=True, timeout=120)


def test_gatewayd_vacuum_refuses_a_store_in_use_then_converts_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "gatewayd.db"
    seq = old_store(path)
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{data}"\n')
    fd = lock.acquire(path)  # as a running daemon holds it
    try:
        busy = gatewayd(cfg, "vacuum")
    finally:
        os.close(fd)
    assert busy.returncode == 1 and "stop it first" in busy.stderr
    assert mode(path) == 0
    out = gatewayd(cfg, "vacuum")
    assert out.returncode == 0, out.stderr
    assert "vacuum: " in out.stderr and "incremental vacuum on" in out.stderr
    assert mode(path) == vacuum.INCREMENTAL
    assert journal_seq(path) == seq
    again = gatewayd(cfg, "vacuum")
    assert again.returncode == 0 and "nothing to do" in again.stderr


def test_gatewayd_vacuum_compacts_a_store_that_is_mostly_free(tmp_path):
    """After the first retention of a store of years most of the file is holes; the daemon's
    incremental vacuum moves them back a page at a time, `gatewayd vacuum` in one pass."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "gatewayd.db"
    store = Store(path)
    try:
        seq = fill(store)
        store.write_sync(lambda tx: tx.execute("DELETE FROM journal WHERE seq < ?", (seq,)))
    finally:
        store.close()
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{data}"\n')
    assert mode(path) == vacuum.INCREMENTAL and vacuum.free_share(path) > 0.5
    size = path.stat().st_size
    out = gatewayd(cfg, "vacuum")
    assert out.returncode == 0, out.stderr
    assert "compacted (" in out.stderr and "% was free)" in out.stderr
    assert path.stat().st_size < size // 2 and mode(path) == vacuum.INCREMENTAL
    assert journal_seq(path) == seq
    again = gatewayd(cfg, "vacuum")
    assert again.returncode == 0 and "is free: nothing to do" in again.stderr


def test_start_up_converts_a_small_store_only(tmp_path, monkeypatch):
    from gatewayd.cli.daemon import _convert_if_small

    path = tmp_path / "gatewayd.db"
    old_store(path, events=20)
    monkeypatch.setattr(vacuum, "SMALL_BYTES", 1)  # "big": left for `gatewayd vacuum`
    _convert_if_small(path)
    assert mode(path) == 0
    monkeypatch.setattr(vacuum, "SMALL_BYTES", 64 << 20)
    _convert_if_small(path)
    assert mode(path) == vacuum.INCREMENTAL
