"""The sale service through the protocol: a real daemon in-process (tests/conftest.py)."""

from __future__ import annotations

import pytest

from clients.python.client import GatewayError, connect
from gatewayd.sales.barcodes import ean13_check_digit
from tests.conftest import open_shift

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "tax_rate_bp": 1300,
     "barcodes": ["6901234567892"], "plu": "1001"},
    {"sku": "1002", "name": "农夫山泉 550ml", "price": 200, "tax_rate_bp": 1300,
     "barcodes": ["6921168509256"]},
    {"sku": "2001", "name": "红富士苹果", "price": 1280, "unit": "kg", "tax_rate_bp": 900,
     "plu": "20001"},
    {"sku": "3001", "name": "大米 5kg", "price": 4990, "tax_rate_bp": 900, "plu": "3001"},
]


def ean13(body12: str) -> str:
    return body12 + str(ean13_check_digit(body12))


@pytest.fixture
async def till(daemon):
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("8001", "supervisor", "8888")
    daemon.operator("9001", "manager", "9999")
    admin = daemon.token("admin")
    async with connect(daemon.url, admin) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        gw.daemon = daemon
        gw.admin = admin
        yield gw


async def test_add_price_and_cash_tender_completes(till):
    gw = till
    await gw.subscribe(["sale"])
    sale = await gw.call("sale.add", {"barcode": "6901234567892"})
    assert sale["state"] == "open" and sale["total"] == 350 and sale["added"]
    ev = await gw.next_event("sale.updated")
    assert ev["data"]["id"] == sale["id"] and ev["data"]["total"] == 350
    sale = await gw.call("sale.add", {"sku": "1002", "qty": 2000})
    assert [ln["amount"] for ln in sale["lines"]] == [350, 400]
    assert sale["subtotal"] == 750 and sale["total"] == 750 and sale["due"] == 750
    assert sale["tax"] == [{"rate_bp": 1300, "net": 750, "tax": 86, "base": 664}]
    done = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    assert done["state"] == "completed" and done["change"] == 250 and done["paid"] == 1000
    assert done["receipt_no"].startswith("S001-T01-") and done["receipt_no"].endswith("-0001")
    got = await gw.call("sale.get", {"receipt_no": done["receipt_no"]})
    assert got["id"] == done["id"] and got["tenders"] == [{"method": "cash", "amount": 1000}]
    assert (await gw.call("sale.current"))["state"] == "completed"
    nxt = await gw.call("sale.add", {"plu": "3001"})
    assert nxt["id"] != done["id"] and nxt["total"] == 4990


# -- helpers ---------------------------------------------------------------------------------
class FakeInfo:
    def __init__(self, dev_id: str, kind: str):
        self.id, self.kind, self.state = dev_id, kind, "online"


class FakeScale:
    def __init__(self, grams: int = 0, stable: bool = True):
        self.info = FakeInfo("scale", "scale")
        self.grams, self.stable = grams, stable

    async def read(self, timeout: float = 3.0):
        from drivers.base import DeviceBusy
        from drivers.scale.reading import Reading

        if not self.stable:
            raise DeviceBusy("scale: weight not stable")
        return Reading(grams=self.grams, stable=True, zero=self.grams == 0)


class FakeDrawer:
    def __init__(self):
        self.info = FakeInfo("drawer", "drawer")
        self.opened = 0

    async def open(self):
        self.opened += 1


class FakeDisplay:
    def __init__(self):
        self.info = FakeInfo("display", "display")
        self.shown: list[list[str]] = []

    async def show(self, lines):
        self.shown.append(list(lines))
        return lines

    async def idle(self):
        return await self.show(["欢迎光临", "Welcome"])


class FakePrinter:
    def __init__(self):
        self.info = FakeInfo("printer", "printer")


def fake_devices(app, *devices):
    by_kind: dict[str, list] = {}
    for d in devices:
        by_kind.setdefault(d.info.kind, []).append(d)
    app.devices.of_kind = lambda kind: by_kind.get(kind, [])

    def get(dev_id):
        for d in devices:
            if d.info.id == dev_id:
                return d
        raise KeyError(dev_id)

    app.devices.get = get
    return devices


async def expect(code: str, coro):
    with pytest.raises(GatewayError) as err:
        await coro
    assert err.value.code == code, err.value
    return err.value


def journal_kinds(app, kind: str) -> list[dict]:
    return [e.data for e in app.store.journal(0, 100000) if e.kind == kind]


