"""Provider payments: idempotency keys, user_paying, timeouts, declines, the same code twice,
vouchers and split tenders; SimulatedProvider on its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from gatewayd.sales.payments import ProviderUnavailable, SimulatedProvider
from gatewayd.sales.tenders import Tender
from tests.conftest import Daemon, make_config, open_shift

ALIPAY = "281234567890123456"  # 18 digits, prefix 28
ALIPAY2 = "251234567890123456"
WECHAT = "134567890123456789"  # 18 digits, prefix 13


@pytest.fixture
async def pay(tmp_path, nursery):
    app = App(make_config(tmp_path, sale={"payment_poll_s": 0.02, "payment_timeout_s": 0.3,
                                          "payment_recheck_s": 0.2}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier")
    d.operator("9001", "manager", "9999")
    async with connect(d.url, d.token("admin")) as admin:
        await admin.call("catalog.upsert", {"items": [
            {"sku": "a", "name": "A", "price": 1000}, {"sku": "b", "name": "B", "price": 250}]})
        await admin.call("voucher.issue", {"code": "V1", "amount": 500})
        async with connect(d.url, d.token("cashier")) as gw:
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            gw.app, gw.admin, gw.sim = app, admin, app.sales.provider
            yield gw
    app.close()


async def expect(code, coro):
    with pytest.raises(GatewayError) as err:
        await coro
    assert err.value.code == code, err.value
    return err.value


async def test_alipay_code_completes_once_and_the_same_code_is_refused(pay):
    gw = pay
    await gw.call("sale.add", {"sku": "a"})
    done = await gw.call("sale.tender", {"code": ALIPAY})  # classified: alipay
    assert done["state"] == "completed" and done["tenders"][0]["method"] == "alipay"
    assert done["tenders"][0]["ref"].startswith("SIM")
    assert list(gw.sim.charged().values()) == [1000]
    await gw.call("sale.add", {"sku": "a"})
    err = await expect("conflict", gw.call("sale.tender", {"method": "alipay", "code": ALIPAY}))
    assert "already used" in err.message
    assert len(gw.sim.charged()) == 1 and (await gw.call("sale.current"))["paid"] == 0
    await expect("invalid_params", gw.call("sale.tender", {"method": "wechat", "code": ALIPAY}))
    await expect("invalid_params", gw.call("sale.tender", {"code": "6901234567892"}))


async def test_decline_charges_nothing_and_the_sale_stays_due(pay):
    gw = pay
    await gw.admin.call("payment.sim", {"script": ["decline"]})
    await gw.call("sale.add", {"sku": "a"})
    err = await expect("payment_declined", gw.call("sale.tender", {"method": "wechat",
                                                                   "code": WECHAT}))
    assert err.details["reason"] == "declined"
    sale = await gw.call("sale.current")
    assert sale["state"] == "open" and sale["due"] == 1000 and sale["payment"] is None
    assert gw.sim.charged() == {}
    row = gw.app.store.one("SELECT state FROM payment_attempts WHERE id=?", (err.details["key"],))
    assert row["state"] == "declined"
    done = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    assert done["state"] == "completed"


async def test_user_paying_is_polled_until_approved(pay):
    gw = pay
    await gw.subscribe(["sale"])
    await gw.admin.call("payment.sim", {"script": ["user_paying"], "polls": 3})
    await gw.call("sale.add", {"sku": "a"})
    done = await gw.call("sale.tender", {"method": "alipay", "code": ALIPAY})
    assert done["state"] == "completed"
    states = []
    while True:
        ev = await gw.next_event("sale.updated", timeout=2)
        states.append((ev["data"]["state"], (ev["data"]["payment"] or {}).get("state")))
        if ev["data"]["state"] == "completed":
            break
    assert ("open", "user_paying") in states
    assert list(gw.sim.charged().values()) == [1000]


async def test_timeout_cancels_the_charge(pay):
    gw = pay
    await gw.admin.call("payment.sim", {"script": ["timeout"]})
    await gw.call("sale.add", {"sku": "a"})
    err = await expect("payment_declined", gw.call("sale.tender", {"method": "alipay",
                                                                   "code": ALIPAY}))
    assert err.details["reason"] == "timeout"
    assert gw.sim.charged() == {}  # cancelled at the provider
    assert [e["op"] for e in gw.sim.ledger if e.get("key") == err.details["key"]] == [
        "charge", "cancel"]
    assert gw.app.store.one("SELECT state FROM payment_attempts")["state"] == "cancelled"
    assert (await gw.call("sale.current"))["due"] == 1000


async def test_unreachable_provider_is_retried_with_the_same_key(pay):
    gw = pay
    await gw.admin.call("payment.sim", {"script": ["error"]})  # the first call fails
    await gw.call("sale.add", {"sku": "a"})
    done = await gw.call("sale.tender", {"method": "card"})
    assert done["state"] == "completed" and len(gw.sim.charged()) == 1


async def test_lost_answer_then_recovery_applies_the_charge_once(pay):
    gw, svc = pay, pay.app.sales
    sim = gw.sim

    class LostAnswers:
        """Charges, but the answer never arrives (the network drops it)."""

        name = "sim"

        async def charge(self, *a):
            await sim.charge(*a)
            raise ProviderUnavailable("answer lost")

        query, cancel, refund = sim.query, sim.cancel, sim.refund

    svc.provider = LostAnswers()
    await gw.call("sale.add", {"sku": "a"})
    err = await expect("payment_declined", gw.call("sale.tender", {"method": "card"}))
    assert err.details["reason"] == "provider_unavailable"
    assert [e["op"] for e in sim.ledger] == ["charge", "charge_repeat", "charge_repeat"]
    sale = await gw.call("sale.current")
    assert sale["payment"]["state"] == "pending" and sale["paid"] == 0
    svc.provider = sim
    await svc.recover()  # asks the provider about the key: approved -> one tender
    await svc.recover()  # nothing left pending: no second tender
    await trio.sleep(0.5)  # and the service's own re-checks find nothing either
    done = await gw.call("sale.get", {"id": sale["id"]})
    assert done["state"] == "completed" and done["tenders"] == [
        {"method": "card", "amount": 1000, "ref": done["tenders"][0]["ref"]}]
    assert list(sim.charged().values()) == [1000]


async def test_split_tenders_voucher_card_cash(pay):
    gw = pay
    await gw.call("sale.add", {"sku": "a"})
    await gw.call("sale.add", {"sku": "b"})  # 12.50
    s = await gw.call("sale.tender", {"method": "voucher", "code": "V1"})
    assert s["state"] == "tendering" and s["due"] == 750
    await expect("conflict", gw.call("sale.tender", {"method": "voucher", "code": "V1"}))
    await expect("not_found", gw.call("sale.tender", {"method": "voucher", "code": "V9"}))
    await expect("conflict", gw.call("sale.add", {"sku": "b"}))  # being paid: no changes
    await expect("invalid_params", gw.call("sale.tender", {"method": "card", "amount": 800}))
    s = await gw.call("sale.tender", {"method": "card", "amount": 500})
    assert s["due"] == 250
    done = await gw.call("sale.tender", {"method": "cash", "amount": 300})
    assert done["state"] == "completed" and done["change"] == 50
    assert [t["method"] for t in done["tenders"]] == ["voucher", "card", "cash"]


async def test_void_reverses_provider_payments(pay):
    gw = pay
    await gw.call("sale.add", {"sku": "a"})
    await gw.call("sale.tender", {"method": "wechat", "code": WECHAT, "amount": 400})
    assert list(gw.sim.charged().values()) == [400]
    voided = await gw.call("sale.void", {"reason": "customer changed mind",
                                         "approve": {"operator": "9001", "pin": "9999"}})
    assert voided["state"] == "voided" and gw.sim.charged() == {}


async def test_scanned_payment_code_while_due_is_tendered(pay):
    gw, app = pay, pay.app
    await gw.subscribe(["sale", "scanner"])
    app.emit("scanner.data", {"device": "scanner", "data": ALIPAY2, "symbology": None})
    ev = await gw.next_event("scanner.error")
    assert ev["data"]["reason"] == "no_sale"
    await gw.call("sale.add", {"sku": "b"})
    app.emit("scanner.data", {"device": "scanner", "data": ALIPAY2 + "\r", "symbology": None})
    with trio.fail_after(5):
        while True:
            ev = await gw.next_event("sale.updated")
            if ev["data"]["state"] == "completed":
                break
    assert ev["data"]["tenders"][0]["method"] == "alipay"


# -- the simulator on its own ------------------------------------------------------------------
async def test_simulator_is_idempotent_and_survives_restart(tmp_path):
    path = tmp_path / "ledger.jsonl"
    sim = SimulatedProvider(path=path)
    r1 = await sim.charge("s:1", "card", 500)
    r2 = await sim.charge("s:1", "card", 500)
    assert r1 == r2 and r1.state == "approved" and sim.charged() == {"s:1": 500}
    sim.script("decline", "user_paying")
    assert (await sim.charge("s:2", "card", 100)).state == "declined"
    assert (await sim.charge("s:3", "card", 100)).state == "user_paying"
    assert (await sim.query("s:3")).state == "approved"  # polls=1
    assert (await sim.query("nope")).state == "not_found"
    assert (await sim.refund("r:1", "s:1", 300)).state == "approved"
    assert (await sim.refund("r:2", "s:1", 300)).state == "declined"  # more than charged
    assert (await sim.refund("r:1", "s:1", 300)).amount == 300  # same key, same refund
    await sim.cancel("s:4")  # fenced: a late charge with this key takes nothing
    assert (await sim.charge("s:4", "card", 100)).state == "cancelled"
    again = SimulatedProvider(path=path)
    assert again.charged() == sim.charged() == {"s:1": 500, "s:3": 100}
    assert (await again.charge("s:1", "card", 500)).state == "approved"
    assert again.charges["s:1"].refunded == 300
    with pytest.raises(ValueError):
        sim.script("bogus")


async def test_a_tender_this_till_does_not_take_is_refused_and_nothing_is_charged(
        tmp_path, nursery):
    """`[sale] tenders` limits what sale.tender takes (head office's payment setting does the
    same: tests/hq/test_master_central.py), and sale.tenders tells the checkout which."""
    app = App(make_config(tmp_path, sale={"tenders": ["cash", "wechat"]}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier")
    async with connect(d.url, d.token("admin")) as admin:
        await admin.call("catalog.upsert", {"items": [{"sku": "a", "name": "A", "price": 1000}]})
        await admin.call("voucher.issue", {"code": "V1", "amount": 500})
        assert await admin.call("sale.tenders") == {"tenders": ["cash", "wechat"],
                                                    "source": "config"}
        await admin.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(admin)
        await admin.call("sale.add", {"sku": "a"})
        for params in ({"method": "card"}, {"code": ALIPAY},  # a classified code: alipay
                       {"method": "voucher", "code": "V1"}, {"method": "points"}):
            err = await expect("invalid_params", admin.call("sale.tender", params))
            assert "is not taken at this till" in err.message
            assert err.details["field"] == "method"
            assert err.details["tenders"] == ["cash", "wechat"]
            assert err.details["method"] == params.get("method", "alipay")
        assert app.sales.provider.charged() == {}
        assert app.store.one("SELECT count(*) AS n FROM payment_attempts")["n"] == 0
        sale = await admin.call("sale.current")
        assert (sale["paid"], sale["tenders"]) == (0, [])
        done = await admin.call("sale.tender", {"method": "wechat", "code": WECHAT})
        assert done["state"] == "completed"
    app.close()


async def test_a_sale_is_read_in_one_snapshot_while_a_tender_commits(pay):
    """`sale.current` reads the sale's row, lines, tenders and open attempt in several
    statements. Payment recovery at start-up runs beside the clients, and a tender it
    committed between two of them gave a picture that never was: the old version with the
    new tender (the kill -9 test saw it). A commit is forced in there: the answer is the
    sale before it, whole, and the next read the sale after it, whole."""
    gw, app = pay, pay.app
    svc, store = app.sales, app.store
    await gw.call("sale.add", {"sku": "a"})
    before = await gw.call("sale.current")
    real = store._r

    def tender_commits() -> None:
        store.write_sync(lambda tx: svc._insert_tender(
            tx, svc.load(tx, before["id"]), Tender("cash", 300), None))

    class CommitAfterTheSaleRow:
        """The read connection, with a tender committed right after the sale's row."""

        armed = True
        in_transaction = property(lambda self: real.in_transaction)

        def execute(self, sql, params=()):
            cur = real.execute(sql, params)
            if self.armed and sql.startswith("SELECT * FROM sales WHERE id="):
                self.armed = False
                row = cur.fetchone()
                tender_commits()
                return SimpleNamespace(fetchone=lambda: row)
            return cur

    store._r = CommitAfterTheSaleRow()
    try:
        torn = svc.current()
    finally:
        store._r = real
    assert store._r.in_transaction is False
    assert (torn["version"], torn["tenders"], torn["paid"]) == (
        before["version"], [], 0), torn
    after = await gw.call("sale.current")
    assert after["version"] == before["version"] + 1 and after["paid"] == 300
    assert [t["amount"] for t in after["tenders"]] == [300]


