"""operator.list and sale.list: what the back office lists."""

import pytest

from clients.python import GatewayError, connect
from tests.conftest import open_shift


async def test_operator_list_never_shows_a_pin(daemon):
    daemon.operator("1001", "cashier", "1234", "Li Na")
    daemon.operator("9001", "manager", "9999", "Wang")
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("operator.list")
        assert err.value.code == "approval_required"
    async with connect(daemon.url, daemon.token("admin")) as gw:
        ops = (await gw.call("operator.list"))["operators"]
        assert ops == [
            {"id": "1001", "name": "Li Na", "role": "cashier", "active": True, "locked": False},
            {"id": "9001", "name": "Wang", "role": "manager", "active": True, "locked": False},
        ]


async def test_sale_list_summarises_the_days_sales(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", items=[
            {"sku": "A", "name": "苹果汁", "unit": "pc", "price": 350},
            {"sku": "B", "name": "面包", "unit": "pc", "price": 800}])
        await gw.call("auth.login", operator="1001", pin="1234")
        await open_shift(gw)
        receipts = []
        for skus, method in ((["A", "B", "A"], "cash"), (["B"], "card")):
            for sku in skus:
                await gw.call("sale.add", sku=sku)
            done = await gw.call("sale.tender", method=method, amount=10_000 if
                                 method == "cash" else None)
            assert done["state"] == "completed"
            receipts.append(done)
        with pytest.raises(GatewayError) as err:  # a cashier does not see the day's list
            await gw.call("sale.list")
        assert err.value.code == "approval_required"
        await gw.call("auth.logout")
        listed = await gw.call("sale.list")
        assert listed["total_count"] == 2
        first, second = listed["sales"][1], listed["sales"][0]  # newest first
        assert (first["receipt_no"], first["items"], first["tenders"], first["total"]) == (
            receipts[0]["receipt_no"], 3, ["cash"], 1500)
        assert (second["receipt_no"], second["items"], second["tenders"], second["total"]) == (
            receipts[1]["receipt_no"], 1, ["card"], 800)
        assert (await gw.call("sale.list", day="19990101"))["sales"] == []
        with pytest.raises(GatewayError) as err:
            await gw.call("sale.list", day="yesterday")
        assert err.value.code == "invalid_params"
