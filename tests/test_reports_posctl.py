"""`posctl report NAME` against a real daemon: the tables, JSON, ranges and exit codes."""

from __future__ import annotations

import json

from clients.cli.commands.report import report_cell
from clients.python.client import connect
from tests.cli.conftest import posctl  # noqa: F401  (the fixture)
from tests.conftest import open_shift

ITEMS = [{"sku": "A", "name": "可乐", "price": 350, "category": "饮料", "cost": 200},
         {"sku": "B", "name": "苹果", "price": 1280, "unit": "kg", "category": "水果"}]


def test_cells():
    assert report_cell(123456, "money") == "1234.56"
    assert report_cell(-5, "money") == "-0.05"
    assert report_cell(1250, "qty") == "1.250"
    assert report_cell(3355, "bp") == "33.55%"
    assert report_cell(133, "ratio") == "1.33"
    assert report_cell(None, "money") == "" and report_cell(True, "text") == "yes"


async def test_posctl_report_tables(daemon, posctl):  # noqa: F811
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("9001", "manager", "9999")
    token = daemon.token("supervisor")
    async with connect(daemon.url, token) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS}, approve={"operator": "9001",
                                                                   "pin": "9999"})
        await gw.call("stock.receive", {"lines": [{"sku": "A", "qty": 20_000, "cost": 180}]})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        for sku, qty in (("A", 2000), ("B", 1500), ("A", 1000)):
            sale = await gw.call("sale.add", {"sku": sku, "qty": qty})
            await gw.call("sale.tender", {"method": "cash", "amount": sale["due"]})
    base = ("--url", daemon.url, "--token", token)
    r = await posctl(*base, "report", "items")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("Top items") and "sku" in lines[1]
    assert any(ln.split()[:3] == ["1", "B", "苹果"] and "1.500" in ln and "19.20" in ln
               for ln in lines), r.out
    assert any(ln.split()[:3] == ["2", "A", "可乐"] and "3.000" in ln and "10.50" in ln
               for ln in lines), r.out
    r = await posctl(*base, "--json", "report", "hourly")
    data = json.loads(r.out)
    assert data["name"] == "sales_by_hour" and data["totals"]["sales"] == 3
    assert data["totals"]["amount"] == 700 + 1920 + 350
    r = await posctl(*base, "report", "inventory")
    assert r.rc == 0 and "17.000" in r.out  # A: 20 received, 3 sold
    r = await posctl(*base, "report", "profit-items")
    assert r.rc == 4 and "approval" in r.err.lower()  # profit needs a manager
    r = await posctl(*base, "report", "profit-items", "--approve", "9001:9999")
    assert r.rc == 0 and "Gross profit by item" in r.out
    r = await posctl(*base, "report", "daily", "--from", "2024-05-09", "--until", "2024-05-01")
    assert r.rc == 1 and "invalid_params" in r.err
    r = await posctl(*base, "report", "nonsense")
    assert r.rc == 2
