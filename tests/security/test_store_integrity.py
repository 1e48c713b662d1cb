"""Attack class: a store that is broken, full, foreign or readable by others (issue 13 item 8).

A damaged store or one of an unknown schema keeps the daemon up in safe mode: sales refused,
/healthz `failing` with 503, an alert, the reason in `welcome` and on the checkout. A full
disk is `degraded` until a write goes through. `restore` takes only an intact gatewayd store
of a known schema, and another till's only with --force, and says what it restored. The
store, its backups and the data directory are the till user's alone.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import trio

from clients.python import GatewayError, connect
from gatewayd.app import App
from gatewayd.store.db import Store
from gatewayd.store.migrations import migrations
from tests.conftest import Daemon, make_config
from tests.security.wire import hello, raw

GATEWAYD = [sys.executable, "-m", "gatewayd"]


def alert(n: int) -> dict:
    """A real journal event with some bulk: a kiosk's call for help."""
    return {"id": f"a{n}", "kind": "help", "message": "x" * 180,
            "source": {"client": "kiosk", "kind": "kiosk", "operator": None}}


def filled_store(path: Path, receipts: int = 0, till: str = "S001-T01") -> None:
    """A real store with some pages of data (and `receipts` completed sales' numbers)."""
    store = Store(path)
    try:
        for n in range(200):
            store.write_sync(lambda tx, n=n: tx.append("alert.raised", alert(n)))
        for n in range(receipts):
            store.write_sync(lambda tx, n=n: tx.execute(
                "INSERT INTO sales(id, till, state, receipt_no, opened_at, updated_at,"
                " completed_at) VALUES (?, ?, 'completed', ?, 0, 0, ?)",
                (f"sale-{n}", till.split("-")[1], f"{till}-20260512-{n + 1:04d}", n)))
    finally:
        store.close()


