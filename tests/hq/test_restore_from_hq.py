"""`gatewayd restore --from-hq`: a till whose disk died is rebuilt from head office's copy of
its journal (up to the acknowledged seq) under a new epoch; its reports, receipt numbering,
open sale, print queue, members, stock and shift come back as they were; it sells on and head
office counts nothing twice. Run on SQLite and PostgreSQL (the hq fixture)."""

from __future__ import annotations

import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd import cli
from gatewayd.app import App
from gatewayd.hq import restore as hq_restore
from gatewayd.replication import link
from gatewayd.replication import restore as till_restore
from gatewayd.replication.restore import staging_path
from gatewayd.sales.payments import PaymentResult
from gatewayd.store.db import Store
from protocol.codec import unpack
from tests.conftest import Daemon, make_config
from tests.hq.conftest import FAST_LINK, ITEMS, enroll_and_sell, enroll_till, sell
from tests.hq.faultproxy import FaultProxy

PHONE, CARD = "13812345678", "88001234"
MANAGER = {"operator": "9001", "pin": "9999"}


def restore_code(hq, store: str = "S001", till: str = "T01") -> str:
    return hq.app.store.write_sync(lambda tx: hq_restore.restore_code(tx, store, till))


async def run_cli(*argv: str) -> int:
    return await trio.to_thread.run_sync(cli.main, list(argv))


def config(path: Path):
    # a receipt printer that is never there: every receipt stays queued, unprinted
    return make_config(path, till={"store": "S001", "till": "T01"}, hq=FAST_LINK,
                       sale={"printer": "receipt", "payment_poll_s": 0.02})


@asynccontextmanager
async def running(cfg):
    async with trio.open_nursery() as nursery:
        app = App(cfg)
        await nursery.start(app.run)
        try:
            yield Daemon(app)
        finally:
            nursery.cancel_scope.cancel()
    app.close()


async def snapshot(gw, d: Daemon) -> dict:
    """What the till shows that a restore must give back."""
    x = await gw.call("report.x")
    return {
        "x": {k: v for k, v in x.items() if k not in ("at", "printed_at")},
        "z": await gw.call("report.z"),
        "sales": await gw.call("report.sales", {"by": "item"}),
        "current": await gw.call("sale.current"),
        "jobs": [{k: j[k] for k in ("job_id", "printer", "kind", "ref", "state")}
                 for j in (await gw.call("printer.jobs"))["jobs"]],
        "member": {k: v for k, v in (await gw.call("member.get", {"code": CARD})).items()
                   if k in ("id", "points", "balance", "tier", "name", "card")},
        "stock": {s: (await gw.call("stock.get", {"sku": s}))["on_hand"]
                  for s in ("1001", "1002")},
        "shift": await gw.call("shift.current"),
        "suspended": await gw.call("sale.suspended"),
        "list": await gw.call("sale.list"),
        "attempts": [dict(r) for r in d.app.store.all(
            "SELECT id, sale_id, n, kind, method, amount, original, state, provider_ref"
            " FROM payment_attempts ORDER BY id")],
        "tender_n": [tuple(r) for r in d.app.store.all(
            "SELECT id, tender_n FROM sales ORDER BY id")],
        "pending_refunds": [tuple(r) for r in d.app.store.all(
            "SELECT id, sale_id, state, plan FROM pending_refunds ORDER BY id")],
    }


async def sell_a_day(d: Daemon) -> None:
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 24_000, "cost": 180},
                                                  {"sku": "1002", "qty": 12_000, "cost": 90}],
                                        "approve": MANAGER})
        await gw.call("shift.open", {"float": 20000})
        await gw.call("member.register", {"phone": PHONE, "name": "王芳", "card": CARD})
        await gw.call("member.topup", {"code": PHONE, "amount": 20000})
        sold = await sell(gw, 2)
        await gw.call("sale.add", {"sku": "1002", "qty": 3000})
        line = await gw.call("sale.add", {"sku": "1001", "qty": 1000})
        await gw.call("sale.void_line", {"line_id": line["added"]})  # a voided line
        await gw.call("sale.discount", {"percent": 1000, "reason": "老顾客",
                                         "approve": MANAGER})
        await gw.call("sale.member", {"code": PHONE})
        await gw.call("sale.tender", {"method": "cash", "amount": 10000})
        await gw.call("sale.add", {"sku": "1001", "qty": 1000})
        await gw.call("sale.void", {"reason": "客人不要了", "approve": MANAGER})  # a void
        await gw.call("sale.add", {"sku": "1002", "qty": 2000})
        await gw.call("sale.suspend")  # parked
        await gw.call("sale.refund", {"receipt_no": sold[0]["receipt_no"], "approve": MANAGER})
        await gw.call("sale.add", {"sku": "1001", "qty": 1000})
        card = await gw.call("sale.tender", {"method": "card"})  # through the provider
        await gw.call("sale.refund", {"receipt_no": card["receipt_no"], "approve": MANAGER})
        await gw.call("sale.add", {"sku": "1002", "qty": 1000})
        card = await gw.call("sale.tender", {"method": "card"})
        provider = d.app.sales.provider
        real = provider.refund

        async def declined(key, original, amount):
            provider.refund = real
            return PaymentResult("declined", message="risk control")

        provider.refund = declined  # a refund left under way: its provider part declined
        with pytest.raises(GatewayError, match="payment_declined"):
            await gw.call("sale.refund", {"receipt_no": card["receipt_no"], "approve": MANAGER})
        await gw.call("sale.add", {"sku": "1001", "qty": 2000})  # the sale left open
        await gw.call("sale.add", {"sku": "1002", "qty": 1000})


