"""The store's pages on a till enrolled at head office, in a real browser: a stored-value
tender authorized online by head office shows it at the checkout; a delivery head office
sends shows in the back office's transfers as on its way, taken and confirmed with what was
counted (head office then reports the difference); a purchase order of head office's is
received against in the back office's receiving; a transfer out posted at one store's back
office reaches head office, is listed at the other store's back office as on its way, and is
confirmed there with a different count (head office's transfer report shows the difference)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import trio
from playwright.sync_api import expect

from clients.python.client import connect
from tests.browser.conftest import Demo, free_port, login
from tests.browser.test_hq import HqServer

CASHIER = ("1001", "1234")
MANAGER = ("9001", "9999")
BEER = "6901028068123"  # 青岛啤酒经典500ml罐装
COKE = "6928804011142"  # 可口可乐330ml罐装
PHONE = "13812345678"

pytestmark = pytest.mark.browser


@pytest.fixture
def chain(tmp_path):
    """Head office and one demo till of store S001 enrolled to it; head office's admin token."""
    hq = HqServer(tmp_path / "hq", free_port())
    hq.start()
    till = Demo(tmp_path / "till", free_port())
    till.start()
    try:
        yield hq, till, hq.enroll(till)
    finally:
        till.stop()
        hq.stop()


def hq_call(hq: HqServer, token: str, method: str, params: dict):
    async def run():
        async with connect(f"ws://127.0.0.1:{hq.port}/ws", token, name="browser-test",
                           reconnect=False) as gw:
            return await gw.call(method, params)

    return trio.run(run)


def until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.2)


def test_stored_value_held_online_a_delivery_confirmed_and_a_purchase_order_received(
        chain, page):
    hq, till, token = chain
    until(lambda: till.call("system.health")["replication"]["state"] == "online",
          "the till's link is up")
    till.call("member.register", {"phone": PHONE, "name": "王芳"}, login=CASHIER)
    till.call("member.topup", {"code": PHONE, "amount": 5000}, login=CASHIER)
    if till.call("shift.current")["shift"] is None:
        till.call("shift.open", {"float": 0}, login=CASHIER)

    # The checkout: the member's stored value pays; head office held it online.
    page.goto(till.url("/"))
    login(page)
    till.call("sim.scan", {"data": BEER})
    expect(page.get_by_test_id("line")).to_have_count(1)
    page.keyboard.type(PHONE)
    page.keyboard.press("F9")
    expect(page.get_by_test_id("member-name")).to_contain_text("王芳")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tender-amount")).to_be_focused()
    page.keyboard.press("F8")
    expect(page.get_by_test_id("completed")).to_be_visible()
    badge = page.get_by_test_id("tender-auth")
    expect(badge).to_have_text("总部已授权")
    sale = till.call("sale.current")
    assert sale["tenders"][0]["ref"].startswith("hq:")

    # Head office sends five beers; the back office lists the delivery, four are counted.
    sku = till.call("catalog.lookup", {"barcode": BEER})["item"]["sku"]
    sent = hq_call(hq, token, "hq.delivery.create", {"to_store": "S001",
                                                       "lines": [{"sku": sku, "qty": 5000}]})
    page.goto(till.url("/backoffice.html"))
    login(page, *MANAGER)
    page.keyboard.press("Alt+Y")
    row = page.get_by_test_id("incoming-row").filter(has_text=sent["no"])
    expect(row).to_be_visible()
    row.get_by_test_id("incoming-take").click()
    expect(page.get_by_test_id("transfer-peer")).to_have_value(sent["from_store"])
    qty = page.locator(f'[data-testid="transfer-line"][data-sku="{sku}"]').get_by_test_id(
        "transfer-qty")
    expect(qty).to_have_value("5")
    qty.fill("4")
    page.get_by_test_id("transfer-post").click()
    expect(page.get_by_test_id("doc-no")).to_contain_text("TRI")
    # no longer offered: confirmed here (or already received at head office, then not listed)
    expect(row.get_by_test_id("incoming-take")).to_have_count(0)

    def received():
        got = hq_call(hq, token, "hq.transfers", {"store": "S001"})["transfers"]
        mine = [x for x in got if x["no"] == sent["no"] and x["state"] == "received"]
        return mine[0] if mine else None

    done = until(received, "head office holds the delivery as received")
    assert [(ln["sku"], ln["sent"], ln["received"], ln["difference"])
            for ln in done["lines"]] == [(sku, 5000, 4000, -1000)]

    # A purchase order of head office's to a supplier: received against at the store, with
    # its cost, the quantity as ordered.
    hq_call(hq, token, "hq.supplier.upsert", {"suppliers": [{
        "id": "SUP01", "name": "青岛啤酒", "lead_time_days": 2,
        "items": [{"sku": sku, "cost": 420, "pack_qty": 12000}]}]})
    po = hq_call(hq, token, "hq.po.create", {"store": "S001", "supplier": "SUP01",
                                             "lines": [{"sku": sku, "qty": 12000}]})
    page.keyboard.press("Alt+G")
    order = page.get_by_test_id("incoming-row").filter(has_text=po["no"])
    order.get_by_test_id("incoming-take").click()
    expect(page.get_by_test_id("receive-supplier")).to_have_value("SUP01")
    expect(page.get_by_test_id("receive-ref")).to_have_value(po["no"])
    line = page.locator(f'[data-testid="receive-line"][data-sku="{sku}"]')
    expect(line.get_by_test_id("receive-qty")).to_have_value("12")
    line.get_by_test_id("receive-cost").fill("4.20")
    page.get_by_test_id("receive-post").click()
    expect(page.get_by_test_id("doc-no")).to_contain_text("RCV")
    rcv = till.call("stock.doc", {"no": page.get_by_test_id("doc-no").inner_text()})
    assert (rcv["supplier"], rcv["ref"], rcv["lines"][0]["qty"]) == ("SUP01", po["no"], 12000)


