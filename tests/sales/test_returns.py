"""Returns through the protocol (a real daemon in-process, tests/conftest.py): refunds by
receipt, partial and repeated, to the original tenders, provider faults, exchanges, returns
without a receipt, post-voids, the refund hooks and the scan router's refund mode.

A refund is a supervisor's (tests/security/test_cash_control.py has a cashier asking for
one): here a supervisor serves at the till, sells and refunds."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from gatewayd.sales.money import allocate
from gatewayd.sales.payments import ProviderUnavailable
from protocol.codec import unpack
from tests.conftest import Daemon, make_config, open_shift

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "tax_rate_bp": 1300,
     "barcodes": ["6901234567892"]},
    {"sku": "1002", "name": "农夫山泉 550ml", "price": 200, "tax_rate_bp": 1300},
    {"sku": "2001", "name": "红富士苹果", "price": 1280, "unit": "kg", "tax_rate_bp": 900},
    {"sku": "3001", "name": "大米 5kg", "price": 4990, "tax_rate_bp": 900},
]
ALIPAY = "281234567890123456"
ALIPAY2 = "251234567890123456"
SUPERVISOR = {"operator": "8001", "pin": "8888"}
MANAGER = {"operator": "9001", "pin": "9999"}


@pytest.fixture
async def till(tmp_path, nursery):
    app = App(make_config(tmp_path, sale={"payment_poll_s": 0.02, "payment_timeout_s": 0.3}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("8001", "supervisor", "8888")
    d.operator("9001", "manager", "9999")
    async with connect(d.url, d.token("admin")) as admin:
        await admin.call("catalog.upsert", {"items": ITEMS})
        async with connect(d.url, d.token("supervisor")) as gw:
            await gw.call("auth.login", SUPERVISOR)
            await open_shift(gw)
            gw.app, gw.admin, gw.sim = app, admin, app.sales.provider
            yield gw
    app.close()


async def expect(code: str, coro):
    with pytest.raises(GatewayError) as err:
        await coro
    assert err.value.code == code, err.value
    return err.value


def journal(app, kind: str) -> list[dict]:
    return [e.data for e in app.store.journal(0, 100000) if e.kind == kind]


async def sell(gw, items: list[tuple[str, int]], tenders: list[dict]) -> dict:
    for sku, qty in items:
        await gw.call("sale.add", {"sku": sku, "qty": qty})
    sale = None
    for t in tenders:
        sale = await gw.call("sale.tender", t)
    assert sale is not None and sale["state"] == "completed", sale
    return sale


def snapshot(app) -> tuple:
    """Everything a refund changes: a refused refund must leave it all as it was."""
    s = app.store
    return (s.journal_seq(),
            [tuple(r) for r in s.all("SELECT id, returned_qty FROM sale_lines ORDER BY id")],
            s.one("SELECT COUNT(*) FROM sales")[0], s.one("SELECT COUNT(*) FROM sale_tenders")[0],
            s.one("SELECT COUNT(*) FROM payment_attempts")[0])


# -- by receipt: whole, partial, repeated ------------------------------------------------------
async def test_whole_refund_in_cash_then_nothing_is_left(till):
    gw, app = till, till.app
    await gw.subscribe(["sale"])
    sale = await sell(gw, [("1001", 2000), ("3001", 1000)], [{"method": "cash", "amount": 10000}])
    assert sale["total"] == 5690 and sale["change"] == 4310
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    assert ref["kind"] == "refund" and ref["state"] == "completed"
    assert ref["receipt_no"] == sale["receipt_no"].rsplit("-", 1)[0] + "-R0001"
    assert ref["refund_of"] == sale["id"] and ref["orig_receipt_no"] == sale["receipt_no"]
    assert ref["tenders"] == [{"method": "cash", "amount": -5690}]
    assert ref["total"] == 5690 and ref["paid"] == 5690 and ref["rounding"] == 0
    assert [(ln["sku"], ln["qty"]) for ln in ref["lines"]] == [("1001", 2000), ("3001", 1000)]
    assert sum(ln["tax"] for ln in ref["lines"]) == sale["tax_total"]
    ev = await gw.next_event("sale.refunded")
    assert ev["data"]["receipt_no"] == ref["receipt_no"]
    got = await gw.call("sale.get", {"receipt_no": ref["receipt_no"]})
    assert got["kind"] == "refund" and got["id"] == ref["id"]
    left = await gw.call("sale.refundable", {"receipt_no": sale["receipt_no"]})
    assert [ln["refundable"] for ln in left["lines"]] == [0, 0]
    assert left["refunds"] == [ref["receipt_no"]]
    before = snapshot(app)
    err = await expect("conflict", gw.call("sale.refund", {"receipt_no": sale["receipt_no"]}))
    assert err.details["reason"] == "fully_refunded"
    assert snapshot(app) == before
    [event] = journal(app, "sale.refunded")
    assert event["money"] == 5690 and event["orig_receipt_no"] == sale["receipt_no"]


async def test_partial_refunds_never_exceed_what_was_sold(till):
    gw, app = till, till.app
    sale = await sell(gw, [("1001", 3000), ("2001", 1250)], [{"method": "cash"}])
    coke, apples = (ln["line_id"] for ln in sale["lines"])
    # more than sold: refused, nothing changed
    before = snapshot(app)
    err = await expect("conflict", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"], "lines": [{"line_id": coke, "qty": 4000}]}))
    assert err.details["reason"] == "more_than_sold" and err.details["refundable"] == 3000
    await expect("invalid_params", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"], "lines": [{"line_id": "nope", "qty": 1000}]}))
    await expect("invalid_params", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"], "lines": [{"line_id": coke, "qty": 0}]}))
    await expect("invalid_params", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"],
        "lines": [{"line_id": coke, "qty": 1000}, {"line_id": coke, "qty": 1000}]}))
    assert snapshot(app) == before
    # two, then two more is too many; the second refund is only for what is left
    r1 = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"],
                                       "lines": [{"line_id": coke, "qty": 2000}]})
    assert r1["total"] == 700 and r1["tenders"] == [{"method": "cash", "amount": -700}]
    before = snapshot(app)
    err = await expect("conflict", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"], "lines": [{"line_id": coke, "qty": 2000}]}))
    assert (err.details["sold"], err.details["returned"], err.details["refundable"]) == (
        3000, 2000, 1000)
    assert snapshot(app) == before
    # the rest, whole: the last coke and the apples (in three pieces: exact in total)
    r2 = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"],
                                       "lines": [{"line_id": apples, "qty": 333}]})
    r3 = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"],
                                       "lines": [{"line_id": apples, "qty": 333}]})
    r4 = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    assert [(ln["sku"], ln["qty"]) for ln in r4["lines"]] == [("1001", 1000), ("2001", 584)]
    refunds = [r1, r2, r3, r4]
    assert sum(-t["amount"] for r in refunds for t in r["tenders"]) == sale["total"]
    apple_lines = [ln for r in refunds for ln in r["lines"] if ln["sku"] == "2001"]
    assert sum(ln["amount"] for ln in apple_lines) == sale["lines"][1]["amount"]
    assert sum(ln["tax"] for ln in apple_lines) == sale["lines"][1]["tax"]
    assert len({r["receipt_no"] for r in refunds}) == 4
    rows = app.store.all("SELECT qty, returned_qty FROM sale_lines WHERE sale_id=?",
                         (sale["id"],))
    assert all(r["qty"] == r["returned_qty"] for r in rows)


async def test_unknown_receipt_and_bad_requests(till):
    gw, app = till, till.app
    before = snapshot(app)
    err = await expect("not_found", gw.call("sale.refund", {"receipt_no": "S001-T01-20200101-9"}))
    assert err.details["receipt_no"] == "S001-T01-20200101-9"
    await expect("not_found", gw.call("sale.refundable", {"receipt_no": "nope"}))
    await expect("invalid_params", gw.call("sale.refund", {}))
    await expect("invalid_params", gw.call("sale.refund", {"receipt_no": 5}))
    assert snapshot(app) == before
    # an open (not completed) sale has no receipt; a refund document is not refundable
    sale = await sell(gw, [("1002", 1000)], [{"method": "cash"}])
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    await expect("not_found", gw.call("sale.refund", {"receipt_no": ref["receipt_no"]}))


async def test_login_is_needed(till):
    gw = till
    sale = await sell(gw, [("1002", 1000)], [{"method": "cash"}])
    async with connect(gw.url, _token(gw)) as anon:
        err = await expect("unauthenticated", anon.call("sale.refund",
                                                        {"receipt_no": sale["receipt_no"]}))
        assert err.details == {"login_required": True}


def _token(gw) -> str:
    return Daemon(gw.app).token("supervisor")


# -- back to the original tenders ----------------------------------------------------------
async def test_split_tender_refund_is_proportional_and_goes_back_through_the_provider(till):
    gw, app = till, till.app
    sale = await sell(gw, [("3001", 1000), ("1001", 1000)],
                      [{"method": "cash", "amount": 2000}, {"code": ALIPAY}])
    assert sale["total"] == 5340 and sale["tenders"][1]["amount"] == 3340
    coke = sale["lines"][1]["line_id"]
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"],
                                        "lines": [{"line_id": coke, "qty": 1000}]})
    cash_share, alipay_share = allocate(350, [2000, 3340])  # independent: the same rule
    assert ref["tenders"][0] == {"method": "cash", "amount": -cash_share}
    assert ref["tenders"][1]["method"] == "alipay"
    assert ref["tenders"][1]["amount"] == -alipay_share
    assert ref["tenders"][1]["ref"].startswith("SIMR")
    [charge_key] = gw.sim.charged()
    refunds = [e for e in gw.sim.ledger if e["op"] == "refund"]
    assert [(e["original"], e["amount"]) for e in refunds] == [(charge_key, alipay_share)]
    att = app.store.one("SELECT * FROM payment_attempts WHERE kind='refund'")
    assert att["state"] == "approved" and att["original"] == charge_key
    assert att["sale_id"] == sale["id"] and att["amount"] == alipay_share
    # the rest: each tender gets back exactly what is left of it
    rest = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    got = {t["method"]: -t["amount"] for t in rest["tenders"]}
    assert got == {"cash": 2000 - cash_share, "alipay": 3340 - alipay_share}
    assert gw.sim.charges[charge_key].refunded == 3340


class Flaky:
    """Wraps provider.refund: the first call refunds but its answer is lost, the next
    `more` calls cannot reach the provider; then it answers again."""

    def __init__(self, sim, more: int = 2):
        self.sim, self.real, self.calls, self.more = sim, sim.refund, 0, more

    async def __call__(self, key, original, amount):
        self.calls += 1
        if self.calls == 1:
            await self.real(key, original, amount)
            raise ProviderUnavailable("answer lost")
        if self.calls <= 1 + self.more:
            raise ProviderUnavailable("still down")
        return await self.real(key, original, amount)


async def test_provider_failure_then_retry_refunds_once(till):
    gw, app = till, till.app
    sale = await sell(gw, [("3001", 1000)], [{"code": ALIPAY}])
    flaky = Flaky(gw.sim)
    gw.sim.refund = flaky
    before_refunds = app.store.one("SELECT COUNT(*) FROM sales WHERE kind='refund'")[0]
    err = await expect("payment_declined", gw.call("sale.refund",
                                                   {"receipt_no": sale["receipt_no"]}))
    assert err.details["reason"] == "provider_unavailable"
    pending_id = err.details["refund_id"]
    # nothing was completed: no refund document, nothing returned
    assert app.store.one("SELECT COUNT(*) FROM sales WHERE kind='refund'")[0] == before_refunds
    assert app.store.one("SELECT SUM(returned_qty) FROM sale_lines")[0] == 0
    att = app.store.one("SELECT * FROM payment_attempts WHERE kind='refund'")
    assert att["state"] == "pending" and att["id"] == err.details["key"]
    # while it is pending: other lines conflict, and the shift (so the day) cannot close
    line = sale["lines"][0]["line_id"]
    err2 = await expect("conflict", gw.call("sale.refund", {
        "receipt_no": sale["receipt_no"], "lines": [{"line_id": line, "qty": 1000}]}))
    assert err2.details["refund_id"] == pending_id
    err3 = await expect("conflict", gw.call("shift.close", {"counted": 0}))
    assert err3.details["reason"] == "refund_pending"
    # the retry: the same key again; the provider answers its first refund
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    assert ref["id"] == pending_id and ref["tenders"][0]["amount"] == -4990
    assert gw.sim.charges[next(iter(gw.sim.charges))].refunded == 4990  # once, not twice
    assert [e["op"] for e in gw.sim.ledger if e["op"].startswith("refund")] == [
        "refund", "refund_repeat"]
    assert app.store.one("SELECT COUNT(*) FROM payment_attempts WHERE kind='refund'")[0] == 1
    # and a further retry is simply "nothing left"
    await expect("conflict", gw.call("sale.refund", {"receipt_no": sale["receipt_no"]}))


async def test_declined_refund_gets_a_new_key_on_retry(till):
    gw, app = till, till.app
    sale = await sell(gw, [("1001", 1000)], [{"code": ALIPAY}])
    real = gw.sim.refund
    answers = ["declined"]

    async def refund(key, original, amount):
        if answers:
            answers.pop()
            from gatewayd.sales.payments import PaymentResult

            return PaymentResult("declined", message="risk control")
        return await real(key, original, amount)

    gw.sim.refund = refund
    err = await expect("payment_declined", gw.call("sale.refund",
                                                   {"receipt_no": sale["receipt_no"]}))
    assert err.details["reason"] == "declined"
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    rows = app.store.all("SELECT id, state FROM payment_attempts WHERE kind='refund' ORDER BY n")
    assert [r["state"] for r in rows] == ["declined", "approved"]
    assert rows[0]["id"] != rows[1]["id"]
    assert ref["tenders"][0]["amount"] == -350


# -- exchange, no receipt, post-void -----------------------------------------------------------
async def test_exchange_credit_pays_the_new_sale(till):
    gw, app = till, till.app
    sale = await sell(gw, [("1001", 2000)], [{"method": "cash", "amount": 1000}])
    line = sale["lines"][0]["line_id"]
    # the customer swaps a coke for rice: the new sale is opened first
    await gw.call("sale.add", {"sku": "3001"})
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"], "exchange": True,
                                        "lines": [{"line_id": line, "qty": 1000}]})
    assert ref["tenders"] == [{"method": "voucher", "amount": -350, "ref": ref["receipt_no"]}]
    assert ref["vouchers"] == [{"code": ref["receipt_no"], "amount": 350, "exchange": True}]
    new = await gw.call("sale.current")
    assert ref["applied_to"] == new["id"]
    assert new["tenders"] == [{"method": "voucher", "amount": 350, "ref": ref["receipt_no"]}]
    assert new["due"] == 4990 - 350
    done = await gw.call("sale.tender", {"method": "cash"})
    assert done["state"] == "completed"
    # the drawer gave nothing back for the exchange: no cash refund
    assert all(t["method"] != "cash" for t in ref["tenders"])
    # no open sale: the voucher waits for the next one
    ref2 = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"], "exchange": True})
    assert ref2["applied_to"] is None
    await gw.call("sale.add", {"sku": "1002"})
    await gw.call("sale.add", {"sku": "1002"})
    paid = await gw.call("sale.tender", {"method": "voucher", "code": ref2["receipt_no"]})
    assert paid["tenders"][0]["amount"] == 350 and paid["due"] == 50
    paid = await gw.call("sale.tender", {"method": "cash"})
    assert paid["state"] == "completed"
    assert app.store.one("SELECT used_sale FROM vouchers WHERE code=?",
                         (ref2["receipt_no"],))[0] == paid["id"]


async def test_return_without_receipt_needs_a_manager(till):
    gw, app = till, till.app
    params = {"no_receipt": True, "lines": [{"sku": "3001", "qty": 1000},
                                            {"sku": "1001", "qty": 2000, "unit_price": 300}]}
    before = snapshot(app)
    err = await expect("approval_required", gw.call("sale.refund", params))
    assert err.details == {"action": "sale.refund.no_receipt", "role": "manager"}
    assert snapshot(app)[1:] == before[1:]  # (the refusal itself is journaled: auth.denied)
    await expect("invalid_params", gw.call("sale.refund", {**params, "approve": MANAGER,
                                                           "receipt_no": "x"}))
    await expect("not_found", gw.call("sale.refund", {
        "no_receipt": True, "lines": [{"sku": "nope", "qty": 1000}], "approve": MANAGER}))
    ref = await gw.call("sale.refund", {**params, "approve": MANAGER})
    assert ref["refund_of"] is None and ref["tenders"] == [{"method": "cash", "amount": -5590}]
    assert [ln["amount"] for ln in ref["lines"]] == [4990, 600]
    [ev] = journal(app, "sale.refunded")
    assert ev["approver"] == "9001" and ev["reason"] == "no_receipt"


async def test_post_void_of_the_last_sale(till):
    gw = till
    first = await sell(gw, [("1001", 1000)], [{"method": "cash"}])
    last = await sell(gw, [("1002", 1000)], [{"method": "cash"}])
    err = await expect("approval_required", gw.call("sale.refund", {"post_void": True}))
    assert err.details["action"] == "sale.post_void"
    err = await expect("conflict", gw.call("sale.refund", {
        "receipt_no": first["receipt_no"], "post_void": True, "approve": MANAGER}))
    assert err.details["reason"] == "not_last"
    pv = await gw.call("sale.refund", {"post_void": True, "approve": MANAGER})
    assert pv["refund_of"] == last["id"] and pv["void_reason"] == "post_void"
    assert pv["tenders"] == [{"method": "cash", "amount": -200}]
    async with connect(gw.url, gw.admin.token) as admin:
        z = await admin.call("report.z")
    assert z["post_voids"] == {"count": 1, "total": 200}
    assert z["refunds"] == {"count": 0, "total": 0}


# -- hooks, slip, drawer, scan router, closed day -----------------------------------------------
async def test_refund_hooks_run_inside_the_transaction_and_the_slip_is_queued(till):
    gw, app = till, till.app
    from tests.sales.test_service import FakeDrawer, FakePrinter, fake_devices

    _p, drawer = fake_devices(app, FakePrinter(), FakeDrawer())
    seen = []

    def hook(tx, wire):
        row = tx.one("SELECT state, kind FROM sales WHERE id=?", (wire["id"],))
        orig = tx.one("SELECT SUM(returned_qty) FROM sale_lines WHERE sale_id=?",
                      (wire["refund_of"],))
        seen.append((wire["kind"], tuple(row), orig[0], [ln["qty"] for ln in wire["lines"]]))

    app.sales.on_refund.append(hook)
    sale = await sell(gw, [("1001", 2000)], [{"method": "cash"}])
    with trio.fail_after(5):  # the sale's own drawer opening happens after its commit
        while not journal(app, "drawer.opened"):
            await trio.sleep(0.01)
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
    assert seen == [("refund", ("completed", "refund"), 2000, [2000])]
    job = app.store.one("SELECT * FROM print_jobs WHERE kind='refund'")
    assert job["ref"] == ref["receipt_no"]
    texts = " ".join(d.get("text", "") + d.get("left", "") for d in unpack(job["document"]))
    assert "退货单" in texts and sale["receipt_no"] in texts
    assert drawer.opened == 2
    opened = journal(app, "drawer.opened")
    assert opened[-1]["reason"] == "refund" and opened[-1]["receipt_no"] == ref["receipt_no"]

    # a hook that fails rolls the whole refund back
    def boom(tx, wire):
        raise RuntimeError("hook failed")

    app.sales.on_refund.append(boom)
    sale2 = await sell(gw, [("1002", 1000)], [{"method": "cash"}])
    with trio.fail_after(5):
        while len(journal(app, "drawer.opened")) < 3:
            await trio.sleep(0.01)
    before = snapshot(app)
    with pytest.raises(GatewayError):
        await gw.call("sale.refund", {"receipt_no": sale2["receipt_no"]})
    assert snapshot(app) == before


async def test_a_reprint_is_the_receipt_as_first_queued_marked(till):
    """A reprint copies the job its sale or refund queued (a refund slip names the original
    receipt, which the refund's own row does not hold: rendered again from the refund it
    named the original sale's id); with that job gone (retention archives documents) it is
    rendered from the sale."""
    gw, app = till, till.app
    from tests.sales.test_service import FakePrinter, fake_devices

    fake_devices(app, FakePrinter())
    sale = await sell(gw, [("1001", 2000)], [{"method": "cash"}])
    ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})

    def doc(job_id: str) -> list[dict]:
        return unpack(app.store.one("SELECT document FROM print_jobs WHERE id=?",
                                    (job_id,))["document"])

    slip = app.store.one("SELECT id FROM print_jobs WHERE kind='refund'")["id"]
    for count in (1, 2):
        r = await gw.call("receipt.reprint", {"receipt_no": ref["receipt_no"]})
        assert r["reprints"] == count
        got = doc(r["job_id"])
        assert got[0]["text"] == f"*** 重打印 REPRINT ({count}) ***" and got[1:] == doc(slip)
    texts = " ".join(d.get("text", "") for d in got)
    assert f"原单 Original: {sale['receipt_no']}" in texts
    receipt = app.store.one("SELECT id FROM print_jobs WHERE kind='receipt' AND ref=?",
                            (sale["receipt_no"],))["id"]
    first = doc(receipt)
    await app.store.write(lambda tx: tx.execute("DELETE FROM print_jobs WHERE kind='receipt'"))
    r = await gw.call("receipt.reprint", {"receipt_no": sale["receipt_no"]})
    got = doc(r["job_id"])
    assert got[0]["text"] == "*** 重打印 REPRINT (1) ***" and got[1:] == first


async def test_receipt_scan_in_refund_mode(till):
    gw, app = till, till.app
    sale = await sell(gw, [("1001", 1000), ("1002", 1000)], [{"method": "cash"}])
    await gw.subscribe(["sale", "scanner"])
    mode = await gw.call("sale.refund_mode", {"enabled": True})
    assert mode["enabled"] and app.returns.refund_mode
    app.emit("scanner.data", {"device": "scanner", "data": sale["receipt_no"]})
    ev = await gw.next_event("sale.refund_lookup")
    assert ev["data"]["sale"]["id"] == sale["id"]
    assert [ln["refundable"] for ln in ev["data"]["lines"]] == [1000, 1000]
    assert not app.returns.refund_mode  # one receipt per refund mode
    # whole: the scan refunds what is left
    await gw.call("sale.refund_mode", {"enabled": True, "whole": True})
    app.emit("scanner.data", {"device": "scanner", "data": sale["receipt_no"]})
    ev = await gw.next_event("sale.refunded")
    assert ev["data"]["refund_of"] == sale["id"] and ev["data"]["paid"] == 550
    # outside refund mode the same barcode is not an item
    app.emit("scanner.data", {"device": "scanner", "data": sale["receipt_no"]})
    err = await gw.next_event("scanner.error")
    assert err["data"]["data"] == sale["receipt_no"]
    assert (await gw.call("sale.current"))["state"] != "open"


async def test_refund_on_a_closed_day_is_refused(till):
    gw, app = till, till.app
    sale = await sell(gw, [("1001", 1000)], [{"method": "cash"}])
    await gw.call("shift.close", {"counted": 350})
    async with connect(gw.url, gw.admin.token) as admin:
        await admin.call("day.close")
    before = snapshot(app)
    err = await expect("conflict", gw.call("sale.refund", {"receipt_no": sale["receipt_no"]}))
    assert err.details["reason"] == "day_closed"
    assert snapshot(app) == before


async def test_concurrent_refunds_of_one_line_never_exceed_it(till):
    gw = till
    sale = await sell(gw, [("1001", 2000)], [{"method": "cash"}])
    line = sale["lines"][0]["line_id"]
    results: list = []

    async def one():
        try:
            results.append(await gw.call("sale.refund", {
                "receipt_no": sale["receipt_no"], "lines": [{"line_id": line, "qty": 1500}]}))
        except GatewayError as exc:
            results.append(exc.code)

    async with trio.open_nursery() as n:
        n.start_soon(one)
        n.start_soon(one)
    assert sorted(r if isinstance(r, str) else "ok" for r in results) == ["conflict", "ok"]


async def test_pending_refund_survives_a_restart_and_the_retry_refunds_once(tmp_path):
    """The daemon stops while a provider refund's outcome is unknown (it went through, the
    answer was lost); after a restart the attempt is untouched by the charge recovery and
    the retry re-sends the same key: the provider's own ledger shows one refund."""
    cfg = {"payment_poll_s": 0.02, "payment_timeout_s": 0.3}

    async def session(fn):
        async with trio.open_nursery() as nursery:
            app = App(make_config(tmp_path, sale=cfg))
            await nursery.start(app.run)
            d = Daemon(app)
            try:
                async with connect(d.url, d.token("admin")) as admin:
                    await admin.call("catalog.upsert", {"items": ITEMS})
                async with connect(d.url, d.token("admin")) as gw:
                    await gw.call("auth.login", SUPERVISOR)
                    return await fn(app, gw)
            finally:
                nursery.cancel_scope.cancel()
                app.close()

    async def sell_and_fail(app, gw):
        await open_shift(gw)
        sale = await sell(gw, [("3001", 1000)], [{"code": ALIPAY}])
        app.sales.provider.refund = Flaky(app.sales.provider)
        err = await expect("payment_declined", gw.call("sale.refund",
                                                       {"receipt_no": sale["receipt_no"]}))
        return sale, err.details["key"]

    async def retry(app, gw):
        await trio.sleep(0.1)  # the sale service's recover() has run
        att = app.store.one("SELECT state FROM payment_attempts WHERE id=?", (key,))
        assert att["state"] == "pending"
        ref = await gw.call("sale.refund", {"receipt_no": sale["receipt_no"]})
        sim = app.sales.provider
        return ref, sim.charges[next(iter(sim.charged()))].refunded, [
            e["op"] for e in sim.ledger if e["op"].startswith("refund")]

    app0 = App(make_config(tmp_path, sale=cfg))
    Daemon(app0).operator("8001", "supervisor", "8888")
    app0.close()
    sale, key = await session(sell_and_fail)
    ref, refunded, ops = await session(retry)
    assert ref["tenders"][0]["amount"] == -4990 and ref["tenders"][0]["method"] == "alipay"
    assert refunded == 4990 and ops == ["refund", "refund_repeat"]