# -- bad input ---------------------------------------------------------------------------------
async def test_bad_input_is_refused_and_changes_nothing(till):
    gw, app = till, till.daemon.app
    err = await expect("not_found", gw.call("sale.add", {"barcode": "6900000000000"}))
    assert err.details["barcode"] == "6900000000000"
    assert (await gw.call("sale.current"))["id"] is None  # nothing opened, nothing added
    await expect("conflict", gw.call("sale.tender", {"method": "cash", "amount": 100}))
    sale = await gw.call("sale.add", {"sku": "1001"})
    line = sale["lines"][0]["line_id"]
    for qty in (0, -1000):
        await expect("invalid_params", gw.call("sale.add", {"sku": "1001", "qty": qty}))
        await expect("invalid_params", gw.call("sale.set_qty", {"line_id": line, "qty": qty}))
    await expect("invalid_params", gw.call("sale.set_qty", {"line_id": line, "qty": 10**9}))
    await expect("invalid_params", gw.call("sale.set_qty", {"line_id": line, "qty": 1500}))
    await expect("invalid_params", gw.call("sale.add", {"sku": "1001", "qty": "1"}))
    await expect("not_found", gw.call("sale.set_qty", {"line_id": "nope", "qty": 1000}))
    manager = {"operator": "9001", "pin": "9999"}
    await expect("invalid_params", gw.call("sale.price", {
        "line_id": line, "unit_price": 10**12, "approve": manager}))
    await expect("invalid_params", gw.call("sale.price", {
        "line_id": line, "unit_price": -1, "approve": manager}))
    after = await gw.call("sale.current")
    assert after["version"] == sale["version"] and after["lines"] == sale["lines"]
    # an empty sale (every line voided) takes no tender
    await gw.call("sale.void_line", {"line_id": line})
    await expect("conflict", gw.call("sale.tender", {"method": "cash", "amount": 100}))
    assert journal_kinds(app, "sale.tendered") == []


async def test_discounts_and_approvals(till):
    gw = till
    sale = await gw.call("sale.add", {"sku": "3001"})  # 49.90
    line = sale["lines"][0]["line_id"]
    sale = await gw.call("sale.discount", {"line_id": line, "percent": 1000, "reason": "dent"})
    assert sale["lines"][0]["discount"] == 499 and sale["total"] == 4491
    assert "dent" in " ".join(sale["lines"][0]["explain"])
    err = await expect("approval_required", gw.call(
        "sale.discount", {"line_id": line, "percent": 2000, "reason": "dent"}))
    assert err.details == {"action": "sale.discount", "role": "supervisor"}
    await expect("approval_required", gw.call(
        "sale.discount", {"amount": 1000, "reason": "regular"}))
    sup = {"operator": "8001", "pin": "8888"}
    sale = await gw.call("sale.discount", {"line_id": line, "percent": 2000, "reason": "dent",
                                           "approve": sup})
    assert sale["total"] == 3992
    sale = await gw.call("sale.discount", {"amount": 92, "reason": "round"})
    assert sale["total"] == 3900 and sale["subtotal"] == 4990
    # price override needs a supervisor
    await expect("approval_required", gw.call("sale.price", {"line_id": line,
                                                             "unit_price": 3000}))
    sale = await gw.call("sale.price", {"line_id": line, "unit_price": 3000, "approve": sup})
    assert sale["lines"][0]["unit_price"] == 3000
    assert sale["lines"][0]["price_override"] == "override"
    events = journal_kinds(till.daemon.app, "sale.price_overridden")
    assert events[-1]["approver"] == "8001" and events[-1]["list_price"] == 4990
    # whole-sale void: manager
    await expect("approval_required", gw.call("sale.void", {"reason": "left"}))
    await expect("forbidden", gw.call("sale.void", {"reason": "left", "approve": sup}))
    voided = await gw.call("sale.void", {"reason": "left",
                                         "approve": {"operator": "9001", "pin": "9999"}})
    assert voided["state"] == "voided" and voided["void_reason"] == "left"
    await expect("conflict", gw.call("sale.void_line", {"line_id": line}))


