"""The transaction-level core: moves, moving-average cost, low-stock crossings, documents,
and the journal replay, against a real store (no daemon)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.inventory.service import Inventory, InventoryConfig
from gatewayd.inventory.stock import (
    Move,
    NegativeStock,
    StockError,
    apply_moves,
    receive_cost,
    replay,
)
from gatewayd.sales import catalog
from gatewayd.store.db import Store

ITEMS = [
    {"sku": "A", "name": "可乐", "price": 350, "cost": 200},
    {"sku": "B", "name": "苹果", "price": 1280, "unit": "kg"},
    {"sku": "C", "name": "大米", "price": 4990, "cost": 3000},
]


@pytest.fixture
def inv(tmp_path):
    store = Store(tmp_path / "t.db")
    store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
    yield Inventory(store, "S001", "T01", InventoryConfig())
    store.close()


def on_hand(inv: Inventory, sku: str) -> int:
    return inv.stock_row(sku)["on_hand"]


def stock_table(inv: Inventory) -> dict[str, int]:
    return {r["sku"]: r["on_hand"] for r in inv.store.all("SELECT sku, on_hand FROM stock")}


def test_receive_cost_is_the_moving_average():
    assert receive_cost(0, None, 10_000, 250) == 250
    assert receive_cost(10_000, 200, 10_000, 300) == 250
    assert receive_cost(3000, 100, 1000, 200) == 125  # (3*100 + 1*200) / 4
    assert receive_cost(-2000, 100, 5000, 300) == 300  # nothing valued on hand: new cost
    assert receive_cost(1000, 100, 2000, 101) == 101  # 100.67 rounds half up


def test_receive_numbers_documents_and_updates_average(inv):
    r1, _ = inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000,
                                                               "cost": 200}]))
    r2, _ = inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000,
                                                               "cost": 300}], supplier="X"))
    assert r1["no"] == "S001-T01-RCV-000001" and r2["no"] == "S001-T01-RCV-000002"
    got = inv.stock_row("A")
    assert got["on_hand"] == 20_000 and got["avg_cost"] == 250 and got["value"] == 5000
    assert got["cost_source"] == "average"
    assert inv.stock_row("C")["cost_source"] == "catalog"  # never received
    doc = inv.doc(r2["no"])
    assert doc["kind"] == "receive" and doc["supplier"] == "X" and doc["state"] == "posted"


def test_unknown_sku_changes_nothing(inv):
    seq = inv.store.journal_seq()
    with pytest.raises(StockError) as err:
        inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 1000, "cost": 1},
                                                         {"sku": "ZZ", "qty": 1000,
                                                          "cost": 1}]))
    assert err.value.code == "invalid_params" and err.value.details["errors"][0]["line"] == 1
    assert inv.store.journal_seq() == seq and stock_table(inv) == {}
    assert inv.store.one("SELECT COUNT(*) FROM stock_docs")[0] == 0


def test_sale_moves_value_at_average_and_negative_allowed(inv):
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 2000, "cost": 200}]))
    res, events = inv.store.write_sync(lambda tx: apply_moves(
        tx, "sale", [Move("A", -3000)], event="stock.sold", data={"kind": "sale", "sale_id": "s1"},
        ref="s1",
        sale=True))
    assert res.moves == [{"sku": "A", "qty": -3000, "on_hand": -1000}]
    assert events[0].kind == "stock.sold"
    # the journal's move carries its cost too (a till rebuilt from head office needs it)
    assert events[0].data["moves"] == [{**res.moves[0], "unit_cost": 200, "value": -600,
                                        "avg_cost": 200, "line_id": None}]
    move = inv.moves("A", 1)[0]
    assert move["kind"] == "sale" and move["value"] == -600 and move["unit_cost"] == 200
    assert inv.stock_row("A")["last_sale_at"] is not None


def test_negative_refused_when_configured(inv):
    inv.config = InventoryConfig(allow_negative=False)
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 2000, "cost": 200}]))
    before = inv.store.journal_seq()
    with pytest.raises(NegativeStock) as err:
        inv.store.write_sync(lambda tx: inv.writeoff(tx, [{"sku": "A", "qty": 1000},
                                                          {"sku": "A", "qty": 1500}], "坏"))
    assert err.value.code == "conflict" and err.value.details["sku"] == "A"
    assert inv.store.journal_seq() == before and on_hand(inv, "A") == 2000


def test_low_stock_crossing_once_and_rearm(inv):
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000, "cost": 1}]))
    inv.store.write_sync(lambda tx: inv.threshold(tx, "A", 5000))

    def sell(qty: int):
        res, _ = inv.store.write_sync(lambda tx: apply_moves(
            tx, "sale", [Move("A", -qty)], event="stock.sold",
            data={"kind": "sale", "sale_id": "s"}, ref="s"))
        return res.alerts

    assert sell(4000) == []  # 6000 left
    assert sell(1000) == [{"kind": "low_stock", "sku": "A", "on_hand": 5000,
                           "threshold": 5000}]
    assert sell(1000) == [] and sell(1000) == []  # still low: no second alert
    assert [r["sku"] for r in inv.low()] == ["A"]
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000, "cost": 1}]))
    assert inv.low() == []  # 13000 > 5000: re-armed
    assert sell(8000)[0]["on_hand"] == 5000  # crossed again: raised again
    assert inv.store.one("SELECT COUNT(*) FROM journal WHERE kind='stock.low'")[0] == 2


def test_threshold_set_below_current_raises_now(inv):
    res, _ = inv.store.write_sync(lambda tx: inv.threshold(tx, "B", 1000))
    assert res["alerts"] == [{"kind": "low_stock", "sku": "B", "on_hand": 0, "threshold": 1000}]
    res, _ = inv.store.write_sync(lambda tx: inv.threshold(tx, "B", 2000))
    assert res["alerts"] == []  # already low: no second alert


def test_count_sheet_posts_variances_once(inv):
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000, "cost": 200},
                                                     {"sku": "B", "qty": 5000, "cost": 800}]))
    sheet, _ = inv.store.write_sync(lambda tx: inv.count(tx, None, [{"sku": "A",
                                                                     "counted": 9000}]))
    no = sheet["no"]
    assert no == "S001-T01-CNT-000001" and sheet["state"] == "draft"
    assert on_hand(inv, "A") == 10_000  # a draft moves nothing
    inv.store.write_sync(lambda tx: inv.count(tx, no, [{"sku": "B", "counted": 5250},
                                                       {"sku": "A", "counted": 9500}]))
    posted, _ = inv.store.write_sync(lambda tx: inv.count(tx, no, [], post=True,
                                                          approver="9001"))
    assert posted["state"] == "posted"
    assert {ln["sku"]: ln["variance"] for ln in posted["lines"]} == {"A": -500, "B": 250}
    assert on_hand(inv, "A") == 9500 and on_hand(inv, "B") == 5250
    seq = inv.store.journal_seq()
    for again in ([], [{"sku": "A", "counted": 1}]):
        with pytest.raises(StockError) as err:
            inv.store.write_sync(lambda tx, again=again: inv.count(tx, no, again, post=True))
        assert err.value.code == "conflict"
    assert inv.store.journal_seq() == seq and on_hand(inv, "A") == 9500
    assert inv.doc(no)["approver"] == "9001"


def test_transfers_and_writeoff(inv):
    inv.store.write_sync(lambda tx: inv.receive(tx, [{"sku": "C", "qty": 10_000, "cost": 3000}]))
    out, _ = inv.store.write_sync(lambda tx: inv.transfer(tx, "out", "S002",
                                                          [{"sku": "C", "qty": 4000}]))
    assert out["no"].endswith("-TRO-000001") and on_hand(inv, "C") == 6000
    inn, _ = inv.store.write_sync(lambda tx: inv.transfer(tx, "in", "S003",
                                                          [{"sku": "C", "qty": 6000,
                                                            "cost": 4000}]))
    assert inn["no"].endswith("-TRI-000001") and inv.stock_row("C")["avg_cost"] == 3500
    wo, _ = inv.store.write_sync(lambda tx: inv.writeoff(tx, [{"sku": "C", "qty": 1000}], "过期"))
    assert wo["no"].endswith("-WOF-000001") and on_hand(inv, "C") == 11_000
    kinds = [m["kind"] for m in inv.moves("C")]
    assert kinds == ["writeoff", "transfer_in", "transfer_out", "receive"]
    assert inv.doc(wo["no"])["reason"] == "过期"


OPS = st.lists(
    st.tuples(st.sampled_from(["receive", "sale", "writeoff", "count", "out", "in"]),
              st.sampled_from(["A", "B", "C"]), st.integers(1, 50_000)),
    min_size=1, max_size=25)


@settings(max_examples=30, deadline=None)
@given(ops=OPS)
def test_replay_of_the_journal_equals_the_projection(tmp_path_factory, ops):
    store = Store(tmp_path_factory.mktemp("r") / "t.db")
    try:
        store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
        inv = Inventory(store, "S", "T", InventoryConfig())
        def step(tx, op: str, sku: str, qty: int):
            if op == "receive":
                return inv.receive(tx, [{"sku": sku, "qty": qty, "cost": qty % 997}])
            if op == "sale":
                return apply_moves(tx, "sale", [Move(sku, -qty)], event="stock.sold",
                                   data={"kind": "sale", "sale_id": "x"}, ref="x")
            if op == "writeoff":
                return inv.writeoff(tx, [{"sku": sku, "qty": qty}], "r")
            if op == "count":
                return inv.count(tx, None, [{"sku": sku, "counted": qty}], post=True)
            return inv.transfer(tx, op, "P", [{"sku": sku, "qty": qty}])

        for op, sku, qty in ops:
            store.write_sync(lambda tx, a=(op, sku, qty): step(tx, *a))
        journal = store.journal(0, 100_000)
        table = {r["sku"]: r["on_hand"] for r in store.all("SELECT sku, on_hand FROM stock")}
        assert replay(journal) == table
        # the moves table agrees too, and each move's on_hand is the running sum
        for sku in table:
            rows = store.all("SELECT qty, on_hand FROM stock_moves WHERE sku=? ORDER BY id",
                             (sku,))
            run = 0
            for r in rows:
                run += r["qty"]
                assert r["on_hand"] == run
            assert run == table[sku]
    finally:
        store.close()


def test_an_items_history_pages_newest_first_by_one_index(inv):
    """stock.moves pages an item's moves in journal order, newest first, after the move
    `before`, by the (sku, seq) index; a move gone since (retention) still marks the place,
    and a move put back with a new rowid (a returned archived sale) keeps its journal place."""
    for i in range(7):  # A and B interleaved, two A moves in one event now and then
        moves = [Move("A", -1000), Move("B", -500)] + ([Move("A", -1000)] if i % 3 == 0 else [])
        inv.store.write_sync(lambda tx, m=moves, i=i: apply_moves(
            tx, "sale", m, event="stock.sold", data={"kind": "sale", "sale_id": f"s{i}"},
            ref=f"s{i}", sale=True))
    whole = inv.moves("A", 100)
    assert len(whole) == 10 and all(m["kind"] == "sale" for m in whole)
    assert [(m["seq"], m["id"]) for m in whole] == sorted(
        ((m["seq"], m["id"]) for m in whole), reverse=True)
    pages, before = [], None
    while page := inv.moves("A", 3, before):
        pages += page
        before = page[-1]["id"]
    assert pages == whole
    gone = whole[4]  # the page after a deleted move starts where it was
    inv.store.write_sync(lambda tx: tx.execute("DELETE FROM stock_moves WHERE id = ?",
                                               (gone["id"],)))
    assert inv.moves("A", 3, gone["id"]) == whole[5:8]
    oldest = whole[-1]  # put back under a new rowid: still the oldest of the item's moves
    inv.store.write_sync(lambda tx: tx.execute(
        "UPDATE stock_moves SET id = (SELECT MAX(id) + 1 FROM stock_moves) WHERE id = ?",
        (oldest["id"],)))
    assert inv.moves("A", 100)[-1]["seq"] == oldest["seq"]
    plan = " ".join(r[3] for r in inv.store.all(
        "EXPLAIN QUERY PLAN SELECT id FROM stock_moves WHERE sku = ? AND (seq, id) <"
        " ((SELECT seq FROM stock_moves WHERE id <= ? ORDER BY id DESC LIMIT 1), ?)"
        " ORDER BY seq DESC, id DESC LIMIT ?", ("A", 5, 5, 3)))
    assert "stock_moves_seq" in plan and "TEMP B-TREE" not in plan, plan
