"""Head office's projections, rebuilt from a real till's events: sales with lines and tenders,
refunds, stock moves per store, member ledger entries, shifts, X/Z and day close/reopen,
operator audit events, and store-day completeness (`hq.day`) with a reopened day replayed."""

from __future__ import annotations

from clients.python.client import connect
from gatewayd.hq import methods as hq_methods
from protocol.codec import unpack
from tests.hq.conftest import ITEMS, enroll_till, sell, start_till

MANAGER = {"operator": "9001", "pin": "9999"}


async def synced(hq, d) -> None:
    await hq.wait_acked(d.app.config.till.store, d.app.config.till.till, d.app.store.last_seq)


def rows(hq, sql, params=()):
    return hq.app.store.read_sync(lambda tx: tx.all(sql, params))


async def test_a_day_of_a_till_at_head_office(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
        shift = await gw.call("shift.open", {"float": 10000})
        await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
        await gw.call("member.topup", {"code": "13812345678", "amount": 5000})
        sales = await sell(gw, 3)
        await gw.call("sale.add", {"sku": "1002", "qty": 2000})
        big = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        refund = await gw.call("sale.refund", {"receipt_no": sales[0]["receipt_no"]})
        await gw.call("shift.cash", {"amount": -500, "reason": "零钱"})
        await gw.call("shift.close", {"counted": 10000 + 3 * 350 + 398 - 350 - 500})
        z = await gw.call("day.close", {})
        day = z["day"]
    await synced(hq, d)
    # sales and the refund, with lines and tenders
    got = hq.app.store.read_sync(lambda tx: hq_methods.sales(tx, "S001", None, day, 100, 0))
    assert got["count"] == 5
    kinds = sorted(s["kind"] for s in got["sales"])
    assert kinds == ["refund", "sale", "sale", "sale", "sale"]
    r = hq.app.store.read_sync(lambda tx: hq_methods.sale_get(tx, refund["receipt_no"]))
    assert r["kind"] == "refund" and r["total"] == -350
    assert [(ln["sku"], ln["qty"]) for ln in r["lines"]] == [("1001", -1000)]
    assert r["tenders"] == [{"method": "cash", "amount": -350}]
    b = hq.app.store.read_sync(lambda tx: hq_methods.sale_get(tx, big["receipt_no"]))
    assert b["total"] == 398 and b["lines"][0]["qty"] == 2000
    # stock per store: received 10, sold 3, one returned
    moves = rows(hq, "SELECT sku, SUM(qty) AS q FROM stock_moves WHERE store=? GROUP BY sku"
                     " ORDER BY sku", ("S001",))
    assert {m["sku"]: m["q"] for m in moves}["1001"] == 10000 - 3000 + 1000
    # the member's stored value
    entries = rows(hq, "SELECT what, delta FROM member_entries")
    assert ("balance", 5000) in [(e["what"], e["delta"]) for e in entries]
    # the shift with its X report, and the day with its Z
    [s] = rows(hq, "SELECT * FROM shifts")
    assert s["shift_id"] == shift["id"] and s["closed_at"] is not None
    assert unpack(bytes(s["data"]))["counted"] == 10000 + 3 * 350 + 398 - 350 - 500
    report = hq.app.store.read_sync(lambda tx: hq_methods.day(tx, "S001", day))
    [t] = report["tills"]
    assert report["complete"] and t["closed"] and t["closes"] == 1
    assert t["z_net"] == t["hq_net"] == z["net"] == 3 * 350 + 398 - 350
    assert (t["sales"], t["refunds"]) == (4, 1)
    # operator audit: logins, the refund's operator, the drawer
    audit = {(a["kind"], a["actor"]) for a in rows(hq, "SELECT kind, actor FROM till_audit")}
    assert ("auth.login", "9001") in audit
    assert {"operator.added", "token.added"} <= {kind for kind, _ in audit}
    # the operators' PIN hashes reach head office in the events (a restore needs them), not
    # in the audit trail people read
    added = rows(hq, "SELECT data FROM till_audit WHERE kind='operator.added'")
    assert added and all(set(unpack(bytes(a["data"]))) >= {"id", "name", "role"} and
                         not {"pin_hash", "pin_salt"} & set(unpack(bytes(a["data"])))
                         for a in added)


async def test_a_reopened_day_is_replayed_at_head_office(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    # a second till of the store that never closes: the store day is not complete
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", MANAGER)
        await sell(gw, 2)
        await gw.call("shift.close", {"counted": 700})
        z1 = await gw.call("day.close", {})
        day = z1["day"]
        await synced(hq, d)
        first = hq.app.store.read_sync(lambda tx: hq_methods.day(tx, "S001", day))
        assert first["complete"] and first["net"] == 700
        await gw.call("day.reopen", {"approve": MANAGER})
        await synced(hq, d)
        reopened = hq.app.store.read_sync(lambda tx: hq_methods.day(tx, "S001", day))
        assert not reopened["complete"] and not reopened["tills"][0]["closed"]
        await sell(gw, 1)
        await gw.call("shift.close", {"counted": 350})
        z2 = await gw.call("day.close", {})
    await synced(hq, d)
    again = hq.app.store.read_sync(lambda tx: hq_methods.day(tx, "S001", day))
    [t] = again["tills"]
    assert again["complete"] and t["closes"] == 2 and t["z_net"] == z2["net"] == 1050
    assert t["hq_net"] == 1050
    hq.add_till("S001", "T02")  # a till of the store that has not closed (or even enrolled)
    pending = hq.app.store.read_sync(lambda tx: hq_methods.day(tx, "S001", day))
    assert not pending["complete"]
    assert [x["till"] for x in pending["tills"] if not x["closed"]] == ["T02"]
    async with connect(hq.url, hq.token("viewer")) as client:
        wire = await client.call("hq.day", {"store": "S001", "day": day})
        assert wire["complete"] is False and len(wire["tills"]) == 2
