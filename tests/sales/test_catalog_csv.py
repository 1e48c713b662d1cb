"""CSV import/export, the CLI, the sample catalog and a 200,000-item import."""

from __future__ import annotations

import csv
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd import cli
from gatewayd.sales.barcodes import barcode_kind, gtin_check_digit
from gatewayd.sales.catalog import (
    PRICE_CAP,
    SAMPLE_CSV,
    Catalog,
    CatalogError,
    export_csv,
    format_yuan_plain,
    import_csv,
    load_sample,
    parse_percent,
    parse_yuan,
)
from gatewayd.store.db import Store


def gtin(body: str) -> str:
    return body + str(gtin_check_digit(body))


HEADER = "sku,name,barcodes,unit,price,member_price,tax_rate,category,cost,plu,active\n"
GOOD = HEADER + (
    f"100001,农夫山泉饮用天然水550ml,{gtin('692116850925')}|{gtin('692116850998')},pc,2.00,,13,饮料,1.1,,1\n"
    f"100003,可口可乐330ml罐装,{gtin('692880401114')},个,3,2.80,13%,饮料,,,是\n"
    "700001,红富士苹果,,kg,12.80,11.80,9,水果,7.00,01001,1\n"
    '700002,"香蕉, 进口",,千克,"1,234.50",,9,水果,,1002,0\n'
)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "g.db")
    yield s
    s.close()


def items(store) -> dict:
    out = {}
    for it in Catalog(store).iter_items():
        out[it.sku] = (it.name, it.unit, it.price, it.member_price, it.tax_rate_bp,
                       it.category, it.cost, it.active, it.plu, it.barcodes, it.image)
    return out


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "gbk"])
def test_import_in_every_encoding_excel_writes(tmp_path, store, encoding):
    path = tmp_path / "c.csv"
    path.write_bytes(GOOD.encode(encoding))
    report = import_csv(store, path)
    assert report["count"] == 4 and report["inserted"] == 4
    assert report["encoding"] == ("gb18030" if encoding in ("gb18030", "gbk") else "utf-8")
    got = items(store)
    assert got["100001"] == ("农夫山泉饮用天然水550ml", "pc", 200, None, 1300, "饮料", 110, True,
                             None, (gtin("692116850925"), gtin("692116850998")), None)
    assert got["100003"][1:5] == ("pc", 300, 280, 1300) and got["100003"][7] is True
    assert got["700001"][1:5] == ("kg", 1280, 1180, 900) and got["700001"][8] == "1001"
    assert got["700002"][:3] == ("香蕉, 进口", "kg", 123450) and got["700002"][7] is False
    assert [e.kind for e in store.journal()] == ["catalog.items", "catalog.upserted"]


def test_price_fen_columns(tmp_path, store):
    path = tmp_path / "fen.csv"
    path.write_text("sku,name,price_fen,member_price_fen,cost_fen\nA,甲,1250,1100,\n"
                    "B,乙,7,,3\n", encoding="utf-8")
    import_csv(store, path)
    got = items(store)
    assert (got["A"][2], got["A"][3], got["A"][6]) == (1250, 1100, None)
    assert (got["B"][2], got["B"][6]) == (7, 3)


def test_bad_file_imports_nothing_and_reports_lines(tmp_path, store):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    import_csv(store, good)
    before = (items(store), store.journal_seq())
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "100001,水,,pc,2.10,,13,,,,1\n"  # fine, but must not be applied
        + f"B1,坏码,{gtin('692116850925')[:-1]}0,pc,1.00,,13,,,,1\n"
        + "B2,负价,,pc,-1.00,,13,,,,1\n"
        + "B3,三位小数,,pc,1.005,,13,,,,1\n"
        + "B4,单位,,box,1.00,,13,,,,1\n"
        + "B5,天价,,pc,1000000.01,,13,,,,1\n"
        + "B6,税率,,pc,1.00,,13.5.1,,,,1\n"
        + "B7,,,pc,1.00,,,,,,maybe\n"
        + "B8,没价,,pc,,,,,,,\n"
        + "B1,重复,,pc,1.00,,,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as exc:
        import_csv(store, bad)
    got = {(e["row"], e["sku"], e["field"]) for e in exc.value.errors}
    assert got == {
        (3, "B1", "barcodes"), (4, "B2", "price"), (5, "B3", "price"), (6, "B4", "unit"),
        (7, "B5", "price"), (8, "B6", "tax_rate"), (9, "B7", "name"), (9, "B7", "active"),
        (10, "B8", "price"), (11, "B1", "sku"),
    }
    messages = {e["row"]: e["error"] for e in exc.value.errors}
    assert "check digit" in messages[3] and "negative" in messages[4]
    assert "two decimals" in messages[5] and "1,000,000.00" in messages[7]
    assert (items(store), store.journal_seq()) == before


