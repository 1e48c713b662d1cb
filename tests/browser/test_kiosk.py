"""The self-service kiosk in a real browser: scan, weigh by picture, pay by payment code."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, yuan

WATER = "6921168509256"  # 农夫山泉饮用天然水550ml ¥2.00
ALIPAY_CODE = "28" + "7631209875643210"  # Alipay payment codes: 25-30 + 14-22 digits

pytestmark = pytest.mark.browser


def test_kiosk_sale_paid_by_payment_code(demo, page):
    page.goto(demo.url("/kiosk.html"))
    # Set-up once: staff logs the kiosk operator in (kept in the browser).
    page.get_by_test_id("login-operator").fill("8001")
    page.get_by_test_id("login-pin").fill("8001")
    page.get_by_test_id("login-pin").press("Enter")
    attract = page.get_by_test_id("attract")
    expect(attract).to_be_visible()
    attract.click()

    demo.call("sim.scan", {"data": WATER})
    expect(page.get_by_test_id("line")).to_have_count(1)

    # Bananas on the scale, then their picture.
    demo.call("sim.weigh", {"grams": 800, "stable": True})
    page.get_by_test_id("weigh-button").click()
    expect(page.get_by_test_id("kiosk-weight")).to_contain_text("0.800 kg")
    banana = page.locator("[data-plu='1002']")
    expect(banana).to_contain_text("香蕉")
    banana.click()
    expect(page.get_by_test_id("line")).to_have_count(2)
    expect(page.get_by_test_id("line").nth(1)).to_contain_text("0.800 kg")
    sale = demo.call("sale.current")
    assert [ln["qty"] for ln in sale["lines"]] == [1000, 800]
    expect(page.get_by_test_id("total")).to_have_text(yuan(sale["total"]))

    # Call for help: an alert for the staff.
    page.get_by_test_id("help-button").click()
    expect(page.get_by_test_id("toast")).to_contain_text("工作人员")

    page.get_by_test_id("pay-button").click()
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"]))
    demo.call("sim.scan", {"data": ALIPAY_CODE})  # the customer shows the code to the scanner
    expect(page.get_by_test_id("done")).to_be_visible(timeout=15_000)
    done = demo.call("sale.current")
    assert done["state"] == "completed" and done["id"] == sale["id"]
    assert [(t["method"], t["amount"]) for t in done["tenders"]] == [("alipay", sale["total"])]
    expect(page.get_by_test_id("done")).to_contain_text(done["receipt_no"])

    deadline = time.monotonic() + 10
    text = ""
    while done["receipt_no"] not in text and time.monotonic() < deadline:
        receipts = demo.call("sim.receipts", {"last": 1})["receipts"]
        text = "\n".join(ln["text"] for ln in receipts[0]["lines"]) if receipts else ""
        time.sleep(0.2)
    assert "香蕉" in text and "农夫山泉" in text, text
    page.screenshot(path=str(ARTIFACTS / "kiosk_done.png"))
    # Touching the thank-you screen (or waiting) goes back to the attract screen.
    page.get_by_test_id("done").click()
    expect(attract).to_be_visible()
