"""Retention (issue 18 item 3): old sales, journal and print documents leave the live store
for monthly archives the till still reads for returns, reprints and sale.get; never anything
head office has not acknowledged, never a returnable sale; the store stays under its size."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from zoneinfo import ZoneInfo

import pytest

from bench.bigstore import make_store
from clients.python.client import connect
from gatewayd.app import App
from gatewayd.store import retention, vacuum
from gatewayd.store.db import Store
from tests.conftest import Daemon, make_config

TZ = ZoneInfo("Asia/Shanghai")
POLICY = retention.Policy(keep_days=60, journal_days=7, print_days=7, return_window_days=30,
                          max_store_bytes=1 << 40)


@pytest.fixture(scope="module")
def old_store(tmp_path_factory):
    """200 days of a quiet till: 10 sales a day, refunds among them."""
    path = tmp_path_factory.mktemp("old") / "gatewayd.db"
    make_store(path, 2000, per_day=10)
    return path


@pytest.fixture
def store_path(old_store, tmp_path):
    path = tmp_path / "gatewayd.db"
    shutil.copyfile(old_store, path)
    return path


def now_us() -> int:
    return time.time_ns() // 1000


def day_ago(days: int) -> str:
    return (dt.datetime.now(TZ).date() - dt.timedelta(days=days)).strftime("%Y%m%d")


def snapshot(store: Store) -> dict:
    return {
        "sales": {r[0]: r[1] for r in store.all("SELECT id, business_day FROM sales")},
        "seqs": [r[0] for r in store.all("SELECT seq FROM journal ORDER BY seq")],
        "jobs": {r[0] for r in store.all("SELECT id FROM print_jobs")},
        "totals": [tuple(r) for r in store.all("SELECT * FROM totals_items ORDER BY 1, 2, 3")],
    }


def archived(directory, table: str, column: str) -> set:
    import sqlite3

    out = set()
    for path in directory.glob("archive-*.db"):
        conn = sqlite3.connect(path)
        out |= {r[0] for r in conn.execute(f"SELECT {column} FROM {table}")}
        conn.close()
    return out


def archived_seqs(directory) -> list[int]:
    return [e["seq"] for e in retention.read_journal(directory, 0, 10**9)]


def test_without_head_office_old_rows_move_to_the_archive_and_nothing_is_lost(store_path,
                                                                             tmp_path):
    store = Store(store_path)
    directory = tmp_path / "archive"
    try:
        before = snapshot(store)
        size_before = store_path.stat().st_size
        now = now_us()  # one clock for both runs: the second must find nothing new to move
        out = retention.run(store, directory, POLICY, TZ, now, acked_seq=None)
        after = snapshot(store)
        cutoff = day_ago(60)
        gone = set(before["sales"]) - set(after["sales"])
        assert out.sales == len(gone) > 0
        assert all(before["sales"][s] < cutoff for s in gone)
        assert all(day is None or day >= cutoff or _has_young_refund(store, s)
                   for s, day in after["sales"].items())
        assert archived(directory, "sales", "id") >= gone  # every sale is somewhere
        # the journal: live and archived together are every seq once, the newest live
        seqs = sorted(after["seqs"] + archived_seqs(directory))
        assert seqs == before["seqs"] and after["seqs"][-1] == before["seqs"][-1]
        assert out.journal == len(before["seqs"]) - len(after["seqs"]) > 0
        assert after["jobs"] | archived(directory, "print_jobs", "id") == before["jobs"]
        assert after["totals"] == before["totals"]  # the reports still see every sale
        assert store.one("PRAGMA freelist_count")[0] == 0  # given back to the file system
        assert store_path.stat().st_size < size_before
        assert store.one("PRAGMA foreign_key_check") is None
        again = retention.run(store, directory, POLICY, TZ, now, acked_seq=None)
        assert (again.sales, again.journal, again.print_jobs) == (0, 0, 0)
    finally:
        store.close()


def _has_young_refund(store: Store, sale_id: str) -> bool:
    return store.one("SELECT 1 FROM sales WHERE refund_of = ? AND business_day >= ?",
                     (sale_id, day_ago(60))) is not None


def test_with_head_office_nothing_unacknowledged_leaves(store_path, tmp_path):
    store = Store(store_path)
    directory = tmp_path / "archive"
    try:
        before = snapshot(store)
        acked = before["seqs"][len(before["seqs"]) // 3]  # HQ is far behind
        acked_at = store.one("SELECT at FROM journal WHERE seq = ?", (acked,))[0]
        retention.run(store, directory, POLICY, TZ, now_us(), acked_seq=acked)
        assert max(archived_seqs(directory)) <= acked
        assert [s for s in before["seqs"] if s > acked] == \
            [s for s in snapshot(store)["seqs"] if s > acked]
        for (updated_at,) in _archived_sales_updated(directory):
            assert updated_at < acked_at
    finally:
        store.close()


def _archived_sales_updated(directory):
    import sqlite3

    for path in directory.glob("archive-*.db"):
        conn = sqlite3.connect(path)
        for (data,) in conn.execute("SELECT data FROM sales"):
            yield (retention._unpack(data)["sales"]["updated_at"],)
        conn.close()


def test_over_its_size_the_store_sheds_older_sales_but_never_returnable_ones(store_path,
                                                                            tmp_path):
    store = Store(store_path)
    try:
        small = retention.Policy(keep_days=400, journal_days=7, print_days=7,
                                 return_window_days=30, max_store_bytes=1 << 20)
        retention.run(store, tmp_path / "archive", small, TZ, now_us(), acked_seq=None)
        days = [r[0] for r in store.all("SELECT business_day FROM sales"
                                        " WHERE business_day IS NOT NULL")]
        # everything past the return window went (1 MB is less than the window holds);
        # everything inside it stayed
        assert min(days) >= day_ago(30)
        assert store.one("SELECT COUNT(*) FROM sales WHERE business_day >= ?",
                         (day_ago(29),))[0] >= 29 * 10
    finally:
        store.close()


@pytest.fixture
async def archived_till(store_path, tmp_path, nursery):
    store = Store(store_path)
    old = store.one("SELECT receipt_no FROM sales WHERE kind = 'sale' AND business_day < ?"
                    " AND NOT EXISTS (SELECT 1 FROM sales r WHERE r.refund_of = sales.id)"
                    " ORDER BY business_day LIMIT 1", (day_ago(100),))[0]
    # the generator's refunds refund no sale: make one of a day's refunds refund that
    # day's first sale, as it would have
    refunded, sale_id, refund_id = store.one(
        "SELECT o.receipt_no, o.id, r.id FROM sales o JOIN sales r"
        " ON r.business_day = o.business_day AND r.kind = 'refund'"
        " WHERE o.kind = 'sale' AND o.business_day < ? AND o.receipt_no != ?"
        " ORDER BY o.business_day, o.receipt_no LIMIT 1", (day_ago(100), old))
    store.write_sync(lambda tx: tx.execute("UPDATE sales SET refund_of = ? WHERE id = ?",
                                           (sale_id, refund_id)))
    store.close()
    app = App(make_config(tmp_path, store={"path": str(store_path)},
                          till={"timezone": str(TZ)},
                          retention={"keep_days": 60, "return_window_days": 30},
                          devices={"printer": {"kind": "printer", "driver": "escpos",
                                               "transport": "tcp:127.0.0.1:9"}}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("9001", "manager", "9999")
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("auth.login", {"operator": "9001", "pin": "9999"})
        wire = await gw.call("sale.get", {"receipt_no": old})
        refunded_wire = await gw.call("sale.refundable", {"receipt_no": refunded})
        out = await app.maintenance.retention_now()
        assert out.sales > 0
        assert app.store.one("SELECT 1 FROM sales WHERE receipt_no = ?", (old,)) is None
        gw.app, gw.old, gw.wire, gw.refunded, gw.refunded_wire = (app, old, wire, refunded,
                                                                 refunded_wire)
        yield gw
    app.close()


async def test_an_archived_sale_is_still_read_refunded_and_reprinted(archived_till):
    gw = archived_till
    assert await gw.call("sale.get", {"receipt_no": gw.old}) == gw.wire  # from the archive
    # a sale refunded before it was archived: its refunds came back with it
    assert await gw.call("sale.refundable", {"receipt_no": gw.refunded}) == gw.refunded_wire
    refund = await gw.call("sale.refund", {"receipt_no": gw.old})
    assert refund["state"] == "completed" and refund["total"] == gw.wire["total"]
    store = gw.app.store
    assert store.one("SELECT 1 FROM sales WHERE receipt_no = ?", (gw.old,)) is not None
    again = await gw.call("sale.refundable", {"receipt_no": gw.old})
    assert all(line["refundable"] == 0 for line in again["lines"])
    reprint = await gw.call("receipt.reprint", {"receipt_no": gw.refunded})
    assert reprint["receipt_no"] == gw.refunded and reprint["reprints"] >= 1
    health = await gw.call("system.health")
    assert health["retention"]["last_archived"]["sales"] > 0


async def test_a_running_retention_shows_its_progress(store_path, tmp_path, nursery,
                                                     monkeypatch):
    """A store of years takes minutes: system.health (and posctl info) say where it is."""
    from clients.cli.commands.info import _retention_line

    app = App(make_config(tmp_path, store={"path": str(store_path)},
                          till={"timezone": str(TZ)},
                          retention={"keep_days": 60, "return_window_days": 30}))
    await nursery.start(app.run)
    seen: list[dict] = []
    step = retention.vacuum_step

    def watched(pages: int, seconds: float) -> int:  # on the run's thread, after each step
        seen.append(app.maintenance.health()["retention"])
        return step(pages, seconds)

    monkeypatch.setattr(retention, "vacuum_step", watched)
    try:
        out = await app.maintenance.retention_now()
        assert len(seen) > 1 and all(h["state"] == "running" for h in seen)
        progress = [h["progress"] for h in seen]
        assert all(p["phase"] == "vacuum" for p in progress)
        assert progress[-1]["sales"] == out.sales > 0
        assert progress[-1]["journal"] == out.journal > 0
        freed = [p["freed_mb"] for p in progress]
        assert freed == sorted(freed) and freed[-1] > 0
        assert "running: vacuum; archived" in _retention_line(seen[-1])
        done = app.maintenance.health()["retention"]
        assert done["state"] == "idle" and "progress" not in done
        assert done["free_mb"] == 0  # the vacuum finished within its budget
        assert _retention_line(done).startswith(f"last run archived {out.sales} sales")
        assert done["compact"] is False and "gatewayd vacuum" not in _retention_line(done)
    finally:
        app.close()


async def test_the_vacuum_stops_at_its_budget_and_says_what_is_left(store_path, tmp_path,
                                                                    nursery, monkeypatch):
    """A store of years is mostly holes after its first run: the vacuum stops at its budget
    (the next run goes on) and the status says how much is left, and what gives it back."""
    from clients.cli.commands.info import _retention_line

    app = App(make_config(tmp_path, store={"path": str(store_path)},
                          till={"timezone": str(TZ)},
                          retention={"keep_days": 60, "return_window_days": 30}))
    await nursery.start(app.run)
    monkeypatch.setattr(retention, "VACUUM_BUDGET_S", 0.0)
    try:
        out = await app.maintenance.retention_now()
        assert out.sales > 0 and out.freed_bytes == 0 and out.free_bytes > 0
        assert out.free_bytes == app.store.one("PRAGMA freelist_count")[0] * 4096
        status = app.maintenance.health()["retention"]
        assert status["free_mb"] == round(out.free_bytes / 1e6, 1)
        assert status["compact"] is True  # the holes are most of the file
        assert out.free_bytes >= vacuum.COMPACT_SHARE * (out.free_bytes + out.live_bytes)
        assert "MB free (gatewayd vacuum gives it back at once)" in _retention_line(status)
        monkeypatch.setattr(retention, "VACUUM_BUDGET_S", 1800.0)
        again = await app.maintenance.retention_now()
        assert again.freed_bytes == out.free_bytes and again.free_bytes == 0
        status = app.maintenance.health()["retention"]
        assert status["compact"] is False and "gatewayd vacuum" not in _retention_line(status)
    finally:
        app.close()


def test_a_vacuum_step_is_sized_to_hold_the_writer_briefly():
    """A step that took long halves the next (a store of years is all holes: moving pages
    is slow), a quick one doubles it, within the bounds."""
    least, first, most = retention.VACUUM_PAGES
    step = retention.VACUUM_STEP_S
    assert retention.vacuum_step(first, 9.0) == first // 2
    assert retention.vacuum_step(least, 9.0) == least
    assert retention.vacuum_step(first, step / 10) == first * 2
    assert retention.vacuum_step(most, 0.0) == most
    assert retention.vacuum_step(first, step * 0.8) == first


def test_the_size_bound_is_in_decimal_megabytes_and_one_gigabyte_by_default():
    # "the live store stays under 1 GB": 10^9 bytes, not 1 GiB (a 1024 MiB bound let a
    # three-year store end 0.3 % over 10^9 bytes)
    from gatewayd.config import RetentionConfig

    assert RetentionConfig().max_store_bytes == 10**9
    assert RetentionConfig(max_store_mb=250).max_store_bytes == 250_000_000
