"""Master data from head office (issue 15 item 1), on both backends: versioned at HQ, checked
whole by the till's rules, pushed to connected tills and pulled on connect, applied in one
till transaction (`master.applied`), held until `effective_at` even offline, read-only on the
till once HQ sent it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.hq import master
from gatewayd.replication.master import MasterData
from protocol import repl
from protocol.codec import pack
from tests.conftest import open_shift
from tests.hq.conftest import ITEMS, enroll_till, start_hq, start_till

APPLE = {"sku": "700001", "name": "红富士苹果", "unit": "kg", "price": 1280,
         "barcodes": ["6901234567892"]}


async def wait_for(predicate, timeout: float = 15, what: str = "the condition"):
    with trio.fail_after(timeout):
        while True:
            got = predicate()
            if got:
                return got
            await trio.sleep(0.02)


def till_price(d, sku: str) -> int | None:
    row = d.app.store.one("SELECT price FROM items WHERE sku=?", (sku,))
    return row["price"] if row else None


def journal_kinds(d, kind: str) -> list[dict]:
    return [e.data for e in d.app.store.journal(0, 100000) if e.kind == kind]


async def test_a_change_at_hq_reaches_a_connected_till_and_hq_sees_it_applied(
        hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    await wait_for(lambda: d.app.replicator.state == "online")
    async with connect(hq.url, hq.token("admin")) as client:
        got = await client.call("hq.catalog.upsert", {"items": [*ITEMS, APPLE]})
        assert got == {"version": 1, "count": 3, "effective_at": None}
        await wait_for(lambda: till_price(d, "700001") == 1280)
        applied = journal_kinds(d, "master.applied")
        assert applied == [{"version": 1, "changes": 3, "scheduled": 0,
                            "kinds": {"item": 3}, "staged": False}]
        # the scanned barcode finds the item HQ sent, through the till's own lookup
        assert d.app.catalog.lookup("6901234567892").item.sku == "700001"
        with trio.fail_after(10):
            while True:
                tills = (await client.call("hq.tills"))["tills"]
                if tills[0]["master_version"] == 1:
                    break
                await trio.sleep(0.05)
        item = await client.call("hq.catalog.get", {"sku": "700001"})
        assert item["item"]["version"] == 1 and item["item"]["data"]["price"] == 1280
        with pytest.raises(GatewayError) as err:
            await client.call("hq.catalog.get", {"sku": "nope"})
        assert err.value.code == "not_found"


async def test_a_batch_with_an_invalid_item_is_refused_whole_before_it_is_versioned(hq):
    async with connect(hq.url, hq.token("manager")) as client:
        bad = [APPLE, {"sku": "700002", "name": "香蕉", "price": -5},
               {"sku": "700003", "name": "梨", "price": 100, "barcodes": ["6901234567890"]}]
        with pytest.raises(GatewayError) as err:
            await client.call("hq.catalog.upsert", {"items": bad})
        assert err.value.code == "invalid_params"
        errors = err.value.details["errors"]
        assert {(e["row"], e["field"]) for e in errors} == {(1, "price"), (2, "barcodes")}
        assert "check digit" in errors[-1]["error"]
        # nothing versioned, nothing held
        assert hq.app.store.read_sync(master.head) == 0
        assert hq.app.store.read_sync(lambda tx: master.current(tx, "item")) == []
        # a PLU another item holds at HQ is refused too (the till's rule, chain-wide)
        await client.call("hq.catalog.upsert", {"items": [{**APPLE, "plu": "1001"}]})
        with pytest.raises(GatewayError) as err:
            await client.call("hq.catalog.upsert", {"items": [
                {"sku": "700009", "name": "桃", "price": 900, "plu": "01001"}]})
        assert "already belongs to 700001" in err.value.details["errors"][0]["error"]
        assert hq.app.store.read_sync(master.head) == 1
        # the file import: the same per-row report, line numbers as in the file
        csv = "sku,name,price\n700010,葡萄,12.80\n700011,,3.00\n"
        with pytest.raises(GatewayError) as err:
            await client.call("hq.catalog.import", {"data": csv, "filename": "f.csv"})
        assert [(e["row"], e["field"]) for e in err.value.details["errors"]] == [(3, "name")]
        assert hq.app.store.read_sync(master.head) == 1


async def test_catalog_upsert_is_forbidden_on_an_enrolled_till_once_hq_sent_items(
        hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        # enrolled to an empty head office: nothing changes, local edits go on
        await gw.call("catalog.upsert", {"items": ITEMS})
        async with connect(hq.url, hq.token("admin")) as client:
            await client.call("hq.catalog.upsert", {"items": [APPLE]})
        await wait_for(lambda: till_price(d, "700001") == 1280)
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.upsert", {"items": ITEMS})
        assert err.value.code == "forbidden"
        assert "head office" in err.value.message
        assert err.value.details == {"owner": "hq", "kind": "item"}
        assert till_price(d, "1001") == 350  # what it had is still there
    d.app.master.local_items = True  # [hq] local_items = true
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": [{**ITEMS[0], "price": 360}]})
        assert till_price(d, "1001") == 360


async def test_promotions_operators_and_zone_prices_reach_the_till(hq, tmp_path, nursery):
    s1 = await start_till(nursery, tmp_path / "t1")
    s2 = await start_till(nursery, tmp_path / "t2", store="S002")
    for d in (s1, s2):
        await enroll_till(hq, d)
    async with connect(hq.url, hq.token("admin")) as client:
        await client.call("hq.catalog.upsert", {"items": [APPLE]})
        await client.call("hq.catalog.zone", {"zone": "south", "stores": ["S002"]})
        await client.call("hq.catalog.price", {"prices": [{"sku": "700001", "price": 1180}],
                                               "zone": "south"})
        with pytest.raises(GatewayError) as err:
            await client.call("hq.catalog.price", {"prices": [{"sku": "nope", "price": 1}],
                                                   "store": "S001"})
        assert err.value.details["errors"][0]["field"] == "sku"
        promo = {"id": "apples2", "kind": "qty_tier", "skus": ["700001"], "qty": 2,
                 "price": 2000}
        await client.call("hq.promo.upsert", {"promotions": [promo]})
        await client.call("hq.operator.upsert", {"operators": [
            {"id": "2001", "name": "王芳", "role": "cashier", "pin": "4321"}]})
        ops = (await client.call("hq.operator.list"))["operators"]
        assert ops == [{"id": "2001", "name": "王芳", "role": "cashier", "active": True,
                        "version": 4}]
        assert (await client.call("hq.promo.list"))["promotions"][0]["data"]["id"] == "apples2"
    for d in (s1, s2):
        await wait_for(lambda d=d: d.app.master.version() == 4)
    assert till_price(s1, "700001") == 1280  # S001 is in no zone
    assert till_price(s2, "700001") == 1180
    assert [p.id for p in s2.app.sales.stored_promotions] == ["apples2"]
    async with connect(s2.url, s2.token("admin")) as gw:
        await gw.call("auth.login", {"operator": "2001", "pin": "4321"})  # HQ's PIN hash
        await gw.call("auth.logout")
        await gw.call("auth.login", {"operator": "9001", "pin": "9999"})
        with pytest.raises(GatewayError) as err:
            await gw.call("promo.upsert", {"promotions": [promo]})
        assert err.value.code == "forbidden"


async def test_a_till_offline_through_a_scheduled_price_change_switches_it_in_on_time(
        tmp_path, hq_dsn, nursery):
    """The change is sent ahead; head office goes away; the till, alone, switches the price
    in at its time, and a restart before the time loses nothing."""
    async with trio.open_nursery() as hq_nursery:
        hq = await start_hq(hq_nursery, tmp_path / "hq", hq_dsn)
        d = await start_till(nursery, tmp_path / "till")
        await enroll_till(hq, d)
        async with connect(hq.url, hq.token("admin")) as client:
            await client.call("hq.catalog.upsert", {"items": [APPLE]})
            at = datetime.now(UTC) + timedelta(seconds=3)
            got = await client.call("hq.catalog.upsert", {"items": [{**APPLE, "price": 990}],
                                                          "effective_at": at})
            assert got["version"] == 2
        await wait_for(lambda: d.app.master.version() == 2)
        hq_nursery.cancel_scope.cancel()
    hq.app.close()
    assert till_price(d, "700001") == 1280  # not yet
    assert d.app.master.held() == 1
    assert journal_kinds(d, "master.applied")[-1]["scheduled"] == 1
    await wait_for(lambda: d.app.replicator.state != "online")
    await wait_for(lambda: till_price(d, "700001") == 990, timeout=10)
    assert d.app.replicator.state != "online"
    effective = journal_kinds(d, "master.effective")
    assert effective == [{"versions": [2], "changes": 1, "kinds": {"item": 1}}]
    assert d.app.master.held() == 0


async def test_held_changes_due_while_the_daemon_was_stopped_go_in_at_start(tmp_path, nursery):
    from gatewayd.app import App
    from tests.conftest import started
    from tests.hq.conftest import till_config

    cfg = till_config(tmp_path / "till")
    app = App(cfg)
    md = MasterData(app.store, lambda *a: None)
    from gatewayd.hq.master import Change  # the shape HQ sends: a version of changes

    change = Change("item", "700001", {**APPLE, "price": 990}, None,
                    int((time.time() + 0.5) * 1e6))
    first = {"pos": 0, "kind": "item", "key": "700001",
             "data": {"sku": "700001", "name": "红富士苹果", "price": 1280}}
    held = {"pos": 1, "kind": change.kind, "key": change.key, "data": change.data,
            "effective_at": change.effective_at}
    assert await md.receive(repl.Master(version=7, changes=[first, held])) == 7
    assert app.store.one("SELECT price FROM items WHERE sku='700001'")["price"] == 1280
    app.store.close()
    await trio.sleep(0.6)  # the time passes with no daemon
    app = App(cfg)
    stop = await started(nursery, app)
    with trio.fail_after(5):
        while app.store.one("SELECT price FROM items WHERE sku='700001'")["price"] != 990:
            await trio.sleep(0.02)
    await stop()


async def test_two_hq_processes_on_one_postgresql_both_push_to_their_tills(tmp_path, nursery):
    from tests.hq.conftest import PgDatabase, require_pg

    require_pg()
    db = PgDatabase()
    try:
        async with trio.open_nursery() as inner:
            a = await start_hq(inner, tmp_path / "a", db.dsn)
            b = await start_hq(inner, tmp_path / "b", db.dsn)
            t1 = await start_till(inner, tmp_path / "t1")
            t2 = await start_till(inner, tmp_path / "t2", till="T02")
            await enroll_till(a, t1)
            await enroll_till(b, t2)
            for d in (t1, t2):
                await wait_for(lambda d=d: d.app.replicator.state == "online")
            assert set(a.app.links) == {("S001", "T01")}
            assert set(b.app.links) == {("S001", "T02")}
            # a change made through process a reaches the till linked to b (b polls the
            # head), and b's reaches a's
            async with connect(a.url, a.token("admin")) as client:
                await client.call("hq.catalog.upsert", {"items": [APPLE]})
            for d in (t1, t2):
                await wait_for(lambda d=d: till_price(d, "700001") == 1280)
            async with connect(b.url, b.token("admin")) as client:
                await client.call("hq.catalog.upsert", {"items": [{**APPLE, "price": 1300}]})
            for d in (t1, t2):
                await wait_for(lambda d=d: till_price(d, "700001") == 1300)
                assert d.app.master.version() == 2
            inner.cancel_scope.cancel()
        a.app.close()
        b.app.close()
    finally:
        db.drop()


def test_hq_catalog_import_command_csv_and_xlsx_with_a_per_row_report(tmp_path, hq_dsn):
    """`gatewayd hq catalog import FILE`: a file with a bad row versions nothing and names
    the row; a good XLSX becomes one version, read as the till's CSV import reads it."""
    import subprocess
    import sys

    import openpyxl

    from gatewayd.hq.db import HqStore, open_backend

    data = tmp_path / "hq"
    db = ["--db", hq_dsn] if hq_dsn else []

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gatewayd", "hq", "--data", str(data),
                               *db, "catalog", "import", *args], capture_output=True,
                              text=True, timeout=60)

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,barcodes,price\n1,可乐,6901234567892,3.50\n2,雪碧,,abc\n",
                   encoding="utf-8")
    out = run(str(bad))
    assert out.returncode == 1
    assert "row 3: price" in out.stderr and "nothing was versioned" in out.stderr
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["sku", "name", "barcodes", "price", "tax_rate"])
    sheet.append(["1", "可乐", "6901234567892", 3.5, 13])
    sheet.append([2, "雪碧", None, "2.80", None])
    book.save(tmp_path / "chain.xlsx")
    out = run(str(tmp_path / "chain.xlsx"))
    assert out.returncode == 0, out.stderr
    assert "2 items as master version 1" in out.stdout
    store = HqStore(open_backend(data, hq_dsn))
    try:
        items = {e["key"]: e["data"] for e in store.read_sync(
            lambda tx: master.current(tx, "item"))}
    finally:
        store.close()
    assert items["1"]["price"] == 350 and items["1"]["tax_rate_bp"] == 1300
    assert items["1"]["barcodes"] == ["6901234567892"] and items["2"]["price"] == 280


