"""The reports read running totals kept in each sale's transaction (issue 18 item 2); they
must say exactly what the per-sale computation said (tests/per_sale_reports.py, the reports
as they were): on random stores (hypothesis), after a rebuild, and on a real daemon's sales
and refunds."""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.python.client import connect
from gatewayd import reports
from gatewayd.sales import catalog, running_totals
from gatewayd.store.db import Store
from gatewayd.store.migrations import migrate, migrations
from tests import per_sale_reports as per_sale
from tests.conftest import open_shift

SALES_BY = ("hour", "day", "week", "cashier", "member", "item", "category")
PROFIT_BY = ("day", "item", "category")
# from 20 March 2024: March's end, the whole of April (a month read from the month totals) and
# the start of May
DAYS = 50
ITEMS = [{"sku": f"S{i}", "name": f"item {i}", "price": 100 + 7 * i,
          "category": f"c{i % 3}" if i % 4 else None, "cost": (30 * i) if i % 2 else None}
         for i in range(6)]


def canonical(table: dict) -> dict:
    """A report with rows in a fixed order: ties (same amount) may come in any order."""
    return {**table, "rows": sorted(table["rows"], key=repr)}


def assert_same_reports(store, tz: ZoneInfo, day_from: str, day_to: str) -> None:
    for by in SALES_BY:
        new = reports.sales_report(store, tz, by, day_from, day_to).as_wire()
        old = per_sale.sales_report(store, tz, by, day_from, day_to).as_wire()
        assert canonical(new) == canonical(old), by
    for by in PROFIT_BY:
        new = reports.profit_report(store, tz, by, day_from, day_to).as_wire()
        old = per_sale.profit_report(store, tz, by, day_from, day_to).as_wire()
        assert canonical(new) == canonical(old), f"profit by {by}"


def assert_same_inventory(store, tz: ZoneInfo, day_from: str, day_to: str) -> None:
    now = int(dt.datetime(2024, 4, 12, tzinfo=tz).timestamp() * 1_000_000)
    for slow_only in (False, True):
        new = reports.inventory_report(store, tz, day_from, day_to, slow_only=slow_only,
                                       now_us=now).as_wire()
        old = per_sale.inventory_report(store, tz, day_from, day_to, slow_only=slow_only,
                                        now_us=now).as_wire()
        assert new == old, "inventory"


def totals_rows(store) -> dict[str, list]:
    return {t: [tuple(r) for r in store.all(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4")]
            for t in running_totals.TABLES}


line = st.tuples(st.integers(0, len(ITEMS) - 1),  # item
                 st.integers(1, 5000),  # qty
                 st.integers(0, 20000),  # gross
                 st.integers(0, 2000),  # tax
                 st.booleans(),  # voided
                 st.one_of(st.none(), st.integers(-9000, 9000)))  # stock move value
document = st.fixed_dictionaries({
    "refund": st.booleans(),
    "state": st.sampled_from(["completed", "completed", "completed", "voided"]),
    "day": st.integers(0, DAYS),
    "minute": st.integers(0, 24 * 60 - 1),
    "operator": st.sampled_from([None, "1001", "1002"]),
    "member": st.sampled_from([None, "m1"]),
    "lines": st.lists(line, min_size=1, max_size=4),
    "tenders": st.lists(st.tuples(st.sampled_from(["cash", "card", "wechat"]),
                                  st.integers(-5000, 20000)), max_size=2),
})


def move(tx, at: int, sku: str, kind: str, qty: int, value: int) -> None:
    """The stock projection and the per-day totals, as inventory's apply_moves keeps them."""
    tx.execute("INSERT INTO stock(sku, on_hand, updated_at) VALUES (?, ?, 0) ON CONFLICT DO"
               " UPDATE SET on_hand = on_hand + excluded.on_hand", (sku, qty))
    running_totals.add_stock_moves(tx, at, [(sku, kind, qty, value)])


def insert(tx, n: int, doc: dict, tz: ZoneInfo) -> None:
    """A document as the sale service leaves it, with its running totals."""
    first = dt.date(2024, 3, 20)  # Berlin's clocks go forward on 31 March: a DST change
    day = first + dt.timedelta(days=doc["day"])
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=doc["minute"])
    when = int(local.replace(tzinfo=tz).timestamp() * 1_000_000)
    kind = "refund" if doc["refund"] else "sale"
    sid = f"d{n}"
    total = sum(g for _, _, g, _, voided, _ in doc["lines"] if not voided)
    tx.execute(
        "INSERT INTO sales(id, till, kind, state, receipt_no, business_day, operator, member,"
        " total, change, opened_at, updated_at, completed_at)"
        " VALUES (?, 'T01', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sid, kind, doc["state"], f"R{n}", day.strftime("%Y%m%d"), doc["operator"],
         doc["member"], total, n % 7, when, when, when))
    for i, (item, qty, gross, tax, voided, moved) in enumerate(doc["lines"]):
        it = ITEMS[item]
        tx.execute(
            "INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price, category,"
            " qty, gross, net, tax, voided) VALUES (?,?,?,?,?,'pc',?,?,?,?,?,?,?)",
            (f"{sid}-{i}", sid, i, it["sku"], it["name"], it["price"], it["category"], qty,
             gross, gross, tax, int(voided)))
        if moved is not None:
            signed = qty if kind == "refund" else -qty
            tx.execute("INSERT INTO stock_moves(seq, at, sku, kind, qty, on_hand, value, ref,"
                       " line_id) VALUES (0, ?, ?, ?, ?, 0, ?, ?, ?)",
                       (when, it["sku"], kind, signed, moved, sid, f"{sid}-{i}"))
            move(tx, when, it["sku"], kind, signed, moved)
    for i, (method, amount) in enumerate(doc["tenders"]):
        tx.execute("INSERT INTO sale_tenders(id, sale_id, pos, method, amount, at)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (f"{sid}-t{i}", sid, i, method, amount, when))
    running_totals.add_document(tx, sid, tz)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(document, max_size=25),
       tzname=st.sampled_from(["Asia/Shanghai", "Europe/Berlin"]),
       span=st.tuples(st.integers(0, DAYS), st.integers(0, DAYS)))
