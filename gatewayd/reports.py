"""Sales analytics and the inventory report (not the X/Z cash reports: gatewayd/sales/shifts).

Every report is a ``Table``: ``{name, title, columns: [{key, title, type}], rows: [map],
totals: map, from, to, tz}`` with column types ``text``, ``int``, ``money`` (fen), ``qty``
(thousandths of the item's unit), ``bp`` (basis points: 1234 = 12.34 %) and ``ratio``
(hundredths: 215 = 2.15). The same table answers the protocol method, prints in
``posctl report NAME`` and exports as CSV or XLSX (``gatewayd report NAME --format csv|xlsx
--out FILE``). Report names and their calls are ``protocol.methods.REPORTS``.

The sales and profit reports read the running totals (gatewayd/sales/running_totals.py),
kept per business day and per month in the transaction of each sale and refund: a range
reads its whole months and the days of its partial months (`Span`), not its sales. What is counted:
    completed sales and refunds whose business day (``sales.business_day``, set at
    completion in the store's timezone) is between ``from`` and ``to`` inclusive (YYYY-MM-DD;
    default the last 7 days to today, store time). Refunds subtract (their amounts count
    negative whatever sign they are stored with). Voided sales are not sales.
    ``amount``: what customers paid, tax included (``sales.total``; per line ``gross``).
    ``revenue``: amount without tax (line gross - tax). ``cost``: the goods at the
    moving-average cost when they left (``stock_moves.value`` of the sale's line; for sales
    from before stock was tracked, the catalog cost when the sale completed). ``profit`` =
    revenue - cost. An item's name is the catalog's (the name it was sold under if it has
    left the catalog).
    By hour: the hour of the day the sale completed, in the store's timezone (peak hours).
    By week: ISO weeks (Monday first) of the business day.

The inventory report: per item on-hand and value at moving-average cost now; over the range,
qty sold (net of refunds), cost of goods sold, turnover = cost of goods sold / average stock
value (opening and closing on-hand, reconstructed from the moves, valued at today's average
cost); ``days_idle`` since the last sale; ``slow``: on hand and unsold for ``slow_days``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gatewayd.exports import csv_writer, xlsx_append
from gatewayd.sales.money import div_round

if TYPE_CHECKING:
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


def _require_totals(store: Reads, tz: ZoneInfo) -> None:
    """The reports read the running totals: a store whose totals were never built (no
    daemon has started on it) or were built in another timezone gets a clear error, not
    wrong figures (gatewayd/sales/running_totals.py ensure_built builds them)."""
    row = store.all("SELECT built, tz FROM totals_state")[0]
    if not row["built"] or row["tz"] != str(tz):
        raise ReportError(f"the report totals of this store are not built for {tz}: start "
                          f"the daemon once, or use `gatewayd report`, which builds them")


def _bd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


@dataclass(frozen=True)
class Span:
    """A range of business days as the running totals hold it: the whole months in it
    (read from the `*_month` tables) and the days of its partial first and last months (from
    the per-day ones). A year is about 12 month rows and 60 day rows per key, not 365."""

    days: tuple[tuple[str, str], ...]  # (YYYYMMDD, YYYYMMDD), inclusive
    months: tuple[str, str] | None  # (YYYYMM, YYYYMM), inclusive

    @classmethod
    def of(cls, start: dt.date, end: dt.date) -> Span:
        first = start if start.day == 1 else _next_month(start)
        after = end + dt.timedelta(days=1)
        stop = after if after.day == 1 else after.replace(day=1)  # after the last whole month
        if first >= stop:
            return cls(((_bd(start), _bd(end)),), None)
        days = []
        if start < first:
            days.append((_bd(start), _bd(first - dt.timedelta(days=1))))
        if stop <= end:
            days.append((_bd(stop), _bd(end)))
        last = stop - dt.timedelta(days=1)
        return cls(tuple(days), (first.strftime("%Y%m"), last.strftime("%Y%m")))

    def rows(self, table: str, cols: str) -> tuple[str, list[str]]:
        """A subquery of `cols` of `table`'s rows in the span (its days) and of
        `table`_month's (its months), to group by whatever `cols` keeps."""
        parts, params = [], []
        for a, b in self.days:
            parts.append(f"SELECT {cols} FROM {table} WHERE day BETWEEN ? AND ?")
            params += [a, b]
        if self.months is not None:
            parts.append(f"SELECT {cols} FROM {table}_month WHERE month BETWEEN ? AND ?")
            params += list(self.months)
        return "(" + " UNION ALL ".join(parts) + ")", params


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _iso(bd: str) -> str:
    return f"{bd[:4]}-{bd[4:6]}-{bd[6:]}"


