"""The sale service through the protocol: a real daemon in-process (tests/conftest.py)."""

from __future__ import annotations

import pytest

from clients.python.client import GatewayError, connect
from gatewayd.sales.barcodes import ean13_check_digit

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "tax_rate_bp": 1300,
     "barcodes": ["6901234567892"], "plu": "1001"},
    {"sku": "1002", "name": "农夫山泉 550ml", "price": 200, "tax_rate_bp": 1300,
     "barcodes": ["6921168509256"]},
    {"sku": "2001", "name": "红富士苹果", "price": 1280, "unit": "kg", "tax_rate_bp": 900,
     "plu": "20001"},
    {"sku": "3001", "name": "大米 5kg", "price": 4990, "tax_rate_bp": 900, "plu": "3001"},
]


def ean13(body12: str) -> str:
    return body12 + str(ean13_check_digit(body12))


@pytest.fixture
async def till(daemon):
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("8001", "supervisor", "8888")
    daemon.operator("9001", "manager", "9999")
    admin = daemon.token("admin")
    async with connect(daemon.url, admin) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        gw.daemon = daemon
        gw.admin = admin
        yield gw


async def test_add_price_and_cash_tender_completes(till):
    gw = till
    await gw.subscribe(["sale"])
    sale = await gw.call("sale.add", {"barcode": "6901234567892"})
    assert sale["state"] == "open" and sale["total"] == 350 and sale["added"]
    ev = await gw.next_event("sale.updated")
    assert ev["data"]["id"] == sale["id"] and ev["data"]["total"] == 350
    sale = await gw.call("sale.add", {"sku": "1002", "qty": 2000})
    assert [ln["amount"] for ln in sale["lines"]] == [350, 400]
    assert sale["subtotal"] == 750 and sale["total"] == 750 and sale["due"] == 750
    assert sale["tax"] == [{"rate_bp": 1300, "net": 750, "tax": 86, "base": 664}]
    done = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    assert done["state"] == "completed" and done["change"] == 250 and done["paid"] == 1000
    assert done["receipt_no"].startswith("S001-T01-") and done["receipt_no"].endswith("-0001")
    got = await gw.call("sale.get", {"receipt_no": done["receipt_no"]})
    assert got["id"] == done["id"] and got["tenders"] == [{"method": "cash", "amount": 1000}]
    assert (await gw.call("sale.current"))["state"] == "completed"
    nxt = await gw.call("sale.add", {"plu": "3001"})
    assert nxt["id"] != done["id"] and nxt["total"] == 4990
