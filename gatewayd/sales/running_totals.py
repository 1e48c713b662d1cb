"""Running totals of completed sales and refunds: what the reports read (issue 18 item 2).

A report over a year computed per sale read every sale and line of that year (16-18 s at
1.6M sales, on the event loop). These tables hold the same sums per business day and hour,
operator, member or not, item and category, and tender, updated by `add_document` inside
the transaction that completes the sale or the refund (the sale service's `on_complete` and
`on_refund` hooks, after inventory's, whose stock moves give the cost). So they are exact at
every commit, and a report over any range reads O(days x rows), whatever the number of sales.
Head office merges the same per-day rows from every till.

The same transaction adds the same sums to coarser rows (0019_month_totals.sql): per month
(`totals_sales_month`, `totals_items_month`, `totals_stock_month`) and one row per business
day (`totals_days`). A report over a long range reads its whole months from those and only
the days of its first and last partial month per day (gatewayd/reports.py `Span`): a year
is about 12 months plus 60 days of rows, not 365 days x items. Exact at every commit like
the per-day rows, not a nightly job.

What is summed is what gatewayd/reports.py counts (see its docstring): completed documents
only, refunds negative whatever sign they are stored with; a line's cost is what its stock
moves valued it at when it left (for a sale from before stock was tracked: the catalog cost
then, `round(qty * cost / 1000)`). The hour is the local hour of completion in the store's
timezone.

Stock moves are summed per local day and item likewise (`add_stock_moves`, called where the
moves are written), for the inventory report's opening, closing and sold quantities.

`rebuild` recomputes every row from the sales and moves in the store (the same sums, grouped
in SQL): run once when the tables are new on an existing store (`ensure_built`), and by the
test that holds the running totals equal to the per-sale computation.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.sales.money import div_round

# Every running total (0012, 0013, 0019): per day, per month, and one row per day.
TABLES = ("totals_sales", "totals_items", "totals_tenders", "totals_stock",
          "totals_sales_month", "totals_items_month", "totals_stock_month", "totals_days")

# A document's lines as the reports count them, with the stock moves' value and the catalog
# cost (for a line that never moved stock).
_LINES = (
    "SELECT l.sku, COALESCE(l.category, '') AS category, l.name, l.qty, l.gross, l.tax,"
    " (SELECT SUM(m.value) FROM stock_moves m WHERE m.line_id = l.id) AS moved,"
    " i.cost AS item_cost FROM sale_lines l LEFT JOIN items i ON i.sku = l.sku"
    " WHERE l.sale_id = ? AND l.voided = 0"
)


class _Hour:
    """UTC microseconds -> local hour of the day, cached per UTC hour."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.cache: dict[int, int] = {}

    def of_utc_hour(self, utc_hour: int) -> int:
        got = self.cache.get(utc_hour)
        if got is None:
            got = self.cache[utc_hour] = dt.datetime.fromtimestamp(utc_hour * 3600,
                                                                   self.tz).hour
        return got

    def __call__(self, us: int) -> int:
        return self.of_utc_hour(us // 3_600_000_000)


def line_cost(kind: str, qty: int, moved: int | None, item_cost: int | None) -> int:
    """A sold line's cost (positive), a refund line's (negative)."""
    if moved is not None:
        return -moved
    cost = div_round(qty * (item_cost or 0), 1000)
    return -cost if kind == "refund" else cost


def add_document(tx: Any, sale_id: str, tz: ZoneInfo) -> None:
    """Add a just-completed sale or refund to the running totals (in its transaction)."""
    s = tx.one("SELECT kind, total, change, completed_at, business_day, operator, member"
               " FROM sales WHERE id = ? AND state = 'completed' AND in_totals = 0"
               " AND business_day IS NOT NULL AND completed_at IS NOT NULL", (sale_id,))
    if s is None:  # not a completed document, or already counted
        return
    tx.execute("UPDATE sales SET in_totals = 1 WHERE id = ?", (sale_id,))
    refund = s["kind"] == "refund"
    sign = -1 if refund else 1
    day, hour, operator = s["business_day"], _Hour(tz)(s["completed_at"]), s["operator"] or ""
    head = (hour, operator, 1 if s["member"] else 0, 0 if refund else 1, 1 if refund else 0,
            sign * abs(s["total"]) if refund else s["total"], s["change"])
    tx.execute(
        "INSERT INTO totals_sales(day, hour, operator, member, sales, refunds, amount, change)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " sales = sales + excluded.sales, refunds = refunds + excluded.refunds,"
        " amount = amount + excluded.amount, change = change + excluded.change",
        (day, *head))
    items: dict[tuple[str, str], list[Any]] = {}
    for r in tx.execute(_LINES, (sale_id,)).fetchall():
        a = items.setdefault((r["sku"], r["category"]), [r["name"], 0, 0, 0, 0, 0, 0])
        a[1] += 1
        a[2] += -abs(r["qty"]) if refund else r["qty"]
        a[3] += -abs(r["gross"]) if refund else r["gross"]
        a[4] += abs(r["gross"]) if refund else 0
        a[5] += -abs(r["tax"]) if refund else r["tax"]
        a[6] += line_cost(s["kind"], r["qty"], r["moved"], r["item_cost"])
    tx.executemany(
        "INSERT INTO totals_items(day, sku, category, name, lines, qty, amount, refunded, tax,"
        " cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " name = max(name, excluded.name), lines = lines + excluded.lines,"
        " qty = qty + excluded.qty,"
        " amount = amount + excluded.amount, refunded = refunded + excluded.refunded,"
        " tax = tax + excluded.tax, cost = cost + excluded.cost",
        [(day, sku, cat, *a) for (sku, cat), a in items.items()])
    month = day[:6]
    tx.execute(
        "INSERT INTO totals_sales_month(month, hour, operator, member, sales, refunds, amount,"
        " change) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " sales = sales + excluded.sales, refunds = refunds + excluded.refunds,"
        " amount = amount + excluded.amount, change = change + excluded.change",
        (month, *head))
    tx.executemany(
        "INSERT INTO totals_items_month(month, sku, category, name, lines, qty, amount,"
        " refunded, tax, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " name = max(name, excluded.name), lines = lines + excluded.lines,"
        " qty = qty + excluded.qty,"
        " amount = amount + excluded.amount, refunded = refunded + excluded.refunded,"
        " tax = tax + excluded.tax, cost = cost + excluded.cost",
        [(month, sku, cat, *a) for (sku, cat), a in items.items()])
    tx.execute(
        "INSERT INTO totals_days(day, sales, refunds, amount, change, lines, gross, tax, cost)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " sales = sales + excluded.sales, refunds = refunds + excluded.refunds,"
        " amount = amount + excluded.amount, change = change + excluded.change,"
        " lines = lines + excluded.lines, gross = gross + excluded.gross,"
        " tax = tax + excluded.tax, cost = cost + excluded.cost",
        (day, *head[3:], *(sum(a[i] for a in items.values()) for i in (1, 3, 5, 6))))
    tx.executemany(
        "INSERT INTO totals_tenders(day, hour, method, operator, n, amount)"
        " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE SET n = n + 1,"
        " amount = amount + excluded.amount",
        [(day, hour, t["method"], operator, t["amount"]) for t in tx.execute(
            "SELECT method, amount FROM sale_tenders WHERE sale_id = ?", (sale_id,))])


# -- stock -----------------------------------------------------------------------------------------
SOLD_KINDS = ("sale", "refund", "void")
_zones: dict[str, ZoneInfo] = {}


def _local_day(tz: ZoneInfo, us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz).strftime("%Y%m%d")


def add_stock_moves(tx: Any, at: int, moves: Iterable[tuple[str, str, int, int]]) -> None:
    """Add stock moves `(sku, kind, qty, value)` made at `at` to the per-day totals (in
    their transaction). The day is local in the timezone the totals were built in; before
    they are built there is nothing to add to (the build sums every move)."""
    row = tx.one("SELECT built, tz FROM totals_state")
    if not row["built"] or row["tz"] is None:
        return
    tz = _zones.get(row["tz"]) or _zones.setdefault(row["tz"], ZoneInfo(row["tz"]))
    day = _local_day(tz, at)
    sums: dict[str, list[int]] = {}
    for sku, kind, qty, value in moves:
        a = sums.setdefault(sku, [0, 0, 0])
        a[0] += qty
        if kind in SOLD_KINDS:
            a[1] -= qty
            a[2] -= value
    for table in ("totals_stock", "totals_stock_month"):
        key = day if table == "totals_stock" else day[:6]
        tx.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
            " qty = qty + excluded.qty, sold_qty = sold_qty + excluded.sold_qty,"
            " sold_value = sold_value + excluded.sold_value",
            [(key, sku, *a) for sku, a in sums.items()])