def test_header_problems(tmp_path, store):
    path = tmp_path / "h.csv"
    path.write_text("sku,nmae,price\nA,x,1\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        import_csv(store, path)
    assert exc.value.errors[0]["row"] == 1
    assert "missing column(s) name" in exc.value.errors[0]["error"]
    assert "unknown column(s) nmae" in exc.value.errors[0]["error"]


def test_dry_run_changes_nothing(tmp_path, store):
    path = tmp_path / "c.csv"
    path.write_text(GOOD, encoding="utf-8")
    report = import_csv(store, path, dry_run=True)
    assert report["dry_run"] is True and report["count"] == 4 and report["inserted"] == 4
    assert items(store) == {} and store.journal_seq() == 0


def test_export_then_import_round_trips(tmp_path, store):
    assert load_sample(store) > 30
    store.write_sync(lambda tx: tx.execute("UPDATE items SET image='img/a.png' WHERE sku='100001'"))
    path = tmp_path / "out.csv"
    assert export_csv(store, path) == len(items(store))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    fresh = Store(tmp_path / "fresh.db")
    try:
        import_csv(fresh, path)
        assert items(fresh) == items(store)
        gbk = tmp_path / "out-gbk.csv"
        export_csv(store, gbk, encoding="gb18030")
        again = Store(tmp_path / "again.db")
        import_csv(again, gbk)
        assert items(again) == items(store)
        again.close()
    finally:
        fresh.close()


def test_sample_catalog(store):
    n = load_sample(store)
    assert 40 <= n <= 60
    assert load_sample(store) == 0  # only into an empty catalog
    cat = Catalog(store)
    codes = [r["code"] for r in store.all("SELECT code FROM barcodes")]
    assert codes and all(barcode_kind(c) in ("ean13", "ean8") for c in codes)
    apple = cat.search("hfsp")[0]
    assert apple.name == "红富士苹果" and apple.unit == "kg" and apple.plu
    assert cat.lookup(gtin(f"21{int(apple.plu):05d}01250")).qty_override == 1250
    rates = {r[0] for r in store.all("SELECT DISTINCT tax_rate_bp FROM items")}
    assert rates == {900, 1300}
    assert store.one("SELECT COUNT(*) FROM items WHERE member_price IS NOT NULL")[0] >= 3
    with open(SAMPLE_CSV, encoding="utf-8") as fh:
        assert next(csv.reader(fh))[:5] == ["sku", "name", "barcodes", "unit", "price"]


@given(st.integers(min_value=0, max_value=PRICE_CAP))
def test_yuan_text_round_trips_exactly(fen):
    assert parse_yuan(format_yuan_plain(fen)) == fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12.50", 1250), ("12.5", 1250), ("0.07", 7), ("12", 1200), ("¥3.30", 330),
     ("1,234.56", 123456), (" 0.10 ", 10)],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["12.505", "-1", "1e3", "12,5", "abc", "", "1.2.3", "0x10"])
def test_parse_yuan_rejects(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


@pytest.mark.parametrize(("text", "bp"), [("13", 1300), ("13%", 1300), ("6.5", 650),
                                           ("0", 0), ("9 %", 900)])
def test_parse_percent(text, bp):
    assert parse_percent(text) == bp


# -- the CLI -------------------------------------------------------------------------------
def config_file(tmp_path):
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return str(cfg)


def test_cli_import_export(tmp_path, capsys):
    cfg = config_file(tmp_path)
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD.encode("gb18030"))
    assert cli.main(["--config", cfg, "catalog", "import", str(good), "--dry-run"]) == 0
    assert "would import 4 item(s)" in capsys.readouterr().out
    assert cli.main(["--config", cfg, "catalog", "import", str(good)]) == 0
    assert "imported 4 item(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "X,坏,,pc,-2,,,,,,\n", encoding="utf-8")
    assert cli.main(["--config", cfg, "catalog", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "1 error(s); nothing was imported" in err and "2\tX\tprice\t" in err
    out = tmp_path / "out.csv"
    assert cli.main(["--config", cfg, "catalog", "export", str(out)]) == 0
    with open(out, encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == 5


# -- 200,000 items ---------------------------------------------------------------------------
@pytest.mark.slow
def test_200k_rows_import_in_one_transaction_and_look_up(tmp_path, store):
    rnd = random.Random(7)
    chars = "红富士苹果香蕉农夫山泉可口乐牛奶面包饼干薯片花生油大米酸奶啤酒巧克力坚果"
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "name", "barcodes", "unit", "price", "tax_rate", "plu"])
        for i in range(200_000):
            name = "".join(rnd.choice(chars) for _ in range(6)) + f"{i}g"
            w.writerow([f"S{i:07d}", name, gtin(f"69{i:010d}"), "pc",
                        f"{rnd.randint(1, 99999) / 100:.2f}", "13", i if i < 5000 else ""])
    lines: list[str] = []
    started = time.monotonic()
    report = import_csv(store, path, progress=lines.append)
    took = time.monotonic() - started
    assert report["count"] == 200_000 and report["inserted"] == 200_000
    assert "read 10000 rows" in lines and "read 200000 rows" in lines
    kinds = [e.kind for e in store.journal(limit=10**6)]  # the items, 500 an event
    assert kinds == ["catalog.items"] * 400 + ["catalog.upserted"]
    cat = Catalog(store)
    for i in rnd.sample(range(200_000), 200):
        assert cat.lookup(gtin(f"69{i:010d}")).item.sku == f"S{i:07d}"
    assert cat.lookup(gtin("21" + "04999" + "00500")).item.sku == "S0004999"
    print(f"200k import: {took:.1f} s")