@pytest.fixture
def two_stores(tmp_path):
    """Head office with a demo till of store S001 and one of store S002 (its `[till]` in a
    config file merged over the demo's), both enrolled the real way; HQ's admin token."""
    hq = HqServer(tmp_path / "hq", free_port())
    hq.start()
    config = tmp_path / "s002.toml"
    config.write_text('[till]\nstore = "S002"\ntill = "T01"\nname = "demo S002/T01"\n')
    a = Demo(tmp_path / "till-a", free_port())
    b = Demo(tmp_path / "till-b", free_port(), config=config)
    try:
        with ThreadPoolExecutor(2) as pool:  # two daemons starting at once: a few s less
            list(pool.map(Demo.start, (a, b)))
        token = hq.enroll(a, "S001", "T01")
        hq.enroll(b, "S002", "T01")
        yield hq, a, b, token
    finally:
        b.stop()
        a.stop()
        hq.stop()


def test_transfer_out_at_one_store_received_at_another_with_a_difference(two_stores, page):
    hq, a, b, token = two_stores
    for till in (a, b):
        until(lambda t=till: t.call("system.health")["replication"]["state"] == "online",
              "the till's link is up")
    assert b.call("system.info")["till"] == {"store": "S002", "till": "T01"}
    coke = a.call("catalog.lookup", {"barcode": COKE})["item"]["sku"]
    a_before = a.call("stock.get", {"sku": coke})["on_hand"]
    b_before = b.call("stock.get", {"sku": coke})["on_hand"]

    # Store A's back office: five cokes out to S002.
    page.goto(a.url("/backoffice.html"))
    login(page, *MANAGER)
    page.keyboard.press("Alt+Y")
    page.get_by_test_id("transfer-peer").fill("S002")
    code = page.get_by_test_id("transfer-code")
    code.fill(COKE)
    code.press("Enter")
    qty = page.locator(f'[data-testid="transfer-line"][data-sku="{coke}"]').get_by_test_id(
        "transfer-qty")
    expect(qty).to_be_visible()
    qty.fill("5")
    page.get_by_test_id("transfer-post").click()
    expect(page.get_by_test_id("doc-no")).to_contain_text("TRO")
    tro = page.get_by_test_id("doc-no").inner_text().strip()
    sent = a.call("stock.doc", {"no": tro})
    assert (sent["kind"], sent["peer"], sent["lines"][0]["qty"]) == ("transfer_out", "S002", 5000)
    assert a.call("stock.get", {"sku": coke})["on_hand"] == a_before - 5000

    # A's till replicates it; head office holds it as on its way from S001 to S002.
    def at_hq(state: str):
        got = hq_call(hq, token, "hq.transfers", {"store": "S002"})["transfers"]
        return next((x for x in got if x["no"] == tro and x["state"] == state), None)

    in_transit = until(lambda: at_hq("in_transit"), "head office holds the transfer")
    assert (in_transit["from_store"], in_transit["to_store"]) == ("S001", "S002")

    # Store B's back office lists it as on its way (asked of head office); taken, four of the
    # five are counted and confirmed.
    page.goto(b.url("/backoffice.html"))
    login(page, *MANAGER)
    page.keyboard.press("Alt+Y")
    row = page.get_by_test_id("incoming-row").filter(has_text=tro)
    expect(row).to_contain_text("S001")
    row.get_by_test_id("incoming-take").click()
    expect(page.get_by_test_id("transfer-peer")).to_have_value("S001")
    counted = page.locator(f'[data-testid="transfer-line"][data-sku="{coke}"]').get_by_test_id(
        "transfer-qty")
    expect(counted).to_have_value("5")
    counted.fill("4")
    page.get_by_test_id("transfer-post").click()
    expect(page.get_by_test_id("doc-no")).to_contain_text("TRI")
    tri = b.call("stock.doc", {"no": page.get_by_test_id("doc-no").inner_text().strip()})
    assert (tri["kind"], tri["peer"], tri["ref"]) == ("transfer_in", "S001", tro)
    assert [(ln["sku"], ln["qty"]) for ln in tri["lines"]] == [(coke, 4000)]
    assert b.call("stock.get", {"sku": coke})["on_hand"] == b_before + 4000
    expect(row.get_by_test_id("incoming-take")).to_have_count(0)

    # Head office: received, one short, on its transfer report (the page's).
    done = until(lambda: at_hq("received"), "head office holds the transfer as received")
    assert [(ln["sku"], ln["sent"], ln["received"], ln["difference"])
            for ln in done["lines"]] == [(coke, 5000, 4000, -1000)]
    page.goto(f"http://127.0.0.1:{hq.port}/#token={token}")
    page.get_by_test_id("tab-reports").click()
    page.get_by_test_id("kind-transfers").click()
    expect(page.get_by_test_id("report")).to_have_attribute("data-kind", "transfers")
    line = page.get_by_test_id("report-row").filter(has_text=tro)
    expect(line).to_have_count(1)
    cells = line.locator("td")
    expect(cells.nth(2)).to_have_text("S001")
    expect(cells.nth(3)).to_have_text("S002")
    expect(cells.nth(4)).to_have_text("received")
    expect(cells.nth(6)).to_have_text(coke)
    expect(cells.nth(7)).to_have_text("5")
    expect(cells.nth(8)).to_have_text("4")
    expect(cells.nth(9)).to_have_text("-1")
