"""The checkout in a real browser against `gatewayd demo`: scans come from the simulated
scanner, weights from the simulated scale, the receipt lands in the simulated printer."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Demo, free_port, login, yuan

WATER = "6921168509256"  # 农夫山泉饮用天然水550ml  ¥2.00
COKE = "6928804011142"  # 可口可乐330ml罐装          ¥3.00
BEER = "6901028068123"  # 青岛啤酒经典500ml罐装      ¥6.50
APPLE_PLU = "1001"  # 红富士苹果 ¥12.80/kg

pytestmark = pytest.mark.browser


def lines(page):
    return page.get_by_test_id("line")


def wait_lines(page, n: int) -> None:
    expect(lines(page)).to_have_count(n)


def current(demo) -> dict:
    return demo.call("sale.current")


def test_cashier_sale_by_keyboard_with_weighed_item_and_split_tender(demo, page, tmp_path):
    # A promotion the page must explain on the line (the daemon prices it).
    demo.call("promo.upsert", {"promotions": [
        {"id": "beer3", "kind": "qty_tier", "skus": ["100009"], "qty": 3, "price": 1800}]})
    demo.open_shift()
    page.goto(demo.url("/"))
    login(page)
    scan = page.get_by_test_id("scan-input")
    expect(scan).to_be_focused()

    # Two scans through the simulated scanner (pty -> serial driver -> scan router -> sale).
    demo.call("sim.scan", {"data": WATER})
    wait_lines(page, 1)
    demo.call("sim.scan", {"data": COKE})
    wait_lines(page, 2)
    # Three beers typed on the keyboard with a multiplier.
    page.keyboard.type(f"3*{BEER}")
    page.keyboard.press("Enter")
    wait_lines(page, 3)
    expect(lines(page).nth(2)).to_contain_text("青岛啤酒")
    expect(lines(page).nth(2).locator(".qty")).to_have_text("3")
    expect(lines(page).nth(2).get_by_test_id("explain")).to_contain_text("18.00")
    # A weighed item: 1.250 kg of apples on the scale, then the PLU.
    demo.call("sim.weigh", {"grams": 1250, "stable": True})
    expect(page.get_by_test_id("weight-value")).to_have_text("1.250 kg")
    page.keyboard.type(APPLE_PLU)
    page.keyboard.press("Enter")
    wait_lines(page, 4)
    expect(lines(page).nth(3)).to_contain_text("红富士苹果")
    expect(lines(page).nth(3).locator(".qty")).to_have_text("1.250 kg")

    sale = current(demo)
    assert [ln["qty"] for ln in sale["lines"]] == [1000, 1000, 3000, 1250]
    expect(page.get_by_test_id("total")).to_have_text(yuan(sale["total"]))
    # The README's picture is rewritten only on purpose: a test run leaves the tree clean.
    shot = ROOT / "docs" / "img" / "checkout.png"
    page.screenshot(path=str(shot if os.environ.get("GATEWAYD_UPDATE_SCREENSHOTS") == "1"
                             else tmp_path / "checkout.png"))

    # Pay: Enter on the empty input opens the tender screen; ¥10 by card, the rest cash.
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"]))
    amount = page.get_by_test_id("tender-amount")
    expect(amount).to_be_focused()
    page.keyboard.type("10")
    page.keyboard.press("F5")
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"] - 1000))
    expect(page.get_by_test_id("tenders")).to_contain_text("¥10.00")
    page.keyboard.type("100")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("completed")).to_be_visible()

    done = current(demo)
    assert done["state"] == "completed"
    assert [t["method"] for t in done["tenders"]] == ["card", "cash"]
    assert done["change"] == 1000 + 10000 - sale["total"]
    expect(page.get_by_test_id("change")).to_have_text(yuan(done["change"]))
    expect(page.get_by_test_id("receipt-no")).to_have_text(done["receipt_no"])

    # The receipt as the printer simulator received it.
    text = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        receipts = demo.call("sim.receipts", {"last": 1})["receipts"]
        text = "\n".join(ln["text"] for ln in receipts[0]["lines"]) if receipts else ""
        if done["receipt_no"] in text:
            break
        time.sleep(0.2)
    for name in ("农夫山泉", "可口可乐", "青岛啤酒", "红富士苹果"):
        assert name in text, text
    total = f"{done['total'] // 100}.{done['total'] % 100:02d}"
    assert total in text, text

    # Enter: next customer; the screen is empty again.
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tender")).to_have_count(0)
    expect(lines(page)).to_have_count(0)


def test_the_tender_screen_offers_only_the_tenders_this_till_takes(tmp_path, page):
    """A till that takes card and WeChat Pay only (`[sale] tenders`; head office's payment
    settings arrive the same way, through sale.tenders): no cash, voucher, stored-value or
    points buttons, and their keys tender nothing."""
    config = tmp_path / "tenders.toml"
    config.write_text('[sale]\ntenders = ["card", "wechat"]\n')
    demo = Demo(tmp_path / "demo", free_port(), config=config)
    demo.start()
    try:
        demo.open_shift()
        page.goto(demo.url("/"))
        login(page)
        demo.call("sim.scan", {"data": WATER})
        wait_lines(page, 1)
        page.keyboard.press("Enter")  # the tender screen
        expect(page.get_by_test_id("due")).to_have_text("¥2.00")
        expect(page.get_by_test_id("method-card")).to_be_visible()
        expect(page.get_by_test_id("method-paycode")).to_be_visible()  # a WeChat Pay code
        expect(page.get_by_test_id("method-coupon")).to_be_visible()  # not a tender method
        for gone in ("cash-tenders", "quick-F1", "method-voucher", "method-stored_value",
                     "method-points"):
            expect(page.get_by_test_id(gone)).to_have_count(0)
        page.keyboard.press("Enter")  # cash by key: refused on the page, nothing sent
        expect(page.get_by_test_id("toast").filter(has_text="现金")).to_be_visible()
        page.keyboard.press("F7")  # voucher
        expect(page.get_by_test_id("toast").filter(has_text="券")).to_be_visible()
        assert current(demo)["tenders"] == []
        page.keyboard.press("F5")  # card: the rest
        expect(page.get_by_test_id("completed")).to_be_visible()
        assert [t["method"] for t in current(demo)["tenders"]] == ["card"]
    finally:
        demo.stop()


def test_no_sale_is_paid_without_a_shift_and_a_refund_asks_a_supervisor_inline(demo, page):
    """A sale is paid only in an open shift: the page says so, and a refused tender asks
    for the float. A refund is a supervisor's: the cashier's F8 refund asks inline."""
    page.goto(demo.url("/"))
    login(page)
    expect(page.get_by_test_id("shift")).to_contain_text("未开班")
    expect(page.get_by_test_id("no-shift")).to_be_visible()
    demo.call("sim.scan", {"data": WATER})
    wait_lines(page, 1)
    page.keyboard.press("Enter")  # the tender screen
    expect(page.get_by_test_id("due")).to_have_text("¥2.00")
    page.keyboard.press("Enter")  # cash: the daemon refuses, the page asks for the shift
    dialog = page.get_by_test_id("dialog-shift_open")
    expect(dialog).to_be_visible()
    assert current(demo)["tenders"] == []
    expect(dialog.get_by_test_id("dialog-input")).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("shift")).to_contain_text("1001")
    shift = demo.call("shift.current")["shift"]
    assert shift["float"] == 50000 and shift["operator"] == "1001"

    page.get_by_test_id("tender-amount").press("Enter")  # now the cash due is taken
    expect(page.get_by_test_id("completed")).to_be_visible()
    receipt = current(demo)["receipt_no"]
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tender")).to_have_count(0)
    expect(page.get_by_test_id("no-shift")).to_have_count(0)

    page.keyboard.press("F8")
    expect(page.get_by_test_id("refund-badge")).to_be_visible()
    page.keyboard.type(receipt)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("dialog-refund").get_by_test_id("refund-line")).to_have_count(1)
    expect(page.get_by_test_id("dialog-refund")).to_be_focused()  # the keys go to the dialog
    page.keyboard.press("a")  # all of it
    page.keyboard.press("Enter")
    approval = page.get_by_test_id("approval")
    expect(approval).to_be_visible()
    expect(approval).to_contain_text("退货")
    expect(approval).to_contain_text("主管")  # a supervisor (or above) approves
    assert demo.call("sale.refundable", {"receipt_no": receipt})["refunds"] == []
    page.keyboard.type("9001")
    page.keyboard.press("Enter")
    page.keyboard.type("9999")
    page.keyboard.press("Enter")
    expect(approval).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="¥2.00")).to_be_visible()
    refundable = demo.call("sale.refundable", {"receipt_no": receipt})
    assert len(refundable["refunds"]) == 1 and refundable["lines"][0]["refundable"] == 0


def test_manager_approval_for_price_override(demo, page):
    page.goto(demo.url("/"))
    login(page)
    demo.call("sim.scan", {"data": BEER})
    wait_lines(page, 1)
    page.keyboard.press("F5")
    dialog = page.get_by_test_id("dialog-price")
    expect(dialog.get_by_test_id("dialog-input")).to_be_focused()
    page.keyboard.type("5.00")
    page.keyboard.press("Enter")
    # A cashier may not override a price: the daemon asks for approval.
    approval = page.get_by_test_id("approval")
    expect(approval).to_be_visible()
    expect(approval).to_contain_text("改价")
    expect(page.get_by_test_id("approve-operator")).to_be_focused()
    page.keyboard.type("9001")
    page.keyboard.press("Enter")
    page.keyboard.type("0000")  # a wrong PIN first
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("approve-error")).to_be_visible()
    page.get_by_test_id("approve-pin").fill("")
    page.keyboard.type("9999")
    page.keyboard.press("Enter")
    expect(approval).to_have_count(0)
    expect(lines(page).first).to_contain_text("¥5.00")
    sale = current(demo)
    assert sale["lines"][0]["unit_price"] == 500
    assert sale["total"] == 500
    expect(page.get_by_test_id("total")).to_have_text("¥5.00")


def test_unknown_barcode_beeps_and_toasts(demo, page):
    page.goto(demo.url("/"))
    login(page)
    demo.call("sim.scan", {"data": "6900000000000"})
    expect(page.get_by_test_id("toast")).to_contain_text("6900000000000")
    assert page.evaluate("window.__beeps") >= 1
    expect(lines(page)).to_have_count(0)


def test_daemon_restart_mid_sale_recovers_with_the_sale_intact(demo, page):
    page.goto(demo.url("/"))
    login(page)
    demo.call("sim.scan", {"data": WATER})
    demo.call("sim.scan", {"data": COKE})
    wait_lines(page, 2)
    before = current(demo)

    demo.stop(signal.SIGKILL)  # power cut, not a clean shutdown
    banner = page.get_by_test_id("offline-banner")
    expect(banner).to_be_visible()
    page.screenshot(path=str(ROOT / "tests" / "artifacts" / "restart_offline.png"))
    demo.start()

    expect(banner).to_have_count(0, timeout=20_000)
    expect(page.get_by_test_id("link")).to_have_class(re.compile(r"\bok\b"))
    wait_lines(page, 2)
    after = current(demo)
    assert after["id"] == before["id"]
    assert [ln["line_id"] for ln in after["lines"]] == [ln["line_id"] for ln in before["lines"]]
    expect(page.get_by_test_id("total")).to_have_text(yuan(before["total"]))
    # The page logged the cashier in again by itself and the sale goes on.
    demo.call("sim.scan", {"data": BEER})
    wait_lines(page, 3)


def test_pairing_without_token(demo, page):
    page.goto(demo.url("/", token=False))
    code = page.get_by_test_id("pair-code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{6}$"))
    approved = demo.cli("pair", "approve", code.inner_text(), "--role", "cashier")
    assert approved.returncode == 0, approved.stderr
    page.get_by_test_id("login-operator").wait_for(timeout=15_000)
    token = page.evaluate("localStorage.getItem('gatewayd.token')")
    assert token and token.startswith("gw_") and token != demo.token
    login(page)
    expect(page.get_by_test_id("operator")).to_contain_text("1001")
