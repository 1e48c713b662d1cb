"""Stock per store, not per till (issue 15), real tills and a real head office on both
backends: a store's on-hand is every till's moves; each till shows head office's figure plus
its own moves not yet held there, and its age; a transfer out at store A is a pending
receipt at B, confirmed with what B counted, and head office reports the difference; a
transfer confirmed twice is refused online and not counted twice at head office; a delivery
from head office arrives the same way."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from tests.conftest import Daemon, make_config, open_shift
from tests.hq.conftest import FAST_LINK, ITEMS, Hq, enroll_till

MANAGER = {"operator": "9001", "pin": "9999"}


async def start(hq: Hq, nursery, path, store: str, till: str) -> Daemon:
    app = App(make_config(path, till={"store": store, "till": till}, hq=FAST_LINK))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("9001", "manager", "9999")
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    with trio.fail_after(20):
        while not d.app.replicator.online:
            await trio.sleep(0.02)
    return d


async def synced(hq: Hq, d: Daemon) -> None:
    cfg = d.app.config.till
    await hq.wait_acked(cfg.store, cfg.till, d.app.store.last_seq)


async def test_a_store_figure_is_every_till_and_each_till_says_how_old(hq, tmp_path, nursery):
    t1 = await start(hq, nursery, tmp_path / "t1", "S001", "T01")
    t2 = await start(hq, nursery, tmp_path / "t2", "S001", "T02")
    async with connect(t1.url, t1.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
    async with connect(t2.url, t2.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        for _ in range(3):
            await gw.call("sale.add", {"sku": "1001"})
        sale = await gw.call("sale.tender", {"method": "cash", "amount": 2000})
        assert sale["state"] == "completed"
        # T02's own figure knows only its sale; the store's is every till's
        await synced(hq, t1)
        item = await gw.call("stock.get", {"sku": "1001"})
        assert item["on_hand"] == -3000
        store = item["store"]
        assert store["on_hand"] == 7000 and store["age_s"] < 60
        assert store["hq_on_hand"] + store["own_moves"] == 7000
    async with connect(hq.url, hq.token("viewer")) as gw:
        got = await gw.call("hq.stock", {"store": "S001", "sku": "1001"})
    assert got["items"][0]["sku"] == "1001"
    assert got["items"][0]["on_hand"] in (7000, 10000)  # T02's sale may still be on its way
    await synced(hq, t2)
    async with connect(hq.url, hq.token("viewer")) as gw:
        got = await gw.call("hq.stock", {"store": "S001"})
    assert [(i["sku"], i["on_hand"]) for i in got["items"]] == [("1001", 7000)]
    # head office away: the till shows the last figure, its own moves since, and its age
    async with connect(t1.url, t1.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        before = (await gw.call("stock.get", {"sku": "1001"}))["store"]
        assert before["on_hand"] == 7000
        # the link's state as when it drops (head office cannot be asked; the till's own
        # moves still flow up once it is back)
        t1.app.replicator.state = "offline"
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        after = (await gw.call("stock.get", {"sku": "1001"}))["store"]
    assert after["on_hand"] == before["on_hand"] - 1000
    assert after["as_of"] == before["as_of"] and after["age_s"] >= before["age_s"]


async def test_a_transfer_out_at_a_is_received_at_b_with_a_difference(hq, tmp_path, nursery):
    a = await start(hq, nursery, tmp_path / "a", "S001", "T01")
    b1 = await start(hq, nursery, tmp_path / "b1", "S002", "T01")
    b2 = await start(hq, nursery, tmp_path / "b2", "S002", "T02")
    async with connect(a.url, a.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
        sent = await gw.call("stock.transfer", {"direction": "out", "peer": "S002", "lines": [
            {"sku": "1001", "qty": 5000}, {"sku": "1002", "qty": 2000}]})
    await synced(hq, a)
    async with connect(b1.url, b1.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        incoming = (await gw.call("stock.incoming"))["transfers"]
        assert [t["no"] for t in incoming] == [sent["no"]]
        assert incoming[0]["from_store"] == "S001" and incoming[0]["state"] == "in_transit"
        got = await gw.call("stock.transfer", {"direction": "in", "peer": "S001",
                                               "ref": sent["no"], "lines": [
            {"sku": "1001", "qty": 4000}, {"sku": "1002", "qty": 2000}]})
        # confirmed twice at the same till: refused, nothing written
        e = await _err(gw.call("stock.transfer", {"direction": "in", "peer": "S001",
                                                  "ref": sent["no"], "lines": [
            {"sku": "1001", "qty": 4000}]}))
        assert e.code == "conflict" and got["no"] in e.message
    await synced(hq, b1)
    # ... and at another till of the store once head office has the first: refused
    async with connect(b2.url, b2.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        assert (await gw.call("stock.incoming"))["transfers"] == []
        e = await _err(gw.call("stock.transfer", {"direction": "in", "peer": "S001",
                                                  "ref": sent["no"], "lines": [
            {"sku": "1001", "qty": 4000}]}))
        assert e.code == "conflict" and "already received" in e.message
    async with connect(hq.url, hq.token("viewer")) as gw:
        (t,) = (await gw.call("hq.transfers", {"store": "S002"}))["transfers"]
        stock_a = await gw.call("hq.stock", {"store": "S001"})
        stock_b = await gw.call("hq.stock", {"store": "S002"})
    assert t["state"] == "received" and t["received_no"] == got["no"]
    assert t["differences"] == 1 and t["confirmations"] == 1
    assert t["lines"] == [
        {"sku": "1001", "sent": 5000, "received": 4000, "difference": -1000},
        {"sku": "1002", "sent": 2000, "received": 2000, "difference": 0}]
    assert {i["sku"]: i["on_hand"] for i in stock_a["items"]} == {"1001": 5000, "1002": -2000}
    assert {i["sku"]: i["on_hand"] for i in stock_b["items"]} == {"1001": 4000, "1002": 2000}


async def test_a_transfer_confirmed_twice_offline_counts_once(hq, tmp_path, nursery):
    a = await start(hq, nursery, tmp_path / "a", "S001", "T01")
    b1 = await start(hq, nursery, tmp_path / "b1", "S002", "T01")
    b2 = await start(hq, nursery, tmp_path / "b2", "S002", "T02")
    async with connect(a.url, a.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        sent = await gw.call("stock.transfer", {"direction": "out", "peer": "S002", "lines": [
            {"sku": "1001", "qty": 5000}]})
    await synced(hq, a)
    # both tills of B confirm before head office has either (B2 could not ask)
    b2.app.replicator.state = "offline"
    for d in (b1, b2):
        async with connect(d.url, d.token("manager")) as gw:
            await gw.call("auth.login", MANAGER)
            await gw.call("stock.transfer", {"direction": "in", "peer": "S001",
                                             "ref": sent["no"], "lines": [
                {"sku": "1001", "qty": 5000}]})
    async with connect(hq.url, hq.token("viewer")) as gw:
        # the double confirmation is published as it lands (B2 may have pushed it already)
        await gw.subscribe(["hq.alert"], since=0)
        b2.app.replicator.state = "online"
        await synced(hq, b1)
        await synced(hq, b2)
        ev = await gw.next_event("hq.alert", timeout=10)
        assert ev["data"]["kind"] == "transfer_confirmed_twice"
        assert (ev["data"]["store"], sent["no"] in ev["data"]["message"]) == ("S002", True)
        (t,) = (await gw.call("hq.transfers", {"store": "S002"}))["transfers"]
        stock_b = await gw.call("hq.stock", {"store": "S002"})
    assert t["confirmations"] == 2 and t["differences"] == 0
    assert stock_b["items"] == [{"sku": "1001", "on_hand": 5000, "in_transit": 0,
                                 "last_move_at": stock_b["items"][0]["last_move_at"]}]
    alerts = await hq.app.store.read(lambda tx: tx.all(
        "SELECT kind, message FROM alerts WHERE kind='transfer_confirmed_twice'"))
    assert len(alerts) == 1 and sent["no"] in alerts[0]["message"]


async def test_a_delivery_from_head_office_arrives_as_a_pending_receipt(hq, tmp_path, nursery):
    b = await start(hq, nursery, tmp_path / "b", "S002", "T01")
    async with connect(hq.url, hq.token("supervisor")) as gw:
        dlv = await gw.call("hq.delivery.create", {"to_store": "S002", "from_store": "DC01",
                                                   "lines": [{"sku": "1002", "qty": 24000}]})
        assert dlv["kind"] == "delivery" and dlv["state"] == "in_transit"
        e = await _err(gw.call("hq.delivery.create", {"to_store": "S002", "ref": dlv["no"],
                                                      "lines": [{"sku": "1002", "qty": 1}]}))
        assert e.code == "conflict"
        stock_b = await gw.call("hq.stock", {"store": "S002"})
        assert stock_b["items"][0]["in_transit"] == 24000
    async with connect(b.url, b.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        (pending,) = (await gw.call("stock.incoming"))["transfers"]
        assert pending["no"] == dlv["no"] and pending["from_store"] == "DC01"
        await gw.call("stock.transfer", {"direction": "in", "peer": "DC01", "ref": dlv["no"],
                                         "lines": [{"sku": "1002", "qty": 23000}]})
    await synced(hq, b)
    async with connect(hq.url, hq.token("viewer")) as gw:
        (t,) = (await gw.call("hq.transfers", {"state": "received"}))["transfers"]
        stock_b = await gw.call("hq.stock", {"store": "S002"})
    assert t["lines"] == [{"sku": "1002", "sent": 24000, "received": 23000,
                           "difference": -1000}]
    assert stock_b["items"][0]["on_hand"] == 23000 and stock_b["items"][0]["in_transit"] == 0


async def _err(coro) -> GatewayError:
    with pytest.raises(GatewayError) as exc:
        await coro
    return exc.value


async def test_a_count_at_one_till_sets_the_store_figure(hq, tmp_path, nursery):
    t1 = await start(hq, nursery, tmp_path / "t1", "S001", "T01")
    t2 = await start(hq, nursery, tmp_path / "t2", "S001", "T02")
    async with connect(t1.url, t1.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
    async with connect(t2.url, t2.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await open_shift(gw)
        for _ in range(3):
            await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.tender", {"method": "cash", "amount": 2000})
        await synced(hq, t1)
        # the shelf holds 6: counted at T02, against the store's 7 (not T02's own -3)
        got = await gw.call("stock.count", {"lines": [{"sku": "1001", "counted": 6000}],
                                            "post": True})
        assert got["lines"] == [{"sku": "1001", "counted": 6000, "expected": 7000,
                                 "variance": -1000}]
        assert (await gw.call("stock.get", {"sku": "1001"}))["store"]["on_hand"] == 6000
        # head office away: a count cannot be posted against one till's figure
        t2.app.replicator.state = "offline"  # the link's state as when it drops
        e = await _err(gw.call("stock.count", {"lines": [{"sku": "1001", "counted": 5000}],
                                               "post": True}))
        assert e.code == "device_offline" and "save the sheet" in e.message
        t2.app.replicator.state = "online"
    await synced(hq, t2)
    async with connect(hq.url, hq.token("viewer")) as gw:
        got = await gw.call("hq.stock", {"store": "S001", "sku": "1001"})
    assert got["items"][0]["on_hand"] == 6000