COLA = {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "barcodes": ["6901234567892"]}


async def test_a_price_change_racing_a_sale_of_that_item_at_the_till(hq, tmp_path, nursery):
    """Sales of the item go on while head office changes its price: every sale carries one
    price for the item (old or new, never a mix), its total is its lines', and a scan after
    the till applied the change gets the new price (the scan cache follows the catalog)."""
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    async with connect(hq.url, hq.token("admin")) as client:
        await client.call("hq.catalog.upsert", {"items": [COLA]})
        await wait_for(lambda: till_price(d, "1001") == 350)
        sales: list[dict] = []
        changed = trio.Event()
        at_change: list[int] = []  # how many sales were done when the till had applied it

        async def sell_on(gw) -> None:
            while not changed.is_set() or len(sales) < at_change[0] + 3:
                for _ in range(3):
                    await gw.call("sale.add", {"barcode": "6901234567892"})
                sales.append(await gw.call("sale.tender", {"method": "cash", "amount": 5000}))
                if len(sales) > 200:
                    raise AssertionError("the price change never reached the till")

        async def change_price() -> None:
            await wait_for(lambda: len(sales) >= 2)  # then mid-sale, at any point of one
            await client.call("hq.catalog.upsert", {"items": [{**COLA, "price": 420}]})
            await wait_for(lambda: d.app.master.version() == 2)
            at_change.append(len(sales))
            changed.set()

        async with connect(d.url, d.token("admin")) as gw:
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            async with trio.open_nursery() as race:
                race.start_soon(sell_on, gw)
                race.start_soon(change_price)
            after = await gw.call("sale.add", {"barcode": "6901234567892"})
            assert after["lines"][-1]["unit_price"] == 420
            await gw.call("sale.tender", {"method": "cash", "amount": 5000})
    prices = set()
    for sale in sales:
        assert sale["state"] == "completed"
        unit = {ln["unit_price"] for ln in sale["lines"]}
        assert len(unit) == 1 and unit <= {350, 420}, sale["lines"]
        assert sale["subtotal"] == sum(ln["amount"] for ln in sale["lines"])
        prices |= unit
    assert prices == {350, 420}  # the race really happened on both sides
    # a sale begun after the till applied the change sells at the new price
    assert all(ln["unit_price"] == 420 for sale in sales[at_change[0] + 1:]
               for ln in sale["lines"])
    applied = [e.seq for e in d.app.store.journal(0, 100000) if e.kind == "master.applied"]
    assert len(applied) == 2


