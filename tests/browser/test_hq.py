"""Head office's back office in a real browser: `gatewayd hq serve` and a real demo till
enrolled to it (`hq till add`, `hq enroll`), selling; the dashboard, a report drilled down
store → day → receipt and exported as XLSX (opened with openpyxl), master data (an item, a
promotion with its dates, an operator) edited on the page and found at the till, and the
live till view turning the till offline when its daemon stops."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import GATEWAYD, ROOT, Demo, free_port, yuan

CASHIER = ("1001", "1234")
pytestmark = pytest.mark.browser


class HqServer:
    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port
        self.log = data.parent / "hq.log"
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run([*GATEWAYD, "hq", "--data", str(self.data), *args],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*GATEWAYD, "hq", "serve", "--listen", f"127.0.0.1:{self.port}", "--data",
                 str(self.data)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if json.loads(r.read())["status"] == "ok":
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "hq not healthy in 30 s"
            time.sleep(0.1)

    def enroll(self, till: Demo, store: str = "S001", till_id: str = "T01") -> str:
        """Enroll `till` the real way (`hq till add`, `hq enroll`); an admin token of HQ's."""
        code = self.cli("till", "add", store, till_id).strip().splitlines()[-1]
        enrolled = till.cli("hq", "enroll", f"ws://127.0.0.1:{self.port}", code)
        assert enrolled.returncode == 0, enrolled.stderr
        return self.cli("token", "add", "browser", "--role", "admin").splitlines()[0].strip()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def hq(tmp_path):
    server = HqServer(tmp_path / "hq", free_port())
    server.start()
    yield server
    server.stop()