async def test_a_lost_till_is_rebuilt_from_hq_and_sells_on_without_double_counting(
        hq, tmp_path):
    cfg = config(tmp_path / "till")
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        d.operator("9001", "manager", "9999")
        await enroll_till(hq, d)
        await sell_a_day(d)
        with trio.fail_after(20):  # the member's record reached head office's registry,
            while d.app.master.version() == 0:  # whose change came back down as master data
                await trio.sleep(0.05)
        async with connect(d.url, d.token("admin")) as gw:
            before = await snapshot(gw, d)
        acked = d.app.store.last_seq
        await hq.wait_acked("S001", "T01", acked)
        old_epoch = link.read(d.app.store).epoch
    assert before["current"]["state"] == "open" and len(before["current"]["lines"]) == 2
    states = sorted((a["kind"], a["state"]) for a in before["attempts"])
    assert states[:3] == [("charge", "approved")] * 2 + [("refund", "approved")]
    assert ("refund", "declined") in states
    assert sorted(r[2] for r in before["pending_refunds"]) == ["done", "done", "pending"]
    voids = before["x"]["voids"]
    assert before["suspended"]["sales"] and voids["count"] == 1 == voids["lines"]
    assert len(before["jobs"]) == 7 and {j["state"] for j in before["jobs"]} == {"queued"}

    shutil.rmtree(cfg.data_dir)  # the disk died
    code = restore_code(hq)
    rc = await run_cli("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base, code)
    assert rc == 0
    assert not staging_path(cfg.store_path).exists()

    async with running(cfg) as d:
        settings = link.read(d.app.store)
        assert settings.epoch != old_epoch and settings.previous_epoch == old_epoch
        assert settings.base_seq == settings.acked_seq == acked
        restored = d.app.store.journal(after=acked)
        assert [e.kind for e in restored] == ["store.restored"]
        missing = restored[0].data["missing"]  # secrets; and what head office sends again
        assert missing[0].startswith("refund ") and "was under way" in missing[0]
        assert [m.split(":")[0] for m in missing[1:]] == [
            "client tokens", "master data from head office (1 batches, up to version 1)",
            "members' phones and QR codes"]
        async with connect(d.url, d.token("admin")) as gw:
            after = await snapshot(gw, d)
            assert after == before  # reports, open sale, print queue, member, stock, shift
            with trio.fail_after(20):  # the registry's records come down with the master data
                while d.app.store.one("SELECT 1 FROM members WHERE phone=?", (PHONE,)) is None:
                    await trio.sleep(0.05)
            member = await gw.call("member.get", {"code": PHONE})
            assert member["id"] == after["member"]["id"] and member["balance"] == 20000
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})  # PINs came back
            assert (await gw.call("catalog.lookup", {"sku": "1002"}))["item"]["price"] == 199
            done = await gw.call("sale.tender", {"method": "cash", "amount": 10000})
            assert done["state"] == "completed" and done["id"] == before["current"]["id"]
            last = max(s["receipt_no"] for s in (await hq.app.store.read(
                lambda tx: tx.all("SELECT receipt_no FROM sales WHERE kind = 'sale'"))))
            assert done["receipt_no"] > last  # numbering goes on after the restored
            assert int(done["receipt_no"][-4:]) == int(last[-4:]) + 1
            await sell(gw, 1)
        await hq.wait_acked("S001", "T01", d.app.store.last_seq)
        till_sales = d.app.store.all(  # head office keeps a refund's money out negative
            "SELECT id, CASE kind WHEN 'refund' THEN -total ELSE total END AS total"
            " FROM sales WHERE state='completed' ORDER BY id")
    hq_sales = await hq.app.store.read(
        lambda tx: tx.all("SELECT sale_id, total FROM sales ORDER BY sale_id"))
    assert [(r["sale_id"], r["total"]) for r in hq_sales] == [
        (r["id"], r["total"]) for r in till_sales]  # each sale once, with its total
    epochs = await hq.app.store.read(lambda tx: tx.all(
        "SELECT epoch, base_seq, previous_epoch FROM till_epochs ORDER BY first_contact"))
    assert [(e["epoch"], e["base_seq"], e["previous_epoch"]) for e in epochs] == [
        (old_epoch, 0, None), (settings.epoch, acked, old_epoch)]
    alerts = await hq.app.store.read(lambda tx: tx.all("SELECT kind FROM alerts"))
    assert alerts == []  # head office had every event the till journaled


