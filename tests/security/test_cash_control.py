"""Attack class: a dishonest insider within their role (issue 13 item 6).

Reopening a closed day is a manager's, asked for at once and recorded as `reopened_by`; a
viewer (a customer display's token) cannot raise alerts; one voucher.issue cannot mint more
than the site's ceiling; and the role table of docs/protocol.md is the catalogue's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.python import GatewayError, connect
from gatewayd.app import App
from protocol.methods import SPECS
from protocol.roles import ROLES
from tests.conftest import Daemon, make_config

ROOT = Path(__file__).resolve().parents[2]
MANAGER = {"operator": "9001", "pin": "9999"}


@pytest.fixture
async def shop(tmp_path, nursery):
    app = App(make_config(tmp_path, sale={"max_voucher": 50_000}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("8001", "supervisor", "8888")
    d.operator("9001", "manager", "9999")
    yield d
    app.close()


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
