"""A till restored from a backup replicates under a new epoch: nothing collides with what
head office holds, nothing already there counts twice, and head office names the events the
till lost."""

from __future__ import annotations

import trio

from clients.python.client import connect
from gatewayd import cli
from gatewayd.app import App
from gatewayd.replication import link
from tests.conftest import Daemon
from tests.hq.conftest import ITEMS, enroll_till, sell, till_config


async def test_restore_from_a_backup_makes_a_new_epoch_and_hq_names_the_lost_events(
        hq, tmp_path, nursery):
    cfg = till_config(tmp_path / "till")
    backup = tmp_path / "backup.db"
    with trio.CancelScope() as first_life:
        async with trio.open_nursery() as inner:
            app = App(cfg)
            await inner.start(app.run)
            d = Daemon(app)
            d.operator("1001", "cashier", "1234")
            await enroll_till(hq, d)
            async with connect(d.url, d.token("admin")) as gw:
                await gw.call("catalog.upsert", {"items": ITEMS})
                await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
                await sell(gw, 2)
                await hq.wait_acked("S001", "T01", app.store.last_seq)
                await trio.sleep(0.3)  # the acked cursor reaches the store
                app.store.backup(backup)
                kept = app.store.last_seq
                await sell(gw, 2)  # these the backup does not have
                lost_to = app.store.last_seq
                await hq.wait_acked("S001", "T01", lost_to)
            old_epoch = link.read(app.store).epoch
            first_life.cancel()
    app.close()
    rc = await trio.to_thread.run_sync(
        cli.main, ["--data-dir", str(cfg.data_dir), "restore", str(backup)])
    assert rc == 0
    app = App(cfg)
    settings = link.read(app.store)
    assert settings.epoch != old_epoch and settings.previous_epoch == old_epoch
    assert settings.previous_seq == kept and settings.base_seq <= kept
    await nursery.start(app.run)
    d = Daemon(app)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await sell(gw, 1)
    await hq.wait_acked("S001", "T01", app.store.last_seq)
    alerts = hq.app.store.read_sync(lambda tx: tx.all("SELECT kind, message FROM alerts"))
    assert [a["kind"] for a in alerts] == ["events_lost"]
    assert f"events {kept + 1}..{lost_to}" in alerts[0]["message"]
    epochs = hq.app.store.read_sync(lambda tx: tx.all(
        "SELECT epoch, base_seq, acked_seq FROM till_epochs ORDER BY first_contact"))
    assert [e["epoch"] for e in epochs] == [old_epoch, settings.epoch]
    sales = hq.app.store.read_sync(lambda tx: tx.one("SELECT COUNT(*) AS n FROM sales"))
    assert sales["n"] == 5  # 2 + 2 lost at the till but held at HQ + 1 after the restore
    app.close()