@pytest.mark.parametrize("parts", ["daemon", "process"])
async def test_a_master_download_cut_mid_way_applies_nothing_and_resumes(
        hq, tmp_path, nursery, monkeypatch, parts):
    """A first download in many parts, cut after some are staged: the till applies nothing
    and sells on what it had; when the link is back, head office goes on after what the till
    holds, and the whole version is switched in at once (staged). `parts`: where the parts
    are decoded and staged: the daemon (frames under DECODE_OFF_LOOP) or the download's
    process (bigger frames: here every frame is), whose process the cut ends."""
    from gatewayd.replication import download, replicator
    from gatewayd.replication.enroll import enroll
    from tests.hq.faultproxy import FaultProxy

    monkeypatch.setattr(master, "PART_CHANGES", 100)
    staged_here: list[int] = []  # parts the daemon decoded and staged itself
    real_stage = MasterData._stage

    async def stage(self, frame):
        staged_here.append(frame.version)
        await real_stage(self, frame)

    monkeypatch.setattr(MasterData, "_stage", stage)
    started: list[download.Download] = []
    real_start = download.Download.start.__func__

    async def start(cls, store, version):
        started.append(await real_start(cls, store, version))
        return started[-1]

    monkeypatch.setattr(download.Download, "start", classmethod(start))
    if parts == "process":
        monkeypatch.setattr(replicator, "DECODE_OFF_LOOP", 0)
    n = 3000
    items = [{"sku": f"9{i:06d}", "name": f"商品 {i}", "price": 100 + i % 500}
             for i in range(n)]
    async with connect(hq.url, hq.token("admin")) as client:
        # one version of n items: more rows than hq.catalog.upsert takes, so a file
        csv = "sku,name,price_fen\n" + "".join(
            f"{it['sku']},{it['name']},{it['price']}\n" for it in items)
        got = await client.call("hq.catalog.import", {"data": csv, "filename": "all.csv"})
        assert got["count"] == n
    proxy = FaultProxy(hq.app.port)
    await nursery.start(proxy.run)
    # a slow link: the download takes a while (a read of 64 KiB, 500 items or so, each
    # delayed; the download's process keeps up with a faster one)
    proxy.delay_s = 0.03 if parts == "daemon" else 0.3
    d = await start_till(nursery, tmp_path / "till")
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})  # what the till sells meanwhile
    asked: list[int] = []
    read_part = master.read_part

    def spy(tx, version, after_pos, store_scopes, limit=master.PART_CHANGES):
        asked.append(after_pos)
        return read_part(tx, version, after_pos, store_scopes, limit)

    monkeypatch.setattr(master, "read_part", spy)
    code = hq.add_till("S001", "T01")
    await enroll(d.app.config, f"ws://127.0.0.1:{proxy.port}", code, None)
    staged = d.app.master.staged
    await wait_for(lambda: (s := staged()) is not None and s.pos >= 500)
    proxy.partitioned = True
    proxy.cut_mid_frame()
    await wait_for(lambda: d.app.replicator.state != "online")
    held = staged()
    assert held is not None and held.version == 1 and held.pos < n - 1
    assert d.app.master.version() == 0 and journal_kinds(d, "master.applied") == []
    if parts == "process":  # the cut ended the download's process
        assert staged_here == [] and len(started) == 1
        await wait_for(lambda: started[0]._proc.returncode is not None)
    assert d.app.catalog.count() == 2  # nothing of the download is in the catalog
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        sale = await gw.call("sale.add", {"sku": "1001"})
        assert sale["lines"][0]["unit_price"] == 350
        await gw.call("sale.tender", {"method": "cash", "amount": 5000})
    asked.clear()
    proxy.delay_s = 0
    proxy.partitioned = False
    await wait_for(lambda: d.app.master.version() == 1, timeout=30)
    assert asked[0] >= held.pos  # head office went on after what the till held
    assert d.app.catalog.count() == n + 2
    assert journal_kinds(d, "master.applied") == [{
        "version": 1, "changes": n, "scheduled": 0, "kinds": {"item": n}, "staged": True}]
    # the switch journals the version, not its items (a rebuilt till gets them from head
    # office again): 3000 items' events in the switch would hold the writer
    assert [e["count"] for e in journal_kinds(d, "catalog.upserted")] == [len(ITEMS)]  # ours
    assert sum(len(e["items"]) for e in journal_kinds(d, "catalog.items")) == len(ITEMS)
    # the download's parts are let go of after the switch, in short transactions
    await wait_for(lambda: d.app.store.scalar("SELECT COUNT(*) FROM master_incoming") == 0)
    # read, checked and staged by a process of its own (one more after the cut), ended
    await wait_for(lambda: started[-1]._proc.returncode == 0)
    if parts == "process":
        assert staged_here == [] and len(started) == 2  # one more after the cut
    else:
        assert len(started) == 1  # for the whole version only, once its parts were in