async def test_an_attempt_kept_pending_is_settled_without_a_restart(pay):
    """The provider could not be reached: the attempt is kept. Nobody restarts the daemon:
    the service asks again every `payment_recheck_s` until the provider answers, and the
    approved charge becomes the sale's tender (it used to wait for the next start-up)."""
    gw, svc, sim = pay, pay.app.sales, pay.sim

    class Unreachable:
        name = "sim"

        async def charge(self, *a):
            await sim.charge(*a)
            raise ProviderUnavailable("answer lost")

        async def query(self, key):
            raise ProviderUnavailable("still unreachable")

        cancel, refund = sim.cancel, sim.refund

    svc.provider = Unreachable()
    await gw.call("sale.add", {"sku": "a"})
    await expect("payment_declined", gw.call("sale.tender", {"method": "card"}))
    await trio.sleep(0.6)  # re-checks meanwhile: the provider still does not answer
    sale = await gw.call("sale.current")
    assert sale["payment"]["state"] == "pending" and sale["paid"] == 0
    svc.provider = sim  # the link is back
    with trio.fail_after(5):
        while (await gw.call("sale.current"))["state"] != "completed":
            await trio.sleep(0.05)
    done = await gw.call("sale.get", {"id": sale["id"]})
    assert [(t["method"], t["amount"]) for t in done["tenders"]] == [("card", 1000)]
    assert list(sim.charged().values()) == [1000]
