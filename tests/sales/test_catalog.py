"""The catalog on a real store: lookups, search, pinyin, the all-or-nothing upsert."""

from __future__ import annotations

import pytest

from gatewayd.sales.barcodes import gtin_check_digit
from gatewayd.sales.catalog import (
    Catalog,
    CatalogError,
    catalog_item,
    pinyin_initials,
    scale_layouts,
    upsert,
)
from gatewayd.sales.pricing import CatalogItem
from gatewayd.store.db import Store


def gtin(body: str) -> str:
    return body + str(gtin_check_digit(body))


COLA = gtin("692880401114")
WATER = gtin("692116850925")
WATER_OLD = gtin("692116850998")
UPC = gtin("03800013841")  # 12 digits
EAN8 = gtin("6901234")

ITEMS = [
    {"sku": "100001", "name": "农夫山泉饮用天然水550ml", "price": 200, "tax_rate_bp": 1300,
     "barcodes": [WATER, WATER_OLD], "category": "饮料", "cost": 110},
    {"sku": "100003", "name": "可口可乐330ml罐装", "price": 300, "member_price": 280,
     "tax_rate_bp": 1300, "barcodes": [COLA]},
    {"sku": "200007", "name": "品客原味薯片110g", "price": 1290, "barcodes": [UPC]},
    {"sku": "200008", "name": "绿箭薄荷口香糖", "price": 250, "barcodes": [EAN8]},
    {"sku": "700001", "name": "红富士苹果", "unit": "kg", "price": 1280, "member_price": 1180,
     "tax_rate_bp": 900, "plu": "1001"},
    {"sku": "700002", "name": "香蕉", "unit": "kg", "price": 698, "tax_rate_bp": 900,
     "plu": "01002"},
    {"sku": "710001", "name": "重庆小面", "price": 1500},
    {"sku": "200099", "name": "旺仔QQ糖(旧包装)", "price": 350, "active": False,
     "barcodes": [gtin("690450400200")]},
]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "g.db")
    yield s
    s.close()


@pytest.fixture
def cat(store):
    store.write_sync(lambda tx: upsert(tx, ITEMS, source="test"))
    return Catalog(store)


def count(store) -> int:
    return store.one("SELECT COUNT(*) FROM items")[0]


# -- lookup ---------------------------------------------------------------------------------
def test_lookup_by_barcode_ean13_ean8_and_both_upc_forms(cat):
    m = cat.lookup(COLA)
    assert (m.item.sku, m.source, m.qty_override, m.price_override) == (
        "100003", "barcode", None, None)
    assert m.item.member_price == 280 and m.item.barcodes == (COLA,)
    assert cat.lookup(WATER_OLD).item.sku == "100001"
    assert cat.lookup(EAN8).item.sku == "200008"
    # a UPC-A label read as 12 digits by one scanner and 13 (leading 0) by another
    assert cat.lookup(UPC).item.sku == "200007"
    assert cat.lookup("0" + UPC).item.sku == "200007"
    assert cat.lookup(f"  {COLA}\r\n").item.sku == "100003"
    assert cat.lookup(gtin("692880409999")) is None
    assert cat.lookup("") is None


def test_weight_label_gives_grams(cat):
    code = gtin("21" + "01001" + "01250")
    m = cat.lookup(code)
    assert m.item.sku == "700001" and m.source == "scale_label"
    assert (m.qty_override, m.price_override) == (1250, None)
    # prefix 22 is a weight label too, and the PLU's leading zeros do not matter
    m = cat.lookup(gtin("22" + "01002" + "00800"))
    assert (m.item.sku, m.qty_override) == ("700002", 800)


def test_price_label_gives_fen(cat):
    m = cat.lookup(gtin("23" + "01001" + "01600"))
    assert (m.item.sku, m.source, m.qty_override, m.price_override) == (
        "700001", "scale_label", None, 1600)
    m = cat.lookup(gtin("20" + "01002" + "00349"))
    assert (m.item.sku, m.price_override) == ("700002", 349)


def test_scale_label_with_bad_check_digit_or_unknown_plu_is_not_found(cat):
    good = gtin("21" + "01001" + "01250")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert cat.lookup(bad) is None
    assert cat.lookup(gtin("21" + "09999" + "01250")) is None


def test_configured_layouts_replace_the_defaults(store, cat):
    layouts = scale_layouts({"scale_layouts": ["2{I:6}{W:5}C"]})
    custom = Catalog(store, layouts)
    m = custom.lookup(gtin("2" + "001001" + "00450"))
    assert (m.item.sku, m.qty_override) == ("700001", 450)
    # the default 21{I:5}{W:5}C reading of a code is gone with this configuration
    assert custom.lookup(gtin("21" + "01001" + "01250")) is None
    assert cat.lookup(gtin("21" + "01001" + "01250")) is not None
    with pytest.raises(ValueError, match="scale_layouts"):
        scale_layouts({"scale_layouts": ["2{I:5}{W:5}C"]})  # 12 digits: not an EAN-13