async def test_point_lots_are_rebuilt_by_the_member_rules_head_office_sent(hq, tmp_path):
    """The live till's point lots expire as head office's central member rules say (the file
    says never); the journal does not carry those rules, so the restore brings them and the
    rebuild lays the lots by them, not by the file's."""
    cfg = config(tmp_path / "till")
    assert cfg.members.points_expire_days == 0  # the file's: points never expire
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        await enroll_till(hq, d)
        async with connect(hq.url, hq.token("manager")) as client:
            await client.call("hq.members.set", {"settings": {"points_expire_days": 30}})
        with trio.fail_after(20):
            while d.app.central.members.points_expire_days != 30:
                await trio.sleep(0.05)
        async with connect(d.url, d.token("admin")) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await gw.call("member.register", {"phone": PHONE, "name": "王芳", "card": CARD})
            await sell(gw, 1)  # the shift
            for qty in (3000, 2000):
                await gw.call("sale.add", {"sku": "1001", "qty": qty})
                await gw.call("sale.member", {"code": PHONE})
                await gw.call("sale.tender", {"method": "cash", "amount": 10000})
        lots = "SELECT member_id, earned_at, expires_at, remaining, sale_id FROM" \
               " member_point_lots ORDER BY id"
        before = [tuple(r) for r in d.app.store.all(lots)]
        await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    assert [r[3] for r in before] == [10, 7]  # ¥10.50 and ¥7.00: a point a whole yuan
    assert all(r[2] == r[1] + 30 * 86_400_000_000 for r in before)

    shutil.rmtree(cfg.data_dir)
    rc = await run_cli("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base,
                       restore_code(hq))
    assert rc == 0
    store = Store(cfg.store_path)  # as restored, before it links to head office again
    try:
        assert [tuple(r) for r in store.all(lots)] == before
        held = store.all("SELECT kind, key, value FROM central_settings")
        assert [(r["kind"], r["key"], unpack(r["value"])) for r in held] == [
            ("members", "points_expire_days", 30)]
    finally:
        store.close()
    async with running(cfg) as d:  # and it sells by them until head office sends them again
        assert d.app.central.members.points_expire_days == 30