def test_reports_from_running_totals_equal_the_per_sale_reports(tmp_path_factory, docs,
                                                                tzname, span):
    tz = ZoneInfo(tzname)
    store = Store(tmp_path_factory.mktemp("rt") / "t.db")
    try:
        running_totals.ensure_built(store, tz)  # as the daemon does at start
        store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
        for n, doc in enumerate(docs):
            store.write_sync(lambda tx, n=n, doc=doc: insert(tx, n, doc, tz))
        lo, hi = sorted(span)
        first = dt.date(2024, 3, 20)
        day_from = (first + dt.timedelta(days=lo)).isoformat()
        day_to = (first + dt.timedelta(days=hi)).isoformat()
        assert_same_reports(store, tz, day_from, day_to)
        assert_same_inventory(store, tz, day_from, day_to)
        running = totals_rows(store)
        store.write_sync(lambda tx: running_totals.rebuild(tx.conn, tz))
        assert totals_rows(store) == running, "rebuild and the running totals differ"
    finally:
        store.close()


def test_a_long_range_reads_whole_months_and_equals_the_per_sale_reports(tmp_path):
    """Not left to hypothesis' draw: ranges with whole months in them (read from the month
    totals), ending on a month's last day, starting on a first, and one inside a month."""
    tz = ZoneInfo("Europe/Berlin")
    store = Store(tmp_path / "t.db")
    try:
        running_totals.ensure_built(store, tz)
        store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
        for n in range(DAYS + 1):
            doc = {"refund": n % 5 == 4, "state": "voided" if n % 9 == 8 else "completed",
                   "day": n, "minute": (n * 97) % 1440, "operator": ("1001", None)[n % 2],
                   "member": (None, "m1")[n % 3 == 0],
                   "lines": [(n % len(ITEMS), 1000 + n, 300 + n, 30, n % 7 == 6,
                              (-100 - n) if n % 2 else None),
                             ((n + 1) % len(ITEMS), 2000, 500, 50, False, -200)],
                   "tenders": [("cash", 900 + n)]}
            store.write_sync(lambda tx, n=n, doc=doc: insert(tx, n, doc, tz))
        for day_from, day_to in (("2024-03-20", "2024-05-09"), ("2024-04-01", "2024-04-30"),
                                 ("2024-03-25", "2024-04-30"), ("2024-04-01", "2024-05-02"),
                                 ("2024-04-03", "2024-04-20"), ("2000-01-01", "2024-12-31")):
            assert_same_reports(store, tz, day_from, day_to)
            assert_same_inventory(store, tz, day_from, day_to)
        running = totals_rows(store)
        assert running["totals_items_month"], "no month rows: the months were not kept"
        store.write_sync(lambda tx: running_totals.rebuild(tx.conn, tz))
        assert totals_rows(store) == running
    finally:
        store.close()
    # a store from before the month totals: its migration rolls the day rows up
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.executescript(
        "DROP TABLE totals_sales_month; DROP TABLE totals_items_month;"
        " DROP TABLE totals_stock_month; DROP TABLE totals_days;"
        " DROP INDEX member_moves_member_what; DROP INDEX stock_below; DROP INDEX coupons_member;"
        " CREATE INDEX coupons_member ON coupons(member_id) WHERE member_id IS NOT NULL;"
        " PRAGMA user_version = 18;")
    migrate(conn, upto=19)  # 0019 alone, as on a store of that time; the later ones stand
    conn.execute(f"PRAGMA user_version = {max(migrations())}")
    conn.close()
    store = Store(tmp_path / "t.db")
    try:
        assert totals_rows(store) == running
    finally:
        store.close()