async def test_suspend_and_resume_several(till):
    gw = till
    a = await gw.call("sale.add", {"sku": "1001"})
    await gw.call("sale.suspend")
    b = await gw.call("sale.add", {"sku": "1002", "qty": 3000})
    assert b["id"] != a["id"]
    await gw.call("sale.suspend")
    parked = (await gw.call("sale.suspended"))["sales"]
    assert [(s["id"], s["total"]) for s in parked] == [(a["id"], 350), (b["id"], 600)]
    c = await gw.call("sale.add", {"sku": "3001"})
    await expect("conflict", gw.call("sale.resume", {"id": a["id"]}))
    await gw.call("sale.void_line", {"line_id": c["lines"][0]["line_id"]})
    back = await gw.call("sale.resume", {"id": a["id"]})  # the empty open sale is dropped
    assert back["id"] == a["id"] and back["state"] == "open" and back["total"] == 350
    await expect("conflict", gw.call("sale.resume", {"id": b["id"]}))
    await expect("not_found", gw.call("sale.resume", {"id": "nope"}))
    assert [s["id"] for s in (await gw.call("sale.suspended"))["sales"]] == [b["id"]]


async def test_weighed_items_take_the_stable_scale_weight(till):
    gw, app = till, till.daemon.app
    err = await expect("device_offline", gw.call("sale.add", {"sku": "2001"}))
    assert "no scale" in err.message
    (scale,) = fake_devices(app, FakeScale(grams=0))
    await expect("invalid_params", gw.call("sale.add", {"sku": "2001"}))
    scale.stable = False
    await expect("device_busy", gw.call("sale.add", {"sku": "2001"}))
    assert (await gw.call("sale.current"))["id"] is None
    scale.stable, scale.grams = True, 1235
    sale = await gw.call("sale.add", {"sku": "2001"})
    assert sale["lines"][0]["qty"] == 1235 and sale["lines"][0]["amount"] == 1581  # 15.808
    # a weight label carries its own weight: the scale is not asked
    scale.stable = False
    label = ean13("21" + "20001" + "00500")
    sale = await gw.call("sale.add", {"barcode": label})
    assert sale["lines"][1]["qty"] == 500 and sale["lines"][1]["amount"] == 640
    # a price label: the printed amount is the line's amount
    sale = await gw.call("sale.add", {"barcode": ean13("20" + "20001" + "01000")})
    assert sale["lines"][2]["amount"] == 1000 and sale["lines"][2]["price_override"] == "label"


async def test_promotions_from_promo_upsert_explain_the_line(till):
    gw = till
    async with connect(gw.daemon.url, gw.admin) as admin:
        err = await expect("invalid_params", admin.call("promo.upsert", {"promotions": [
            {"id": "bad", "kind": "qty_tier", "skus": ["1001"], "qty": "x", "price": 1}]}))
        assert "[0].qty" in err.message
        await admin.call("promo.upsert", {"promotions": [
            {"id": "coke3", "kind": "qty_tier", "skus": ["1001"], "qty": 3, "price": 1000}]})
        listed = (await admin.call("promo.list"))["promotions"]
        assert [p["id"] for p in listed] == ["coke3"]
    sale = await gw.call("sale.add", {"sku": "1001", "qty": 3000})
    ln = sale["lines"][0]
    assert ln["amount"] == 1050 and ln["discount"] == 50 and sale["total"] == 1000
    assert ln["promo"] == [{"id": "coke3", "label": ln["promo"][0]["label"], "discount": 50}]
    assert ln["explain"]
    assert journal_kinds(gw.daemon.app, "promo.upserted")[0]["ids"] == ["coke3"]


