"""The sale as the wire carries it (DESIGN §4, extended): `SaleWire`, the reading side of the
sale service (gatewayd/sales/service.py), and the empty sale.

A change builds its wire sale from the rows its transaction just wrote (`_wire_of`); a read
(`get_wire`, `current`, `list_day`, `by_receipt`) goes to the store's read connection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gatewayd.sales.config import SaleConfig
from gatewayd.sales.records import Loaded, unpack_list
from gatewayd.sales.states import ACTIVE
from gatewayd.sales.tenders import (
    Tender,
    TenderError,
    settle,
)
from gatewayd.store import retention
from gatewayd.store.db import Tx
from protocol.codec import unpack

if TYPE_CHECKING:
    from gatewayd.store.db import Store
    from gatewayd.store.reader import Reads
    from gatewayd.till import TillConfig



class SaleWire:
    store: Store
    till: TillConfig
    cfg: SaleConfig

    if TYPE_CHECKING:
        # SaleService.load (gatewayd/sales/service.py); seen by the type checker only.
        @staticmethod
        def load(tx: Tx, sale_id: str, row: Any = None) -> Loaded | None: ...

    def wire(self, sale: Any, lines: list[Any], tenders: list[Any],
             attempt: Any | None = None, settlement: Any = None) -> dict[str, Any]:
        """The sale as DESIGN §4 carries it (extended: net/tax/explain/promo per line, the
        tax breakdown, cash_due, operator, version, payment in progress). `settlement`:
        the tenders already settled against this total, when the caller has it."""
        s = sale
        settlement_cash_due = s["due"]
        try:
            if settlement is None:
                settlement = settle(s["total"], [Tender(t["method"], t["amount"])
                                                 for t in tenders], self.cfg.cash_rounding)
            settlement_cash_due = settlement.cash_due
        except TenderError:
            pass
        out = {
            "id": s["id"],
            "kind": s["kind"],
            "receipt_no": s["receipt_no"],
            "state": s["state"],
            "lines": [
                {
                    "line_id": ln["id"],
                    "sku": ln["sku"],
                    "name": ln["name"],
                    "qty": ln["qty"],
                    "unit": ln["unit"],
                    "unit_price": ln["unit_price"] if ln["unit_price"] is not None
                    else ln["list_price"],
                    "price_override": ln["price_source"],
                    "amount": ln["amount"],
                    "discount": ln["discount"],
                    "net": ln["net"],
                    "tax": ln["tax"],
                    "tax_rate_bp": ln["tax_rate_bp"],
                    "voided": bool(ln["voided"]),
                    "promo": unpack_list(ln["promos"]),
                    "explain": unpack_list(ln["explain"]),
                }
                for ln in lines
            ],
            "member": s["member"],
            "subtotal": s["subtotal"],
            "discount": s["discount"],
            "total": s["total"],
            "tax": unpack(s["tax"]) if s["tax"] else [],
            "tax_total": s["tax_total"],
            "tax_mode": self.cfg.tax_mode,
            "explain": unpack(s["explain"]) if s["explain"] else [],
            "rounding": s["rounding"],
            "tenders": [
                {"method": t["method"], "amount": t["amount"],
                 **({"ref": t["ref"]} if t["ref"] is not None else {})}
                for t in tenders
            ],
            "paid": s["paid"],
            "due": s["due"],
            "cash_due": settlement_cash_due if s["state"] in ACTIVE else 0,
            "change": s["change"],
            "operator": s["operator"],
            "business_day": s["business_day"],
            "shift_id": s["shift_id"],
            "refund_of": s["refund_of"],
            "reprints": s["reprints"],
            "void_reason": s["void_reason"],
            "version": s["version"],
            "opened_at": as_utc(s["opened_at"]),
            "completed_at": as_utc(s["completed_at"]),
            "payment": None,
        }
        if attempt is not None:
            out["payment"] = {"method": attempt["method"], "amount": attempt["amount"],
                              "state": attempt["state"], "key": attempt["id"]}
        return out

    def wire_from_tx(self, tx: Tx, sale_id: str) -> dict[str, Any]:
        st = self.load(tx, sale_id)
        assert st is not None
        return self._wire_of(tx, st)

    def _wire_of(self, tx: Tx, st: Loaded) -> dict[str, Any]:
        """The wire sale from what this transaction holds in memory (the same rows it just
        wrote: no second read). The crash test compares it with a fresh read after restart."""
        attempt = tx.one(_OPEN_ATTEMPT, (st.sale["id"],))
        return self.wire(st.sale, st.lines, st.tenders, attempt, st.settlement)

    def get_wire(self, sale_id: str) -> dict[str, Any] | None:
        with self.store.snapshot() as store:
            row = store.one("SELECT * FROM sales WHERE id=?", (sale_id,))
            if row is None:
                return None
            lines = store.all("SELECT * FROM sale_lines WHERE sale_id=? ORDER BY pos",
                              (sale_id,))
            tenders = store.all("SELECT * FROM sale_tenders WHERE sale_id=? ORDER BY pos",
                                (sale_id,))
            return self.wire(row, lines, tenders, store.one(_OPEN_ATTEMPT, (sale_id,)))

    def current(self) -> dict[str, Any]:
        """The active sale; else the till's last completed/voided sale (so a checkout keeps
        showing the change until the next scan); else an empty sale with id None."""
        with self.store.snapshot() as store:
            row = store.one(ACTIVE_SALE_SQL, (self.till.till,))
            if row is None:
                row = store.one(LAST_FINISHED_SQL, (self.till.till,))
            if row is None:
                return empty_sale()
            return self.get_wire(row["id"])  # type: ignore[return-value]

    def list_day(self, day: str, limit: int, offset: int,
                 reads: Reads | None = None) -> dict[str, Any]:
        """Summaries of a business day's finished documents, newest first (the back
        office's list; `get_wire` has the whole sale). A day of a busy till is a few
        thousand rows to count and sort: the protocol runs it on a reader thread (`reads`,
        gatewayd/store/reader.py)."""
        store = reads or self.store
        where = "business_day=? AND state IN ('completed', 'voided')"
        count = store.all(f"SELECT COUNT(*) FROM sales WHERE {where}", (day,))[0][0]
        rows = store.all(
            f"SELECT id, receipt_no, kind, state, completed_at, updated_at, operator, total,"
            f" (SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id=s.id AND NOT l.voided)"
            f"  AS items,"
            f" (SELECT group_concat(method, ',') FROM (SELECT DISTINCT method FROM"
            f"  sale_tenders t WHERE t.sale_id=s.id)) AS methods"
            f" FROM sales s WHERE {where}"
            f" ORDER BY COALESCE(completed_at, updated_at) DESC LIMIT ? OFFSET ?",
            (day, limit, offset))
        sales = [{"id": r["id"], "receipt_no": r["receipt_no"], "kind": r["kind"],
                  "state": r["state"], "completed_at": as_utc(r["completed_at"] or r["updated_at"]),
                  "operator": r["operator"], "items": r["items"],
                  "tenders": r["methods"].split(",") if r["methods"] else [],
                  "total": r["total"]} for r in rows]
        return {"day": day, "total_count": count, "sales": sales}

    def by_receipt(self, receipt_no: str) -> dict[str, Any] | None:
        """A live sale, else an archived one (gatewayd/store/retention.py), read where it is."""
        row = self.store.one("SELECT id FROM sales WHERE receipt_no=?", (receipt_no,))
        if row is not None:
            return self.get_wire(row["id"])
        return self.archived_wire(receipt_no)

    def archived_wire(self, receipt_no: str) -> dict[str, Any] | None:
        if self.store.archive_dir is None:
            return None
        bundle = retention.find_sale(self.store.archive_dir, receipt_no=receipt_no)
        if bundle is None:
            return None
        return self.wire(bundle["sales"], bundle["sale_lines"], bundle["sale_tenders"], None)


def empty_sale() -> dict[str, Any]:
    return {"id": None, "kind": "sale", "receipt_no": None, "state": "open", "lines": [],
            "member": None, "subtotal": 0, "discount": 0, "total": 0, "tax": [], "tax_total": 0,
            "explain": [], "rounding": 0, "tenders": [], "paid": 0, "due": 0, "cash_due": 0,
            "change": 0, "operator": None, "version": 0, "payment": None}


def as_utc(us: int | None) -> datetime | None:
    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


# the payment in progress on a sale, if any (the wire sale's `payment`)
# The sale path's reads of "the last" sale: each one indexed row whatever the history
# (0011_sale_path_indexes.sql; tests/store/test_query_plans.py holds them to it).
ACTIVE_SALE_SQL = "SELECT id FROM sales WHERE till=? AND state IN ('open','tendering')"
LAST_FINISHED_SQL = ("SELECT id FROM sales WHERE till=? AND state IN ('completed','voided')"
                     " AND kind='sale' ORDER BY updated_at DESC, rowid DESC LIMIT 1")
LAST_RECEIPT_SQL = ("SELECT receipt_no FROM sales WHERE till=? AND receipt_no IS NOT NULL"
                    " ORDER BY completed_at DESC, rowid DESC LIMIT 1")
_OPEN_ATTEMPT = ("SELECT * FROM payment_attempts WHERE sale_id=? AND state IN"
                 " ('pending','user_paying') ORDER BY n DESC LIMIT 1")