def test_a_span_is_whole_months_and_the_days_around_them():
    span = reports.Span.of
    d = dt.date
    assert span(d(2024, 3, 20), d(2024, 5, 9)) == reports.Span(
        (("20240320", "20240331"), ("20240501", "20240509")), ("202404", "202404"))
    assert span(d(2024, 4, 1), d(2024, 6, 30)) == reports.Span((), ("202404", "202406"))
    assert span(d(2024, 4, 2), d(2024, 4, 30)) == reports.Span(
        (("20240402", "20240430"),), None)
    assert span(d(2023, 12, 31), d(2024, 2, 1)) == reports.Span(
        (("20231231", "20231231"), ("20240201", "20240201")), ("202401", "202401"))


def test_ensure_built_builds_once_and_again_for_another_timezone(tmp_path):
    tz = ZoneInfo("Asia/Shanghai")
    store = Store(tmp_path / "t.db")
    try:
        doc = {"refund": False, "state": "completed", "day": 1, "minute": 600,
               "operator": "1001", "member": None, "lines": [(1, 1000, 500, 50, False, -300)],
               "tenders": [("cash", 500)]}
        store.write_sync(lambda tx: insert(tx, 1, doc, tz))
        store.write_sync(lambda tx: tx.execute("DELETE FROM totals_sales"))  # an old store
        assert running_totals.ensure_built(store, tz) is True
        assert store.one("SELECT SUM(sales) FROM totals_sales")[0] == 1
        assert running_totals.ensure_built(store, tz) is False
        assert running_totals.ensure_built(store, ZoneInfo("Europe/Berlin")) is True
        assert store.one("SELECT hour FROM totals_sales")[0] == 3  # 10:00 Shanghai
    finally:
        store.close()


@pytest.fixture
async def till(daemon):
    daemon.operator("1001", "manager", "1234")
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": [{k: v for k, v in it.items()
                                                    if v is not None} for it in ITEMS]})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        gw.daemon = daemon
        yield gw


async def test_a_daemons_sales_and_refunds_keep_the_totals_exact(till):
    receipts = []
    for n in range(6):
        for i in range(1 + n % 3):
            await till.call("sale.add", {"sku": ITEMS[(n + i) % len(ITEMS)]["sku"],
                                         "qty": 1000 * (1 + i)})
        sale = await till.call("sale.current")
        done = await till.call("sale.tender", {"method": "cash", "amount": sale["due"] + 500})
        receipts.append(done["receipt_no"])
    await till.call("sale.refund", {"receipt_no": receipts[1]})
    await till.call("sale.add", {"sku": "S1"})
    await till.call("sale.void", {"reason": "changed mind"})  # a voided sale counts nothing
    store = till.daemon.app.store
    tz = ZoneInfo(till.daemon.app.config.till.timezone)
    today = dt.datetime.now(tz).date().isoformat()
    assert store.one("SELECT SUM(sales), SUM(refunds) FROM totals_sales")[:] == (6, 1)
    assert_same_reports(store, tz, today, today)
    for day_from in (today, "2000-01-01"):
        for slow_only in (False, True):
            new = reports.inventory_report(store, tz, day_from, today, slow_only=slow_only)
            old = per_sale.inventory_report(store, tz, day_from, today, slow_only=slow_only)
            assert new.as_wire() == old.as_wire()
    assert store.one("SELECT SUM(sold_qty) FROM totals_stock")[0] > 0
    running = totals_rows(store)
    store.write_sync(lambda tx: running_totals.rebuild(tx.conn, tz))
    assert totals_rows(store) == running
    wire = await till.call("report.profit", {"by": "item"})
    assert wire == reports.profit_report(store, tz, "item").as_wire()
