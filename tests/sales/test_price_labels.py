"""Price labels (价签): the layout from the catalog and live promotions (pure), and
`label.print` on the demo, whose label printer is the TSPL simulator behind a pty."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import trio

from clients.python.client import GatewayError, connect
from drivers.label.codec import Barcode, Text
from gatewayd.sales.catalog.repository import Item
from gatewayd.sales.price_labels import LabelSize, Offer, fit, offer_now, price_label
from gatewayd.sales.promotions import parse_promotions
from tests.cli.conftest import posctl  # noqa: F401  (the fixture)

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 5, 12, 10, 0, tzinfo=TZ)  # a Tuesday


def item(**kw) -> Item:
    base = {"sku": "100003", "name": "可口可乐330ml罐装", "unit": "pc", "price": 300,
            "member_price": 280, "tax_rate_bp": 1300, "category": "饮料", "cost": 170,
            "active": True, "plu": None, "pinyin": "kkkl", "image": None, "updated_at": 0,
            "barcodes": ("6928804011142",)}
    return Item(**{**base, **kw})


def texts(label) -> list[str]:
    return [el.text for el in label.elements if isinstance(el, Text)]


def test_a_label_shows_name_price_per_unit_and_the_items_ean():
    label = price_label(item(), None, LabelSize(40, 30, 2), copies=3)
    assert texts(label) == ["可口可乐330ml罐装", "￥3.00", "/件"]
    [bar] = [el for el in label.elements if isinstance(el, Barcode)]
    assert (bar.type, bar.data) == ("EAN13", "6928804011142")
    assert (label.width_mm, label.height_mm, label.copies) == (40, 30, 3)
    width = 40 * 8
    assert all(0 <= el.x < width and 0 <= el.y < 30 * 8 for el in label.elements)


def test_a_weighed_item_without_an_ean_gets_its_sku_as_code128():
    apples = item(sku="700001", name="红富士苹果", unit="kg", price=1280, barcodes=())
    label = price_label(apples, None)
    assert texts(label)[1:] == ["￥12.80", "/kg"]
    [bar] = [el for el in label.elements if isinstance(el, Barcode)]
    assert (bar.type, bar.data) == ("128", "700001")
    bad_check = item(barcodes=("6928804011143",))
    assert next(el for el in price_label(bad_check, None).elements
                if isinstance(el, Barcode)).type == "128"


def test_a_long_name_is_cut_to_the_label():
    assert fit("特仑苏纯牛奶250ml×12盒礼盒装超值", 288) == "特仑苏纯牛奶250ml×12盒"
    label = price_label(item(name="特仑苏纯牛奶250ml×12盒礼盒装超值"), None)
    assert texts(label)[0] == "特仑苏纯牛奶250ml×12盒"


def test_a_live_time_price_is_the_promotion_price_a_group_offer_is_not():
    promos = parse_promotions([
        {"id": "coke_am", "kind": "time_price", "skus": ["100003"], "weekdays": [2],
         "start": "08:00", "end": "12:00", "price": 250, "name": "早市特价"},
        {"id": "coke3", "kind": "qty_tier", "skus": ["100003"], "qty": 3, "price": 800}])
    offer = offer_now(item(), promos, NOW)
    assert offer == Offer(250, "早市特价")
    assert offer_now(item(), promos, NOW.replace(hour=13)) is None  # the window is over
    assert offer_now(item(), promos[1:], NOW) is None  # three for ¥8 is not one unit's price
    label = price_label(item(), offer)
    assert texts(label) == ["可口可乐330ml罐装", "￥2.50", "/件", "原价 ￥3.00 早市特价"]
    members = parse_promotions([{"id": "m", "kind": "time_price", "skus": ["100003"],
                                 "weekdays": [2], "price": 100, "members_only": True}])
    assert offer_now(item(), members, NOW) is None  # a shelf label is for everybody


# -- label.print on the demo ----------------------------------------------------------------
async def printed(demo, n: int) -> list[dict]:
    sim = demo.app.sims.sim("label")
    with trio.fail_after(10):
        while sim.label_count < n:
            await trio.sleep(0.05)
    return sim.labels


async def test_label_print_renders_from_the_catalog_on_the_label_printer(demo):
    async with connect(demo.url, demo.token("cashier")) as gw:
        await gw.subscribe(["label"])
        done = await gw.call("label.print", skus=["100003", "700001"], copies=2)
        assert done == {"device": "label", "skus": ["100003", "700001"], "labels": 4,
                        "result": "printed"}
        progress = await gw.next_event("label.progress")
        assert progress["data"] == {"device": "label", "done": 2, "total": 2}
        labels = await printed(demo, 4)
        assert [lb["lines"] for lb in labels] == [
            ["可口可乐330ml罐装", "￥3.00", "/件", "[BARCODE EAN13:6928804011142]"]] * 2 + [
            ["红富士苹果", "￥12.80", "/kg", "[BARCODE 128:700001]"]] * 2
        assert labels[0]["size"] == "40 mm x 30 mm"
        seen = await gw.call("sim.labels", last=1)
        assert seen["count"] == 4 and seen["labels"][0]["lines"][0] == "红富士苹果"


async def test_unknown_skus_print_nothing_and_a_stopped_printer_says_why(demo):
    sim = demo.app.sims.sim("label")
    async with connect(demo.url, demo.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("label.print", skus=["100003", "nope", "gone"])
        assert err.value.code == "not_found" and err.value.details == {"skus": ["nope", "gone"]}
        with pytest.raises(GatewayError) as err:
            await gw.call("label.print", skus=["100003"], copies=0)
        assert err.value.code == "invalid_params"
        assert sim.label_count == 0
        state = await gw.call("sim.label", head="open")
        assert state == {"ok": True, "paper": True, "head_open": True}
        label = demo.app.devices.get("label")
        with trio.fail_after(10):
            while not label.info.status.get("head_open"):
                await trio.sleep(0.05)
        with pytest.raises(GatewayError) as err:
            await gw.call("label.print", skus=["100003"])
        assert err.value.code == "device_busy"
        assert err.value.details == {"device": "label", "reason": "head_open", "printed": []}
        await gw.call("sim.label", head="closed")
        with trio.fail_after(10):
            while label.info.status.get("head_open"):
                await trio.sleep(0.05)
        assert (await gw.call("label.print", skus=["100003"]))["labels"] == 1
    assert sim.label_count == 1


async def test_a_promotion_shows_on_the_label_and_posctl_prints_it(demo, posctl):  # noqa: F811
    async with connect(demo.url, demo.admin) as gw:
        await gw.call("promo.upsert", promotions=[
            {"id": "coke", "kind": "time_price", "skus": ["100003"],
             "weekdays": [1, 2, 3, 4, 5, 6, 7], "price": 250, "name": "特价"}])
    r = await posctl("--url", demo.url, "--token", demo.admin, "label", "print", "100003",
                     "--copies", "2")
    assert r.rc == 0, r.err
    assert r.out.strip() == "2 labels of 1 item printed on label"
    labels = await printed(demo, 2)
    assert labels[-1]["lines"] == ["可口可乐330ml罐装", "￥2.50", "/件", "原价 ￥3.00 特价",
                                   "[BARCODE EAN13:6928804011142]"]
