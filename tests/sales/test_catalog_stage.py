"""A big catalog import never blocks a sale (issue 18 item 5): it is staged beside the
catalog in short transactions and switched in by one; the till keeps selling meanwhile."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
import time

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.sales import catalog_stage
from gatewayd.sales.barcodes import ean13_check_digit
from gatewayd.sales.catalog import Catalog, import_csv, upsert
from gatewayd.store import stage
from gatewayd.store.db import Store
from protocol.codec import unpack
from tests.conftest import open_shift

IMPORT_ITEMS = int(os.environ.get("GATEWAYD_TEST_IMPORT_ITEMS", "20000"))  # make soak: 200k
SELL = [{"sku": "K1", "name": "可乐", "price": 350, "barcodes": ["6901234567892"]},
        {"sku": "K2", "name": "水", "price": 200, "plu": "42"}]


def gtin(body12: str) -> str:
    return body12 + str(ean13_check_digit(body12))


def write_csv(path, n: int, price: str = "1.00") -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "name", "barcodes", "unit", "price", "tax_rate", "plu"])
        for i in range(n):
            w.writerow([f"S{i:07d}", f"商品{i}", gtin(f"69{i:010d}"), "pc", price, "13",
                        1000 + i if i < 500 else ""])


def import_generated(store, tmp_path, n: int, price: str = "1.00") -> dict:
    """`write_csv`'s n items, imported by `import_csv`; its report."""
    path = tmp_path / f"c{price}.csv"
    write_csv(path, n, price)
    return import_csv(store, path)


def test_the_switch_keeps_the_catalogs_shape_and_keys(tmp_path):
    store = Store(tmp_path / "t.db")
    try:
        store.write_sync(lambda tx: upsert(tx, SELL))
        for price in ("1.00", "2.00"):  # twice: the second stages from a staged catalog
            report = import_generated(store, tmp_path, 3000, price)
            assert report["count"] == 3000
        assert (report["inserted"], report["updated"]) == (0, 3000)
        assert [e.data["count"] for e in store.journal() if e.kind == "catalog.upserted"] == \
            [2, 3000, 3000]
        cat = Catalog(store)
        assert cat.lookup(gtin("69" + "0" * 9 + "7")).item.price == 200
        assert cat.lookup("1007").item.sku == "S0000007"  # the PLU
        assert cat.get("K1").barcodes == ("6901234567892",)  # untouched by the import
        tables = {r[0] for r in store.all("SELECT name FROM sqlite_schema WHERE type='table'")}
        assert {"items", "barcodes"} <= tables and not tables & {
            "items_next", "barcodes_next", "items_old", "barcodes_old"}
        assert [tuple(r)[2:4] for r in store.all("PRAGMA foreign_key_list(barcodes)")] == \
            [("items", "sku")]
        with pytest.raises(Exception, match="FOREIGN KEY"):
            store.write_sync(lambda tx: tx.execute(
                "INSERT INTO barcodes(code, sku) VALUES ('x', 'nobody')"))
        indexes = {r[0] for r in store.all("SELECT name FROM sqlite_schema WHERE type='index'"
                                           " AND tbl_name IN ('items', 'barcodes')")}
        assert any(i.startswith("items_pinyin_g") for i in indexes)
        assert any(i.startswith("barcodes_sku_g") for i in indexes)
        assert store.one("PRAGMA integrity_check")[0] == "ok"
    finally:
        store.close()


def test_only_the_switch_and_the_drops_are_synced(tmp_path, monkeypatch):
    """The staged chunks commit without an fsync (a power cut takes back staged rows
    nothing stands on; the import did not say it was done), so a sale's commit does not
    queue behind one every chunk; the switch, which the import reports, and the drops of the
    replaced tables, which the next switch needs gone, are synced (and sync the log the
    chunks are in). The writer's connection is synced again after each."""
    store = Store(tmp_path / "t.db")
    seen: list[tuple[int, frozenset[str]]] = []  # synchronous, the tables after
    real = store.write_sync

    def write_sync(fn, **kw):
        def spy(tx):
            out = fn(tx)
            tables = frozenset(r[0] for r in tx.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall())
            seen.append((tx.one("PRAGMA synchronous")[0], tables))
            return out
        return real(spy, **kw)

    monkeypatch.setattr(store, "write_sync", write_sync)
    monkeypatch.setattr(catalog_stage.Staging, "pause", lambda self: None)
    try:
        import_generated(store, tmp_path, 1000)
        synced = [i for i, (mode, _) in enumerate(seen) if mode == 2]
        assert [mode for mode, _ in seen[:synced[0]]] == [1] * synced[0]
        assert len(seen[:synced[0]]) > 1000 // stage.SMALL_CHUNK  # prepare, chunks
        switch, drop1, drop2 = (seen[i][1] for i in synced)
        assert {"items_old", "barcodes_old"} <= switch
        assert "barcodes_old" not in drop1 and "items_old" in drop1 and "items_old" not in drop2
        assert store._w.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        store.close()