def test_plu_and_sku(cat):
    m = cat.lookup("1001")
    assert (m.item.sku, m.source) == ("700001", "plu")
    assert cat.lookup("0001002").item.sku == "700002"
    assert cat.by_plu("01001").sku == "700001"
    m = cat.lookup("710001")
    assert (m.item.sku, m.source) == ("710001", "sku")
    assert cat.get("nope") is None and cat.by_plu("42") is None


def test_inactive_items_are_found_but_marked(cat):
    m = cat.lookup(gtin("690450400200"))
    assert m.item.sku == "200099" and m.item.active is False
    assert cat.search("旺仔") == []
    assert [i.sku for i in cat.search("旺仔", include_inactive=True)] == ["200099"]


def test_catalog_item_for_pricing(cat):
    assert catalog_item(cat.get("700001")) == CatalogItem(
        sku="700001", name="红富士苹果", price=1280, unit="kg", member_price=1180,
        tax_rate_bp=900, category=None)


# -- search and pinyin ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("红富士苹果", "hfspg"),
        ("农夫山泉550ml", "nfsq550ml"),
        ("重庆小面", "cqxm"),  # 重 read chong in 重庆
        ("重量级", "zlj"),  # and zhong in 重量
        ("银行卡", "yhk"),
        ("长大", "zd"),
        ("Coca-Cola 可乐", "cocacolakl"),
    ],
)
def test_pinyin_initials(name, initials):
    assert pinyin_initials(name) == initials


def test_search_by_pinyin_name_sku_and_barcode_prefix(cat):
    assert [i.name for i in cat.search("hfsp")] == ["红富士苹果"]
    assert [i.name for i in cat.search("HFSP")] == ["红富士苹果"]
    assert [i.sku for i in cat.search("cqxm")] == ["710001"]
    assert [i.sku for i in cat.search("fspg")] == ["700001"]  # substring of hfspg
    assert {i.sku for i in cat.search("sp")} == {"700001", "200007"}  # pkywsp110g too
    assert [i.sku for i in cat.search("山泉")] == ["100001"]
    assert {i.sku for i in cat.search("7000")} == {"700001", "700002"}
    assert [i.sku for i in cat.search(COLA[:7])] == ["100003"]
    assert [i.sku for i in cat.search(COLA)] == ["100003"]
    assert len(cat.search("0", limit=2)) <= 2
    assert cat.search("   ") == []
    assert cat.search("100%_") == []  # LIKE wildcards are literal


# -- upsert ---------------------------------------------------------------------------------
def test_upsert_journals_its_items_and_one_event_and_reports(store):
    many = [{"sku": f"S{i:04d}", "name": f"商品{i}", "price": i} for i in range(150)]
    before = store.journal_seq()
    report, events = store.write_sync(lambda tx: upsert(tx, many, source="test"))
    assert (report["count"], report["inserted"], report["updated"]) == (150, 150, 0)
    assert [e.kind for e in events] == ["catalog.items", "catalog.upserted"]
    assert [it["sku"] for it in events[0].data["items"]] == [it["sku"] for it in many]
    data = events[1].data
    assert data["count"] == 150 and data["source"] == "test"
    assert data["skus"] == [f"S{i:04d}" for i in range(100)]
    assert store.journal_seq() == before + 2 == report["seq"]
    report, _ = store.write_sync(lambda tx: upsert(tx, many[:10], source="test"))
    assert (report["inserted"], report["updated"]) == (0, 10)


def test_bad_rows_change_nothing_and_are_all_reported(store, cat):
    before = (count(store), store.journal_seq(), cat.get("100003"))
    rows = [
        {"sku": "100003", "name": "可口可乐330ml罐装", "price": 350},  # a good row
        {"sku": "B1", "name": "bad check digit", "price": 100,
         "barcodes": [COLA[:-1] + str((int(COLA[-1]) + 1) % 10)]},
        {"sku": "B2", "name": "negative", "price": -1},
        {"sku": "B3", "name": "float", "price": 12.5},
        {"sku": "B4", "name": "box", "price": 100, "unit": "box"},
        {"sku": "B5", "name": "absurd", "price": 100_000_001},
        {"sku": "B6", "name": "tax", "price": 1, "tax_rate_bp": 10001},
        {"sku": "", "name": "no sku", "price": 1},
        {"sku": "B8", "price": 1},
        {"sku": "100003", "name": "twice", "price": 1},
        {"sku": "B10", "name": "plu", "price": 1, "plu": "12a"},
        {"sku": "B11", "name": "extra", "price": 1, "colour": "red"},
        "not a map",
    ]
    with pytest.raises(CatalogError) as exc:
        store.write_sync(lambda tx: upsert(tx, rows))
    got = {(e["row"], e["field"]) for e in exc.value.errors}
    assert got == {
        (1, "barcodes"), (2, "price"), (3, "price"), (4, "unit"), (5, "price"),
        (6, "tax_rate_bp"), (7, "sku"), (8, "name"), (9, "sku"), (10, "plu"), (11, "colour"),
        (12, ""),
    }
    by_row = {e["row"]: e for e in exc.value.errors}
    assert "check digit" in by_row[1]["error"] and by_row[1]["sku"] == "B1"
    assert "1,000,000.00" in by_row[5]["error"]
    assert "row 0" in by_row[9]["error"]
    assert (count(store), store.journal_seq(), cat.get("100003")) == before