async def test_events_hq_never_got_are_reported_and_alerted(hq, tmp_path, capsys):
    cfg = config(tmp_path / "till")
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        await enroll_and_sell(hq, d)
    acked = (await hq.tills())[("S001", "T01")]["acked_seq"]
    # the till journaled more, said so in a hello, and died before pushing it
    await hq.app.store.write(lambda tx: tx.execute(
        "UPDATE till_epochs SET head_seq = ? WHERE store='S001' AND till='T01'", (acked + 7,)))
    shutil.rmtree(cfg.data_dir)
    rc = await run_cli("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base,
                       restore_code(hq))
    assert rc == 0
    out = capsys.readouterr().out
    assert f"events {acked + 1}..{acked + 7} are gone" in out
    alerts = await hq.app.store.read(lambda tx: tx.all("SELECT kind, message FROM alerts"))
    assert [a["kind"] for a in alerts] == ["events_lost"]
    assert f"events {acked + 1}..{acked + 7}" in alerts[0]["message"]
    assert "never reached head office" in alerts[0]["message"]

    # a store in the way is replaced only with --force, and kept aside
    argv = ("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base, restore_code(hq))
    assert await run_cli(*argv) == 1
    assert await run_cli(*argv, "--force") == 0
    assert "previous store kept as" in capsys.readouterr().err
    assert [p.name for p in cfg.data_dir.glob("gatewayd.db.before-restore-*")]


async def test_bad_codes_a_revoked_till_and_a_store_in_the_way_are_refused(
        hq, tmp_path, capsys):
    cfg = config(tmp_path / "till")
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        await enroll_and_sell(hq, d)
    argv = ("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base)
    code = restore_code(hq)

    # the store is still there: refused, the store untouched, the code still good
    before = cfg.store_path.read_bytes()
    assert await run_cli(*argv, code) == 1
    assert "exists" in capsys.readouterr().err and cfg.store_path.read_bytes() == before

    shutil.rmtree(cfg.data_dir)
    assert await run_cli(*argv, "AAAA-BBBB-CCCC") == 1  # a wrong code
    assert "unknown restore code" in capsys.readouterr().err
    enroll_code = hq.add_till("S001", "T09")  # an enrollment code is not a restore code
    assert await run_cli(*argv, enroll_code) == 1
    assert "unknown restore code" in capsys.readouterr().err
    other = tmp_path / "t02.toml"  # a code made for another till
    other.write_text('[till]\nstore = "S001"\ntill = "T02"\n')
    assert await run_cli("--config", str(other), "--data-dir", str(tmp_path / "t02"),
                         "restore", "--from-hq", hq.base, code) == 1
    assert "this code restores till S001/T01" in capsys.readouterr().err
    assert not cfg.store_path.exists()

    hq.app.store.write_sync(lambda tx: hq_restore.ingest.revoke_till(tx, "S001", "T01"))
    assert await run_cli(*argv, code) == 1  # revoked since the code was made
    assert "revoked" in capsys.readouterr().err
    with pytest.raises(LookupError, match="revoked"):
        restore_code(hq)
    assert not cfg.store_path.exists() and not staging_path(cfg.store_path).exists()


async def test_a_download_cut_half_way_leaves_no_store_and_the_rerun_resumes(
        hq, hq_dsn, tmp_path, nursery, capsys, monkeypatch):
    cfg = config(tmp_path / "till")
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        await enroll_and_sell(hq, d, 20)
        async with connect(d.url, d.token("admin")) as gw:
            before = await gw.call("report.z")
        acked = d.app.store.last_seq
        await hq.wait_acked("S001", "T01", acked)
    shutil.rmtree(cfg.data_dir)
    proxy = FaultProxy(hq.app.port)
    await nursery.start(proxy.run)
    db = ["--db", hq_dsn] if hq_dsn else []  # the code from the command, as in the docs
    assert await run_cli("hq", "--data", str(hq.app.data_dir), *db, "till", "restore-code",
                         "S001", "T01") == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    argv = ("--data-dir", str(cfg.data_dir), "restore", "--from-hq",
            f"ws://127.0.0.1:{proxy.port}", code)
    monkeypatch.setattr(till_restore, "PAGE_EVENTS", 25)
    real_page = hq_restore.page
    served: list[int] = []

    def page_then_cut(tx, store, till, segs, fetch):
        served.append(fetch.after)
        if fetch.after == 50 and not proxy.faults:  # the third page is cut in the middle,
            proxy.partitioned = True                # and the link stays down
            proxy.cut_mid_frame()
        return real_page(tx, store, till, segs, fetch)

    monkeypatch.setattr(hq_restore, "page", page_then_cut)
    assert await run_cli(*argv) == 1
    err = capsys.readouterr().err
    assert "cannot reach head office" in err and "resumes from there" in err, err
    assert not cfg.store_path.exists()  # nothing half-restored under the store's name
    assert staging_path(cfg.store_path).exists()

    proxy.heal()
    served.clear()
    assert await run_cli(*argv) == 0  # the same code: it is used up only by the first hello
    assert served[0] == 50  # resumed after the two whole pages
    async with running(cfg) as d:
        async with connect(d.url, d.token("admin")) as gw:
            assert await gw.call("report.z") == before
        assert link.read(d.app.store).acked_seq == acked


async def test_a_till_restored_twice_gets_its_whole_journal_across_both_epochs(hq, tmp_path):
    cfg = config(tmp_path / "till")
    argv = ("--data-dir", str(cfg.data_dir), "restore", "--from-hq", hq.base)
    async with running(cfg) as d:
        d.operator("1001", "cashier", "1234")
        await enroll_and_sell(hq, d, 2)
    shutil.rmtree(cfg.data_dir)
    assert await run_cli(*argv, restore_code(hq)) == 0
    async with running(cfg) as d:  # the second life, under the new epoch
        async with connect(d.url, d.token("admin")) as gw:
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await sell(gw, 2)
        await hq.wait_acked("S001", "T01", d.app.store.last_seq)
        journal = [(e.seq, e.at, e.kind, e.data) for e in d.app.store.journal(limit=10**6)]
        second_epoch = link.read(d.app.store).epoch
    shutil.rmtree(cfg.data_dir)
    assert await run_cli(*argv, restore_code(hq)) == 0
    async with running(cfg) as d:
        settings = link.read(d.app.store)
        assert settings.previous_epoch == second_epoch and settings.acked_seq == len(journal)
        again = [(e.seq, e.at, e.kind, e.data) for e in d.app.store.journal(limit=10**6)]
        assert again[:-1] == journal  # verbatim, from both epochs; then store.restored
        async with connect(d.url, d.token("admin")) as gw:
            listed = await gw.call("sale.list")
        assert [s["receipt_no"][-4:] for s in listed["sales"]] == ["0004", "0003", "0002",
                                                                   "0001"]


def test_events_from_before_schema_7_are_rebuilt_as_far_as_they_go_and_the_rest_reported(
        tmp_path):
    """A journal of an older till: what its events lack is named, never dropped silently;
    and a rebuild run again (after one that failed) starts from the journal alone."""
    from gatewayd.replication.restore import _derive
    from gatewayd.store.db import Store
    from protocol.codec import pack

    cfg = make_config(tmp_path)
    at = 1_767_225_600_000_000
    old = [  # (kind, data) as gatewayd journaled them before schema 7
        ("operator.added", {"id": "1001", "name": "李娜", "role": "cashier"}),
        ("catalog.upserted", {"count": 1, "inserted": 1, "updated": 0, "skus": ["1001"],
                              "source": "api"}),
        ("sale.opened", {"sale_id": "s1", "till": "T01", "operator": "1001"}),
        ("sale.line_added", {"sale_id": "s1", "line_id": "l1", "sku": "1001", "qty": 1000,
                             "unit_price": None, "source": "sku", "barcode": None,
                             "operator": "1001", "version": 1}),
        ("sale.tendered", {"sale_id": "s1", "tender_id": "t1", "method": "cash",
                           "amount": 500, "ref": None, "attempt_id": None,
                           "operator": "1001", "version": 2}),
        ("sale.completed", {
            "sale_id": "s1", "receipt_no": "S001-T01-20260101-0007", "business_day": "20260101",
            "shift_id": None, "operator": "1001", "total": 350, "subtotal": 350, "discount": 0,
            "tax": [{"rate_bp": 1300, "net": 350, "tax": 40, "base": 310}], "rounding": 0,
            "paid": 500, "change": 150, "tenders": [{"method": "cash", "amount": 500}],
            "lines": [{"line_id": "l1", "sku": "1001", "qty": 1000, "net": 350}]}),
        ("print.queued", {"job_id": "j1", "printer": "printer", "kind": "receipt",
                          "ref": "S001-T01-20260101-0007"}),
        ("token.added", {"id": "k1", "name": "pos-1", "role": "cashier"}),
        ("future.kind", {"x": 1}),
    ]
    store = Store(cfg.store_path)
    store.write_sync(lambda tx: tx.executemany(
        "INSERT INTO journal(seq, at, kind, data) VALUES (?,?,?,?)",
        [(i + 1, at + i, kind, pack(data)) for i, (kind, data) in enumerate(old)]))
    store.close()
    for _ in range(2):  # the second run clears what the first derived
        report = _derive(cfg.store_path, cfg)
    store = Store(cfg.store_path)
    try:
        assert store.one("SELECT COUNT(*) FROM operators")[0] == 0
        sale = store.one("SELECT state, receipt_no, total FROM sales WHERE id='s1'")
        assert tuple(sale) == ("completed", "S001-T01-20260101-0007", 350)
        line = store.one("SELECT sku, name, net, gross FROM sale_lines WHERE id='l1'")
        assert tuple(line) == ("1001", "1001", 350, 350)
        assert store.one("SELECT last FROM receipt_counters WHERE business_day='20260101'"
                         )[0] == 7  # the next receipt of that day is 0008
        assert store.one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    finally:
        store.close()
    said = " | ".join(report.missing)
    for what in ("the catalog: 1 catalog writes from before journal schema 7",
                 "client tokens: 1 (pos-1)", "operators 1001: added before journal schema 7",
                 "1 completed sales from before journal schema 7",
                 "1 print jobs queued before journal schema 7",
                 "1 events of kind future.kind"):
        assert what in said, (what, said)
    assert "not completed" not in said  # the sale's lines came from its completion