def local_midnight_us(tz: ZoneInfo, day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tz).timestamp() * 1_000_000)


def _avg(amount: int, n: int) -> int:
    return div_round(amount, n) if n else 0


def _share(part: int, whole: int) -> int:
    return div_round(part * 10_000, whole) if whole else 0


# -- sales -------------------------------------------------------------------------------------
SALES_COLS = [("sales", "sales", "int"), ("refunds", "refunds", "int"),
              ("amount", "amount", "money"), ("avg_ticket", "avg ticket", "money"),
              ("share_bp", "share", "bp")]


def _bucketed(rows: Iterable[Any], total: int) -> list[dict[str, Any]]:
    """(key, sales, refunds, amount) rows -> the report's buckets."""
    return [{"key": k, "sales": sales, "refunds": refunds, "amount": amount,
             "avg_ticket": _avg(amount, sales), "share_bp": _share(amount, total)}
            for k, sales, refunds, amount in rows]


def _sales_by(store: Reads, key: str, start: dt.date, end: dt.date) -> list[Any]:
    if key == "day":  # one row a day
        return store.all("SELECT day, sales, refunds, amount FROM totals_days"
                         " WHERE day BETWEEN ? AND ?", (_bd(start), _bd(end)))
    rows, params = Span.of(start, end).rows(
        "totals_sales", "hour, operator, member, sales, refunds, amount")
    return store.all(f"SELECT {key}, SUM(sales), SUM(refunds), SUM(amount) FROM {rows}"
                     f" GROUP BY 1", params)


