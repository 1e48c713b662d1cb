"""The reports as they were computed before the running totals: per sale, per line and per
stock move, from `sales`, `sale_lines` and `stock_moves` (gatewayd/reports.py before the
running totals, trimmed to the sales, profit and inventory reports).
tests/test_running_totals.py holds the reports that read the running totals equal to these
on the same store."""
# ruff: noqa
from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gatewayd.sales.money import div_round

if False:
    from gatewayd.app import App
    from gatewayd.server.registry import CallContext
    from gatewayd.store.reader import Reads

DEFAULT_DAYS = 7
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


@dataclass
class Table:
    name: str
    title: str
    columns: list[tuple[str, str, str]]  # key, title, type
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    day_from: str = ""
    day_to: str = ""
    tz: str = ""

    def as_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": k, "title": t, "type": ty} for k, t, ty in self.columns],
            "rows": self.rows,
            "totals": self.totals,
            "from": self.day_from,
            "to": self.day_to,
            "tz": self.tz,
        }


class ReportError(ValueError):
    pass


# -- ranges ------------------------------------------------------------------------------------
def day_range(tz: ZoneInfo, day_from: str | None, day_to: str | None,
              today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    try:
        end = dt.date.fromisoformat(day_to) if day_to else (
            today or dt.datetime.now(tz).date())
        start = dt.date.fromisoformat(day_from) if day_from else end - dt.timedelta(
            days=DEFAULT_DAYS - 1)
    except ValueError as exc:
        raise ReportError(f"bad date: {exc}") from None
    if start > end:
        raise ReportError(f"from {start} is after to {end}")
    return start, end


def _bd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _iso(bd: str) -> str:
    return f"{bd[:4]}-{bd[4:6]}-{bd[6:]}"


def local_midnight_us(tz: ZoneInfo, day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tz).timestamp() * 1_000_000)


def _signed(kind: str, amount: int) -> int:
    return -abs(amount) if kind == "refund" else amount


def _avg(amount: int, n: int) -> int:
    return div_round(amount, n) if n else 0


def _share(part: int, whole: int) -> int:
    return div_round(part * 10_000, whole) if whole else 0


