"""The back office in a real browser: today's figures and chart, sales list, receipt lookup,
catalog search and a CSV import whose bad rows come back from the daemon per line."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, yuan

CASHIER = ("1001", "1234")

CSV = (
    "sku,name,barcodes,unit,price,member_price,tax_rate,category,cost,plu,active\n"
    "900001,测试酸奶200g,6901234567892,pc,4.50,,13,乳品,3.00,,1\n"
    "900002,坏价格,,pc,abc,,13,乳品,,,1\n"
    "900003,坏条码,6901234567899,pc,1.00,,13,乳品,,,1\n"
)

pytestmark = pytest.mark.browser


def test_backoffice_reports_sales_catalog_and_csv_errors(demo, page):
    demo.open_shift()
    demo.call("sale.add", {"barcode": "6921168509256"}, login=CASHIER)
    demo.call("sale.add", {"barcode": "6928804011142"}, login=CASHIER)
    sale = demo.call("sale.tender", {"method": "cash", "amount": 1000}, login=CASHIER)
    assert sale["state"] == "completed"

    page.goto(demo.url("/backoffice.html"))
    login(page, "9001", "9999")
    expect(page.get_by_test_id("kpi-total")).to_have_text(yuan(sale["total"]))
    expect(page.get_by_test_id("hour-chart").get_by_test_id("bar")).to_have_count(1)

    page.get_by_test_id("tab-sales").click()
    rows = page.get_by_test_id("sales-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(sale["receipt_no"])
    page.get_by_test_id("receipt-query").fill(sale["receipt_no"])
    page.get_by_test_id("receipt-query").press("Enter")
    expect(page.get_by_test_id("receipt")).to_contain_text("农夫山泉")

    page.get_by_test_id("tab-reports").click()
    expect(page.get_by_test_id("report")).to_contain_text(sale["receipt_no"])

    page.get_by_test_id("tab-catalog").click()
    page.get_by_test_id("catalog-query").fill("hfsp")
    page.get_by_test_id("catalog-query").press("Enter")
    expect(page.get_by_test_id("catalog-results")).to_contain_text("红富士苹果")

    page.get_by_test_id("csv-file").set_input_files(
        files=[{"name": "items.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    errors = page.get_by_test_id("csv-error")
    expect(errors.first).to_be_visible()
    lines = {errors.nth(i).locator("td").first.inner_text() for i in range(errors.count())}
    assert lines == {"3", "4"}, lines  # CSV lines of the two bad rows; nothing imported
    try:
        demo.call("catalog.lookup", {"sku": "900001"})
        imported = True
    except Exception:
        imported = False
    assert not imported

    good = "\n".join(CSV.splitlines()[:2]) + "\n"
    page.get_by_test_id("csv-file").set_input_files(
        files=[{"name": "items.csv", "mimeType": "text/csv", "buffer": good.encode()}])
    expect(page.get_by_test_id("csv-ok")).to_be_visible()
    item = demo.call("catalog.lookup", {"sku": "900001"})["item"]
    assert item["price"] == 450 and item["tax_rate_bp"] == 1300