def sales_report(store: Reads, tz: ZoneInfo, by: str, day_from: str | None = None,
                 day_to: str | None = None, limit: int = 1000,
                 today: dt.date | None = None) -> Table:
    """From the running totals (gatewayd/sales/running_totals.py): O(days), not O(sales)."""
    start, end = day_range(tz, day_from, day_to, today)
    _require_totals(store, tz)
    t = Table(f"sales_by_{by}", f"Sales by {by}", [], day_from=start.isoformat(),
              day_to=end.isoformat(), tz=str(tz))
    if by in ("hour", "day", "week", "cashier", "member"):
        n_sales, n_refunds, total = store.all(
            "SELECT COALESCE(SUM(sales), 0), COALESCE(SUM(refunds), 0),"
            " COALESCE(SUM(amount), 0) FROM totals_days WHERE day BETWEEN ? AND ?",
            (_bd(start), _bd(end)))[0]
        t.totals = {"sales": n_sales, "refunds": n_refunds, "amount": total,
                    "avg_ticket": _avg(total, n_sales)}
        if by == "hour":
            buckets = _bucketed(_sales_by(store, "hour", start, end), total)
            for b in buckets:
                b["hour"] = f"{b.pop('key'):02d}:00"
            buckets.sort(key=lambda b: b["hour"])
            t.columns = [("hour", "hour", "text"), *SALES_COLS]
            if buckets:
                peak = max(buckets, key=lambda b: (b["amount"], b["sales"]))
                t.totals["peak_hour"] = peak["hour"]
        elif by == "day":
            buckets = _bucketed(_sales_by(store, "day", start, end), total)
            for b in buckets:
                bd = b.pop("key")
                b["day"] = _iso(bd)
                b["weekday"] = WEEKDAYS[dt.date.fromisoformat(b["day"]).weekday()]
            buckets.sort(key=lambda b: b["day"])
            t.columns = [("day", "day", "text"), ("weekday", "周", "text"), *SALES_COLS]
        elif by == "week":
            weeks: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
            for bd, sales, refunds, amount in _sales_by(store, "day", start, end):
                y, w, _ = dt.date.fromisoformat(_iso(bd)).isocalendar()
                week = weeks[f"{y}-W{w:02d}"]
                week[0] += sales
                week[1] += refunds
                week[2] += amount
            buckets = _bucketed(((k, *v) for k, v in weeks.items()), total)
            for b in buckets:
                b["week"] = b.pop("key")
                monday = dt.date.fromisocalendar(int(b["week"][:4]), int(b["week"][6:]), 1)
                b["starts"] = monday.isoformat()
            buckets.sort(key=lambda b: b["week"])
            t.columns = [("week", "week", "text"), ("starts", "starts", "text"), *SALES_COLS]
        elif by == "cashier":
            names = {r["id"]: r["name"] for r in store.all("SELECT id, name FROM operators")}
            buckets = _bucketed(_sales_by(store, "operator", start, end), total)
            for b in buckets:
                b["cashier"] = b.pop("key")
                b["name"] = names.get(b["cashier"], "")
            buckets.sort(key=lambda b: (-b["amount"], b["cashier"]))
            t.columns = [("cashier", "cashier", "text"), ("name", "name", "text"), *SALES_COLS]
        else:
            buckets = _bucketed(_sales_by(store, "member", start, end), total)
            for b in buckets:
                b["customer"] = "member" if b.pop("key") else "non-member"
            buckets.sort(key=lambda b: b["customer"])
            t.columns = [("customer", "customer", "text"), *SALES_COLS]
        t.rows = buckets[:limit]
        return t
    if by not in ("item", "category"):
        raise ReportError(f"unknown grouping {by!r}")
    items, params = Span.of(start, end).rows("totals_items", ITEM_COLS)
    if by == "item":
        rows = [{"sku": r[0], "name": r[1], "qty": r[2], "amount": r[3], "refunded": r[4]}
                for r in store.all(
                    f"SELECT t.sku, COALESCE(i.name, MAX(t.name)), SUM(t.qty), SUM(t.amount),"
                    f" SUM(t.refunded) FROM {items} t LEFT JOIN items i ON i.sku = t.sku"
                    f" GROUP BY t.sku", params)]
    else:
        rows = [{"category": r[0], "lines": r[1], "amount": r[2], "refunded": r[3]}
                for r in store.all(
                    f"SELECT category, SUM(lines), SUM(amount), SUM(refunded) FROM {items}"
                    f" GROUP BY category", params)]
    total = sum(a["amount"] for a in rows)
    rows.sort(key=lambda a: (-a["amount"], a.get("sku") or a["category"]))
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
ITEM_COLS = "sku, category, name, lines, qty, amount, refunded, tax, cost"
# {items}: the Span's rows of totals_items; a day's row of totals_days has lines > 0 when
# the day has any in totals_items
_PROFIT_KEYS = {
    "day": ("SELECT day, gross, tax, cost FROM totals_days WHERE day BETWEEN ? AND ?"
            " AND lines > 0"),
    "item": ("SELECT t.sku, COALESCE(i.name, MAX(t.name)), SUM(t.amount), SUM(t.tax),"
             " SUM(t.cost) FROM {items} t LEFT JOIN items i ON i.sku = t.sku GROUP BY t.sku"),
    "category": ("SELECT category, SUM(amount), SUM(tax), SUM(cost) FROM {items}"
                 " GROUP BY category"),
}