def test_from_another_process_each_staged_transaction_is_checkpointed(tmp_path,
                                                                      monkeypatch):
    """`gatewayd catalog import` (no writer of the daemon's in its process) copies its pages
    back into the database after each of its transactions, so the log never holds 1,000 of
    them for the commit of a sale to write back."""
    store = Store(tmp_path / "t.db")
    writes: list[str] = []
    real_write, real_checkpoint = store.write_sync, store.checkpoint
    monkeypatch.setattr(store, "write_sync", lambda fn, **kw: (writes.append("w"),
                                                               real_write(fn, **kw))[1])
    monkeypatch.setattr(store, "checkpoint", lambda: (writes.append("c"), real_checkpoint()))
    monkeypatch.setattr(stage, "YIELD_S", 0.0)
    try:
        import_generated(store, tmp_path, 1000)
        assert len(writes) > 2 * (1000 // stage.SMALL_CHUNK)
        assert writes == ["w", "c"] * (len(writes) // 2)
    finally:
        store.close()


def test_a_staged_chunk_works_out_no_pinyin_under_the_write_lock(tmp_path, monkeypatch):
    """The pinyin initials of a chunk's items (10-20 us an item: most of what a 200-item
    chunk held the lock for) are worked out before its transaction begins."""
    from gatewayd.sales.catalog import repository

    store = Store(tmp_path / "t.db")
    inside: list[bool] = []
    real = catalog_stage.pinyin_initials

    def spy(name: str) -> str:
        inside.append(store._w.in_transaction)
        return real(name)

    monkeypatch.setattr(catalog_stage, "pinyin_initials", spy)
    monkeypatch.setattr(repository, "pinyin_initials", spy)
    monkeypatch.setattr(catalog_stage.Staging, "pause", lambda self: None)
    try:
        import_generated(store, tmp_path, 1000)
        assert len(inside) >= 1000 and not any(inside)
        assert store.one("SELECT pinyin FROM items WHERE sku = 'S0000007'")[0] == real("商品7")
    finally:
        store.close()


def test_the_switch_does_not_dump_or_pack_the_items(tmp_path, monkeypatch):
    """The switch holds the store's write lock: the `catalog.items` events of an import are
    dumped and packed before it, so a sale waiting for the lock does not wait out 200,000
    dumps (on a 1.6M-sale store under load that took past the 5 s busy timeout: "database
    is locked"). The events are the same."""
    from gatewayd.sales.catalog.validation import ItemIn

    store = Store(tmp_path / "t.db")
    switching, dumped_then = [], []
    real_switch, real_dump = stage.Staging.switch, ItemIn.model_dump

    def switch(self, fn):
        switching.append(True)
        try:
            return real_switch(self, fn)
        finally:
            switching.pop()

    def dump(self, *args, **kw):
        if switching:
            dumped_then.append(self.sku)
        return real_dump(self, *args, **kw)

    monkeypatch.setattr(stage.Staging, "switch", switch)
    monkeypatch.setattr(ItemIn, "model_dump", dump)
    try:
        import_generated(store, tmp_path, 3000)
        assert dumped_then == []
        events = [e for e in store.journal(limit=10**6) if e.kind == "catalog.items"]
        items = [it for e in events for it in e.data["items"]]
        assert [it["sku"] for it in items] == [f"S{i:07d}" for i in range(3000)]
        assert items[7]["barcodes"] == [gtin("69" + "0" * 9 + "7")]
        stored = store.all("SELECT data FROM journal WHERE kind = 'catalog.items'")
        assert [unpack(r[0]) for r in stored] == [e.data for e in events]
    finally:
        store.close()


def test_a_catalog_write_during_staging_makes_the_import_start_over(tmp_path, monkeypatch):
    store = Store(tmp_path / "t.db")
    real = catalog_stage._stage
    calls = []

    def meddling(staging, items, at, progress):
        if not calls:  # another writer changes the catalog while the first copy is staged
            staging.store.write_sync(lambda tx: upsert(tx, [{"sku": "X", "name": "x",
                                                             "price": 1}]))
        calls.append(staging.version)
        return real(staging, items, at, progress)

    monkeypatch.setattr(catalog_stage, "_stage", meddling)
    try:
        import_generated(store, tmp_path, 100)
        assert len(calls) == 2 and calls[1] > calls[0]
        assert Catalog(store).get("X") is not None  # the other write survived the switch
        assert Catalog(store).count() == 101
    finally:
        store.close()


def test_staging_is_for_any_table_set_nothing_outside_refers_to(tmp_path):
    """The staging API on its own (gatewayd/store/stage.py), on master data other than the
    catalog: promotions are staged, replaced whole and switched in with their event; members,
    which sales, moves and coupons refer to, are refused before anything is written."""
    from gatewayd.store.stage import Changed, Staging

    store = Store(tmp_path / "t.db")
    try:
        store.write_sync(lambda tx: tx.execute(
            "INSERT INTO promotions(id, data, updated_at) VALUES ('old', x'80', 0)"))
        staging = Staging(store, [("promotions", "id")], "SELECT COUNT(*) FROM promotions")
        staging.prepare()  # no copy: the new set replaces the old one whole
        for part in (range(0, 3000), range(3000, 5000)):
            staging.chunk(lambda tx, part=part: tx.executemany(
                "INSERT INTO promotions_next(id, data, updated_at) VALUES (?, x'80', 0)",
                [(f"p{i}",) for i in part]))
        assert store.one("SELECT COUNT(*) FROM promotions")[0] == 1  # live: still the old
        seq = staging.switch(lambda tx: tx.append("promo.upserted", {
            "ids": ["p0"], "promotions": [], "operator": None}))
        staging.drop_old()
        assert store.one("SELECT COUNT(*) FROM promotions")[0] == 5000
        assert store.one("SELECT 1 FROM promotions WHERE id = 'old'") is None
        assert [e.kind for e in store.journal(after=seq - 1)] == ["promo.upserted"]
        tables = {r[0] for r in store.all("SELECT name FROM sqlite_schema")}
        assert not {"promotions_next", "promotions_old"} & tables
        again = Staging(store, [("promotions", "id")], "SELECT COUNT(*) FROM promotions")
        again.prepare()
        store.write_sync(lambda tx: tx.execute("DELETE FROM promotions WHERE id = 'p1'"))
        with pytest.raises(Changed):  # someone else wrote them meanwhile
            again.chunk(lambda tx: None)
        with pytest.raises(ValueError, match="refers to it"):
            Staging(store, [("members", "id")], "SELECT 0").prepare()
        assert store.one("PRAGMA integrity_check")[0] == "ok"
    finally:
        store.close()


async def test_a_big_import_while_selling_fails_no_call(daemon, tmp_path):
    """`gatewayd catalog import` of IMPORT_ITEMS items in another process while a cashier
    sells without pause: every call answers, and sales complete while the import runs."""
    daemon.operator("1001", "cashier", "1234")
    path = tmp_path / "big.csv"
    write_csv(path, IMPORT_ITEMS)
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    failed: list[str] = []
    sold_during = sold_while_staged = 0
    store = daemon.app.store
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": SELL})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        log = open(tmp_path / "import.log", "wb")  # closed below, after the process
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "gatewayd", "--config", str(cfg), "catalog", "import",
             str(path)], stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            try:
                await gw.call("sale.add", {"barcode": "6901234567892"})
                await gw.call("sale.add", {"plu": "42"})
                sale = await gw.call("sale.current")
                await gw.call("sale.tender", {"method": "cash", "amount": sale["due"]})
                if proc.poll() is None:
                    sold_during += 1
                if store.one("SELECT 1 FROM sqlite_schema WHERE name = 'items_next'"):
                    sold_while_staged += 1  # the import was half-way: not one long lock
            except GatewayError as exc:
                failed.append(f"{exc.code}: {exc.message}")
        await proc.wait()
        log.close()
        out = (tmp_path / "import.log").read_text(encoding="utf-8")
    assert proc.returncode == 0, out
    assert failed == []
    assert sold_during >= 3, "the import finished before any sale ran alongside it"
    assert sold_while_staged >= 1, "no sale completed while the import was being staged"
    assert store.one("SELECT COUNT(*) FROM items")[0] == IMPORT_ITEMS + len(SELL)
    done = [e for e in store.journal(limit=10**6) if e.kind == "catalog.upserted"]
    assert [e.data["count"] for e in done] == [len(SELL), IMPORT_ITEMS]


async def test_a_big_catalog_upsert_is_staged_and_sales_go_on(daemon):
    """`catalog.upsert` of 5,000 items (more than a chunk) through the protocol is staged
    like an import: sales complete while it is half-way, and it is still one catalog write
    (one event, all items)."""
    daemon.operator("1001", "cashier", "1234")
    items = [{"sku": f"U{i:05d}", "name": f"商品{i}", "price": 100 + i,
              "barcodes": [gtin(f"68{i:010d}")]} for i in range(5000)]
    store = daemon.app.store
    sold_while_staged = 0
    async with connect(daemon.url, daemon.token("admin")) as gw, \
            connect(daemon.url, daemon.token("admin")) as office:
        await gw.call("catalog.upsert", {"items": SELL})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        report = {}

        async def upsert() -> None:
            report.update(await office.call("catalog.upsert", {"items": items}))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(upsert)
            while not report:
                await gw.call("sale.add", {"barcode": "6901234567892"})
                sale = await gw.call("sale.current")
                await gw.call("sale.tender", {"method": "cash", "amount": sale["due"]})
                if not report and store.one(
                        "SELECT 1 FROM sqlite_schema WHERE name = 'items_next'"):
                    sold_while_staged += 1
    assert sold_while_staged >= 1, "no sale completed while the upsert was staged"
    assert report["count"] == 5000 and report["inserted"] == 5000
    assert store.one("SELECT COUNT(*) FROM items")[0] == 5000 + len(SELL)
    done = [e for e in store.journal(limit=10**6) if e.kind == "catalog.upserted"]
    assert [e.data["count"] for e in done] == [len(SELL), 5000]


async def test_in_the_daemons_process_a_write_waits_behind_one_small_chunk_at_most(tmp_path,
                                                                                   monkeypatch):
    """Staged in the daemon's own process (a master download, a big catalog.upsert): chunks
    of SMALL_CHUNK items, each begun when no write of the daemon's is asked for, so a write
    (a sale's) waits behind at most the one chunk that began just before it; and a till
    writing without pause still gets its import done (Store.make_way's patience)."""
    from gatewayd.sales.catalog.validation import ItemIn

    store = Store(tmp_path / "t.db")
    try:
        await store.write(lambda tx: upsert(tx, SELL))  # the daemon's writer runs
        items = [ItemIn(sku=f"S{i:06d}", name=f"商品{i}", price=100 + i,
                        barcodes=[gtin(f"69{i:010d}")]) for i in range(3000)]
        chunks: list[tuple[float, float]] = []  # each staged transaction's start and end
        sizes: list[int] = []
        real_write_rows = catalog_stage.write_rows

        def write_rows(tx, part, *args, **kw):
            sizes.append(len(part))
            return real_write_rows(tx, part, *args, **kw)

        real_write_sync = store.write_sync

        def write_sync(fn, **kw):
            if threading.current_thread().name == "gatewayd-writer":
                return real_write_sync(fn, **kw)
            began = []
            out = real_write_sync(lambda tx: (began.append(time.monotonic()), fn(tx))[1], **kw)
            chunks.append((began[0], time.monotonic()))
            return out

        monkeypatch.setattr(catalog_stage, "write_rows", write_rows)
        monkeypatch.setattr(store, "write_sync", write_sync)
        waits: list[tuple[float, float]] = []  # each write of the till's: asked, began
        done = trio.Event()

        async def till_writes() -> None:  # a till writing one transaction after another
            while not done.is_set():
                asked = time.monotonic()
                began, _ = await store.write(lambda tx: (tx.execute(
                    "UPDATE catalog_version SET n = n"), time.monotonic())[1])
                waits.append((asked, began))
                await trio.sleep(0.001)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(till_writes)
            report = await trio.to_thread.run_sync(
                catalog_stage.import_items, store, items, list(range(len(items))), "test")
            done.set()
        assert report["count"] == 3000 and Catalog(store).count() == 3000 + len(SELL)
        assert sizes and max(sizes) <= stage.SMALL_CHUNK and sum(sizes) == 3000
        assert len(waits) > len(chunks)  # the till wrote all along
        behind = [sum(1 for _, end in chunks if asked < end < began) for asked, began in waits]
        assert max(behind) <= 1, "a write waited behind more than one staged chunk"
    finally:
        store.close()
