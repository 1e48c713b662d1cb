"""Replenishment (自动补货, issue 15) on both backends, with a real till: suggestions from the
store's sales rate, on-hand, in-transit and the item's rule (min/max, days of cover), in
whole packs of the supplier; a suggestion becomes a purchase order that the store sees as a
pending receipt and receives against; head office reports what was received."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from gatewayd.hq.replenish import order_qty
from tests.conftest import Daemon, make_config, open_shift
from tests.hq.conftest import FAST_LINK, ITEMS, enroll_till

MANAGER = {"operator": "9001", "pin": "9999"}


def test_order_qty_rules():
    rule = {"min_qty": 8000, "max_qty": 24000, "days_of_cover": None}
    assert order_qty(9000, 0, rule, 2, 6000) == (0, "position 9000 above min 8000")
    assert order_qty(7000, 0, rule, 2, 6000)[0] == 18000  # 17000 up to max, in packs of 6
    cover = {"min_qty": None, "max_qty": None, "days_of_cover": 7}
    assert order_qty(0, 1000.0, cover, 2, 1000)[0] == 9000  # 9 days x 1000/day
    assert order_qty(9000, 1000.0, cover, 2, 1000)[0] == 0
    assert order_qty(-500, 0.0, cover, 2, 1000)[0] == 1000  # below zero: back to zero, packed


async def test_a_suggestion_becomes_a_purchase_order_the_store_receives(hq, tmp_path, nursery):
    app = App(make_config(tmp_path / "b", till={"store": "S002", "till": "T01"}, hq=FAST_LINK))
    await nursery.start(app.run)
    b = Daemon(app)
    b.operator("9001", "manager", "9999")
    await enroll_till(hq, b)
    async with connect(b.url, b.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    with trio.fail_after(20):
        while not app.replicator.online:
            await trio.sleep(0.02)
    async with connect(b.url, b.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await open_shift(gw)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
        for sku in ("1001", "1001", "1001", "1002", "1002"):
            await gw.call("sale.add", {"sku": sku})
        assert (await gw.call("sale.tender", {"method": "cash", "amount": 5000}))["state"] \
            == "completed"
    await hq.wait_acked("S002", "T01", app.store.last_seq)
    async with connect(hq.url, hq.token("supervisor")) as gw:
        await gw.call("hq.supplier.upsert", {"suppliers": [
            {"id": "SUP01", "name": "华东饮料", "lead_time_days": 2, "items": [
                {"sku": "1001", "cost": 210, "pack_qty": 6000},
                {"sku": "1002", "cost": 100, "pack_qty": 1000}]}]})
        assert (await gw.call("hq.supplier.list"))["suppliers"][0]["items"][0]["sku"] == "1001"
        await gw.call("hq.replenish.rules", {"rules": [
            {"store": "*", "sku": "1002", "days_of_cover": 7},
            {"store": "S002", "sku": "1001", "min": 8000, "max": 24000}]})
        got = {s["sku"]: s for s in (await gw.call(
            "hq.replenish.suggest", {"store": "S002"}))["suggestions"]}
        assert got["1001"]["on_hand"] == 7000 and got["1001"]["suggested"] == 18000
        # 1002: sold 2 in 28 days, never received: back to zero and 9 days of cover, packed
        assert got["1002"]["on_hand"] == -2000 and got["1002"]["suggested"] == 3000
        assert got["1002"]["supplier"] == "SUP01" and got["1002"]["lead_time_days"] == 2
        assert (got["1001"]["sold"], got["1002"]["sold"]) == (3000, 2000)
        # the report the HQ page charts is the same computation, rules and packs included
        plan = {r["sku"]: r for r in (await gw.call(
            "hq.report.replenish", {"store": "S002"}))["rows"]}
        assert {sku: (r["suggest"], r["supplier"], r["why"]) for sku, r in plan.items()} == {
            sku: (g["suggested"], g["supplier"], g["why"]) for sku, g in got.items()}
        po = await gw.call("hq.po.create", {"store": "S002", "supplier": "SUP01"})
        assert po["kind"] == "purchase" and po["state"] == "in_transit"
        assert po["lines"] == [{"sku": "1001", "sent": 18000}, {"sku": "1002", "sent": 3000}]
        again = {s["sku"]: s for s in (await gw.call(
            "hq.replenish.suggest", {"store": "S002"}))["suggestions"]}
        assert again["1001"]["in_transit"] == 18000 and again["1001"]["suggested"] == 0
        e = await _err(gw.call("hq.po.create", {"store": "S002", "supplier": "NOPE"}))
        assert e.code == "not_found"
    async with connect(b.url, b.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        (pending,) = (await gw.call("stock.incoming"))["transfers"]
        assert pending["no"] == po["no"] and pending["kind"] == "purchase"
        await gw.call("stock.receive", {"supplier": "SUP01", "ref": po["no"], "lines": [
            {"sku": "1001", "qty": 18000, "cost": 210}, {"sku": "1002", "qty": 2000,
                                                          "cost": 100}]})
        e = await _err(gw.call("stock.receive", {"supplier": "SUP01", "ref": po["no"],
                                                 "lines": [{"sku": "1001", "qty": 1000,
                                                            "cost": 210}]}))
        assert e.code == "conflict"  # received against already
    await hq.wait_acked("S002", "T01", app.store.last_seq)
    async with connect(hq.url, hq.token("viewer")) as gw:
        (t,) = (await gw.call("hq.transfers", {"store": "S002"}))["transfers"]
        stock_b = {i["sku"]: i for i in (await gw.call("hq.stock", {"store": "S002"}))["items"]}
    assert t["state"] == "received" and t["differences"] == 1
    assert t["lines"][1] == {"sku": "1002", "sent": 3000, "received": 2000, "difference": -1000}
    assert stock_b["1001"]["on_hand"] == 25000 and stock_b["1001"]["in_transit"] == 0


async def _err(coro) -> GatewayError:
    with pytest.raises(GatewayError) as exc:
        await coro
    return exc.value