async def test_a_download_with_a_change_the_till_refuses_applies_nothing(tmp_path):
    """A version in parts, decoded and checked by the download's process: an item the
    till's rules refuse, or a kind it does not know, stops the version (nothing applied,
    the error shown, the process ended); a frame that is not a valid `master` drops it as
    a bad frame."""
    from gatewayd.replication.download import Download, DownloadError
    from gatewayd.store.db import Store

    store = Store(tmp_path / "gatewayd.db")
    await store.write(lambda tx: None)  # the daemon's writer runs
    md = MasterData(store, lambda *a: None)
    items = [{"pos": i, "kind": "item", "key": f"9{i:06d}",
              "data": {"sku": f"9{i:06d}", "name": f"商品 {i}", "price": 100 + i}}
             for i in range(2500)]

    def part(changes, more, version=1):
        return repl.master_head(repl.encode(repl.Master(version=version, changes=changes,
                                                        more=more)))

    try:
        bad = [*items[:2000], {**items[2000], "data": {**items[2000]["data"], "price": -5}},
               *items[2001:]]
        for i in range(0, 2000, 500):
            assert await md.receive(part(bad[i:i + 500], True)) is None
        with pytest.raises(DownloadError):
            await md.receive(part(bad[2000:], False))
        assert md.error is not None and "price" in md.error
        assert md.version() == 0 and store.scalar("SELECT COUNT(*) FROM items") == 0
        assert md._download is None and md.staged() == repl.StagedMaster(version=1, pos=2499)
        unknown = [*items[:2400], {"pos": 2400, "kind": "voucher", "key": "v", "data": {}}]
        for i in range(0, 2401, 500):
            with pytest.raises(DownloadError) if i == 2000 else _nothing():
                await md.receive(part(unknown[i:i + 500], i + 500 < 2401, version=2))
        assert md.error is not None and "voucher" in md.error and md.version() == 0
        with pytest.raises(repl.ReplProtocolError):  # changes that are not maps
            await md.receive(repl.RawMaster(version=3, more=True, raw=pack(
                {"type": "master", "version": 3, "changes": [1, 2], "more": True})))
        assert md._download is None
        started = await Download.start(store, 4)
        await started.close()  # killed: nothing staged, the write lock not lent
        assert store._lent is None
    finally:
        store.close()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