class _Hours:
    """UTC microseconds -> local hour, cached per UTC hour (DST-correct, cheap)."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.cache: dict[int, int] = {}

    def __call__(self, us: int) -> int:
        key = us // 3_600_000_000
        got = self.cache.get(key)
        if got is None:
            got = self.cache[key] = dt.datetime.fromtimestamp(key * 3600, self.tz).hour
        return got


# -- sales -------------------------------------------------------------------------------------
SALES_COLS = [("sales", "sales", "int"), ("refunds", "refunds", "int"),
              ("amount", "amount", "money"), ("avg_ticket", "avg ticket", "money"),
              ("share_bp", "share", "bp")]


def _sale_rows(store: Reads, start: dt.date, end: dt.date) -> list[Any]:
    return store.all(
        "SELECT id, kind, total, completed_at, business_day, operator, member FROM sales"
        " WHERE state = 'completed' AND business_day BETWEEN ? AND ?",
        (_bd(start), _bd(end)),
    )


def _line_rows(store: Reads, start: dt.date, end: dt.date) -> list[Any]:
    return store.all(
        "SELECT s.kind, s.business_day, l.id, l.sku, l.name, l.category, l.qty, l.gross,"
        " l.tax, (SELECT SUM(m.value) FROM stock_moves m WHERE m.line_id = l.id) AS moved,"
        " i.cost AS item_cost"
        " FROM sales s JOIN sale_lines l ON l.sale_id = s.id"
        " LEFT JOIN items i ON i.sku = l.sku"
        " WHERE s.state = 'completed' AND s.business_day BETWEEN ? AND ? AND l.voided = 0",
        (_bd(start), _bd(end)),
    )


def _bucketed(rows: Iterable[Any], key, total: int) -> list[dict[str, Any]]:
    agg: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        a = agg[key(r)]
        if r["kind"] == "refund":
            a[1] += 1
        else:
            a[0] += 1
        a[2] += _signed(r["kind"], r["total"])
    out = []
    for k, (sales, refunds, amount) in agg.items():
        out.append({"key": k, "sales": sales, "refunds": refunds, "amount": amount,
                    "avg_ticket": _avg(amount, sales), "share_bp": _share(amount, total)})
    return out


def sales_report(store: Reads, tz: ZoneInfo, by: str, day_from: str | None = None,
                 day_to: str | None = None, limit: int = 1000,
                 today: dt.date | None = None) -> Table:
    start, end = day_range(tz, day_from, day_to, today)
    t = Table(f"sales_by_{by}", f"Sales by {by}", [], day_from=start.isoformat(),
              day_to=end.isoformat(), tz=str(tz))
    if by in ("hour", "day", "week", "cashier", "member"):
        rows = _sale_rows(store, start, end)
        total = sum(_signed(r["kind"], r["total"]) for r in rows)
        n_sales = sum(1 for r in rows if r["kind"] != "refund")
        t.totals = {"sales": n_sales, "refunds": len(rows) - n_sales, "amount": total,
                    "avg_ticket": _avg(total, n_sales)}
        if by == "hour":
            hour_of = _Hours(tz)
            buckets = _bucketed(rows, lambda r: hour_of(r["completed_at"]), total)
            for b in buckets:
                b["hour"] = f"{b.pop('key'):02d}:00"
            buckets.sort(key=lambda b: b["hour"])
            t.columns = [("hour", "hour", "text"), *SALES_COLS]
            if buckets:
                peak = max(buckets, key=lambda b: (b["amount"], b["sales"]))
                t.totals["peak_hour"] = peak["hour"]
        elif by == "day":
            buckets = _bucketed(rows, lambda r: r["business_day"], total)
            for b in buckets:
                bd = b.pop("key")
                b["day"] = _iso(bd)
                b["weekday"] = WEEKDAYS[dt.date.fromisoformat(b["day"]).weekday()]
            buckets.sort(key=lambda b: b["day"])
            t.columns = [("day", "day", "text"), ("weekday", "周", "text"), *SALES_COLS]
        elif by == "week":
            def week(r: Any) -> str:
                y, w, _ = dt.date.fromisoformat(_iso(r["business_day"])).isocalendar()
                return f"{y}-W{w:02d}"

            buckets = _bucketed(rows, week, total)
            for b in buckets:
                b["week"] = b.pop("key")
                monday = dt.date.fromisocalendar(int(b["week"][:4]), int(b["week"][6:]), 1)
                b["starts"] = monday.isoformat()
            buckets.sort(key=lambda b: b["week"])
            t.columns = [("week", "week", "text"), ("starts", "starts", "text"), *SALES_COLS]
        elif by == "cashier":
            names = {r["id"]: r["name"] for r in store.all("SELECT id, name FROM operators")}
            buckets = _bucketed(rows, lambda r: r["operator"] or "", total)
            for b in buckets:
                b["cashier"] = b.pop("key")
                b["name"] = names.get(b["cashier"], "")
            buckets.sort(key=lambda b: -b["amount"])
            t.columns = [("cashier", "cashier", "text"), ("name", "name", "text"), *SALES_COLS]
        else:
            buckets = _bucketed(rows, lambda r: "member" if r["member"] else "non-member", total)
            for b in buckets:
                b["customer"] = b.pop("key")
            buckets.sort(key=lambda b: b["customer"])
            t.columns = [("customer", "customer", "text"), *SALES_COLS]
        t.rows = buckets[:limit]
        return t
    if by not in ("item", "category"):
        raise ReportError(f"unknown grouping {by!r}")
    lines = _line_rows(store, start, end)
    agg: dict[Any, dict[str, Any]] = {}
    for r in lines:
        k = r["sku"] if by == "item" else (r["category"] or "")
        a = agg.get(k)
        if a is None:
            a = agg[k] = ({"sku": r["sku"], "name": r["name"], "qty": 0} if by == "item"
                          else {"category": k, "lines": 0})
            a.update(amount=0, refunded=0)
        amount = _signed(r["kind"], r["gross"])
        a["amount"] += amount
        if r["kind"] == "refund":
            a["refunded"] += -amount
        if by == "item":
            a["qty"] += -abs(r["qty"]) if r["kind"] == "refund" else r["qty"]
        else:
            a["lines"] += 1
    total = sum(a["amount"] for a in agg.values())
    rows = sorted(agg.values(), key=lambda a: (-a["amount"], a.get("sku") or a["category"]))
    for i, a in enumerate(rows, 1):
        a["rank"] = i
        a["share_bp"] = _share(a["amount"], total)
    t.rows = rows[:limit]
    t.totals = {"amount": total, "refunded": sum(a["refunded"] for a in rows)}
    money = [("amount", "amount", "money"), ("refunded", "refunded", "money"),
             ("share_bp", "share", "bp")]
    t.columns = ([("rank", "#", "int"), ("sku", "sku", "text"), ("name", "name", "text"),
                  ("qty", "qty", "qty"), *money] if by == "item" else
                 [("rank", "#", "int"), ("category", "category", "text"),
                  ("lines", "lines", "int"), *money])
    t.title = "Top items" if by == "item" else "Top categories"
    return t


# -- profit ------------------------------------------------------------------------------------
def _line_cost(r: Any) -> int:
    """Cost of a sold line (positive), of a refund line (negative)."""
    if r["moved"] is not None:
        return -r["moved"]
    cost = div_round(r["qty"] * (r["item_cost"] or 0), 1000)
    return -cost if r["kind"] == "refund" else cost


def profit_report(store: Reads, tz: ZoneInfo, by: str = "day", day_from: str | None = None,
                  day_to: str | None = None, limit: int = 1000,
                  today: dt.date | None = None) -> Table:
    start, end = day_range(tz, day_from, day_to, today)
    if by not in ("day", "item", "category"):
        raise ReportError(f"unknown grouping {by!r}")
    agg: dict[str, dict[str, Any]] = {}
    for r in _line_rows(store, start, end):
        if by == "day":
            k = _iso(r["business_day"])
            head = {"day": k}
        elif by == "item":
            k = r["sku"]
            head = {"sku": k, "name": r["name"]}
        else:
            k = r["category"] or ""
            head = {"category": k}
        a = agg.get(k)
        if a is None:
            a = agg[k] = {**head, "amount": 0, "tax": 0, "revenue": 0, "cost": 0}
        amount = _signed(r["kind"], r["gross"])
        tax = _signed(r["kind"], r["tax"])
        a["amount"] += amount
        a["tax"] += tax
        a["revenue"] += amount - tax
        a["cost"] += _line_cost(r)
    rows = list(agg.values())
    for a in rows:
        a["profit"] = a["revenue"] - a["cost"]
        a["margin_bp"] = _share(a["profit"], a["revenue"])
    if by == "day":
        rows.sort(key=lambda a: a["day"])
    else:
        rows.sort(key=lambda a: (-a["profit"], next(iter(a.values()))))
    totals = {k: sum(a[k] for a in rows) for k in ("amount", "tax", "revenue", "cost")}
    totals["profit"] = totals["revenue"] - totals["cost"]
    totals["margin_bp"] = _share(totals["profit"], totals["revenue"])
    head_cols = {"day": [("day", "day", "text")],
                 "item": [("sku", "sku", "text"), ("name", "name", "text")],
                 "category": [("category", "category", "text")]}[by]
    return Table(
        f"profit_by_{by}", f"Gross profit by {by}",
        [*head_cols, ("amount", "amount", "money"), ("tax", "tax", "money"),
         ("revenue", "revenue", "money"), ("cost", "cost", "money"),
         ("profit", "profit", "money"), ("margin_bp", "margin", "bp")],
        rows[:limit], totals, start.isoformat(), end.isoformat(), str(tz))


# -- inventory ---------------------------------------------------------------------------------
def inventory_report(store: Reads, tz: ZoneInfo, day_from: str | None = None,
                     day_to: str | None = None, slow_days: int = 30, slow_only: bool = False,
                     limit: int = 100_000, today: dt.date | None = None,
                     now_us: int | None = None) -> Table:
    start, end = day_range(tz, day_from, day_to, today)
    from_us = local_midnight_us(tz, start)
    to_us = local_midnight_us(tz, end + dt.timedelta(days=1))
    if now_us is None:
        now_us = int(dt.datetime.now(dt.UTC).timestamp() * 1_000_000)
    after_from = {r[0]: r[1] for r in store.all(
        "SELECT sku, SUM(qty) FROM stock_moves WHERE at >= ? GROUP BY sku", (from_us,))}
    after_to = {r[0]: r[1] for r in store.all(
        "SELECT sku, SUM(qty) FROM stock_moves WHERE at >= ? GROUP BY sku", (to_us,))}
    sold = {r[0]: (r[1], r[2]) for r in store.all(
        "SELECT sku, -SUM(qty), -SUM(value) FROM stock_moves WHERE kind IN ('sale', 'refund',"
        " 'void') AND at >= ? AND at < ? GROUP BY sku", (from_us, to_us))}
    rows = []
    for r in store.all(
        "SELECT s.sku, i.name, i.unit, i.category, i.cost, s.on_hand, s.avg_cost,"
        " s.last_sale_at FROM stock s JOIN items i ON i.sku = s.sku ORDER BY s.sku"
    ):
        cost = r["avg_cost"] if r["avg_cost"] is not None else r["cost"]
        on_hand = r["on_hand"]
        value = div_round(on_hand * (cost or 0), 1000)
        opening = on_hand - (after_from.get(r["sku"]) or 0)
        closing = on_hand - (after_to.get(r["sku"]) or 0)
        qty_sold, cogs = sold.get(r["sku"], (0, 0))
        avg_value = div_round((opening + closing) * (cost or 0), 2000)
        turnover = div_round(cogs * 100, avg_value) if avg_value > 0 else None
        last = r["last_sale_at"]
        idle = None if last is None else (now_us - last) // 86_400_000_000
        slow = on_hand > 0 and (idle is None or idle >= slow_days)
        if slow_only and not slow:
            continue
        rows.append({"sku": r["sku"], "name": r["name"], "unit": r["unit"],
                     "category": r["category"] or "", "on_hand": on_hand, "avg_cost": cost,
                     "value": value, "sold": qty_sold, "cogs": cogs,
                     "turnover": turnover, "days_idle": idle, "slow": slow})
    rows.sort(key=lambda a: (-a["value"], a["sku"]))
    totals = {"items": len(rows), "value": sum(a["value"] for a in rows),
              "cogs": sum(a["cogs"] for a in rows), "slow": sum(1 for a in rows if a["slow"])}
    return Table(
        "slow_movers" if slow_only else "inventory",
        f"Slow movers (unsold for {slow_days} days)" if slow_only else "Inventory",
        [("sku", "sku", "text"), ("name", "name", "text"), ("unit", "unit", "text"),
         ("on_hand", "on hand", "qty"), ("avg_cost", "avg cost", "money"),
         ("value", "value", "money"), ("sold", "sold", "qty"), ("cogs", "cost sold", "money"),
         ("turnover", "turnover", "ratio"), ("days_idle", "days idle", "int"),
         ("slow", "slow", "text")],
        rows[:limit], totals, start.isoformat(), end.isoformat(), str(tz))