async def test_completion_queues_receipt_opens_drawer_and_shows_change(till):
    gw, app = till, till.daemon.app
    _printer, drawer, display = fake_devices(app, FakePrinter(), FakeDrawer(), FakeDisplay())
    calls: list[tuple] = []

    def hook(tx, wire):
        state = tx.one("SELECT state FROM sales WHERE id=?", (wire["id"],))[0]
        calls.append((wire["receipt_no"], state))

    app.sales.on_complete.append(hook)
    await gw.call("sale.add", {"barcode": "6901234567892"})
    await gw.call("sale.add", {"barcode": "6901234567892"})
    done = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    assert done["change"] == 300
    assert calls == [(done["receipt_no"], "completed")]  # the hook ran inside the transaction
    job = app.store.one("SELECT * FROM print_jobs WHERE ref=?", (done["receipt_no"],))
    assert job["kind"] == "receipt" and job["printer"] == "printer"
    from protocol.codec import unpack

    doc = unpack(job["document"])
    assert {"type": "barcode", "data": done["receipt_no"]}.items() <= next(
        d for d in doc if d["type"] == "barcode").items()
    assert any(d["type"] == "qr" for d in doc)
    texts = " ".join(d.get("text", "") + d.get("left", "") for d in doc)
    assert "可口可乐" in texts and "找零" in texts and "税率 13%" in texts
    import trio

    for _ in range(100):
        if journal_kinds(app, "drawer.opened") and display.shown and \
                display.shown[-1][1].startswith("找零"):
            break
        await trio.sleep(0.01)
    assert drawer.opened == 1
    assert display.shown[-1] == ["合计 ¥7.00", "找零 ¥3.00"]
    assert journal_kinds(app, "drawer.opened")[-1]["receipt_no"] == done["receipt_no"]
    # reprint: same document, marked and counted
    r = await gw.call("receipt.reprint")
    assert r == {"receipt_no": done["receipt_no"], "reprints": 1, "job_id": r["job_id"]}
    r2 = await gw.call("receipt.reprint", {"receipt_no": done["receipt_no"]})
    assert r2["reprints"] == 2
    job = app.store.one("SELECT * FROM print_jobs WHERE id=?", (r2["job_id"],))
    assert job["kind"] == "reprint" and "重打印" in unpack(job["document"])[0]["text"]
    await expect("not_found", gw.call("receipt.reprint", {"receipt_no": "S001-T01-1-1"}))
    # receipt numbers: per day, gap-free
    await gw.call("sale.add", {"sku": "1002"})
    second = await gw.call("sale.tender", {"method": "cash"})
    assert second["receipt_no"].endswith("-0002") and second["change"] == 0


async def test_cash_rounding_drop_fen(tmp_path, nursery):
    from gatewayd.app import App
    from tests.conftest import Daemon, make_config

    app = App(make_config(tmp_path, sale={"cash_rounding": "drop_fen"}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier")
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": [
            {"sku": "x", "name": "X", "price": 1234}]})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        sale = await gw.call("sale.add", {"sku": "x"})
        assert sale["due"] == 1234 and sale["cash_due"] == 1230
        done = await gw.call("sale.tender", {"method": "cash"})
        assert (done["state"], done["paid"], done["rounding"], done["change"]) == (
            "completed", 1230, 4, 0)
    app.close()


async def test_scan_router_adds_items_and_beeps_on_unknown_codes(daemon):
    app = daemon.app
    daemon.operator("1001", "cashier")
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.subscribe(["sale", "scanner"])
        app.emit("scanner.data", {"device": "scanner", "data": "6901234567892"})
        ev = await gw.next_event("scanner.error")
        assert ev["data"]["reason"] == "login_required"
        assert (await gw.call("sale.current"))["id"] is None
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        app.emit("scanner.data", {"device": "scanner", "data": "6901234567892\r\n"})
        ev = await gw.next_event("sale.updated")
        assert ev["data"]["lines"][0]["sku"] == "1001" and ev["data"]["operator"] == "1001"
        app.emit("scanner.data", {"device": "scanner", "data": "6900000000000"})
        ev = await gw.next_event("scanner.error")
        assert ev["data"] == {"device": "scanner", "data": "6900000000000",
                              "reason": "unknown_code", "message": ev["data"]["message"]}
        sale = await gw.call("sale.current")
        assert len(sale["lines"]) == 1
        # a receipt number goes to the route that takes receipts (the returns service's in
        # refund mode; this one takes them always)
        seen = []

        async def on_receipt(code, operator):
            seen.append((code, operator))

        from gatewayd.sales.scan import ScanRoute

        router = app.scan_router
        assert router.routes[0] is app.returns.scan_route
        router.routes = (ScanRoute("receipt", app.sales.is_receipt_no, on_receipt),
                         *router.routes[1:])
        receipt = "S001-T01-20250301-0001"
        app.emit("scanner.data", {"device": "scanner", "data": receipt})
        app.emit("scanner.data", {"device": "scanner", "data": "6921168509256"})
        ev = await gw.next_event("sale.updated")
        assert seen == [(receipt, "1001")] and len(ev["data"]["lines"]) == 2


async def test_result_equals_a_fresh_read(till):
    gw = till
    for params in ({"sku": "1001"}, {"sku": "1002", "qty": 2000}, {"plu": "3001"}):
        result = await gw.call("sale.add", params)
        result.pop("added")
        assert result == await gw.call("sale.current")
    line = result["lines"][1]["line_id"]
    result = await gw.call("sale.discount", {"line_id": line, "amount": 30, "reason": "x"})
    assert result == await gw.call("sale.current")
    result = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    assert result == await gw.call("sale.current")