async def test_a_version_held_whole_but_not_applied_is_finished_on_connect(
        hq, tmp_path, nursery):
    """A till that holds every change of a version staged (it stopped before applying it)
    says so in its hello; head office sends the last, empty part and the till applies what
    it holds. Then the till's own `gatewayd catalog import` is refused: HQ owns the items."""
    import subprocess
    import sys

    async with connect(hq.url, hq.token("admin")) as client:
        await client.call("hq.catalog.upsert", {"items": [APPLE, ITEMS[0]]})
        # a newer version with nothing for this till's store: version 1 is not the newest
        await client.call("hq.catalog.price", {"prices": [{"sku": "700001", "price": 1}],
                                               "store": "S009"})
    changes = hq.app.store.read_sync(
        lambda tx: master.read_part(tx, 1, -1, master.scopes(tx, "S001")))
    d = await start_till(nursery, tmp_path / "till")
    d.app.store.write_sync(lambda tx: tx.executemany(
        "INSERT INTO master_incoming(version, pos, change) VALUES (1, ?, ?)",
        [(c["pos"], pack(c)) for c in changes]))
    assert d.app.master.staged() == repl.StagedMaster(version=1, pos=1)
    await enroll_till(hq, d)
    await wait_for(lambda: d.app.master.version() == 2)
    assert till_price(d, "700001") == 1280 and till_price(d, "1001") == 350
    assert [a["version"] for a in journal_kinds(d, "master.applied")] == [1, 2]
    csv = tmp_path / "local.csv"
    csv.write_text("sku,name,price\n5001,本店商品,1.00\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "gatewayd", "--data-dir", str(tmp_path / "till"),
                          "catalog", "import", str(csv)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1 and "belong to head office" in out.stderr
    assert till_price(d, "5001") is None


async def test_the_documented_examples_of_the_master_methods_run_at_head_office(hq):
    """Each hq.catalog/promo/operator/tax/payment/config example of docs/protocol.md, sent as
    written (its times as msgpack timestamps), answers with the keys its example shows."""
    from protocol.methods import SPECS

    def wire(value):
        if isinstance(value, dict):
            return {k: (datetime.fromisoformat(v) if k == "effective_at" and v else wire(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [wire(v) for v in value]
        return value

    names = [n for n in SPECS if n.split(".")[:2] in (
        ["hq", "catalog"], ["hq", "promo"], ["hq", "operator"], ["hq", "tax"], ["hq", "payment"],
        ["hq", "config"])]
    assert len(names) == 15
    async with connect(hq.url, hq.token("admin")) as client:
        for name in names:
            example = SPECS[name].example
            got = await client.call(name, wire(example["params"]))
            assert set(example["result"]) <= set(got), (name, got)


async def test_a_catalog_write_during_a_download_makes_it_stage_again(tmp_path):
    """A local catalog write committed while the download's process staged the version (the
    catalog version moved): the daemon's switch refuses the stale copy, the process stages
    again from a fresh one, and the switch brings the version and keeps the local item."""
    from gatewayd.replication import download
    from gatewayd.sales.catalog.repository import upsert
    from gatewayd.store.db import Store

    store = Store(tmp_path / "gatewayd.db")
    await store.write(lambda tx: None)  # the daemon's writer runs
    md = MasterData(store, lambda *a: None)
    n = 2500
    items = [{"pos": i, "kind": "item", "key": f"9{i:06d}",
              "data": {"sku": f"9{i:06d}", "name": f"商品 {i}", "price": 100 + i}}
             for i in range(n)]
    readies: list[int] = []
    real_ask = download.Download.ask

    async def ask(self, msg, *answers):
        got = await real_ask(self, msg, *answers)
        if got[0] == "ready":
            readies.append(got[1]["catalog"])
            if len(readies) == 1:  # a cashier's local item, between staging and switch
                await store.write(lambda tx: upsert(tx, [
                    {"sku": "5001", "name": "本店商品", "price": 100}]))
        return got

    try:
        download.Download.ask = ask
        for i in range(0, n, 500):
            got = await md.receive(repl.master_head(repl.encode(repl.Master(
                version=1, changes=items[i:i + 500], more=i + 500 < n))))
        assert got == 1 and len(readies) == 2 and readies[1] > readies[0]
        assert store.scalar("SELECT COUNT(*) FROM items") == n + 1
        assert store.scalar("SELECT price FROM items WHERE sku='5001'") == 100
        assert store.scalar("SELECT COUNT(*) FROM master_incoming") == 0
    finally:
        download.Download.ask = real_ask
        store.close()
