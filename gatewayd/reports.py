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
# The tables are computed by SQLite, rows in their final order with every column, and Python
# only names the columns: a report runs on a reader thread (gatewayd/store/reader.py), and
# SQLite lets go of the GIL while it steps where a Python loop over the rows would hold it,
# making the event loop wait (docs/bench.md, growth.rtt.reporting).
SALES_COLS = [("sales", "sales", "int"), ("refunds", "refunds", "int"),
              ("amount", "amount", "money"), ("avg_ticket", "avg ticket", "money"),
              ("share_bp", "share", "bp")]


def _div(n: str, d: str) -> str:
    """SQL of `div_round(n, d)` (half up, symmetric around zero) for integers, 0 when `d` is 0
    (as `_avg` and `_share`)."""
    return (f"(CASE WHEN ({d}) = 0 THEN 0 ELSE (CASE WHEN (({n}) < 0) = (({d}) < 0) THEN 1"
            f" ELSE -1 END) * ((2 * abs({n}) + abs({d})) / (2 * abs({d}))) END)")


def _sql_iso(bd: str) -> str:
    """SQL of `_iso`: YYYYMMDD -> YYYY-MM-DD."""
    return f"(substr({bd}, 1, 4) || '-' || substr({bd}, 5, 2) || '-' || substr({bd}, 7, 2))"


def _named(store: Reads, keys: tuple[str, ...], sql: str, params: list[Any]
           ) -> list[dict[str, Any]]:
    return [dict(zip(keys, r, strict=True)) for r in store.all(sql, params)]


def _buckets(store: Reads, grouped: str, params: list[Any], head: dict[str, str],
             order: str, total: int, limit: int) -> list[dict[str, Any]]:
    """`grouped` gives (k, s, r, a): a bucket's key, sales, refunds and amount; `head` the
    bucket's own columns (SQL over k), after the sales columns."""
    keys = ("sales", "refunds", "amount", "avg_ticket", "share_bp", *head)
    cols = ", ".join(["s", "r", "a", _div("a", "s"), _div("a * 10000", "tot"),
                      *(f'{sql} AS "{key}"' for key, sql in head.items())])
    return _named(store, keys, f"SELECT {cols} FROM (SELECT ? AS tot) CROSS JOIN ({grouped})"
                               f" ORDER BY {order} LIMIT ?", [total, *params, limit])


# WEEKDAYS[date.weekday()] of a YYYY-MM-DD day (%w: 0 is Sunday)
_WEEKDAY = "substr('日一二三四五六', strftime('%w', {iso}) + 1, 1)"
# The Monday of a YYYYMMDD day as a Julian day number: JDN mod 7 is 0 on a Monday. A week
# is named by its Thursday's year and week (ISO 8601); a JDN at midnight is JDN - 0.5.
_MONDAY = "(CAST(julianday({iso}) + 0.5 AS INTEGER) / 7 * 7)"
_WEEK = ("(strftime('%Y', m + 2.5) || '-W' || printf('%02d',"
         " (CAST(strftime('%j', m + 2.5) AS INTEGER) - 1) / 7 + 1))")