def test_hq_dashboard_report_drilled_down_exported_and_a_till_going_offline(
        hq, tmp_path, page):
    till = Demo(tmp_path / "till", free_port())
    till.start()
    till.open_shift()
    try:
        token = hq.enroll(till)
        sales = []
        for barcodes in (["6921168509256", "6928804011142"], ["6921168509256"]):
            for code_ in barcodes:
                till.call("sale.add", {"barcode": code_}, login=CASHIER)
            sales.append(till.call("sale.tender", {"method": "cash", "amount": 2000},
                                   login=CASHIER))
        total = sum(s["total"] for s in sales)
        day = sales[0]["business_day"]
        iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"

        page.goto(f"http://127.0.0.1:{hq.port}/#token={token}")
        # the dashboard: today's figures arrive as the till replicates (no reload)
        expect(page.get_by_test_id("kpi-amount")).to_have_text(yuan(total), timeout=30_000)
        expect(page.get_by_test_id("kpi-sales")).to_have_text("2")
        expect(page.get_by_test_id("kpi-tills")).to_have_text("1 / 1")
        expect(page.get_by_test_id("dash-store")).to_contain_text("S001")
        expect(page.get_by_test_id("dash-hours").get_by_test_id("series")).to_have_count(2)
        shot = ROOT / "docs" / "img" / "hq-dashboard.png"
        page.screenshot(path=str(shot if os.environ.get("GATEWAYD_UPDATE_SCREENSHOTS") == "1"
                                 else tmp_path / "hq-dashboard.png"))

        # a report: the chain by store -> S001 by day -> that day's receipts -> one receipt
        page.get_by_test_id("tab-reports").click()
        page.get_by_test_id("kind-store").click()
        row = page.get_by_test_id("report-row")
        expect(row).to_have_count(1)
        expect(row.first).to_contain_text(yuan(total))
        expect(page.get_by_test_id("report-chart").get_by_test_id("bar")).to_have_count(1)
        row.first.click()
        expect(page.get_by_test_id("crumbs")).to_contain_text("S001")
        expect(page.get_by_test_id("report")).to_have_attribute("data-kind", "day")
        expect(page.get_by_test_id("report-chart").get_by_test_id("point")).to_have_count(2)
        day_row = page.get_by_test_id("report-row").filter(has_text=iso)
        expect(day_row).to_contain_text(yuan(total))

        with page.expect_download() as info:
            page.get_by_test_id("export-xlsx").click()
        download = info.value
        assert download.suggested_filename.startswith("hq_sales_by_day_S001_")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        sheet = load_workbook(saved).active
        header = [c.value for c in sheet[2]]
        rows = [dict(zip(header, [c.value for c in r], strict=True))
                for r in sheet.iter_rows(min_row=3) if r[0].value == iso]
        assert len(rows) == 1 and rows[0]["客流 sales"] == 2
        assert Decimal(str(rows[0]["销售额 amount"])) == Decimal(total).scaleb(-2)

        # the store's replenishment from what it sold (no stock received: all of it)
        page.get_by_test_id("kind-replenish").click()
        expect(page.get_by_test_id("report")).to_have_attribute("data-kind", "replenish")
        expect(page.get_by_test_id("report-row")).to_have_count(2)  # the two items sold
        expect(page.get_by_test_id("report-chart").get_by_test_id("bar")).to_have_count(2)
        page.get_by_test_id("kind-day").click()
        expect(page.get_by_test_id("report")).to_have_attribute("data-kind", "day")

        day_row.click()
        receipts = page.get_by_test_id("day-sale")
        expect(receipts).to_have_count(2)
        receipts.filter(has_text=sales[0]["receipt_no"]).click()
        expect(page.get_by_test_id("sale-total")).to_have_text(yuan(sales[0]["total"]))
        expect(page.get_by_test_id("sale-lines").locator("tbody tr")).to_have_count(2)

        # master data edited at head office reaches the till: an item, a promotion, an operator
        page.get_by_test_id("tab-master").click()
        page.get_by_test_id("item-sku-query").fill("990001")
        page.get_by_test_id("item-open").click()
        expect(page.get_by_test_id("item-sku")).to_have_value("990001")
        page.get_by_test_id("item-name").fill("总部新品")
        page.get_by_test_id("item-price").fill("12.34")
        page.get_by_test_id("item-save").click()
        expect(page.get_by_test_id("master-saved")).to_be_visible()
        page.get_by_test_id("item-price").fill("abc")  # refused whole, the row named
        page.get_by_test_id("item-save").click()
        expect(page.get_by_test_id("master-error-row")).to_contain_text("price")
        page.get_by_test_id("master-promos").click()
        page.get_by_test_id("promo-id").fill("hq-two")
        page.get_by_test_id("promo-name").fill("新品两件 ¥20")
        page.get_by_test_id("promo-skus").fill("990001")
        page.get_by_test_id("promo-price").fill("20")
        page.get_by_test_id("promo-from").fill("2026-01-01T00:00")
        page.get_by_test_id("promo-until").fill("2099-01-01T00:00")
        page.get_by_test_id("promo-save").click()
        expect(page.get_by_test_id("promo-row").filter(has_text="hq-two")).to_be_visible()
        page.get_by_test_id("master-operators").click()
        page.get_by_test_id("op-id").fill("1009")
        page.get_by_test_id("op-name").fill("总部收银")
        page.get_by_test_id("op-pin").fill("4321")
        page.get_by_test_id("op-save").click()
        expect(page.get_by_test_id("op-row").filter(has_text="1009")).to_be_visible()
        deadline = time.monotonic() + 30
        while True:
            try:
                item = till.call("catalog.lookup", {"sku": "990001"})["item"]
                promos = {p["id"] for p in till.call("promo.list")["promotions"]}
                ops = {o["id"] for o in till.call("operator.list")["operators"]}
                if "hq-two" in promos and "1009" in ops:
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
            assert time.monotonic() < deadline, "master data did not reach the till"
            time.sleep(0.3)
        assert item["name"] == "总部新品" and item["price"] == 1234

        # every till live: online, then offline once its daemon stops (pushed, not polled)
        page.get_by_test_id("tab-tills").click()
        live = page.locator('[data-testid="till-row"][data-till="S001/T01"]')
        expect(live).to_have_attribute("data-online", "1")
        expect(live.get_by_test_id("till-lag")).to_contain_text("0 ·")
        till.stop()
        expect(live).to_have_attribute("data-online", "0", timeout=15_000)
        expect(live.get_by_test_id("till-state")).to_have_text("离线")
        expect(page.get_by_test_id("offline-count")).to_have_text("1")
    finally:
        till.stop()
