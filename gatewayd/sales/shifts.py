"""Shifts, cash in/out, the X and Z reports, and the business day (日结 / 反结账).

Functional core (pure, plain dicts in, plain dicts out; property-tested):

    business_day(at_us, tz) -> "YYYYMMDD"                 local date of a moment
    summarize(docs, lines, tenders, moves=(), floats=()) -> dict   the report body
    expected_cash(report) -> int                          float + cash in - cash out

``docs`` are ``sales`` rows (kind ``sale`` or ``refund``; state ``completed`` or ``voided``),
``lines`` their ``sale_lines`` rows, ``tenders`` their ``sale_tenders`` rows, ``moves`` the
``cash_moves`` rows (paid-in > 0, paid-out < 0) and ``floats`` the opening floats. Sign
conventions of the projection: a sale's tenders are positive and cash is *as handed over*
(its change is on the sale row); a refund document's tenders are negative (money out) and
its lines carry positive quantities and amounts (what went back). The report therefore says,
per tender method: ``sales`` (cash net of change), ``refunds`` (money given back, positive)
and ``net = sales - refunds``; per tax rate the same for gross/net/tax; per cashier their
counts and money. Voids are voided sales (never completed) and voided lines of completed
sales; ``post_voids`` are refund documents made by a post-void (void_reason 'post_void').

The service around it (``ShiftService``) does the I/O:

    shift.open {float}          one open shift per till; an operator must be logged in
    shift.cash {amount, reason} signed: amount > 0 is a paid-in, amount < 0 a paid-out
    shift.close {counted}       blind close: the expected cash is only in this result
    report.x {shift_id?}        the open shift so far (supervisor: it shows expected cash)
    report.z {day?}             a business day: as printed at day.close if closed
    day.close {day?}            日结: refuses while a shift, a sale or a refund is open;
                                stamps the day closed, stores and prints the Z report
    day.reopen {day?}           反结账: needs a manager's approval; journaled

A closed day refuses new sales (``sale.add`` opening a sale, ``sale.resume``) and refunds
with ``conflict`` {day, reason: "day_closed"} until it is reopened or the calendar moves to
the next business day. The business day is the local date in ``[till] timezone``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gatewayd.devices import as_drawer
from gatewayd.ids import new_id
from gatewayd.ports import NO_DEVICES, Devices, PrintWaker, Publish
from gatewayd.sales.money import format_yuan
from gatewayd.store.db import Tx
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.sales.config import SaleConfig
    from gatewayd.store.db import Store
    from gatewayd.till import TillConfig

CASH = "cash"
DAY_RE = re.compile(r"^\d{8}$")

Row = Mapping[str, Any]


def _err(code: str, message: str, **details: Any) -> ProtocolError:
    return ProtocolError(code, message, details or None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- functional core
def business_day(at_us: int, tz: tzinfo) -> str:
    """The business day (local date, YYYYMMDD) of a moment in microseconds (UTC)."""
    return datetime.fromtimestamp(at_us / 1e6, tz).strftime("%Y%m%d")


def _add(d: dict[str, int], key: str, amount: int) -> None:
    d[key] = d.get(key, 0) + amount


def summarize(docs: Iterable[Row], lines: Iterable[Row], tenders: Iterable[Row],
              moves: Iterable[Row] = (), floats: Iterable[int] = ()) -> dict[str, Any]:
    """The body of an X or Z report over projection rows (see the module doc)."""
    docs = list(docs)
    by_id = {d["id"]: d for d in docs}
    sales = [d for d in docs if d["kind"] == "sale" and d["state"] == "completed"]
    voided = [d for d in docs if d["kind"] == "sale" and d["state"] == "voided"]
    refunds = [d for d in docs if d["kind"] == "refund" and d["state"] == "completed"]
    post_voids = [d for d in refunds if d.get("void_reason") == "post_void"]
    returns = [d for d in refunds if d.get("void_reason") != "post_void"]

    # tenders: sales in (cash net of change), refunds out
    t_sales: dict[str, int] = {}
    t_refunds: dict[str, int] = {}
    t_count: dict[str, int] = {}
    refund_money: dict[str, int] = {}  # per refund doc
    for t in tenders:
        doc = by_id.get(t["sale_id"])
        if doc is None or doc["state"] != "completed":
            continue
        if doc["kind"] == "sale":
            _add(t_sales, t["method"], t["amount"])
            _add(t_count, t["method"], 1)
        else:
            _add(t_refunds, t["method"], -t["amount"])
            _add(refund_money, doc["id"], -t["amount"])
    for d in sales:
        if d["change"]:
            _add(t_sales, CASH, -d["change"])
    methods = sorted(set(t_sales) | set(t_refunds))
    tender_rows = [{"method": m, "count": t_count.get(m, 0), "sales": t_sales.get(m, 0),
                    "refunds": t_refunds.get(m, 0),
                    "net": t_sales.get(m, 0) - t_refunds.get(m, 0)} for m in methods]

    # tax per rate, over live lines of completed documents
    tax: dict[int, dict[str, int]] = {}
    voided_lines = voided_lines_amount = 0
    for ln in lines:
        doc = by_id.get(ln["sale_id"])
        if doc is None or doc["state"] != "completed":
            continue
        if ln["voided"]:
            if doc["kind"] == "sale":
                voided_lines += 1
                voided_lines_amount += ln["amount"]
            continue
        sign = 1 if doc["kind"] == "sale" else -1
        g = tax.setdefault(ln["tax_rate_bp"], {"sales": 0, "refunds": 0, "net": 0, "tax": 0,
                                               "gross": 0})
        if sign > 0:
            g["sales"] += ln["gross"]
        else:
            g["refunds"] += ln["gross"]
        g["gross"] += sign * ln["gross"]
        g["net"] += sign * ln["net"]
        g["tax"] += sign * ln["tax"]
    tax_rows = [{"rate_bp": r, **tax[r]} for r in sorted(tax)]

    # per cashier
    cashiers: dict[str, dict[str, int]] = {}

    def cashier(op: str | None) -> dict[str, int]:
        return cashiers.setdefault(op or "-", {"sales": 0, "sales_total": 0, "refunds": 0,
                                               "refunds_total": 0, "voids": 0})

    for d in sales:
        c = cashier(d["operator"])
        c["sales"] += 1
        c["sales_total"] += d["total"] - d["rounding"]
    for d in refunds:
        c = cashier(d["operator"])
        c["refunds"] += 1
        c["refunds_total"] += refund_money.get(d["id"], 0)
    for d in voided:
        cashier(d["operator"])["voids"] += 1
    cashier_rows = [{"operator": op, **cashiers[op]} for op in sorted(cashiers)]

    numbered = sorted((d for d in sales if d.get("receipt_n") is not None),
                      key=lambda d: d["receipt_n"])
    refund_nos = sorted((d for d in refunds if d.get("receipt_n") is not None),
                        key=lambda d: d["receipt_n"])
    cash_in = t_sales.get(CASH, 0)
    cash_out = t_refunds.get(CASH, 0)
    moves = list(moves)
    paid_in = sum(m["amount"] for m in moves if m["amount"] > 0)
    paid_out = -sum(m["amount"] for m in moves if m["amount"] < 0)
    float_total = sum(floats)
    sales_total = sum(d["total"] for d in sales)
    rounding = sum(d["rounding"] for d in sales)
    refunds_total = sum(refund_money.get(d["id"], 0) for d in returns)
    post_void_total = sum(refund_money.get(d["id"], 0) for d in post_voids)
    return {
        "sales": {"count": len(sales), "total": sales_total, "rounding": rounding,
                  "collected": sales_total - rounding,
                  "subtotal": sum(d["subtotal"] for d in sales)},
        "refunds": {"count": len(returns), "total": refunds_total},
        "post_voids": {"count": len(post_voids), "total": post_void_total},
        "voids": {"count": len(voided), "total": sum(d["total"] for d in voided),
                  "lines": voided_lines, "lines_amount": voided_lines_amount},
        "discounts": sum(d["discount"] for d in sales),
        "rounding": rounding,
        "net": sales_total - rounding - refunds_total - post_void_total,
        "tenders": tender_rows,
        "tax": tax_rows,
        "cashiers": cashier_rows,
        "first_receipt": numbered[0]["receipt_no"] if numbered else None,
        "last_receipt": numbered[-1]["receipt_no"] if numbered else None,
        "first_refund": refund_nos[0]["receipt_no"] if refund_nos else None,
        "last_refund": refund_nos[-1]["receipt_no"] if refund_nos else None,
        "cash": {"float": float_total, "sales": cash_in, "refunds": cash_out,
                 "paid_in": paid_in, "paid_out": paid_out,
                 "expected": float_total + cash_in - cash_out + paid_in - paid_out},
    }


def expected_cash(report: Mapping[str, Any]) -> int:
    return report["cash"]["expected"]


def report_document(title: str, report: Mapping[str, Any], header: list[str]) -> list[dict]:
    """A printable report (drivers/printer/receipt.py item dicts)."""
    doc: list[dict[str, Any]] = []

    def text(t: str, **kw: Any) -> None:
        doc.append({"type": "text", "text": t, **kw})

    def cols(left: str, right: str, **kw: Any) -> None:
        doc.append({"type": "columns", "left": left, "right": right, **kw})

    text(title, align="center", bold=True, double_width=True)
    for h in header:
        text(h)
    doc.append({"type": "rule", "char": "="})
    s = report["sales"]
    cols(f"销售 Sales ({s['count']})", format_yuan(s["total"]))
    cols("抹零 Rounding", f"-{format_yuan(report['rounding'])}")
    cols("优惠 Discounts", format_yuan(report["discounts"]))
    r = report["refunds"]
    cols(f"退货 Refunds ({r['count']})", f"-{format_yuan(r['total'])}")
    pv = report["post_voids"]
    if pv["count"]:
        cols(f"撤销 Post-voids ({pv['count']})", f"-{format_yuan(pv['total'])}")
    v = report["voids"]
    cols(f"作废 Voids ({v['count']})", format_yuan(v["total"]))
    cols(f"删行 Voided lines ({v['lines']})", format_yuan(v["lines_amount"]))
    cols("净额 Net", format_yuan(report["net"]), bold=True)
    doc.append({"type": "rule", "char": "-"})
    text("按支付方式 By tender")
    for t in report["tenders"]:
        cols(f"  {t['method']} ({t['count']})", format_yuan(t["net"]))
        if t["refunds"]:
            cols("    退 refunds", f"-{format_yuan(t['refunds'])}")
    text("按税率 By tax rate")
    for t in report["tax"]:
        cols(f"  {t['rate_bp'] / 100:g}%  tax {format_yuan(t['tax'])}", format_yuan(t["gross"]))
    text("按收银员 By cashier")
    for c in report["cashiers"]:
        cols(f"  {c['operator']} ({c['sales']}/{c['refunds']})",
             format_yuan(c["sales_total"] - c["refunds_total"]))
    doc.append({"type": "rule", "char": "-"})
    c = report["cash"]
    cols("备用金 Float", format_yuan(c["float"]))
    cols("现金收入 Cash in", format_yuan(c["sales"]))
    cols("现金退款 Cash refunds", f"-{format_yuan(c['refunds'])}")
    cols("存入 Paid in", format_yuan(c["paid_in"]))
    cols("支出 Paid out", f"-{format_yuan(c['paid_out'])}")
    cols("应有现金 Expected", format_yuan(c["expected"]), bold=True)
    doc.append({"type": "rule", "char": "-"})
    text(f"首单 First: {report['first_receipt'] or '-'}")
    text(f"末单 Last:  {report['last_receipt'] or '-'}")
    if report.get("first_refund"):
        text(f"退货单 Refunds: {report['first_refund']} .. {report['last_refund']}")
    doc.append({"type": "feed", "n": 3})
    doc.append({"type": "cut"})
    return doc


# ---------------------------------------------------------------------- reading rows
def _rows(src: Any, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    if isinstance(src, Tx):
        return [dict(r) for r in src.execute(sql, params).fetchall()]
    return [dict(r) for r in src.all(sql, params)]


def _one(src: Any, sql: str, params: Any = ()) -> dict[str, Any] | None:
    rows = _rows(src, sql, params)
    return rows[0] if rows else None


_DOC_COLS = ("s.id, s.kind, s.state, s.receipt_no, s.receipt_n, s.operator, s.subtotal,"
             " s.discount, s.total, s.rounding, s.change, s.void_reason")


def collect_day(src: Any, day: str) -> dict[str, Any]:
    where = "s.business_day=? AND s.state IN ('completed','voided')"
    docs = _rows(src, f"SELECT {_DOC_COLS} FROM sales s WHERE {where}", (day,))
    lines = _rows(src, "SELECT l.sale_id, l.tax_rate_bp, l.amount, l.net, l.tax, l.gross,"
                  f" l.voided FROM sale_lines l JOIN sales s ON s.id=l.sale_id WHERE {where}",
                  (day,))
    tenders = _rows(src, "SELECT t.sale_id, t.method, t.amount FROM sale_tenders t JOIN sales s"
                    f" ON s.id=t.sale_id WHERE {where}", (day,))
    moves = _rows(src, "SELECT amount FROM cash_moves WHERE business_day=?", (day,))
    floats = [r["float"] for r in _rows(src, "SELECT float FROM shifts WHERE business_day=?",
                                        (day,))]
    return summarize(docs, lines, tenders, moves, floats)


def collect_shift(src: Any, shift: Mapping[str, Any]) -> dict[str, Any]:
    where = "s.shift_id=? AND s.state IN ('completed','voided')"
    sid = shift["id"]
    docs = _rows(src, f"SELECT {_DOC_COLS} FROM sales s WHERE {where}", (sid,))
    lines = _rows(src, "SELECT l.sale_id, l.tax_rate_bp, l.amount, l.net, l.tax, l.gross,"
                  f" l.voided FROM sale_lines l JOIN sales s ON s.id=l.sale_id WHERE {where}",
                  (sid,))
    tenders = _rows(src, "SELECT t.sale_id, t.method, t.amount FROM sale_tenders t JOIN sales s"
                    f" ON s.id=t.sale_id WHERE {where}", (sid,))
    moves = _rows(src, "SELECT amount FROM cash_moves WHERE shift_id=?", (sid,))
    return summarize(docs, lines, tenders, moves, [shift["float"]])


def _shift_wire(row: Mapping[str, Any], *, reveal: bool) -> dict[str, Any]:
    out = {"id": row["id"], "operator": row["operator"], "business_day": row["business_day"],
           "state": row["state"], "float": row["float"], "opened_at": _ts(row["opened_at"]),
           "closed_at": _ts(row["closed_at"])}
    if reveal:
        out.update(counted=row["counted"], expected=row["expected"], variance=row["variance"],
                   closed_by=row["closed_by"])
    return out


def _ts(us: int | None) -> datetime | None:
    from datetime import UTC

    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


# ---------------------------------------------------------------------- the service
class ShiftService:
    """Shifts, cash and the business day of a till, on its store. `sale` is the till's
    `[sale]` section (the printer and drawer it names); `devices` and `printing` the
    till's devices and print queue. A sale participant (parts.py): a voided sale is
    stamped with the open shift; its business day and open guard are in the sale's
    policy."""

    name = "shifts"

    def __init__(self, store: Store, till: TillConfig, sale: SaleConfig, *, publish: Publish,
                 devices: Devices = NO_DEVICES, printing: PrintWaker | None = None):
        self.store = store
        self.till = till
        self.sale_config = sale
        self.publish = publish
        self.devices = devices
        self.printing = printing
        self.tz = ZoneInfo(self.till.timezone)

    # -- hooks into the sale service ---------------------------------------------------
    def today(self, tx: Tx | None = None) -> str:
        from gatewayd.store.db import now_us

        return business_day(tx.at if tx is not None else now_us(), self.tz)

    def day_closed(self, src: Any, day: str) -> bool:
        row = _one(src, "SELECT state FROM business_days WHERE day=?", (day,))
        return row is not None and row["state"] == "closed"

    def ensure_day_open(self, tx: Tx) -> str:
        """The business day of `tx`, or `conflict` when it has been closed (日结)."""
        day = self.today(tx)
        if self.day_closed(tx, day):
            raise _err("conflict", f"business day {day} is closed (日结): reopen it with "
                       "day.reopen, or sell again on the next business day",
                       day=day, reason="day_closed")
        return day

    def open_shift(self, src: Any) -> dict[str, Any] | None:
        return _one(src, "SELECT * FROM shifts WHERE till=? AND state='open'", (self.till.till,))

    def current(self) -> dict[str, Any]:
        """The open shift (its counts not revealed) and today's business day."""
        row = self.open_shift(self.store)
        return {"shift": _shift_wire(row, reveal=False) if row else None,
                "day": self.day_state(self.store, self.today())}

    def shift_of(self, tx: Tx, operator: str | None) -> str | None:
        row = self.open_shift(tx)
        return row["id"] if row else None

    def ensure_shift_open(self, tx: Tx) -> None:
        """A sale is paid (and so completed) only in an open shift, so its cash is in a
        shift's blind close (`[sale] require_shift`, on unless the site turns it off)."""
        if self.sale_config.require_shift and self.open_shift(tx) is None:
            raise _err("conflict", "no shift is open on this till: open one (shift.open with "
                       "the float in the drawer) before taking payment", reason="no_shift")

    # -- a sale participant: completions and refunds take their shift from the policy ----
    def on_complete(self, tx: Tx, wire: dict[str, Any]) -> None:
        """The sale stamps its own shift and business day (SalePolicy.shift_of)."""

    def on_refund(self, tx: Tx, wire: dict[str, Any]) -> None:
        """The returns service stamps the refund's shift (SalePolicy.shift_of)."""

    def on_void(self, tx: Tx, wire: dict[str, Any]) -> None:
        """A voided sale counts in the open shift's X report."""
        sid = self.shift_of(tx, None)
        if sid is not None and wire.get("id"):
            tx.execute("UPDATE sales SET shift_id=? WHERE id=? AND shift_id IS NULL",
                       (sid, wire["id"]))

    # -- shifts ------------------------------------------------------------------------
    async def open(self, operator: str, float_: int) -> dict[str, Any]:
        if float_ < 0:
            raise _err("invalid_params", "the float must be >= 0", field="float")

        def fn(tx: Tx) -> dict[str, Any]:
            day = self.ensure_day_open(tx)
            cur = self.open_shift(tx)
            if cur is not None:
                raise _err("conflict", f"a shift is already open on this till (by "
                           f"{cur['operator']}); close it first", shift_id=cur["id"])
            sid = new_id()
            tx.execute("INSERT INTO shifts(id, till, operator, business_day, state, float,"
                       " opened_at) VALUES (?,?,?,?, 'open', ?, ?)",
                       (sid, self.till.till, operator, day, float_, tx.at))
            tx.append("shift.opened", {"shift_id": sid, "till": self.till.till,
                                       "operator": operator, "business_day": day,
                                       "float": float_})
            return _shift_wire(self.open_shift(tx), reveal=False)  # type: ignore[arg-type]

        wire, _ = await self.store.write(fn)
        self.publish("shift.opened", wire)
        await self._drawer("float", wire["id"], operator)
        return wire

    def _cash_move(self, tx: Tx, cur: Any, amount: int, reason: str,
                   operator: str | None) -> dict[str, Any]:
        mid = new_id()
        tx.execute("INSERT INTO cash_moves(id, shift_id, business_day, amount, reason,"
                   " operator, at) VALUES (?,?,?,?,?,?,?)",
                   (mid, cur["id"], cur["business_day"], amount, reason, operator, tx.at))
        kind = "paid_in" if amount > 0 else "paid_out"
        tx.append("shift.cash", {"id": mid, "shift_id": cur["id"], "kind": kind,
                                 "amount": amount, "reason": reason, "operator": operator,
                                 "business_day": cur["business_day"], "today": self.today(tx)})
        return {"id": mid, "shift_id": cur["id"], "kind": kind, "amount": amount,
                "reason": reason}

    def cash_taken(self, tx: Tx, amount: int, reason: str,
                   operator: str | None) -> dict[str, Any] | None:
        """Cash put in the drawer outside a sale (a member's top-up): a paid-in of the open
        shift, inside the caller's transaction, so the blind close expects it. None when no
        shift is open."""
        cur = self.open_shift(tx)
        return None if cur is None else self._cash_move(tx, cur, amount, reason, operator)

    async def cash(self, operator: str, amount: int, reason: str) -> dict[str, Any]:
        if amount == 0:
            raise _err("invalid_params", "amount must not be 0 (> 0 paid in, < 0 paid out)",
                       field="amount")
        if not reason.strip():
            raise _err("invalid_params", "a paid-in/out needs a reason", field="reason")

        def fn(tx: Tx) -> dict[str, Any]:
            cur = self.open_shift(tx)
            if cur is None:
                raise _err("conflict", "no shift is open: shift.open first")
            return self._cash_move(tx, cur, amount, reason, operator)

        out, _ = await self.store.write(fn)
        self.publish("shift.cash", out)
        await self._drawer(out["kind"], out["shift_id"], operator)
        return out

    async def close(self, operator: str, counted: int) -> dict[str, Any]:
        if counted < 0:
            raise _err("invalid_params", "counted must be >= 0", field="counted")

        def fn(tx: Tx) -> dict[str, Any]:
            cur = self.open_shift(tx)
            if cur is None:
                raise _err("conflict", "no shift is open")
            self._no_open_sale(tx, "close the shift")
            report = collect_shift(tx, cur)
            expected = expected_cash(report)
            variance = counted - expected
            tx.execute("UPDATE shifts SET state='closed', counted=?, expected=?, variance=?,"
                       " closed_by=?, closed_at=? WHERE id=?",
                       (counted, expected, variance, operator, tx.at, cur["id"]))
            tx.append("shift.closed", {"shift_id": cur["id"], "operator": operator,
                                       "counted": counted, "expected": expected,
                                       "variance": variance, "report": report})
            row = dict(tx.row("SELECT * FROM shifts WHERE id=?", (cur["id"],)))
            job = self._print(tx, "交班报表 SHIFT REPORT", report, [
                f"班次 Shift {cur['id'][:8]}  收银员 {cur['operator']}",
                f"实点 Counted {format_yuan(counted)}  差额 Variance {format_yuan(variance)}"],
                kind="shift_report", ref=cur["id"])
            return {**_shift_wire(row, reveal=True), "report": report, "job_id": job}

        out, _ = await self.store.write(fn)
        self.publish("shift.closed", {k: v for k, v in out.items() if k != "report"})
        self._wake_printer()
        return out

    def report_x(self, shift_id: str | None) -> dict[str, Any]:
        store = self.store
        if shift_id is None:
            row = self.open_shift(store)
            if row is None:
                raise _err("conflict", "no shift is open (give shift_id for a closed one)")
        else:
            row = _one(store, "SELECT * FROM shifts WHERE id=?", (shift_id,))
            if row is None:
                raise _err("not_found", f"no shift {shift_id}")
        return {"shift": _shift_wire(row, reveal=row["state"] == "closed"),
                **collect_shift(store, row)}

    # -- the day -----------------------------------------------------------------------
    def _day(self, day: str | None) -> str:
        if day is None:
            return self.today()
        if not DAY_RE.match(day):
            raise _err("invalid_params", "day is YYYYMMDD", field="day")
        try:
            datetime.strptime(day, "%Y%m%d")
        except ValueError:
            raise _err("invalid_params", f"{day} is not a date", field="day") from None
        return day

    def day_state(self, src: Any, day: str) -> dict[str, Any]:
        row = _one(src, "SELECT * FROM business_days WHERE day=?", (day,))
        if row is None:
            return {"day": day, "state": "open", "closes": 0}
        return {"day": day, "state": row["state"], "closes": row["closes"],
                "closed_at": _ts(row["closed_at"]), "closed_by": row["closed_by"],
                "reopened_at": _ts(row["reopened_at"]), "reopened_by": row["reopened_by"]}

    def report_z(self, day: str | None) -> dict[str, Any]:
        day = self._day(day)
        store = self.store
        row = _one(store, "SELECT state, z FROM business_days WHERE day=?", (day,))
        if row is not None and row["state"] == "closed" and row["z"] is not None:
            return {**unpack(row["z"]), **self.day_state(store, day)}
        return {"day": day, **collect_day(store, day), **self.day_state(store, day)}

    def _no_open_sale(self, tx: Tx, what: str) -> None:
        sale = _one(tx, "SELECT id, state FROM sales WHERE till=? AND state IN "
                    "('open','tendering')", (self.till.till,))
        if sale is not None:
            raise _err("conflict", f"a sale is open: finish, suspend or void it to {what}",
                       sale_id=sale["id"], reason="sale_open")
        pending = _one(tx, "SELECT id FROM pending_refunds WHERE state='pending'")
        if pending is not None:
            raise _err("conflict", f"a refund is in progress: retry it to finish it, then "
                       f"{what}", refund_id=pending["id"], reason="refund_pending")

    async def close_day(self, operator: str | None, day: str | None) -> dict[str, Any]:
        day = self._day(day)

        def fn(tx: Tx) -> dict[str, Any]:
            if day > self.today(tx):
                raise _err("invalid_params", f"{day} has not begun yet", field="day")
            if self.day_closed(tx, day):
                raise _err("conflict", f"business day {day} is already closed", day=day)
            cur = self.open_shift(tx)
            if cur is not None:
                raise _err("conflict", "a shift is open: close it (shift.close) before the "
                           "day close", shift_id=cur["id"], reason="shift_open")
            self._no_open_sale(tx, "close the day")
            report = {"day": day, **collect_day(tx, day)}
            tx.execute("INSERT INTO business_days(day, state, closed_at, closed_by, closes, z)"
                       " VALUES (?, 'closed', ?, ?, 1, ?) ON CONFLICT(day) DO UPDATE SET"
                       " state='closed', closed_at=excluded.closed_at,"
                       " closed_by=excluded.closed_by, closes=closes+1, z=excluded.z",
                       (day, tx.at, operator, pack(report)))
            state = self.day_state(tx, day)
            tx.append("day.closed", {"day": day, "operator": operator,
                                     "closes": state["closes"], "z": report})
            job = self._print(tx, "日结报表 Z REPORT", report, [
                f"门店 {self.till.store}  收银台 {self.till.till}",
                f"营业日 Day {day}" + (f"  第{state['closes']}次" if state["closes"] > 1
                                       else "")], kind="z_report", ref=day)
            return {**report, **state, "job_id": job}

        out, _ = await self.store.write(fn)
        self.publish("day.closed", {"day": day, "closes": out["closes"], "net": out["net"],
                                     "job_id": out["job_id"]})
        self._wake_printer()
        return out

    async def reopen_day(self, operator: str | None, approver: str | None,
                         day: str | None) -> dict[str, Any]:
        """Reopen a closed day. `approver` is the manager who reopens it (recorded as
        `reopened_by`); `operator` is who asked."""
        day = self._day(day)

        def fn(tx: Tx) -> dict[str, Any]:
            if not self.day_closed(tx, day):
                raise _err("conflict", f"business day {day} is not closed", day=day)
            tx.execute("UPDATE business_days SET state='open', reopened_at=?, reopened_by=?,"
                       " approver=? WHERE day=?", (tx.at, approver, approver, day))
            tx.append("day.reopened", {"day": day, "operator": operator, "approver": approver,
                                       "reopened_by": approver})
            return self.day_state(tx, day)

        out, _ = await self.store.write(fn)
        self.publish("day.reopened", {"day": day, "approver": approver})
        return out

    # -- effects -----------------------------------------------------------------------
    def _printer(self) -> str | None:
        wanted = self.sale_config.printer
        printers = self.devices.of_kind("printer")
        return wanted or (printers[0].info.id if printers else None)

    def _print(self, tx: Tx, title: str, report: dict[str, Any], header: list[str], *,
               kind: str, ref: str) -> str | None:
        printer = self._printer()
        if printer is None:
            return None
        from gatewayd import printing

        return printing.enqueue(tx, printer, report_document(title, report, header),
                                kind=kind, ref=ref)

    def _wake_printer(self) -> None:
        if self.printing is not None:
            self.printing.wake()

    async def _drawer(self, reason: str, ref: str, operator: str | None) -> None:
        await open_drawer(self.devices, self.store, self.sale_config.drawer, reason, operator,
                          {"shift_id": ref})


async def open_drawer(devices: Devices, store: Store, wanted: str | None, reason: str,
                      operator: str | None, extra: dict[str, Any]) -> bool:
    """Open the till's drawer, `wanted` or the first (best effort: an offline drawer is
    journaled, not raised)."""
    found = devices.of_kind("drawer")
    if wanted is not None:
        found = [d for d in found if d.info.id == wanted]
    if not found:
        return False
    dev = as_drawer(found[0])
    error = None
    try:
        await dev.open()
    except Exception as exc:  # the money moved; the journal says the drawer failed
        error = str(exc) or type(exc).__name__
    await store.write(lambda tx: tx.append("drawer.opened", {
        "device": dev.info.id, "reason": reason, "operator": operator, "error": error,
        **extra}))
    return error is None

