"""catalog.lookup and catalog.upsert through a real daemon and the Python client."""

from __future__ import annotations

import pytest

from clients.python import GatewayError, connect
from gatewayd.sales.barcodes import gtin_check_digit


def gtin(body: str) -> str:
    return body + str(gtin_check_digit(body))


COLA = gtin("692880401114")
ITEMS = [
    {"sku": "100003", "name": "可口可乐330ml罐装", "price": 300, "member_price": 280,
     "tax_rate_bp": 1300, "barcodes": [COLA], "cost": 170},
    {"sku": "700001", "name": "红富士苹果", "unit": "kg", "price": 1280, "tax_rate_bp": 900,
     "plu": "1001"},
]


async def test_upsert_then_lookup_every_way(daemon):
    async with connect(daemon.url, daemon.token("manager")) as gw:
        await gw.subscribe(["catalog"])
        report = await gw.call("catalog.upsert", items=ITEMS)
        assert (report["count"], report["inserted"], report["updated"]) == (2, 2, 0)
        event = await gw.next_event("catalog.updated")
        assert event["data"] == {"count": 2}
    kinds = [e.kind for e in daemon.app.store.journal()]
    assert kinds.count("catalog.upserted") == 1
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        got = await gw.call("catalog.lookup", barcode=COLA)
        assert got["source"] == "barcode" and got["item"]["sku"] == "100003"
        assert got["item"]["price"] == 300 and got["item"]["barcodes"] == [COLA]
        assert "cost" not in got["item"]  # back-office data stays off the wire
        label = await gw.call("catalog.lookup", barcode=gtin("21" + "01001" + "01250"))
        assert (label["item"]["sku"], label["source"], label["qty_override"]) == (
            "700001", "scale_label", 1250)
        price = await gw.call("catalog.lookup", barcode=gtin("23" + "01001" + "01999"))
        assert price["price_override"] == 1999 and price["qty_override"] is None
        plu = await gw.call("catalog.lookup", barcode="1001")
        assert (plu["item"]["sku"], plu["source"]) == ("700001", "plu")
        by_sku = await gw.call("catalog.lookup", sku="100003")
        assert by_sku["item"]["name"] == "可口可乐330ml罐装"
        found = await gw.call("catalog.lookup", query="hfsp")
        assert [i["sku"] for i in found["items"]] == ["700001"]
        assert (await gw.call("catalog.lookup", query="zzzz")) == {"items": []}


async def test_unknown_barcode_and_bad_params(daemon):
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.lookup", barcode=gtin("690000000001"))
        assert err.value.code == "not_found"
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.lookup", sku="nope")
        assert err.value.code == "not_found"
        for params in ({}, {"barcode": COLA, "query": "x"}, {"barcode": 6928804011142}):
            with pytest.raises(GatewayError) as err:
                await gw.call("catalog.lookup", params)
            assert err.value.code == "invalid_params"


async def test_invalid_rows_are_reported_and_nothing_changes(daemon):
    async with connect(daemon.url, daemon.token("manager")) as gw:
        await gw.call("catalog.upsert", items=ITEMS)
        seq = daemon.app.store.journal_seq()
        rows = [
            {"sku": "100003", "name": "可乐", "price": 999},
            {"sku": "B1", "name": "x", "price": "12.50"},  # (a float is a bad_frame)
            {"sku": "B2", "name": "x", "price": 1, "barcodes": [COLA[:-1] + "0"]},
            {"sku": "B3", "name": "x", "price": 1, "unit": "box"},
        ]
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.upsert", items=rows)
        assert err.value.code == "invalid_params"
        errors = err.value.details["errors"]
        assert [(e["row"], e["sku"], e["field"]) for e in errors] == [
            (1, "B1", "price"), (2, "B2", "barcodes"), (3, "B3", "unit")]
        assert err.value.details["error_count"] == 3
        assert daemon.app.store.journal_seq() == seq
        assert (await gw.call("catalog.lookup", sku="100003"))["item"]["price"] == 300
        # a PLU held by an item outside the batch: found inside the transaction, same shape
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.upsert", items=[{"sku": "Z", "name": "z", "price": 1,
                                                    "plu": "1001"}])
        assert err.value.code == "invalid_params"
        assert err.value.details["errors"][0]["field"] == "plu"
        assert daemon.app.store.journal_seq() == seq


async def test_roles(daemon):
    daemon.operator("9001", "manager", "9999")
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.upsert", items=ITEMS)
        assert err.value.code == "approval_required"
        assert err.value.details == {"action": "catalog.upsert", "role": "manager"}
        assert daemon.app.catalog.count() == 0
        report = await gw.call("catalog.upsert", items=ITEMS,
                               approve={"operator": "9001", "pin": "9999"})
        assert report["count"] == 2
        assert (await gw.call("catalog.lookup", barcode=COLA))["item"]["sku"] == "100003"
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.upsert", items=ITEMS)
        assert err.value.code == "forbidden"


async def test_list_pages_every_item_with_its_cost_to_a_supervisor(daemon):
    items = [*ITEMS, {"sku": "900001", "name": "停售", "price": 100, "active": False}]
    async with connect(daemon.url, daemon.token("manager")) as gw:
        await gw.call("catalog.upsert", items=items)
    async with connect(daemon.url, daemon.token("supervisor")) as gw:
        first = await gw.call("catalog.list", limit=2)
        assert [i["sku"] for i in first["items"]] == ["100003", "700001"]
        assert first["items"][0]["cost"] == 170 and first["items"][1]["cost"] is None
        assert first["next"] == "700001"
        rest = await gw.call("catalog.list", after=first["next"], limit=2)
        assert [(i["sku"], i["active"]) for i in rest["items"]] == [("900001", False)]
        assert rest["next"] is None
        some = await gw.call("catalog.list", skus=["900001", "100003", "nope"])
        assert [i["sku"] for i in some["items"]] == ["100003", "900001"]
        assert some["next"] is None
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("catalog.list")
        assert err.value.code == "approval_required"  # costs are a supervisor's to see
        assert err.value.details["role"] == "supervisor"
