"""Shifts and the business day through the protocol: open, paid-in/out, the blind close,
the X and Z reports (checked against sums computed here from the sales' own wire data),
day.close (日结) and day.reopen (反结账)."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from protocol.codec import unpack
from tests.conftest import Daemon, make_config

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "tax_rate_bp": 1300},
    {"sku": "1002", "name": "农夫山泉 550ml", "price": 199, "tax_rate_bp": 1300},
    {"sku": "3001", "name": "大米 5kg", "price": 4990, "tax_rate_bp": 900},
    {"sku": "4001", "name": "报纸", "price": 150, "tax_rate_bp": 0},
]
ALIPAY = ["281234567890123456", "251234567890123457", "261234567890123458"]
MANAGER = {"operator": "9001", "pin": "9999"}
SUPERVISOR = {"operator": "8001", "pin": "8888"}


@pytest.fixture
async def till(tmp_path, nursery):
    app = App(make_config(tmp_path, sale={"cash_rounding": "drop_fen",
                                          "payment_poll_s": 0.02}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("1002", "cashier", "4321")
    d.operator("8001", "supervisor", "8888")
    d.operator("9001", "manager", "9999")
    async with connect(d.url, d.token("admin")) as admin:
        await admin.call("catalog.upsert", {"items": ITEMS})
        async with connect(d.url, d.token("admin")) as gw:
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            gw.app, gw.admin, gw.daemon = app, admin, d
            yield gw
    app.close()


async def expect(code: str, coro):
    with pytest.raises(GatewayError) as err:
        await coro
    assert err.value.code == code, err.value
    return err.value


def journal(app, kind: str) -> list[dict]:
    return [e.data for e in app.store.journal(0, 100000) if e.kind == kind]


async def sell(gw, items, tenders) -> dict:
    for sku, qty in items:
        await gw.call("sale.add", {"sku": sku, "qty": qty})
    sale = None
    for t in tenders:
        sale = await gw.call("sale.tender", t)
    assert sale["state"] == "completed", sale
    return sale


# -- shifts --------------------------------------------------------------------------------
async def test_open_needs_a_login_and_only_one_per_till(till):
    gw, d = till, till.daemon
    async with connect(d.url, d.token("admin")) as anon:
        err = await expect("unauthenticated", anon.call("shift.open", {"float": 10000}))
        assert err.details == {"login_required": True}
    await expect("invalid_params", gw.call("shift.open", {"float": -1}))
    await expect("invalid_params", gw.call("shift.open", {"float": "100"}))
    shift = await gw.call("shift.open", {"float": 50000})
    assert shift["state"] == "open" and shift["float"] == 50000 and shift["operator"] == "1001"
    assert "expected" not in shift
    err = await expect("conflict", gw.call("shift.open", {"float": 100}))
    assert err.details["shift_id"] == shift["id"]
    cur = await gw.call("shift.current")
    assert cur["shift"]["id"] == shift["id"] and "expected" not in cur["shift"]
    assert cur["day"]["state"] == "open"
    [ev] = journal(gw.app, "shift.opened")
    assert ev["float"] == 50000


async def test_blind_close_shows_expected_only_after_the_count(till):
    gw, app = till, till.app
    await expect("conflict", gw.call("shift.cash", {"amount": 100, "reason": "x"}))
    await expect("conflict", gw.call("shift.close", {"counted": 0}))
    shift = await gw.call("shift.open", {"float": 20000})
    s1 = await sell(gw, [("1001", 3000)], [{"method": "cash", "amount": 2000}])  # 10.50
    s2 = await sell(gw, [("1002", 1000)], [{"method": "cash", "amount": 500}])  # 1.99 -> 1.90
    s3 = await sell(gw, [("3001", 1000)], [{"code": ALIPAY[0]}])
    await gw.call("sale.refund", {"receipt_no": s1["receipt_no"],
                                  "lines": [{"line_id": s1["lines"][0]["line_id"],
                                             "qty": 1000}], "approve": SUPERVISOR})
    await expect("invalid_params", gw.call("shift.cash", {"amount": 0, "reason": "x"}))
    await expect("invalid_params", gw.call("shift.cash", {"amount": 100, "reason": ""}))
    pin = await gw.call("shift.cash", {"amount": 5000, "reason": "找零备用 change"})
    pout = await gw.call("shift.cash", {"amount": -1200, "reason": "快递 courier"})
    assert (pin["kind"], pout["kind"]) == ("paid_in", "paid_out")
    # nothing a cashier can see before the count tells the expected cash
    cur = await gw.call("shift.current")
    assert not {"expected", "variance", "counted"} & set(cur["shift"])
    async with connect(gw.url, gw.daemon.token("admin")) as cashier2:
        await cashier2.call("auth.login", {"operator": "1002", "pin": "4321"})
        err = await expect("approval_required", cashier2.call("report.x"))
        assert err.details["role"] == "supervisor"
    # the expected cash, computed here from the sales' own figures
    cash_in = sum(t["amount"] for s in (s1, s2, s3) for t in s["tenders"]
                  if t["method"] == "cash") - sum(s["change"] for s in (s1, s2, s3))
    assert cash_in == 1050 + 190
    expected = 20000 + cash_in - 350 + 5000 - 1200
    # an open sale blocks the close
    await gw.call("sale.add", {"sku": "4001"})
    err = await expect("conflict", gw.call("shift.close", {"counted": 1}))
    assert err.details["reason"] == "sale_open"
    await gw.call("sale.tender", {"method": "cash", "amount": 200})
    expected += 150
    closed = await gw.call("shift.close", {"counted": expected - 30})
    assert closed["state"] == "closed" and closed["id"] == shift["id"]
    assert (closed["counted"], closed["expected"], closed["variance"]) == (
        expected - 30, expected, -30)
    x = closed["report"]
    assert x["sales"]["count"] == 4 and x["refunds"] == {"count": 1, "total": 350}
    assert x["cash"] == {"float": 20000, "sales": cash_in + 150, "refunds": 350,
                         "paid_in": 5000, "paid_out": 1200, "expected": expected}
    [ev] = journal(app, "shift.closed")
    assert ev["expected"] == expected and ev["variance"] == -30
    assert (await gw.call("shift.current"))["shift"] is None
    # a closed shift's X report (by id) shows its figures, and the reveal
    async with connect(gw.url, gw.daemon.token("admin")) as sup:
        await sup.call("auth.login", {"operator": "8001", "pin": "8888"})
        again = await sup.call("report.x", {"shift_id": shift["id"]})
        assert again["shift"]["variance"] == -30 and again["cash"]["expected"] == expected
        await expect("conflict", sup.call("report.x"))
        await expect("not_found", sup.call("report.x", {"shift_id": "nope"}))


async def test_sales_are_stamped_with_the_open_shift(till):
    gw, app = till, till.app
    # a sale is rung up before the shift opens, but paid (completed) only in it
    before = await gw.call("sale.add", {"sku": "4001"})
    err = await expect("conflict", gw.call("sale.tender", {"method": "cash"}))
    assert err.details["reason"] == "no_shift" and "shift.open" in err.message
    shift = await gw.call("shift.open", {"float": 0})
    assert (await gw.call("sale.tender", {"method": "cash"}))["id"] == before["id"]
    during = await sell(gw, [("4001", 1000)], [{"method": "cash"}])
    await gw.call("sale.add", {"sku": "1001"})
    voided = await gw.call("sale.void", {"reason": "left", "approve": MANAGER})
    rows = {r["id"]: r["shift_id"] for r in app.store.all("SELECT id, shift_id FROM sales")}
    assert rows[before["id"]] == rows[during["id"]] == shift["id"]
    assert rows[voided["id"]] == shift["id"]
    tenders = app.store.all("SELECT shift_id FROM sale_tenders WHERE sale_id=?",
                            (during["id"],))
    assert [t["shift_id"] for t in tenders] == [shift["id"]]
    x = await gw.call("report.x", {"approve": SUPERVISOR})
    assert x["sales"]["count"] == 2 and x["voids"]["count"] == 1


# -- Z report ------------------------------------------------------------------------------
def independent_z(sales: list[dict], refunds: list[dict]) -> dict:
    """The Z figures from the wire data the calls returned (not from the store)."""
    tenders: dict[str, int] = {}
    for s in sales:
        for t in s["tenders"]:
            tenders[t["method"]] = tenders.get(t["method"], 0) + t["amount"]
        tenders["cash"] = tenders.get("cash", 0) - s["change"]
    for r in refunds:
        for t in r["tenders"]:
            tenders[t["method"]] = tenders.get(t["method"], 0) + t["amount"]  # negative
    tax: dict[int, int] = {}
    for doc, sign in [(s, 1) for s in sales] + [(r, -1) for r in refunds]:
        for ln in doc["lines"]:
            if not ln["voided"]:
                tax[ln["tax_rate_bp"]] = tax.get(ln["tax_rate_bp"], 0) + sign * ln["tax"]
    return {"tenders": {m: v for m, v in tenders.items() if v or m != "cash"},
            "tax": tax,
            "sales_total": sum(s["total"] for s in sales),
            "rounding": sum(s["rounding"] for s in sales),
            "discounts": sum(s["discount"] for s in sales),
            "refunds": sum(-t["amount"] for r in refunds for t in r["tenders"])}


async def test_z_report_against_an_independent_sum(till):
    gw = till
    await gw.call("shift.open", {"float": 10000})
    sales, refunds = [], []
    sales.append(await sell(gw, [("1001", 2000), ("1002", 1000)],
                            [{"method": "cash", "amount": 1000}]))
    sales.append(await sell(gw, [("3001", 1000), ("4001", 1000)],
                            [{"method": "cash", "amount": 1000}, {"code": ALIPAY[0]}]))
    await gw.call("sale.add", {"sku": "1001", "qty": 4000})
    await gw.call("sale.discount", {"percent": 1000, "reason": "staff"})
    sales.append(await gw.call("sale.tender", {"code": ALIPAY[1]}))
    # a voided line in a completed sale, a voided sale
    s = await gw.call("sale.add", {"sku": "3001"})
    await gw.call("sale.add", {"sku": "1002"})
    await gw.call("sale.void_line", {"line_id": s["lines"][0]["line_id"]})
    sales.append(await gw.call("sale.tender", {"method": "cash", "amount": 500}))
    await gw.call("sale.add", {"sku": "3001"})
    await gw.call("sale.void", {"reason": "changed mind", "approve": MANAGER})
    # refunds: partial to split tenders, whole in cash
    refunds.append(await gw.call("sale.refund", {
        "receipt_no": sales[1]["receipt_no"],
        "lines": [{"line_id": sales[1]["lines"][0]["line_id"], "qty": 1000}],
        "approve": SUPERVISOR}))
    refunds.append(await gw.call("sale.refund", {"receipt_no": sales[0]["receipt_no"],
                                                 "approve": SUPERVISOR}))
    # a second cashier
    await gw.call("auth.login", {"operator": "1002", "pin": "4321"})
    sales.append(await sell(gw, [("4001", 3000)], [{"method": "cash", "amount": 450}]))
    await gw.call("shift.cash", {"amount": -500, "reason": "float to safe"})

    want = independent_z(sales, refunds)
    async with connect(gw.url, gw.daemon.token("admin")) as sup:
        z = await sup.call("report.z")
    assert {t["method"]: t["net"] for t in z["tenders"]} == want["tenders"]
    assert {t["rate_bp"]: t["tax"] for t in z["tax"]} == want["tax"]
    assert z["sales"]["total"] == want["sales_total"] and z["sales"]["count"] == 5
    assert z["rounding"] == want["rounding"] != 0  # drop_fen rounding happened
    assert z["discounts"] == want["discounts"] > 0
    assert z["refunds"] == {"count": 2, "total": want["refunds"]}
    assert z["net"] == want["sales_total"] - want["rounding"] - want["refunds"]
    assert sum(t["net"] for t in z["tenders"]) == z["net"]
    assert z["voids"]["count"] == 1 and z["voids"]["total"] == 4990
    assert z["voids"]["lines"] == 1 and z["voids"]["lines_amount"] == 4990
    nos = sorted(s["receipt_no"] for s in sales)
    assert (z["first_receipt"], z["last_receipt"]) == (nos[0], nos[-1])
    assert (z["first_refund"], z["last_refund"]) == (refunds[0]["receipt_no"],
                                                     refunds[-1]["receipt_no"])
    by = {c["operator"]: c for c in z["cashiers"]}
    assert by["1002"]["sales"] == 1 and by["1002"]["sales_total"] == 450
    assert by["1001"]["sales"] == 4 and by["1001"]["refunds"] == 2 and by["1001"]["voids"] == 1
    assert z["cash"]["paid_out"] == 500 and z["cash"]["float"] == 10000
    assert z["cash"]["expected"] == 10000 + want["tenders"]["cash"] - 500
    assert z["day"] == sales[0]["business_day"] and z["state"] == "open"


# -- the day -------------------------------------------------------------------------------
async def test_day_close_and_reopen(till):
    gw, app = till, till.app
    from tests.sales.test_service import FakePrinter, fake_devices

    fake_devices(app, FakePrinter())
    shift = await gw.call("shift.open", {"float": 1000})
    sale = await sell(gw, [("1001", 1000)], [{"method": "cash"}])
    async with connect(gw.url, gw.daemon.token("admin")) as sup:
        await sup.call("auth.login", {"operator": "8001", "pin": "8888"})
        before = app.store.journal_seq()
        err = await expect("conflict", sup.call("day.close"))
        assert err.details["reason"] == "shift_open" and err.details["shift_id"] == shift["id"]
        await gw.call("shift.close", {"counted": 1350})
        await gw.call("sale.add", {"sku": "1002"})
        err = await expect("conflict", sup.call("day.close"))
        assert err.details["reason"] == "sale_open"
        await gw.call("sale.suspend")
        assert app.store.one("SELECT COUNT(*) FROM business_days")[0] == 0
        await expect("invalid_params", sup.call("day.close", {"day": "2026"}))
        await expect("invalid_params", sup.call("day.close", {"day": "29991231"}))
        await sup.subscribe(["day"])
        z = await sup.call("day.close")
        assert z["state"] == "closed" and z["closes"] == 1 and z["sales"]["count"] == 1
        assert z["first_receipt"] == sale["receipt_no"] and z["job_id"]
        ev = await sup.next_event("day.closed")
        assert ev["data"]["day"] == z["day"]
        job = app.store.one("SELECT * FROM print_jobs WHERE id=?", (z["job_id"],))
        assert job["kind"] == "z_report" and job["ref"] == z["day"]
        texts = " ".join(d.get("text", "") + d.get("left", "") for d in unpack(job["document"]))
        assert "日结" in texts and sale["receipt_no"] in texts
        [closed] = journal(app, "day.closed")
        assert closed["z"]["net"] == z["net"]
        await expect("conflict", sup.call("day.close"))
        # the closed day refuses sales (new, and resumed)
        err = await expect("conflict", gw.call("sale.add", {"sku": "1001"}))
        assert err.details["reason"] == "day_closed"
        suspended = (await gw.call("sale.suspended"))["sales"][0]["id"]
        await expect("conflict", gw.call("sale.resume", {"id": suspended}))
        await expect("conflict", gw.call("shift.open", {"float": 0}))
        assert (await gw.call("sale.current"))["id"] != suspended
        # the Z report of a closed day is the stored one
        assert (await sup.call("report.z"))["net"] == z["net"]
        # 反结账: a manager approves
        err = await expect("approval_required", sup.call("day.reopen"))
        assert err.details == {"action": "day.reopen", "role": "manager"}
        await expect("forbidden", sup.call("day.reopen", {"approve": SUPERVISOR}))
        opened = await sup.call("day.reopen", {"approve": MANAGER})
        assert opened["state"] == "open" and opened["closes"] == 1
        [ev] = journal(app, "day.reopened")
        assert ev["approver"] == "9001" and ev["day"] == z["day"]
        await expect("conflict", sup.call("day.reopen", {"approve": MANAGER}))
        # selling again; the day closes a second time with a new Z
        await gw.call("sale.resume", {"id": suspended})
        await gw.call("shift.open", {"float": 0})
        await gw.call("sale.tender", {"method": "cash"})
        await gw.call("shift.close", {"counted": 190})
        z2 = await sup.call("day.close")
        assert z2["closes"] == 2 and z2["sales"]["count"] == 2
        assert app.store.journal_seq() > before


async def test_report_and_close_roles(till):
    gw = till
    async with connect(gw.url, gw.daemon.token("admin")) as cashier:
        await cashier.call("auth.login", {"operator": "1002", "pin": "4321"})
        for method in ("report.z", "day.close"):
            err = await expect("approval_required", cashier.call(method))
            assert err.details["role"] == "supervisor"
        z = await cashier.call("report.z", {"approve": SUPERVISOR})
        assert z["sales"]["count"] == 0 and z["first_receipt"] is None


async def test_concurrent_shift_opens_make_one_shift(till):
    gw = till
    results = []

    async def one():
        try:
            results.append((await gw.call("shift.open", {"float": 100}))["id"])
        except GatewayError as exc:
            results.append(exc.code)

    async with trio.open_nursery() as n:
        for _ in range(3):
            n.start_soon(one)
    assert sorted(results, key=lambda r: r == "conflict")[1:] == ["conflict", "conflict"]
    assert gw.app.store.one("SELECT COUNT(*) FROM shifts")[0] == 1