def sales_report(store: Reads, tz: ZoneInfo, by: str, day_from: str | None = None,
                 day_to: str | None = None, limit: int = 1000,
                 today: dt.date | None = None) -> Table:
    """From the running totals (gatewayd/sales/running_totals.py): O(days), not O(sales)."""
    start, end = day_range(tz, day_from, day_to, today)
    _require_totals(store, tz)
    t = Table(f"sales_by_{by}", f"Sales by {by}", [], day_from=start.isoformat(),
              day_to=end.isoformat(), tz=str(tz))
    days = [_bd(start), _bd(end)]
    span = Span.of(start, end)
    if by in ("hour", "day", "week", "cashier", "member"):
        n_sales, n_refunds, total = store.all(
            "SELECT COALESCE(SUM(sales), 0), COALESCE(SUM(refunds), 0),"
            " COALESCE(SUM(amount), 0) FROM totals_days WHERE day BETWEEN ? AND ?", days)[0]
        t.totals = {"sales": n_sales, "refunds": n_refunds, "amount": total,
                    "avg_ticket": _avg(total, n_sales)}
        sums = "SUM(sales) AS s, SUM(refunds) AS r, SUM(amount) AS a"
        if by == "day":  # one row a day
            grouped, params = ("SELECT day AS k, sales AS s, refunds AS r, amount AS a"
                               " FROM totals_days WHERE day BETWEEN ? AND ?"), days
        elif by == "week":
            grouped, params = (
                f"SELECT {_WEEK} AS k, date(m - 0.5) AS st, {sums} FROM"
                f" (SELECT {_MONDAY.format(iso=_sql_iso('day'))} AS m, sales, refunds, amount"
                f"  FROM totals_days WHERE day BETWEEN ? AND ?) GROUP BY m"), days
        else:
            column = {"hour": "hour", "cashier": "operator", "member": "member"}[by]
            union, params = span.rows("totals_sales", "hour, operator, member, sales, refunds,"
                                                      " amount")
            grouped = f"SELECT {column} AS k, {sums} FROM {union} GROUP BY 1"
        head, order = {
            "hour": ({"hour": "printf('%02d:00', k)"}, "k"),
            "day": ({"day": _sql_iso("k"), "weekday": _WEEKDAY.format(iso=_sql_iso("k"))}, "k"),
            "week": ({"week": "k", "starts": "st"}, "k"),
            "cashier": ({"cashier": "k",
                         "name": "COALESCE((SELECT name FROM operators WHERE id = k), '')"},
                        "a DESC, k"),
            "member": ({"customer": "CASE WHEN k THEN 'member' ELSE 'non-member' END"},
                       '"customer"'),
        }[by]
        # the peak hour is of all hours, whatever the limit
        buckets = _buckets(store, grouped, params, head, order, total,
                           -1 if by == "hour" else limit)
        if by == "hour" and buckets:
            peak = max(buckets, key=lambda b: (b["amount"], b["sales"]))
            t.totals["peak_hour"] = peak["hour"]
        t.columns = {"hour": [("hour", "hour", "text")],
                     "day": [("day", "day", "text"), ("weekday", "周", "text")],
                     "week": [("week", "week", "text"), ("starts", "starts", "text")],
                     "cashier": [("cashier", "cashier", "text"), ("name", "name", "text")],
                     "member": [("customer", "customer", "text")]}[by] + SALES_COLS
        t.rows = buckets[:limit]
        return t
    if by not in ("item", "category"):
        raise ReportError(f"unknown grouping {by!r}")
    items, params = span.rows("totals_items", ITEM_COLS)
    if by == "item":
        keys: tuple[str, ...] = ("sku", "name", "qty", "amount", "refunded")
        grouped = ("SELECT t.sku AS sku, COALESCE(i.name, MAX(t.name)) AS name, SUM(t.qty) AS qty,"
                   f" SUM(t.amount) AS amount, SUM(t.refunded) AS refunded FROM {items} t"
                   " LEFT JOIN items i ON i.sku = t.sku GROUP BY t.sku")
    else:
        keys = ("category", "lines", "amount", "refunded")
        grouped = ("SELECT category, SUM(lines) AS lines, SUM(amount) AS amount,"
                   f" SUM(refunded) AS refunded FROM {items} GROUP BY category")
    ranked = (f"SELECT *, ROW_NUMBER() OVER (ORDER BY amount DESC, {keys[0]}) AS rk,"
              f" SUM(amount) OVER () AS tot, SUM(refunded) OVER () AS tot_refunded"
              f" FROM ({grouped})")
    rows = store.all(f"SELECT {', '.join(keys)}, rk, {_div('amount * 10000', 'tot')},"
                     f" tot, tot_refunded FROM ({ranked}) ORDER BY rk LIMIT ?",
                     [*params, limit])
    t.rows = [dict(zip((*keys, "rank", "share_bp"), r[:-2], strict=True)) for r in rows]
    t.totals = {"amount": rows[0][-2] if rows else 0,
                "refunded": rows[0][-1] if rows else 0}
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
# (head columns, their SQL, the rows with amount, tax and cost); {items}: the Span's rows of
# totals_items. A day's row of totals_days has lines > 0 when the day has any in totals_items.
_PROFIT_KEYS = {
    "day": (("day",), _sql_iso("day"),
            "SELECT day, gross AS amount, tax, cost FROM totals_days WHERE day BETWEEN ? AND ?"
            " AND lines > 0"),
    "item": (("sku", "name"), "sku, name",
             "SELECT t.sku AS sku, COALESCE(i.name, MAX(t.name)) AS name, SUM(t.amount) AS amount,"
             " SUM(t.tax) AS tax, SUM(t.cost) AS cost FROM {items} t"
             " LEFT JOIN items i ON i.sku = t.sku GROUP BY t.sku"),
    "category": (("category",), "category",
                 "SELECT category, SUM(amount) AS amount, SUM(tax) AS tax, SUM(cost) AS cost"
                 " FROM {items} GROUP BY category"),
}


def profit_report(store: Reads, tz: ZoneInfo, by: str = "day", day_from: str | None = None,
                  day_to: str | None = None, limit: int = 1000,
                  today: dt.date | None = None) -> Table:
    """From the running totals, like sales_report."""
    start, end = day_range(tz, day_from, day_to, today)
    _require_totals(store, tz)
    if by not in _PROFIT_KEYS:
        raise ReportError(f"unknown grouping {by!r}")
    keys, head, grouped = _PROFIT_KEYS[by]
    if by == "day":
        params: list[Any] = [_bd(start), _bd(end)]
    else:
        items, params = Span.of(start, end).rows("totals_items", ITEM_COLS)
        grouped = grouped.format(items=items)
    order = "day" if by == "day" else f"amount - tax - cost DESC, {keys[0]}"
    rows = store.all(
        f"SELECT {head}, amount, tax, amount - tax, cost, amount - tax - cost,"
        f" {_div('(amount - tax - cost) * 10000', 'amount - tax')},"
        f" SUM(amount) OVER (), SUM(tax) OVER (), SUM(cost) OVER ()"
        f" FROM ({grouped}) ORDER BY {order} LIMIT ?", [*params, limit])
    names = (*keys, "amount", "tax", "revenue", "cost", "profit", "margin_bp")
    amount, tax, cost = rows[0][-3:] if rows else (0, 0, 0)
    totals = {"amount": amount, "tax": tax, "revenue": amount - tax, "cost": cost}
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
        [dict(zip(names, r[:-3], strict=True)) for r in rows], totals, start.isoformat(),
        end.isoformat(), str(tz))


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