def profit_report(store: Reads, tz: ZoneInfo, by: str = "day", day_from: str | None = None,
                  day_to: str | None = None, limit: int = 1000,
                  today: dt.date | None = None) -> Table:
    """From the running totals, like sales_report."""
    start, end = day_range(tz, day_from, day_to, today)
    _require_totals(store, tz)
    if by not in _PROFIT_KEYS:
        raise ReportError(f"unknown grouping {by!r}")
    if by == "day":
        sql, params = _PROFIT_KEYS[by], [_bd(start), _bd(end)]
    else:
        items, params = Span.of(start, end).rows("totals_items", ITEM_COLS)
        sql = _PROFIT_KEYS[by].format(items=items)
    rows = []
    for r in store.all(sql, params):
        if by == "day":
            head, (amount, tax, cost) = {"day": _iso(r[0])}, r[1:]
        elif by == "item":
            head, (amount, tax, cost) = {"sku": r[0], "name": r[1]}, r[2:]
        else:
            head, (amount, tax, cost) = {"category": r[0]}, r[1:]
        rows.append({**head, "amount": amount, "tax": tax, "revenue": amount - tax,
                     "cost": cost})
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
def _moved_since(store: Reads, day: str) -> dict[str, int]:
    """Net stock moved per item on and after `day` (whole months from totals_stock_month)."""
    last = store.all("SELECT MAX(day) FROM totals_stock")[0][0]
    if last is None or day > last:
        return {}
    moves, params = Span.of(_date(day), _date(last)).rows("totals_stock", "sku, qty")
    return {r[0]: r[1] for r in store.all(f"SELECT sku, SUM(qty) FROM {moves} GROUP BY sku",
                                          params)}


def _date(bd: str) -> dt.date:
    return dt.date(int(bd[:4]), int(bd[4:6]), int(bd[6:]))


def inventory_report(store: Reads, tz: ZoneInfo, day_from: str | None = None,
                     day_to: str | None = None, slow_days: int = 30, slow_only: bool = False,
                     limit: int = 100_000, today: dt.date | None = None,
                     now_us: int | None = None) -> Table:
    start, end = day_range(tz, day_from, day_to, today)
    _require_totals(store, tz)
    if now_us is None:
        now_us = int(dt.datetime.now(dt.UTC).timestamp() * 1_000_000)
    # from the stock totals (gatewayd/sales/running_totals.py): O((months + days) x items)
    after_from = _moved_since(store, _bd(start))
    after_to = _moved_since(store, _bd(end + dt.timedelta(days=1)))
    moves, params = Span.of(start, end).rows("totals_stock", "sku, sold_qty, sold_value")
    sold = {r[0]: (r[1], r[2]) for r in store.all(
        f"SELECT sku, SUM(sold_qty), SUM(sold_value) FROM {moves} GROUP BY sku", params)}
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


# -- named reports -----------------------------------------------------------------------------
def run_named(store: Reads, tz: ZoneInfo, name: str, day_from: str | None = None,
              day_to: str | None = None, **extra: Any) -> Table:
    from protocol.methods import REPORTS

    if name not in REPORTS:
        raise ReportError(f"unknown report {name!r}; one of: {', '.join(REPORTS)}")
    method, params = REPORTS[name]
    params = {**params, **extra}
    if method == "report.sales":
        return sales_report(store, tz, params["by"], day_from, day_to)
    if method == "report.profit":
        return profit_report(store, tz, params.get("by", "day"), day_from, day_to)
    return inventory_report(store, tz, day_from, day_to,
                            slow_days=params.get("slow_days", 30),
                            slow_only=params.get("slow_only", False))