def test_barcodes_are_replaced_kept_or_moved(store, cat):
    # omitted barcodes: kept
    store.write_sync(lambda tx: upsert(tx, [{"sku": "100001", "name": "水", "price": 210}]))
    assert cat.get("100001").barcodes == tuple(sorted([WATER, WATER_OLD]))
    # a list replaces them
    store.write_sync(lambda tx: upsert(tx, [{"sku": "100001", "name": "水", "price": 210,
                                             "barcodes": [WATER]}]))
    assert cat.get("100001").barcodes == (WATER,)
    assert cat.lookup(WATER_OLD) is None
    # a barcode named by another item moves to it
    report, _ = store.write_sync(lambda tx: upsert(tx, [
        {"sku": "NEW", "name": "新水", "price": 220, "barcodes": [WATER, "IN-STORE-7"]}]))
    assert report["barcodes_moved"] == 1
    assert report["moved"] == [{"code": WATER, "from": "100001", "to": "NEW"}]
    assert cat.lookup(WATER).item.sku == "NEW"
    assert cat.lookup("IN-STORE-7").item.sku == "NEW"
    assert cat.get("100001").barcodes == ()


def test_same_barcode_on_two_rows_is_an_error(store):
    with pytest.raises(CatalogError) as exc:
        store.write_sync(lambda tx: upsert(tx, [
            {"sku": "A", "name": "a", "price": 1, "barcodes": [COLA]},
            {"sku": "B", "name": "b", "price": 1, "barcodes": [COLA]}]))
    assert [(e["row"], e["field"]) for e in exc.value.errors] == [(1, "barcodes")]
    assert count(store) == 0


def test_plus_may_swap_within_a_batch_but_not_steal(store, cat):
    store.write_sync(lambda tx: upsert(tx, [
        {"sku": "700001", "name": "红富士苹果", "unit": "kg", "price": 1280, "plu": "1002"},
        {"sku": "700002", "name": "香蕉", "unit": "kg", "price": 698, "plu": "1001"}]))
    assert cat.by_plu("1001").sku == "700002" and cat.by_plu("1002").sku == "700001"
    with pytest.raises(CatalogError) as exc:
        store.write_sync(lambda tx: upsert(tx, [
            {"sku": "X", "name": "x", "unit": "kg", "price": 1, "plu": "1001"}]))
    assert exc.value.errors[0]["field"] == "plu" and "700002" in exc.value.errors[0]["error"]
    assert cat.get("X") is None


def test_upsert_replaces_the_whole_row(store, cat):
    store.write_sync(lambda tx: upsert(tx, [{"sku": "100003", "name": "可乐", "price": 320}]))
    item = cat.get("100003")
    assert (item.name, item.price, item.member_price, item.tax_rate_bp) == ("可乐", 320, None, 0)
    assert item.pinyin == "kl" and item.barcodes == (COLA,)


def test_a_scan_sees_every_catalog_change_also_from_another_process(store, cat, tmp_path):
    """Scans are cached per barcode until the catalog changes: a write through another
    connection (the CLI's import while the daemon runs) moves catalog_version too."""
    assert cat.lookup(COLA).item.price == 300
    assert cat.lookup(COLA).item.price == 300  # now from the cache
    other = Store(tmp_path / "g.db")
    try:
        other.write_sync(lambda tx: upsert(tx, [{"sku": "100003", "name": "可乐", "price": 320,
                                                 "barcodes": [COLA]}]))
        assert cat.lookup(COLA).item.price == 320
        other.write_sync(lambda tx: upsert(tx, [{"sku": "NEW", "name": "新可乐", "price": 330,
                                                 "barcodes": [COLA]}]))
        assert cat.lookup(COLA).item.sku == "NEW"
        other.write_sync(lambda tx: upsert(tx, [{"sku": "NEW", "name": "新可乐", "price": 330,
                                                 "barcodes": []}]))
        assert cat.lookup(COLA) is None
    finally:
        other.close()
