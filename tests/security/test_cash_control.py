"""Attack class: a dishonest insider within their role (issue 13 item 6).

A refund is a supervisor's unless the site lowers it, by `sale.refund` and by a receipt
scanned in refund mode alike; a sale is paid only in an open shift; reopening a closed day
is a manager's, asked for at once and recorded as `reopened_by`; a viewer (a customer
display's token) cannot raise alerts; one voucher.issue cannot mint more than the site's
ceiling; and the role table of docs/protocol.md is the catalogue's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.python import GatewayError, connect
from gatewayd.app import App
from gatewayd.config import Config
from protocol.methods import SPECS
from protocol.roles import ROLES
from tests.conftest import Daemon, make_config, open_shift

ROOT = Path(__file__).resolve().parents[2]
CASHIER = {"operator": "1001", "pin": "1234"}
SUPERVISOR = {"operator": "8001", "pin": "8888"}
MANAGER = {"operator": "9001", "pin": "9999"}
WATER = {"sku": "W1", "name": "矿泉水", "price": 200}


async def started_shop(tmp_path, nursery, **config):
    app = App(make_config(tmp_path, **config))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("8001", "supervisor", "8888")
    d.operator("9001", "manager", "9999")
    async with connect(d.url, d.token("admin")) as admin:
        await admin.call("catalog.upsert", items=[WATER])
    return d


@pytest.fixture
async def shop(tmp_path, nursery):
    d = await started_shop(tmp_path, nursery, sale={"max_voucher": 50_000})
    yield d
    d.app.close()


async def cash_sale(gw) -> dict:
    await gw.call("sale.add", sku="W1")
    return await gw.call("sale.tender", method="cash", amount=200)


def refunds(app) -> list[dict]:
    return [e.data for e in app.store.journal() if e.kind == "sale.refunded"]


async def test_a_refund_needs_a_supervisor_unless_the_site_lowers_it(shop):
    async with connect(shop.url, shop.token("cashier")) as gw:
        await gw.call("auth.login", **CASHIER)
        await open_shift(gw)
        sale = await cash_sale(gw)
        start = shop.app.store.journal_seq()
        with pytest.raises(GatewayError) as err:
            await gw.call("sale.refund", receipt_no=sale["receipt_no"])
        assert err.value.code == "approval_required"
        assert err.value.details == {"action": "sale.refund", "role": "supervisor"}
        assert [e.kind for e in shop.app.store.journal(after=start)] == ["auth.denied"]
        with pytest.raises(GatewayError) as err:  # another cashier cannot approve it
            await gw.call("sale.refund", receipt_no=sale["receipt_no"], approve=CASHIER)
        assert err.value.code == "forbidden"
        assert refunds(shop.app) == []
        done = await gw.call("sale.refund", receipt_no=sale["receipt_no"], approve=SUPERVISOR)
        assert done["kind"] == "refund" and done["operator"] == "1001"
        [event] = refunds(shop.app)
        assert event["approver"] == "8001" and event["operator"] == "1001"
        # the site lowers it: its cashiers refund without asking
        shop.app.config.auth.require["sale.refund"] = "cashier"
        again = await cash_sale(gw)
        await gw.call("sale.refund", receipt_no=again["receipt_no"])
        assert refunds(shop.app)[-1]["approver"] is None


def test_a_site_lowers_only_what_may_be_lowered(tmp_path):
    lowered = make_config(tmp_path, auth={"require": {"sale.refund": "cashier"}})
    assert lowered.auth.require == {"sale.refund": "cashier"}
    with pytest.raises(ValueError, match=r"sale\.void needs at least manager"):
        Config.model_validate({"data_dir": str(tmp_path),
                               "auth": {"require": {"sale.void": "cashier"}}})


async def test_a_receipt_scanned_in_refund_mode_needs_what_a_refund_needs(shop):
    """The scan router's whole-refund mode refunds the next receipt scanned: arming it is a
    refund, so a cashier cannot walk round the approval by scanning the receipt."""
    app = shop.app
    async with connect(shop.url, shop.token("cashier")) as gw:
        await gw.call("auth.login", **CASHIER)
        await open_shift(gw)
        sale = await cash_sale(gw)
        await gw.subscribe(["sale", "scanner"])
        with pytest.raises(GatewayError) as err:
            await gw.call("sale.refund_mode", enabled=True, whole=True)
        assert err.value.details == {"action": "sale.refund", "role": "supervisor"}
        assert not app.returns.whole
        # a lookup is no refund: the mode may be armed, and the scan only shows the receipt
        await gw.call("sale.refund_mode", enabled=True)
        app.emit("scanner.data", {"device": "scanner", "data": sale["receipt_no"]})
        looked = await gw.next_event("sale.refund_lookup")
        assert looked["data"]["sale"]["id"] == sale["id"] and refunds(app) == []
        # approved by a supervisor: the scan refunds, and the refund names the approver
        await gw.call("sale.refund_mode", enabled=True, whole=True, approve=SUPERVISOR)
        app.emit("scanner.data", {"device": "scanner", "data": sale["receipt_no"]})
        done = await gw.next_event("sale.refunded")
        assert done["data"]["refund_of"] == sale["id"]
    [event] = refunds(app)
    assert event["approver"] == "8001" and event["operator"] == "1001"


async def test_a_sale_is_paid_only_in_an_open_shift(shop):
    app = shop.app
    async with connect(shop.url, shop.token("cashier")) as gw:
        await gw.call("auth.login", **CASHIER)
        sale = await gw.call("sale.add", sku="W1")
        start = app.store.journal_seq()
        for tender in ({"method": "cash", "amount": 200}, {"method": "card"},
                       {"code": "281234567890123456"}):
            with pytest.raises(GatewayError) as err:
                await gw.call("sale.tender", **tender)
            assert err.value.code == "conflict" and err.value.details == {"reason": "no_shift"}
            assert "no shift is open" in err.value.message
            assert "shift.open" in err.value.message
        assert app.store.journal_seq() == start  # nothing taken, nothing charged
        assert app.store.one("SELECT COUNT(*) FROM payment_attempts")[0] == 0
        shift = await gw.call("shift.open", float=50_000)
        done = await gw.call("sale.tender", method="cash", amount=200)
    assert done["id"] == sale["id"] and done["state"] == "completed"
    row = app.store.one("SELECT shift_id FROM sales WHERE id=?", (done["id"],))
    assert row["shift_id"] == shift["id"]


async def test_a_site_without_shifts_turns_the_rule_off(tmp_path, nursery):
    shop = await started_shop(tmp_path, nursery, sale={"require_shift": False})
    try:
        async with connect(shop.url, shop.token("cashier")) as gw:
            await gw.call("auth.login", **CASHIER)
            done = await cash_sale(gw)
        assert done["state"] == "completed"
        assert shop.app.store.one("SELECT shift_id FROM sales")["shift_id"] is None
    finally:
        shop.app.close()


def test_shifts_are_required_by_default(tmp_path):
    assert make_config(tmp_path).sale.require_shift is True


async def test_reopening_a_day_asks_for_a_manager_at_once_and_records_them(shop):
    async with connect(shop.url, shop.token("admin")) as sup, \
            connect(shop.url, shop.token("admin")) as cashier:
        await sup.call("auth.login", operator="8001", pin="8888")
        await cashier.call("auth.login", operator="1001", pin="1234")
        closed = await sup.call("day.close")
        for gw in (cashier, sup):  # whoever asks, the first answer names the manager
            with pytest.raises(GatewayError) as err:
                await gw.call("day.reopen")
            assert err.value.code == "approval_required"
            assert err.value.details == {"action": "day.reopen", "role": "manager"}
        opened = await cashier.call("day.reopen", approve=MANAGER)
    assert opened["state"] == "open"
    [event] = [e.data for e in shop.app.store.journal() if e.kind == "day.reopened"]
    assert event["reopened_by"] == "9001" and event["operator"] == "1001"
    row = shop.app.store.one("SELECT reopened_by FROM business_days WHERE day=?",
                             (closed["day"],))
    assert row["reopened_by"] == "9001"


async def test_a_viewer_cannot_raise_alerts(shop):
    token = shop.token("viewer")
    start = shop.app.store.journal_seq()
    async with connect(shop.url, token, kind="display") as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("alert.raise", kind="help", message="fake alarm")
    assert err.value.code == "forbidden"
    assert [e.kind for e in shop.app.store.journal(after=start)] == ["auth.denied"]


async def test_a_voucher_cannot_exceed_the_ceiling(shop):
    async with connect(shop.url, shop.token("admin")) as gw:
        await gw.call("auth.login", operator="9001", pin="9999")
        with pytest.raises(GatewayError) as err:
            await gw.call("voucher.issue", code="V-BIG", amount=50_001)
        assert err.value.code == "invalid_params" and err.value.details["max_voucher"] == 50_000
        assert (await gw.call("voucher.issue", code="V-OK", amount=50_000))["amount"] == 50_000
    assert shop.app.store.one("SELECT COUNT(*) FROM vouchers")[0] == 1


def test_the_default_voucher_ceiling_is_a_thousand_yuan(tmp_path):
    assert make_config(tmp_path).sale.max_voucher == 100_000


def test_the_role_table_in_the_docs_is_the_catalogues():
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines()
            if line.startswith("| `") and line.split("|")[1].strip(" `") in ROLES}
    assert set(rows) == set(ROLES)
    for name, spec in SPECS.items():
        if spec.demo_only:
            continue
        holders = [role for role, line in rows.items() if f"`{name}`" in line]
        assert holders == [spec.role], (name, spec.role, holders)