# -- export ------------------------------------------------------------------------------------
def cell_text(value: Any, kind: str) -> str:
    """A cell as people read it: money in yuan, qty in units (3 decimals), bp as percent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if kind == "money":
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    if kind == "qty":
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 1000}.{abs(value) % 1000:03d}"
    if kind == "bp":
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}%"
    if kind == "ratio":
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    return str(value)


def cell_number(value: Any, kind: str) -> Any:
    """A cell for a spreadsheet: exact Decimals in yuan/units/fractions, never a float."""
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return ("yes" if value else "") if isinstance(value, bool) else value
    if kind == "money" or kind == "ratio":
        return Decimal(value).scaleb(-2)
    if kind == "qty":
        return Decimal(value).scaleb(-3)
    if kind == "bp":
        return Decimal(value).scaleb(-4)
    return value


def table_text(t: Table | dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    wire = t.as_wire() if isinstance(t, Table) else t
    cols = wire["columns"]
    rows = [[cell_text(r.get(c["key"]), c["type"]) for c in cols] for r in wire["rows"]]
    return [c["title"] for c in cols], rows


def export_csv(t: Table, path: Path | str) -> int:
    headers, rows = table_text(t)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel reads UTF-8
        w = csv_writer(fh)  # a formula in an item name is written as text
        w.writerow(headers)
        w.writerows(rows)
        if t.totals:
            w.writerow([])
            types = {k: ty for k, _, ty in t.columns}
            for k, v in t.totals.items():
                w.writerow([f"total {k}", cell_text(v, types.get(k, "int"))])
    return len(rows)


FORMATS = {"money": "#,##0.00", "qty": "0.000", "bp": "0.00%", "ratio": "0.00"}


def export_xlsx(t: Table, path: Path | str) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t.name[:31]
    xlsx_append(ws, [f"{t.title}  {t.day_from} .. {t.day_to}  ({t.tz})"])
    ws["A1"].font = Font(bold=True)
    xlsx_append(ws, [title for _, title, _ in t.columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in t.rows:
        xlsx_append(ws, [cell_number(r.get(k), ty) for k, _, ty in t.columns])
        for cell, (_, _, ty) in zip(ws[ws.max_row], t.columns, strict=True):
            if ty in FORMATS:
                cell.number_format = FORMATS[ty]
    if t.totals:
        xlsx_append(ws, [])
        types = {k: ty for k, _, ty in t.columns}
        for k, v in t.totals.items():
            ty = types.get(k, "int")
            xlsx_append(ws, [f"total {k}", cell_number(v, ty)])
            if ty in FORMATS:
                ws.cell(ws.max_row, 2).number_format = FORMATS[ty]
    ws.freeze_panes = "A3"
    for i, (_, title, _) in enumerate(t.columns, 1):
        ws.column_dimensions[ws.cell(2, i).column_letter].width = max(10, len(title) + 4)
    wb.save(str(path))
    return len(t.rows)


def export(t: Table, path: Path | str, fmt: str) -> int:
    if fmt == "csv":
        return export_csv(t, path)
    if fmt == "xlsx":
        return export_xlsx(t, path)
    raise ReportError(f"unknown format {fmt!r}: csv or xlsx")


def format_table(t: Table) -> str:
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    headers, rows = table_text(t)
    widths = [max([width(h), *(width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    right = [ty in ("int", "money", "qty", "bp", "ratio") for _, _, ty in t.columns]

    def line(cells: list[str]) -> str:
        return "  ".join((" " * (w - width(c)) + c) if rt else (c + " " * (w - width(c)))
                         for c, w, rt in zip(cells, widths, right, strict=True)).rstrip()

    types = {k: ty for k, _, ty in t.columns}
    out = [f"{t.title}  {t.day_from} .. {t.day_to}", line(headers),
           line(["-" * w for w in widths]), *(line(r) for r in rows)]
    if t.totals:
        out.append("totals: " + ", ".join(f"{k} {cell_text(v, types.get(k, 'int'))}"
                                          for k, v in t.totals.items()))
    return "\n".join(out)