def _rebuild_stock(conn: sqlite3.Connection, tz: ZoneInfo) -> None:
    """From every stock move, grouped by UTC quarter hour (every timezone's offset is a
    whole number of quarter hours, so each group falls in one local day)."""
    days: dict[int, str] = {}
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for quarter, sku, qty, sold_qty, sold_value in conn.execute(
        "SELECT at / 900000000, sku, SUM(qty),"
        " -SUM(CASE WHEN kind IN ('sale', 'refund', 'void') THEN qty ELSE 0 END),"
        " -SUM(CASE WHEN kind IN ('sale', 'refund', 'void') THEN value ELSE 0 END)"
        " FROM stock_moves GROUP BY 1, 2"
    ):
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = _local_day(tz, quarter * 900_000_000)
        a = sums[(day, sku)]
        a[0] += qty
        a[1] += sold_qty
        a[2] += sold_value
    conn.executemany("INSERT INTO totals_stock(day, sku, qty, sold_qty, sold_value)"
                     " VALUES (?, ?, ?, ?, ?)", [(*k, *v) for k, v in sums.items()])


# -- rebuild -------------------------------------------------------------------------------------
def rebuild(conn: sqlite3.Connection, tz: ZoneInfo) -> None:
    """Recompute every running total from the store's sales (inside the caller's
    transaction). The same sums as `add_document`, grouped in SQL."""
    hour = _Hour(tz)
    for table in TABLES:
        conn.execute(f"DELETE FROM {table}")
    _rebuild_stock(conn, tz)
    by_hour: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in conn.execute(
        "SELECT business_day, completed_at / 3600000000, COALESCE(operator, ''),"
        " member IS NOT NULL, SUM(kind != 'refund'), SUM(kind = 'refund'),"
        " SUM(CASE WHEN kind = 'refund' THEN -ABS(total) ELSE total END), SUM(change)"
        " FROM sales WHERE state = 'completed' AND business_day IS NOT NULL"
        " AND completed_at IS NOT NULL GROUP BY 1, 2, 3, 4"
    ):
        a = by_hour[(r[0], hour.of_utc_hour(r[1]), r[2], r[3])]
        for i in range(4):
            a[i] += r[4 + i]
    conn.executemany("INSERT INTO totals_sales(day, hour, operator, member, sales, refunds,"
                     " amount, change) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(*k, *v) for k, v in by_hour.items()])
    # a line's cost: its moves' value, else the catalog cost rounded half up (qty, cost >= 0)
    conn.execute(
        "INSERT INTO totals_items(day, sku, category, name, lines, qty, amount, refunded, tax,"
        " cost)"
        " SELECT day, sku, category, MAX(name), COUNT(*), SUM(sq), SUM(sg), SUM(rg), SUM(st),"
        "  SUM(CASE WHEN moved IS NOT NULL THEN -moved"
        "      ELSE sign * ((qty * COALESCE(item_cost, 0) + 500) / 1000) END)"
        " FROM (SELECT s.business_day AS day, l.sku, COALESCE(l.category, '') AS category,"
        "   l.name, l.qty, CASE WHEN s.kind = 'refund' THEN -1 ELSE 1 END AS sign,"
        "   CASE WHEN s.kind = 'refund' THEN -ABS(l.qty) ELSE l.qty END AS sq,"
        "   CASE WHEN s.kind = 'refund' THEN -ABS(l.gross) ELSE l.gross END AS sg,"
        "   CASE WHEN s.kind = 'refund' THEN ABS(l.gross) ELSE 0 END AS rg,"
        "   CASE WHEN s.kind = 'refund' THEN -ABS(l.tax) ELSE l.tax END AS st,"
        "   (SELECT SUM(m.value) FROM stock_moves m WHERE m.line_id = l.id) AS moved,"
        "   i.cost AS item_cost"
        "  FROM sales s JOIN sale_lines l ON l.sale_id = s.id LEFT JOIN items i ON i.sku = l.sku"
        "  WHERE s.state = 'completed' AND s.business_day IS NOT NULL"
        "  AND s.completed_at IS NOT NULL AND l.voided = 0)"
        " GROUP BY day, sku, category")
    tenders: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r in conn.execute(
        "SELECT s.business_day, s.completed_at / 3600000000, t.method,"
        " COALESCE(s.operator, ''), COUNT(*), SUM(t.amount)"
        " FROM sales s JOIN sale_tenders t ON t.sale_id = s.id WHERE s.state = 'completed'"
        " AND s.business_day IS NOT NULL AND s.completed_at IS NOT NULL"
        " GROUP BY 1, 2, 3, 4"
    ):
        a = tenders[(r[0], hour.of_utc_hour(r[1]), r[2], r[3])]
        a[0] += r[4]
        a[1] += r[5]
    conn.executemany("INSERT INTO totals_tenders(day, hour, method, operator, n, amount)"
                     " VALUES (?, ?, ?, ?, ?, ?)", [(*k, *v) for k, v in tenders.items()])
    _roll_up(conn)
    conn.execute("UPDATE sales SET in_totals = (state = 'completed' AND business_day IS NOT"
                 " NULL AND completed_at IS NOT NULL) WHERE in_totals != (state = 'completed'"
                 " AND business_day IS NOT NULL AND completed_at IS NOT NULL)")
    conn.execute("UPDATE totals_state SET built = 1, tz = ?", (str(tz),))


def _roll_up(conn: sqlite3.Connection) -> None:
    """The months and days from the per-day rows (the same sums add_document keeps)."""
    conn.execute(
        "INSERT INTO totals_sales_month SELECT substr(day, 1, 6), hour, operator, member,"
        " SUM(sales), SUM(refunds), SUM(amount), SUM(change) FROM totals_sales"
        " GROUP BY 1, 2, 3, 4")
    conn.execute(
        "INSERT INTO totals_items_month SELECT substr(day, 1, 6), sku, category, MAX(name),"
        " SUM(lines), SUM(qty), SUM(amount), SUM(refunded), SUM(tax), SUM(cost)"
        " FROM totals_items GROUP BY 1, 2, 3")
    conn.execute(
        "INSERT INTO totals_stock_month SELECT substr(day, 1, 6), sku, SUM(qty),"
        " SUM(sold_qty), SUM(sold_value) FROM totals_stock GROUP BY 1, 2")
    conn.execute(
        "INSERT INTO totals_days SELECT s.day, s.sales, s.refunds, s.amount, s.change,"
        " COALESCE(i.lines, 0), COALESCE(i.gross, 0), COALESCE(i.tax, 0), COALESCE(i.cost, 0)"
        " FROM (SELECT day, SUM(sales) AS sales, SUM(refunds) AS refunds,"
        "  SUM(amount) AS amount, SUM(change) AS change FROM totals_sales GROUP BY day) s"
        " LEFT JOIN (SELECT day, SUM(lines) AS lines, SUM(amount) AS gross, SUM(tax) AS tax,"
        "  SUM(cost) AS cost FROM totals_items GROUP BY day) i ON i.day = s.day")


def ensure_built(store: Any, tz: ZoneInfo) -> bool:
    """Build the running totals of a store that has sales from before they existed (or
    whose timezone changed: the hours are local). Returns True when it had to."""
    row = store.one("SELECT built, tz FROM totals_state")
    if row["built"] and row["tz"] == str(tz):
        return False
    store.write_sync(lambda tx: rebuild(tx.conn, tz))
    return True


class RunningTotals:
    """The sale participant that keeps the totals with every completed sale and refund
    (gatewayd/sales/parts.py): it comes after inventory's, whose stock moves value the
    lines. Built, it makes sure a store from before the totals has them."""

    name = "running_totals"

    def __init__(self, store: Any, tz: ZoneInfo):
        self.tz = tz
        ensure_built(store, tz)

    def on_complete(self, tx: Any, wire: dict[str, Any]) -> None:
        add_document(tx, wire["id"], self.tz)

    def on_refund(self, tx: Any, wire: dict[str, Any]) -> None:
        add_document(tx, wire["id"], self.tz)

    def on_void(self, tx: Any, wire: dict[str, Any]) -> None:
        """A voided sale was never in the totals."""
