"""Sales analytics and the inventory report: exact figures on a hand-built store, the
protocol methods on a real daemon, and the CSV/XLSX export through `gatewayd report`."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from clients.python.client import GatewayError, connect
from gatewayd import reports
from gatewayd.inventory.service import Inventory, InventoryConfig
from gatewayd.sales import catalog, running_totals
from gatewayd.store.db import Store
from tests.conftest import open_shift

TZ = ZoneInfo("Asia/Shanghai")
ITEMS = [
    {"sku": "A", "name": "可乐", "price": 350, "category": "饮料", "cost": 200},
    {"sku": "B", "name": "苹果", "price": 1280, "unit": "kg", "category": "水果"},
    {"sku": "C", "name": "大米", "price": 4990, "category": "粮油", "cost": 3000},
]


def at(day: str, hh: int, mm: int = 0) -> int:
    local = dt.datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}").replace(tzinfo=TZ)
    return int(local.timestamp() * 1_000_000)


class Shop:
    """Inserts completed sales the way the sale service leaves them (with their running
    totals, added in the same transaction)."""

    def __init__(self, store: Store):
        self.store = store
        self.n = 0

    def sale(self, day: str, hh: int, lines: list[tuple[str, int, int, int]], *,
             kind: str = "sale", operator: str = "1001", member: str | None = None,
             cost: dict[int, int] | None = None) -> str:
        """lines: (sku, qty, gross, tax); cost: {line index: stock move value (signed)}."""
        self.n += 1
        sid = f"s{self.n}"
        when = at(day, hh, 10)

        def fn(tx):
            total = sum(g for _, _, g, _ in lines)
            tx.execute(
                "INSERT INTO sales(id, till, kind, state, receipt_no, business_day, operator,"
                " member, total, opened_at, updated_at, completed_at)"
                " VALUES (?, 'T01', ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, kind, f"R{self.n}", day.replace("-", ""), operator, member, total,
                 when, when, when))
            for i, (sku, qty, gross, tax) in enumerate(lines):
                item = next(it for it in ITEMS if it["sku"] == sku)
                tx.execute(
                    "INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
                    " category, qty, gross, net, tax) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (f"{sid}-{i}", sid, i, sku, item["name"], item.get("unit", "pc"),
                     item["price"], item["category"], qty, gross, gross, tax))
                if cost and i in cost:
                    tx.execute("INSERT INTO stock_moves(seq, at, sku, kind, qty, on_hand,"
                               " value, ref, line_id) VALUES (0, ?, ?, ?, ?, 0, ?, ?, ?)",
                               (when, sku, kind, qty if kind == "refund" else -qty,
                                cost[i], sid, f"{sid}-{i}"))
            running_totals.add_document(tx, sid, TZ)

        self.store.write_sync(fn)
        return sid


@pytest.fixture
def shop(tmp_path):
    store = Store(tmp_path / "r.db")
    running_totals.ensure_built(store, TZ)  # as the daemon does at start
    store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
    shop = Shop(store)
    # Wed 2024-05-01 and Mon 2024-05-06 (next ISO week)
    shop.sale("2024-05-01", 9, [("A", 2000, 700, 80), ("B", 1500, 1920, 158)],
              cost={0: -400, 1: -1200})
    shop.sale("2024-05-01", 9, [("C", 1000, 4990, 412)], member="m1", operator="1002",
              cost={0: -3000})
    shop.sale("2024-05-01", 18, [("A", 1000, 350, 40)], member="m1", cost={0: -200})
    shop.sale("2024-05-06", 18, [("A", 3000, 1000, 115)])  # before stock was tracked
    shop.sale("2024-05-06", 19, [("A", 1000, 350, 40)], kind="refund", cost={0: 200})
    yield shop
    store.close()


def rows(t: reports.Table, key: str) -> dict:
    return {r[key]: r for r in t.rows}


def test_by_hour_finds_the_peak(shop):
    t = reports.sales_report(shop.store, TZ, "hour", "2024-05-01", "2024-05-07")
    got = rows(t, "hour")
    assert list(got) == ["09:00", "18:00", "19:00"]
    assert (got["09:00"]["sales"], got["09:00"]["amount"]) == (2, 7610)
    assert (got["18:00"]["sales"], got["18:00"]["amount"]) == (2, 1350)
    assert (got["19:00"]["refunds"], got["19:00"]["amount"]) == (1, -350)
    assert t.totals["peak_hour"] == "09:00" and t.totals["amount"] == 8610
    assert t.totals["sales"] == 4 and t.totals["refunds"] == 1
    assert sum(r["share_bp"] for r in t.rows) in range(9999, 10002)


def test_by_day_week_cashier_member(shop):
    day = rows(reports.sales_report(shop.store, TZ, "day", "2024-05-01", "2024-05-07"), "day")
    assert day["2024-05-01"]["amount"] == 7960 and day["2024-05-01"]["weekday"] == "三"
    assert day["2024-05-06"]["amount"] == 650 and day["2024-05-06"]["avg_ticket"] == 650
    week = rows(reports.sales_report(shop.store, TZ, "week", "2024-05-01", "2024-05-07"),
                "week")
    assert week["2024-W18"]["amount"] == 7960 and week["2024-W19"]["starts"] == "2024-05-06"
    cash = rows(reports.sales_report(shop.store, TZ, "cashier", "2024-05-01", "2024-05-07"),
                "cashier")
    assert cash["1002"]["amount"] == 4990 and cash["1001"]["amount"] == 3620
    mem = rows(reports.sales_report(shop.store, TZ, "member", "2024-05-01", "2024-05-07"),
               "customer")
    assert mem["member"]["sales"] == 2 and mem["member"]["amount"] == 5340
    assert mem["non-member"]["amount"] == 3270
    only_first = reports.sales_report(shop.store, TZ, "day", "2024-05-01", "2024-05-01")
    assert [r["day"] for r in only_first.rows] == ["2024-05-01"]


def test_top_items_and_categories(shop):
    t = reports.sales_report(shop.store, TZ, "item", "2024-05-01", "2024-05-07")
    assert [r["sku"] for r in t.rows] == ["C", "B", "A"]
    a = rows(t, "sku")["A"]
    assert a["qty"] == 5000 and a["amount"] == 1700 and a["refunded"] == 350
    cats = reports.sales_report(shop.store, TZ, "category", "2024-05-01", "2024-05-07")
    assert [(r["category"], r["amount"]) for r in cats.rows] == [
        ("粮油", 4990), ("水果", 1920), ("饮料", 1700)]
    assert len(reports.sales_report(shop.store, TZ, "item", "2024-05-01", "2024-05-07",
                                    limit=1).rows) == 1


def test_profit_from_moves_and_catalog_cost(shop):
    t = reports.profit_report(shop.store, TZ, "item", "2024-05-01", "2024-05-07")
    a = rows(t, "sku")["A"]
    # sold: 700+350+1000 gross, tax 80+40+115; refund -350/-40. cost 400+200+600(catalog)-200
    assert a["amount"] == 1700 and a["tax"] == 195 and a["revenue"] == 1505
    assert a["cost"] == 1000 and a["profit"] == 505 and a["margin_bp"] == 3355
    b = rows(t, "sku")["B"]
    assert b["profit"] == 1920 - 158 - 1200
    day = rows(reports.profit_report(shop.store, TZ, "day", "2024-05-01", "2024-05-07"), "day")
    assert day["2024-05-06"]["cost"] == 600 - 200
    assert t.totals["profit"] == sum(r["profit"] for r in t.rows)


def test_bad_ranges(shop):
    with pytest.raises(reports.ReportError):
        reports.sales_report(shop.store, TZ, "day", "2024-05-07", "2024-05-01")
    with pytest.raises(reports.ReportError):
        reports.sales_report(shop.store, TZ, "day", "2024-02-30", None)


def test_inventory_report_turnover_and_slow_movers(tmp_path):
    store = Store(tmp_path / "i.db")
    running_totals.ensure_built(store, TZ)  # as the daemon does at start
    store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
    inv = Inventory(store, "S", "T", InventoryConfig())
    store.write_sync(lambda tx: inv.receive(tx, [{"sku": "A", "qty": 10_000, "cost": 200},
                                                 {"sku": "C", "qty": 5000, "cost": 3000}]))
    from gatewayd.inventory.stock import Move, apply_moves

    store.write_sync(lambda tx: apply_moves(tx, "sale", [Move("A", -4000)], event="stock.sold",
                                            data={"kind": "sale", "sale_id": "x"}, ref="x",
                                            sale=True))
    today = dt.datetime.now(TZ).date()
    t = reports.inventory_report(store, TZ, (today - dt.timedelta(days=6)).isoformat(),
                                 today.isoformat(), slow_days=30)
    a, c = rows(t, "sku")["A"], rows(t, "sku")["C"]
    assert a["on_hand"] == 6000 and a["value"] == 1200 and a["sold"] == 4000
    assert a["cogs"] == 800 and a["turnover"] == 133  # 800 / ((0 + 6000) / 2 * 0.2) = 1.33
    assert a["slow"] is False and a["days_idle"] == 0
    assert c["slow"] is True and c["days_idle"] is None and c["value"] == 15000
    slow = reports.inventory_report(store, TZ, slow_only=True)
    assert [r["sku"] for r in slow.rows] == ["C"]
    # ten days on, A has been idle: the same report with the clock moved
    later = reports.inventory_report(store, TZ, slow_days=7, slow_only=True,
                                     now_us=store.one("SELECT MAX(at) FROM stock_moves")[0]
                                     + 10 * 86_400_000_000)
    assert [r["sku"] for r in later.rows] == ["C", "A"]
    store.close()


def test_exports_csv_and_xlsx(shop, tmp_path):
    from openpyxl import load_workbook

    t = reports.profit_report(shop.store, TZ, "item", "2024-05-01", "2024-05-07")
    reports.export_csv(t, tmp_path / "p.csv")
    with open(tmp_path / "p.csv", encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0][:3] == ["sku", "name", "amount"]
    a = next(r for r in got if r[0] == "A")
    assert a[2] == "17.00" and a[-1] == "33.55%"
    reports.export_xlsx(t, tmp_path / "p.xlsx")
    ws = load_workbook(tmp_path / "p.xlsx").active
    assert [c.value for c in ws[2]][:3] == ["sku", "name", "amount"]
    xa = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "A")
    assert Decimal(str(xa[2])) == Decimal("17.00") and Decimal(str(xa[-1])) == Decimal("0.3355")


def test_gatewayd_report_cli(shop, tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n[store]\npath = "{tmp_path / "r.db"}"\n')
    base = [sys.executable, "-m", "gatewayd", "--config", str(cfg), "report"]
    out = subprocess.run([*base, "items", "--from", "2024-05-01", "--to", "2024-05-07",
                          "--out", str(tmp_path / "items.xlsx")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "wrote 3 row(s)" in out.stdout and (tmp_path / "items.xlsx").stat().st_size > 0
    out = subprocess.run([*base, "hourly", "--from", "2024-05-01", "--to", "2024-05-07"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "09:00" in out.stdout and "peak_hour 09:00" in out.stdout
    out = subprocess.run([*base, "daily", "--format", "csv"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "--out" in out.stderr


async def test_report_methods_on_a_daemon(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("manager")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("stock.receive", {"lines": [{"sku": "A", "qty": 10_000, "cost": 180}]})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        sale = await gw.call("sale.add", {"sku": "A", "qty": 3000})
        await gw.call("sale.tender", {"method": "cash", "amount": sale["due"]})
        await gw.call("auth.logout")
        items = await gw.call("report.sales", {"by": "item"})
        assert items["rows"][0]["sku"] == "A" and items["rows"][0]["qty"] == 3000
        assert {c["key"] for c in items["columns"]} >= {"sku", "qty", "amount"}
        profit = await gw.call("report.profit", {"by": "item"})
        row = profit["rows"][0]
        assert row["cost"] == 540 and row["profit"] == row["revenue"] - 540
        inv = await gw.call("report.inventory", {})
        assert inv["rows"][0]["on_hand"] == 7000 and inv["rows"][0]["cogs"] == 540
        with pytest.raises(GatewayError) as err:
            await gw.call("report.sales", {"by": "day", "from": "2024-05-09",
                                           "to": "2024-05-01"})
        assert err.value.code == "invalid_params"
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("report.profit", {})
        assert err.value.code in ("forbidden", "approval_required")


def test_the_reports_sql_weeks_weekdays_and_rounding_are_pythons():
    """The reports compute in SQLite (gatewayd/reports.py): its ISO weeks and weekdays
    are Python's for every day of 1999-2041 (years of 52 and 53 weeks), and its `_div` is
    `div_round` (half up, symmetric) for every sign."""
    import sqlite3

    from gatewayd.sales.money import div_round

    conn = sqlite3.connect(":memory:")
    iso = reports._sql_iso("bd")
    days = conn.execute(
        "WITH RECURSIVE d(x) AS (SELECT '1999-01-01' UNION ALL SELECT date(x, '+1 day')"
        " FROM d WHERE x < '2041-12-31') SELECT bd, " + reports._WEEK + ", date(m - 0.5), "
        + reports._WEEKDAY.format(iso=iso) + " FROM (SELECT bd, "
        + reports._MONDAY.format(iso=iso) + " AS m FROM (SELECT replace(x, '-', '') AS bd"
        " FROM d))").fetchall()
    assert len(days) == 15706
    for bd, week, monday, weekday in days:
        day = dt.date(int(bd[:4]), int(bd[4:6]), int(bd[6:]))
        y, w, wd = day.isocalendar()
        assert (week, monday, weekday) == (f"{y}-W{w:02d}",
                                          (day - dt.timedelta(days=wd - 1)).isoformat(),
                                          reports.WEEKDAYS[wd - 1]), bd
    pairs = [(n, d) for n in range(-25, 26) for d in range(-7, 8)]
    pairs += [(10**15 + 1, 2), (-(10**15) - 1, 2), (7, 10**9)]
    got = conn.execute("SELECT " + ", ".join(reports._div(str(n), str(d)) for n, d in pairs)
                       ).fetchone()
    assert list(got) == [div_round(n, d) if d else 0 for n, d in pairs]