def damage(path: Path) -> None:
    """Overwrite pages in the middle of the file, as a dying disk would."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(8192))


def http_status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def start(tmp_path, nursery, **extra) -> Daemon:
    app = App(make_config(tmp_path, **extra))
    await nursery.start(app.run)
    return Daemon(app)


@pytest.mark.parametrize("how", ["damaged", "newer_schema", "not_sqlite"])
async def test_a_broken_store_starts_in_safe_mode(tmp_path, nursery, how):
    path = tmp_path / "gatewayd.db"
    filled_store(path)
    if how == "damaged":
        damage(path)
    elif how == "newer_schema":
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {max(migrations()) + 1}")
    else:
        path.write_bytes(b"this is no database\n" * 100)
    before = path.read_bytes()
    daemon = await start(tmp_path, nursery)
    try:
        assert daemon.app.safe_mode
        status, body = await trio.to_thread.run_sync(http_status, daemon.http + "/healthz")
        assert status == 503 and b'"failing"' in body and b'"safe_mode": true' in body
        async with raw(daemon) as ws:
            welcome = await hello(ws, "gw_anything")
            assert welcome["safe_mode"] == daemon.app.safe_mode
        async with connect(daemon.url, "gw_anything", reconnect=False) as gw:
            health = await gw.call("system.health")
            assert health["status"] == "failing"
            for method, params in (("sale.add", {"sku": "1"}), ("auth.login",
                                   {"operator": "1001", "pin": "1234"}), ("catalog.lookup",
                                   {"query": "x"})):
                with pytest.raises(GatewayError) as err:
                    await gw.call(method, params)
                assert err.value.code == "conflict" and err.value.details["safe_mode"], method
        assert "\ngatewayd_safe_mode 1\n" in daemon.app.metrics.render()
    finally:
        daemon.app.close()
    assert path.read_bytes() == before  # safe mode never wrote the damaged file


async def test_safe_mode_raises_an_alert(tmp_path, nursery):
    path = tmp_path / "gatewayd.db"
    filled_store(path)
    damage(path)
    daemon = await start(tmp_path, nursery)
    try:  # a back office that connects after the start still gets it (replay since 0)
        async with connect(daemon.url, "gw_back_office", reconnect=False) as gw:
            await gw.subscribe(["alerts"], since=0)
            alert = (await gw.next_event("alerts", timeout=5))["data"]
        assert alert["kind"] == "store_damaged"
        assert "malformed" in alert["message"] or "integrity" in alert["message"]
    finally:
        daemon.app.close()


async def test_a_full_disk_is_degraded_until_a_write_succeeds(daemon):
    store = daemon.app.store
    token = daemon.token("admin")
    pages = store._w.execute("PRAGMA page_count").fetchone()[0]
    store._w.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    async with connect(daemon.url, token) as gw:
        with pytest.raises(GatewayError) as err:
            for n in range(50):
                await gw.call("alert.raise", kind="help", message="x" * 190 + str(n))
        assert err.value.code == "internal"
        health = await gw.call("system.health")
        assert health["status"] == "degraded"
        assert "full" in health["store"]["error"] and health["store"]["ok"] is False
        status, _ = await trio.to_thread.run_sync(http_status, daemon.http + "/healthz")
        assert status == 503
        store._w.execute("PRAGMA max_page_count = 1073741823")  # room again
        await gw.call("alert.raise", kind="help", message="and now?")
        assert (await gw.call("system.health"))["store"]["ok"] is True


def gatewayd(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEWAYD, "--config", str(cfg), *args], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def till(tmp_path) -> Path:
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[till]\nstore = "S001"\ntill = "T01"\n'
                   '[server]\nlisten = "127.0.0.1:0"\n')
    return cfg


@pytest.mark.parametrize("what", ["text", "other_sqlite", "newer_schema", "damaged"])
def test_restore_refuses_what_is_not_an_intact_gatewayd_store(tmp_path, till, what):
    source = tmp_path / "source.db"
    if what == "text":
        source.write_text("hello\n")
    elif what == "other_sqlite":
        with sqlite3.connect(source) as conn:
            conn.execute("CREATE TABLE photos(id, data)")
    else:
        filled_store(source)
        if what == "newer_schema":
            with sqlite3.connect(source) as conn:
                conn.execute(f"PRAGMA user_version = {max(migrations()) + 1}")
        else:
            damage(source)
    out = gatewayd(till, "restore", str(source))
    assert out.returncode == 1 and "nothing was restored" in out.stderr, out
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "data" / "gatewayd.db").exists()


def test_restore_refuses_another_tills_store_unless_forced(tmp_path, till):
    source = tmp_path / "other.db"
    filled_store(source, receipts=3, till="S002-T04")
    out = gatewayd(till, "restore", str(source))
    assert out.returncode == 1 and "S002/T04" in out.stderr and "--force" in out.stderr
    forced = gatewayd(till, "restore", "--force", str(source))
    assert forced.returncode == 0, forced.stderr
    assert "journal seq 200" in forced.stdout and "S002-T04-20260512-0003" in forced.stdout


def test_restore_says_what_it_restored(tmp_path, till):
    source = tmp_path / "mine.db"
    filled_store(source, receipts=2)
    out = gatewayd(till, "restore", str(source))
    assert out.returncode == 0, out.stderr
    assert "journal seq 200" in out.stdout and "last receipt S001-T01-20260512-0002" in out.stdout
    restored = tmp_path / "data" / "gatewayd.db"
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600


def test_store_backup_and_data_dir_are_private(tmp_path):
    old = os.umask(0o022)  # a permissive umask: the modes must not depend on it
    try:
        data = tmp_path / "data"
        store = Store(data / "gatewayd.db")
        store.write_sync(lambda tx: tx.append("alert.raised", alert(0)))
        store.backup(tmp_path / "backup.db")
        store.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in (data / "gatewayd.db", tmp_path / "backup.db",
                 *[p for p in data.iterdir() if p.name.endswith(("-wal", "-shm"))]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
