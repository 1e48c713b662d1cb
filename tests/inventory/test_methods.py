"""Inventory through the protocol, and stock moving inside the sale's own transaction."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.inventory.stock import replay
from tests.conftest import open_shift

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "cost": 200,
     "barcodes": ["6901234567892"]},
    {"sku": "2001", "name": "红富士苹果", "price": 1280, "unit": "kg", "plu": "20001"},
]


@pytest.fixture
async def gw(daemon):
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("8001", "supervisor", "8888")
    daemon.operator("9001", "manager", "9999")
    async with connect(daemon.url, daemon.token("admin")) as admin:
        await admin.call("catalog.upsert", {"items": ITEMS})
    async with connect(daemon.url, daemon.token("supervisor")) as gw:
        await gw.call("auth.login", {"operator": "8001", "pin": "8888"})
        await open_shift(gw)
        gw.daemon = daemon
        yield gw


def projection(daemon) -> dict[str, int]:
    return {r["sku"]: r["on_hand"]
            for r in daemon.app.store.all("SELECT sku, on_hand FROM stock")}


async def test_receive_get_moves(gw):
    got = await gw.call("stock.get", {"sku": "1001"})
    assert got["on_hand"] == 0 and got["avg_cost"] == 200 and got["cost_source"] == "catalog"
    doc = await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 24_000, "cost": 180},
                                                    {"sku": "2001", "qty": 12_500, "cost": 820}],
                                          "supplier": "可口可乐装瓶厂", "ref": "DN-7"})
    assert doc["no"] == "S001-T01-RCV-000001" and doc["state"] == "posted"
    assert doc["moves"] == [{"sku": "1001", "qty": 24_000, "on_hand": 24_000},
                            {"sku": "2001", "qty": 12_500, "on_hand": 12_500}]
    apple = await gw.call("stock.get", {"sku": "2001"})
    assert apple["unit"] == "kg" and apple["on_hand"] == 12_500 and apple["value"] == 10_250
    moves = await gw.call("stock.moves", {"sku": "1001"})
    assert [(m["kind"], m["qty"], m["ref"]) for m in moves["moves"]] == [
        ("receive", 24_000, doc["no"])]
    assert (await gw.call("stock.doc", {"no": doc["no"]}))["supplier"] == "可口可乐装瓶厂"
    with pytest.raises(GatewayError) as err:
        await gw.call("stock.get", {"sku": "nope"})
    assert err.value.code == "not_found"


@pytest.mark.parametrize("line", [
    {"sku": "1001", "qty": 0, "cost": 100},
    {"sku": "1001", "qty": -5, "cost": 100},
    {"sku": "1001", "qty": 1000, "cost": -1},
    {"sku": "1001", "qty": 1000, "cost": 100_000_001},
    {"sku": "1001", "qty": 1.5, "cost": 100},
    {"sku": "1001", "qty": 1000, "cost": "1.00"},
    {"sku": "1001", "qty": 1000},
    {"sku": "nope", "qty": 1000, "cost": 100},
])
async def test_bad_receive_changes_nothing(gw, line):
    seq = gw.daemon.app.store.journal_seq()
    with pytest.raises(GatewayError) as err:
        await gw.call("stock.receive", {"lines": [{"sku": "2001", "qty": 1000, "cost": 1},
                                                  line]})
    # a float never reaches the method: the codec refuses floats on the wire (bad_frame)
    assert err.value.code == ("bad_frame" if isinstance(line["qty"], float) else
                              "invalid_params")
    assert gw.daemon.app.store.journal_seq() == seq and projection(gw.daemon) == {}


async def test_writeoff_needs_a_reason(gw):
    for params in ({"lines": [{"sku": "1001", "qty": 1000}]},
                   {"lines": [{"sku": "1001", "qty": 1000}], "reason": ""},
                   {"lines": [{"sku": "1001", "qty": 1000}], "reason": "   "}):
        with pytest.raises(GatewayError) as err:
            await gw.call("stock.writeoff", params)
        assert err.value.code == "invalid_params"
    assert projection(gw.daemon) == {}
    doc = await gw.call("stock.writeoff", {"lines": [{"sku": "1001", "qty": 2000}],
                                           "reason": "破损"})
    assert doc["no"].endswith("-WOF-000001") and doc["moves"][0]["on_hand"] == -2000


async def test_stocktake_needs_a_manager_and_posts_once(gw):
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10_000, "cost": 180}]})
    sheet = await gw.call("stock.count", {"lines": [{"sku": "1001", "counted": 9000}]})
    assert sheet["state"] == "draft"
    with pytest.raises(GatewayError) as err:
        await gw.call("stock.count", {"no": sheet["no"], "post": True})
    assert err.value.code == "approval_required"
    assert err.value.details == {"action": "stock.count.post", "role": "manager"}
    posted = await gw.call("stock.count", {"no": sheet["no"], "post": True,
                                           "approve": {"operator": "9001", "pin": "9999"}})
    assert posted["state"] == "posted" and posted["lines"][0]["variance"] == -1000
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 9000
    seq = gw.daemon.app.store.journal_seq()
    with pytest.raises(GatewayError) as err:
        await gw.call("stock.count", {"no": sheet["no"], "post": True,
                                      "approve": {"operator": "9001", "pin": "9999"}})
    assert err.value.code == "conflict"
    with pytest.raises(GatewayError) as err:
        await gw.call("stock.count", {"no": sheet["no"], "lines": [{"sku": "1001",
                                                                    "counted": 1}]})
    assert err.value.code == "conflict"
    assert gw.daemon.app.store.journal_seq() == seq
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 9000
    doc = await gw.call("stock.doc", {"no": sheet["no"]})
    assert doc["approver"] == "9001" and doc["state"] == "posted"


async def test_transfer_out_and_in(gw):
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10_000, "cost": 180}]})
    out = await gw.call("stock.transfer", {"direction": "out", "peer": "S002",
                                           "lines": [{"sku": "1001", "qty": 3000}]})
    inn = await gw.call("stock.transfer", {"direction": "in", "peer": "S003",
                                           "lines": [{"sku": "1001", "qty": 3000, "cost": 200}],
                                           "ref": "S003-T01-TRO-000004"})
    assert out["no"].endswith("-TRO-000001") and inn["no"].endswith("-TRI-000001")
    got = await gw.call("stock.get", {"sku": "1001"})
    assert got["on_hand"] == 10_000 and got["avg_cost"] == 186  # (7*180 + 3*200) / 10


async def sell(gw, sku: str, qty: int) -> dict:
    sale = await gw.call("sale.add", {"sku": sku, "qty": qty})
    return await gw.call("sale.tender", {"method": "cash", "amount": sale["due"]})


async def test_sale_moves_stock_in_its_transaction_and_alerts_once(gw):
    store = gw.daemon.app.store
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10_000, "cost": 180}]})
    await gw.call("stock.threshold", {"sku": "1001", "threshold": 5000})
    await gw.subscribe(["alerts"])
    done = await sell(gw, "1001", 4000)
    assert done["state"] == "completed"
    # the sale's completion and its stock event are one transaction: adjacent seqs
    completed = store.one("SELECT seq FROM journal WHERE kind='sale.completed'")[0]
    sold = store.one("SELECT seq, at FROM journal WHERE kind='stock.sold'")
    assert sold[1] == store.one("SELECT at FROM journal WHERE seq=?", (completed,))[0]
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 6000
    await sell(gw, "1001", 2000)  # 4000 left: crosses 5000
    ev = await gw.next_event("alerts.raised")
    assert ev["data"] == {"kind": "low_stock", "sku": "1001", "on_hand": 4000,
                          "threshold": 5000}
    await sell(gw, "1001", 1000)  # still low: no second alert
    with pytest.raises(trio.TooSlowError):
        await gw.next_event("alerts.raised", timeout=0.5)
    assert [i["sku"] for i in (await gw.call("stock.low"))["items"]] == ["1001"]
    moves = (await gw.call("stock.moves", {"sku": "1001", "limit": 3}))["moves"]
    assert [(m["kind"], m["qty"], m["unit_cost"]) for m in moves] == [
        ("sale", -1000, 180), ("sale", -2000, 180), ("sale", -4000, 180)]
    assert moves[0]["ref"] == store.one(
        "SELECT id FROM sales WHERE state='completed' ORDER BY completed_at DESC")[0]
    assert replay(store.journal(0, 10_000)) == projection(gw.daemon)


async def test_void_of_an_open_sale_moves_nothing(gw):
    await gw.call("sale.add", {"sku": "1001", "qty": 1000})
    await gw.call("sale.void", {"reason": "test", "approve": {"operator": "9001",
                                                               "pin": "9999"}})
    assert projection(gw.daemon) == {}


async def test_refund_hook_moves_back_at_the_cost_sold(gw):
    app = gw.daemon.app
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10_000, "cost": 180}]})
    sale = await sell(gw, "1001", 3000)
    line = sale["lines"][0]["line_id"]
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 7000, "cost": 280}]})

    def refund(tx):  # what the returns service does: a refund sale, then its hooks
        tx.execute("INSERT INTO sales(id, till, kind, state, refund_of, opened_at, updated_at)"
                   " VALUES ('r1', 'T01', 'refund', 'completed', ?, 0, 0)", (sale["id"],))
        tx.execute("INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price, qty,"
                   " orig_line_id) VALUES ('rl1', 'r1', 0, '1001', 'x', 'pc', 350, 1000, ?)",
                   (line,))
        app.sales.run_refund_hooks(tx, app.sales.wire_from_tx(tx, "r1"))
        app.sales.run_refund_hooks(tx, app.sales.wire_from_tx(tx, "r1"))  # idempotent

    await app.store.write(refund)
    moves = (await gw.call("stock.moves", {"sku": "1001", "limit": 1}))["moves"]
    assert (moves[0]["kind"], moves[0]["qty"], moves[0]["unit_cost"]) == ("refund", 1000, 180)
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 15_000


async def test_negative_stock_refused_by_config(tmp_path, nursery):
    from gatewayd.app import App
    from tests.conftest import Daemon, make_config

    app = App(make_config(tmp_path, inventory={"allow_negative": False}))
    await nursery.start(app.run)
    daemon = Daemon(app)
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("9001", "manager", "9999")
    try:
        async with connect(daemon.url, daemon.token("admin")) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
            await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 3000,
                                                       "cost": 1}]})
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            seq = app.store.journal_seq()
            with pytest.raises(GatewayError) as err:  # refused when it is scanned
                await gw.call("sale.add", {"sku": "1001", "qty": 4000})
            assert err.value.code == "conflict" and err.value.details["needed"] == 4000
            assert app.store.journal_seq() == seq
            sale = await gw.call("sale.add", {"sku": "1001", "qty": 2000})
            with pytest.raises(GatewayError) as err:  # the same item again, over on-hand
                await gw.call("sale.add", {"sku": "1001", "qty": 2000})
            assert err.value.details == {"sku": "1001", "on_hand": 3000, "needed": 4000}
            with pytest.raises(GatewayError) as err:
                await gw.call("sale.set_qty", {"line_id": sale["added"], "qty": 4000})
            assert err.value.code == "conflict"
            await gw.call("sale.set_qty", {"line_id": sale["added"], "qty": 3000})
            # stock shrinks after the scan: completion is refused too
            await gw.call("stock.writeoff", {"lines": [{"sku": "1001", "qty": 1000}],
                                             "reason": "damaged",
                                             "approve": {"operator": "9001", "pin": "9999"}})
            seq = app.store.journal_seq()
            with pytest.raises(GatewayError) as err:
                await gw.call("sale.tender", {"method": "cash", "amount": 1050})
            assert err.value.code == "conflict" and err.value.details["sku"] == "1001"
            assert app.store.journal_seq() == seq
            assert (await gw.call("sale.current"))["state"] == "open"
            assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 2000
    finally:
        app.close()


async def test_sale_refund_and_post_void_move_stock_back(gw):
    await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10_000, "cost": 180}]})
    done = await sell(gw, "1001", 3000)
    await gw.call("sale.refund", {"receipt_no": done["receipt_no"],
                                  "lines": [{"line_id": done["lines"][0]["line_id"],
                                             "qty": 1000}],
                                  "approve": {"operator": "9001", "pin": "9999"}})
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 8000
    await sell(gw, "1001", 2000)
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 6000
    await gw.call("sale.refund", {"post_void": True,
                                  "approve": {"operator": "9001", "pin": "9999"}})
    assert (await gw.call("stock.get", {"sku": "1001"}))["on_hand"] == 8000
    kinds = [(m["kind"], m["qty"], m["unit_cost"])
             for m in (await gw.call("stock.moves", {"sku": "1001", "limit": 4}))["moves"]]
    assert kinds == [("refund", 2000, 180), ("sale", -2000, 180), ("refund", 1000, 180),
                     ("sale", -3000, 180)]
    assert replay(gw.daemon.app.store.journal(0, 10_000)) == projection(gw.daemon)
