"""The checkout's member side and its refunds in a real browser against `gatewayd demo`: the
attached member shown from the daemon's `member_info`, a payment by coupon and stored value, a
payment part by the member's points and the rest in cash, and a refund of some lines of a
receipt (part of one line's quantity)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, yuan

WATER = "6921168509256"  # 农夫山泉饮用天然水550ml  ¥2.00
COKE = "6928804011142"  # 可口可乐330ml罐装          ¥3.00
BEER = "6901028068123"  # 青岛啤酒经典500ml罐装      ¥6.50
CASHIER = ("1001", "1234")
PHONE = "13812345678"

pytestmark = pytest.mark.browser


def test_member_shown_and_paid_by_coupon_and_stored_value(demo, page):
    member = demo.call("member.register", {"phone": PHONE, "name": "王芳", "card": "88001234"},
                       login=CASHIER)
    demo.call("member.topup", {"code": PHONE, "amount": 10000}, login=CASHIER)
    coupon = demo.call("coupon.issue", {"amount": 300, "member": PHONE})["codes"][0]
    if demo.call("shift.current")["shift"] is None:  # a till may take payment only in a shift
        demo.call("shift.open", {"float": 0}, login=CASHIER)

    page.goto(demo.url("/"))
    login(page)
    demo.call("sim.scan", {"data": BEER})
    demo.call("sim.scan", {"data": WATER})
    expect(page.get_by_test_id("line")).to_have_count(2)

    # F9 with the phone typed first attaches the member; the card shows the daemon's view.
    page.keyboard.type(PHONE)
    page.keyboard.press("F9")
    card = page.get_by_test_id("member")
    expect(card.get_by_test_id("member-name")).to_contain_text("王芳")
    expect(card.get_by_test_id("member-tier")).to_have_text(member["tier_name"])
    expect(card.get_by_test_id("member-phone")).to_have_text("138****5678")
    expect(card.get_by_test_id("member-balance")).to_have_text(yuan(10000))
    expect(card.get_by_test_id("member-points")).to_have_text("0")
    sale = demo.call("sale.current")
    assert sale["member"] == member["id"]
    expect(page.get_by_test_id("total")).to_have_text(yuan(sale["total"]))

    # Pay: the coupon's code typed into the amount box, F10; then ¥5 of stored value (F8);
    # the rest from stored value too (F8 on an empty box takes what is due).
    page.keyboard.press("Enter")
    amount = page.get_by_test_id("tender-amount")
    expect(amount).to_be_focused()
    expect(page.get_by_test_id("method-stored_value")).to_contain_text(yuan(10000))
    page.keyboard.type(coupon)
    page.keyboard.press("F10")
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"] - 300))
    expect(page.get_by_test_id("tender-row").first).to_contain_text(coupon)
    page.keyboard.type("5")
    page.keyboard.press("F8")
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"] - 300 - 500))
    # The balance on the button is read again from the daemon after the tender.
    expect(page.get_by_test_id("method-stored_value")).to_contain_text(yuan(10000 - 500))
    page.keyboard.press("F8")
    expect(page.get_by_test_id("completed")).to_be_visible()

    done = demo.call("sale.current")
    assert done["state"] == "completed"
    assert [(t["method"], t["amount"]) for t in done["tenders"]] == [
        ("voucher", 300), ("stored_value", 500), ("stored_value", sale["total"] - 800)]
    after = demo.call("member.get", {"code": PHONE})
    assert after["balance"] == 10000 - (sale["total"] - 300)
    assert demo.call("coupon.get", {"code": coupon})["used"] is True
    # Behind the change screen the member card shows what the sale left the member with.
    expect(card.get_by_test_id("member-balance")).to_have_text(yuan(after["balance"]))
    expect(card.get_by_test_id("member-points")).to_contain_text(str(after["points"]))


def test_member_pays_part_with_points_and_the_rest_in_cash(demo, page):
    demo.call("member.register", {"phone": PHONE, "name": "王芳"}, login=CASHIER)
    if demo.call("shift.current")["shift"] is None:  # a till may take payment only in a shift
        demo.call("shift.open", {"float": 0}, login=CASHIER)
    # The member's points come from an earlier purchase of theirs: ten beers paid in cash.
    for _ in range(10):
        demo.call("sale.add", {"barcode": BEER}, login=CASHIER)
    demo.call("sale.member", {"code": PHONE}, login=CASHIER)
    first = demo.call("sale.tender", {"method": "cash", "amount": 10000}, login=CASHIER)
    before = demo.call("member.get", {"code": PHONE})
    points = before["points"]
    assert first["state"] == "completed" and points == first["member_info"]["points"] >= 60

    page.goto(demo.url("/"))
    login(page)
    demo.call("sim.scan", {"data": BEER})
    demo.call("sim.scan", {"data": COKE})
    expect(page.get_by_test_id("line")).to_have_count(2)
    page.keyboard.type(PHONE)
    page.keyboard.press("F9")
    card = page.get_by_test_id("member")
    expect(card.get_by_test_id("member-name")).to_contain_text("王芳")
    expect(card.get_by_test_id("member-points")).to_have_text(str(points))
    sale = demo.call("sale.current")
    point_value = before["points_value"] // points  # fen a point is worth as a tender
    spent = 60 * point_value  # fen: sixty points

    # In the tender screen F9 is the points tender: the amount typed, F9; the rest in exact
    # cash (F1).
    page.keyboard.press("Enter")
    amount = page.get_by_test_id("tender-amount")
    expect(amount).to_be_focused()
    expect(page.get_by_test_id("method-points")).to_contain_text(str(points))
    page.keyboard.type(f"{spent // 100}.{spent % 100:02d}")
    page.keyboard.press("F9")
    expect(page.get_by_test_id("due")).to_have_text(yuan(sale["total"] - spent))
    expect(page.get_by_test_id("tender-row").first).to_contain_text(yuan(spent))
    # The points on the button are read again from the daemon after the tender.
    expect(page.get_by_test_id("method-points")).to_contain_text(str(points - 60))
    page.keyboard.press("F1")
    expect(page.get_by_test_id("completed")).to_be_visible()

    done = demo.call("sale.current")
    assert done["state"] == "completed" and done["id"] == sale["id"]
    assert [(t["method"], t["amount"]) for t in done["tenders"]] == [
        ("points", spent), ("cash", sale["total"] - spent)]
    history = demo.call("member.history", {"code": PHONE})
    earned = next(p["points"] for p in history["purchases"] if p["sale_id"] == sale["id"])
    # what the cash paid earns points, what the points paid does not (the demo: a point a yuan)
    assert earned == (sale["total"] - spent) * before["points_multiplier_bp"] // 1_000_000 > 0
    after = demo.call("member.get", {"code": PHONE})
    assert after["points"] == points - 60 + earned
    assert any(m["delta"] == -60 and m["sale_id"] == sale["id"] for m in history["points"]), \
        history["points"]
    expect(card.get_by_test_id("member-points")).to_contain_text(str(after["points"]))
    expect(card.get_by_test_id("member-points")).to_contain_text(f"+{earned}")

    # The printed receipt (the printer simulator's) shows the points tender and the cash.
    deadline = time.monotonic() + 10
    text = ""
    while done["receipt_no"] not in text:
        assert time.monotonic() < deadline, f"receipt {done['receipt_no']} not printed: {text}"
        time.sleep(0.2)
        receipts = demo.call("sim.receipts", {"last": 1})["receipts"]
        text = "\n".join(ln["text"] for ln in receipts[0]["lines"]) if receipts else ""
    tender_lines = [ln for ln in text.splitlines() if ln.startswith(("积分 Points", "现金"))]
    assert len(tender_lines) == 2, text
    assert tender_lines[0].endswith(f"{spent // 100}.{spent % 100:02d}"), text
    cash = sale["total"] - spent
    assert tender_lines[1].endswith(f"{cash // 100}.{cash % 100:02d}"), text


def test_partial_line_refund_after_opening_a_shift(demo, page):
    page.goto(demo.url("/"))
    login(page)
    # The shift from the header (Alt+S): a ¥200 float.
    shift = page.get_by_test_id("shift")
    expect(shift).to_be_visible()
    if demo.call("shift.current")["shift"] is None:
        page.keyboard.press("Alt+S")
        expect(page.get_by_test_id("dialog-shift_open")).to_be_visible()
        page.keyboard.type("200")
        page.keyboard.press("Enter")
        expect(shift).to_contain_text("1001")
    assert demo.call("shift.current")["shift"]["float"] == 20000

    page.keyboard.type(f"3*{COKE}")
    page.keyboard.press("Enter")
    page.keyboard.type(WATER)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("line")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tender-amount")).to_be_focused()
    page.keyboard.press("F1")  # exact cash
    expect(page.get_by_test_id("completed")).to_be_visible()
    sale = demo.call("sale.current")
    page.keyboard.press("Enter")

    # F8, the receipt number, Enter: the receipt's lines to pick from.
    page.keyboard.press("F8")
    expect(page.get_by_test_id("refund-badge")).to_be_visible()
    page.keyboard.type(sale["receipt_no"])
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("dialog-refund")
    expect(dialog.get_by_test_id("refund-line")).to_have_count(2)
    # Two of the three cokes: the quantity typed on the coke line picks it; the water stays.
    coke = dialog.locator('[data-testid="refund-line"][data-sku]').filter(has_text="可口可乐")
    qty = coke.get_by_test_id("refund-qty")
    qty.fill("2")
    expect(coke.get_by_test_id("refund-pick")).to_be_checked()
    qty.press("Enter")
    # A cashier refunds with a supervisor's approval when the till asks for it.
    approval = page.get_by_test_id("approval")
    toast = page.get_by_test_id("toast").filter(has_text=yuan(600))
    expect(approval.or_(toast).first).to_be_visible()
    if approval.is_visible():
        page.keyboard.type("9001")
        page.keyboard.press("Enter")
        page.keyboard.type("9999")
        page.keyboard.press("Enter")
    expect(toast).to_be_visible()

    left = demo.call("sale.refundable", {"receipt_no": sale["receipt_no"]})
    by_sku = {ln["name"]: (ln["returned"], ln["refundable"]) for ln in left["lines"]}
    coke_line = next(v for k, v in by_sku.items() if "可口可乐" in k)
    water_line = next(v for k, v in by_sku.items() if "农夫山泉" in k)
    assert coke_line == (2000, 1000)
    assert water_line == (0, 1000)
    assert len(left["refunds"]) == 1
