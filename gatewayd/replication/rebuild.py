"""A till's tables rebuilt from its journal alone (`gatewayd restore --from-hq`).

The journal is verbatim what head office holds (seqs 1..acked_seq); this module derives the
projections from it, event by event, in seq order, inside one transaction on the staged store:

    sales, lines, tenders    sale.* (lines from the item each line_added carries, schema 7;
                             completed figures from sale.completed), refunds (sale.refunded
                             with its refund.started plan)
    receipt/refund counters  the highest number restored per business day: numbering goes on
    shifts, cash, days       shift.opened / shift.cash / shift.closed, day.closed / reopened
    stock                    every event with `moves` (on_hand, cost and average carried by
                             the move, schema 7), thresholds, documents and their counters
    members                  member.registered (phone and QR token, schema 7) / updated, the
                             points and balance moves (checked by ledger.replay), point lots
                             (ledger.lots_moved, by the [members] rules the live till used:
                             the file's under head office's central settings, which the
                             restore put in the store), purchases, tiers, coupons
    print jobs               print.queued (its document, schema 7) and what became of it
    operators, promotions    operator.added (PIN hash, schema 7), promo.upserted, vouchers

Then `finish` builds the till's own services on the staged store (gatewayd.app.App): its
running totals build themselves from the restored sales, and every sale left open, paying,
suspended or voided is priced by the sale service's own `_reprice`. What the journal does not
hold (the catalog, client tokens, events of older schemas missing a field, provider payments
in flight) is listed in the report, never dropped silently. Events only audited (logins,
drawer opens, device alerts) stay in the journal and change no table.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.config import Config
from gatewayd.members import ledger
from gatewayd.replication.central import CentralSettings
from gatewayd.sales.catalog.repository import write_rows
from gatewayd.sales.catalog.validation import ItemIn
from gatewayd.store.db import JournalEvent, Store, Tx
from protocol import journal
from protocol.codec import pack, unpack

PAGE = 5000
# Kinds that are an audit record only: they stay in the journal and no table derives from them
AUDIT_ONLY = frozenset({
    "auth.login", "auth.logout", "auth.login.failed", "auth.approval.failed", "auth.flood",
    "auth.locked", "auth.approved", "auth.denied", "drawer.opened", "alert.raised",
    "pair.requested", "pair.approved", "pair.denied", "pair.collected", "hq.enrolled",
    "stock.low", "member.reward", "store.restored",
})
PAYMENT_DONE = ("payment.approved", "payment.declined", "payment.cancelled", "payment.failed",
                "payment.reversed")


@dataclass
class Report:
    """What the rebuild restored (counts) and what it could not (sentences)."""

    restored: Counter = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)


def _events(tx: Tx) -> Iterator[JournalEvent]:
    after = 0
    while True:
        rows = tx.execute("SELECT seq, at, kind, data FROM journal WHERE seq > ? ORDER BY seq"
                          " LIMIT ?", (after, PAGE)).fetchall()
        if not rows:
            return
        for r in rows:
            yield JournalEvent(r["seq"], r["at"], r["kind"], unpack(r["data"]))
        after = rows[-1]["seq"]


class Rebuild:
    """Applies the journal's events to the empty tables of the staged store."""

    def __init__(self, tx: Tx, cfg: Config):
        self.tx = tx
        self.cfg = cfg
        # the [members] rules the live till used: the file's with head office's central
        # settings laid over them (the restore put them in the store: they are not journaled)
        central = CentralSettings(None, cfg.sale, cfg.members)
        central.lay(tx.execute("SELECT kind, key, value FROM central_settings").fetchall())
        self.members_cfg = central.members
        self.tz = ZoneInfo(cfg.till.timezone)
        self.report = Report()
        self.versions: dict[str, int] = {}  # sale id -> version at its last event
        self.open_shift: str | None = None
        self.cached_members: set[str] = set()
        self.master_version = 0
        self.master_batches = 0
        self.line_pos: dict[str, int] = defaultdict(int)
        self.tender_pos: dict[str, int] = defaultdict(int)
        self.no_item: set[str] = set()  # sales with a line from before schema 7
        self.old_completed = 0
        self.refund_plans: dict[str, tuple[int, dict[str, Any]]] = {}  # id -> (at, started)
        self.payments: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # id -> name
        self.old_operators: list[str] = []
        self.old_jobs: list[str] = []
        self.coupons_unlisted = 0
        self.catalog_skus: set[str] = set()
        self.catalog_upserts = 0  # catalog writes from before schema 7 (no items)
        self.catalog_items = 0  # items of the catalog write under way
        self.unknown: Counter = Counter()
        self.member_events: list[JournalEvent] = []
        # on_sale_line_added handles sale.line_added: the kind's dots and underscores
        self.handlers = {kind: getattr(self, "on_" + kind.replace(".", "_"))
                         for kind in journal.EVENTS
                         if hasattr(self, "on_" + kind.replace(".", "_"))}

    def run(self) -> Report:
        n = 0
        for ev in _events(self.tx):
            n += 1
            handler = self.handlers.get(ev.kind)
            if handler is not None:
                handler(ev)
            elif ev.kind not in AUDIT_ONLY:
                self.unknown[ev.kind] += 1
        self.report.restored["events"] = n
        for rid, (at, started) in self.refund_plans.items():  # retried, it goes on (same keys)
            self.x("INSERT INTO pending_refunds(id, sale_id, plan, state, operator, created_at,"
                   " updated_at) VALUES (?,?,?, 'pending', ?,?,?)",
                   (rid, started["sale_id"], pack(started["plan"]), started["operator"], at,
                    at))
            self.report.missing.append(
                f"refund {rid} of receipt {started['receipt_no']} was under way (not every "
                "provider refund approved): ask for it again with the same lines to finish it")
        self.tx.executemany("UPDATE sales SET version = ? WHERE id = ?",
                            [(v, sid) for sid, v in self.versions.items()])
        self._counters()
        self._members_checked()
        self._missing()
        return self.report

    def x(self, sql: str, params: Any = ()) -> Any:
        return self.tx.execute(sql, params)

    # -- sales ------------------------------------------------------------------------------
    def _version(self, d: dict[str, Any]) -> None:
        if d.get("version") is not None:
            self.versions[d["sale_id"]] = d["version"]

    def on_sale_opened(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO sales(id, till, state, operator, opened_at, updated_at)"
               " VALUES (?,?, 'open', ?,?,?)", (d["sale_id"], d["till"], d["operator"],
                                                ev.at, ev.at))
        self.versions[d["sale_id"]] = 0

    def on_sale_line_added(self, ev: JournalEvent) -> None:
        d = ev.data
        item = d.get("item")
        self._version(d)
        if item is None:
            self.no_item.add(d["sale_id"])
            return
        pos = self.line_pos[d["sale_id"]]
        self.line_pos[d["sale_id"]] += 1
        self.x("INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
               " member_price, tax_rate_bp, category, barcode, source, qty, unit_price,"
               " price_source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (d["line_id"], d["sale_id"], pos, d["sku"], item["name"], item["unit"],
                item["list_price"], item["member_price"], item["tax_rate_bp"],
                item["category"], d["barcode"], d["source"], d["qty"], d["unit_price"],
                "label" if d["unit_price"] is not None else None))

    def on_sale_qty_set(self, ev: JournalEvent) -> None:
        self._version(ev.data)
        self.x("UPDATE sale_lines SET qty=? WHERE id=?", (ev.data["qty"], ev.data["line_id"]))

    def on_sale_line_voided(self, ev: JournalEvent) -> None:
        self._version(ev.data)
        self.x("UPDATE sale_lines SET voided=1 WHERE id=?", (ev.data["line_id"],))

    def on_sale_discount(self, ev: JournalEvent) -> None:
        d = ev.data
        self._version(d)
        clear = d["percent_bp"] == 0 or d["amount"] == 0
        values = (None, None, None) if clear else (d["percent_bp"], d["amount"], d["reason"])
        if d["line_id"] is not None:
            self.x("UPDATE sale_lines SET disc_bp=?, disc_amount=?, disc_reason=? WHERE id=?",
                   (*values, d["line_id"]))
        else:
            self.x("UPDATE sales SET order_disc_bp=?, order_disc_amount=?, order_disc_reason=?"
                   " WHERE id=?", (*values, d["sale_id"]))

    def on_sale_price_overridden(self, ev: JournalEvent) -> None:
        self._version(ev.data)
        self.x("UPDATE sale_lines SET unit_price=?, price_source='override' WHERE id=?",
               (ev.data["unit_price"], ev.data["line_id"]))

    def on_sale_member(self, ev: JournalEvent) -> None:
        self.x("UPDATE sales SET member=? WHERE id=?", (ev.data["member"], ev.data["sale_id"]))

    def on_sale_suspended(self, ev: JournalEvent) -> None:
        self._version(ev.data)
        self.x("UPDATE sales SET state='suspended', updated_at=? WHERE id=?",
               (ev.at, ev.data["sale_id"]))

    def on_sale_resumed(self, ev: JournalEvent) -> None:
        self._version(ev.data)
        self.x("UPDATE sales SET state='open', updated_at=? WHERE id=?",
               (ev.at, ev.data["sale_id"]))

    def on_sale_tendered(self, ev: JournalEvent) -> None:
        d = ev.data
        self._version(d)
        pos = self.tender_pos[d["sale_id"]]
        self.tender_pos[d["sale_id"]] += 1
        self.x("INSERT INTO sale_tenders(id, sale_id, pos, method, amount, ref, attempt_id,"
               " operator, at) VALUES (?,?,?,?,?,?,?,?,?)",
               (d["tender_id"], d["sale_id"], pos, d["method"], d["amount"], d["ref"],
                d["attempt_id"], d["operator"], ev.at))
        self.x("UPDATE sales SET state='tendering', updated_at=? WHERE id=? AND state='open'",
               (ev.at, d["sale_id"]))

    def on_sale_voided(self, ev: JournalEvent) -> None:
        d = ev.data
        self._version(d)
        # a voided sale counts in the shift open then (as the shifts service stamps it)
        self.x("UPDATE sales SET state='voided', void_reason=?, approver=?, business_day=?,"
               " shift_id=COALESCE(shift_id, ?), updated_at=? WHERE id=?",
               (d["reason"], d.get("approver"), d.get("business_day"), self.open_shift,
                ev.at, d["sale_id"]))

    def on_sale_completed(self, ev: JournalEvent) -> None:
        d = ev.data
        sid = d["sale_id"]
        n = int(d["receipt_no"].rsplit("-", 1)[1])
        self.x("UPDATE sales SET state='completed', receipt_no=?, business_day=?, receipt_n=?,"
               " shift_id=?, operator=?, subtotal=?, discount=?, total=?, tax_total=?, tax=?,"
               " rounding=?, paid=?, due=0, change=?, completed_at=?, updated_at=? WHERE id=?",
               (d["receipt_no"], d["business_day"], n, d["shift_id"], d["operator"],
                d["subtotal"], d["discount"], d["total"], sum(t["tax"] for t in d["tax"]),
                pack(d["tax"]), d["rounding"], d["paid"], d["change"], ev.at, ev.at, sid))
        complete = all(ln.get("gross") is not None for ln in d["lines"])
        if not complete:
            self.old_completed += 1
        for ln in [*d["lines"], *(d.get("voided_lines") or [])]:
            self._completed_line(sid, ln)
        if self.tender_pos[sid] == 0:  # no sale.tendered seen (an older journal): the totals'
            for t in d["tenders"]:
                self.tender_pos[sid] += 1
                self.x("INSERT INTO sale_tenders(id, sale_id, pos, method, amount, ref, at)"
                       " VALUES (?,?,?,?,?,?,?)", (f"{sid}:t{self.tender_pos[sid]}", sid,
                                                   self.tender_pos[sid] - 1, t["method"],
                                                   t["amount"], t.get("ref"), ev.at))
        self.x("UPDATE sale_tenders SET shift_id=?, business_day=? WHERE sale_id=?",
               (d["shift_id"], d["business_day"], sid))
        for t in d["tenders"]:
            if t["method"] == "voucher" and t.get("ref"):
                self.x("UPDATE vouchers SET used_sale=?, used_at=? WHERE code=?",
                       (sid, ev.at, t["ref"]))
        self.no_item.discard(sid)  # its lines came from sale.completed (counted just above)
        self.report.restored["sales"] += 1

    def _completed_line(self, sid: str, ln: dict[str, Any]) -> None:
        figures = (ln.get("amount"), ln.get("discount"), ln["net"], ln.get("tax"),
                   ln.get("gross"))
        if ln.get("gross") is None:  # before schema 7: sku, qty and net are all there is
            figures = (ln["net"], 0, ln["net"], 0, ln["net"])
        done = self.x("UPDATE sale_lines SET amount=?, discount=?, net=?, tax=?, gross=?"
                      " WHERE id=?", (*figures, ln["line_id"])).rowcount
        if done:
            return
        pos = self.line_pos[sid]
        self.line_pos[sid] += 1
        self.x("INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
               " member_price, tax_rate_bp, category, qty, unit_price, amount, discount, net,"
               " tax, gross) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (ln["line_id"], sid, pos, ln["sku"], ln.get("name") or ln["sku"],
                ln.get("unit") or "pc", ln.get("list_price") or 0, ln.get("member_price"),
                ln.get("tax_rate_bp") or 0, ln.get("category"), ln["qty"],
                ln.get("unit_price"), *figures))

    def on_receipt_reprinted(self, ev: JournalEvent) -> None:
        self.x("UPDATE sales SET reprints=? WHERE id=?", (ev.data["count"], ev.data["sale_id"]))

    def on_refund_started(self, ev: JournalEvent) -> None:
        self.refund_plans[ev.data["refund_id"]] = (ev.at, ev.data)
        self._refund_attempts(ev, ev.data["sale_id"], ev.data["plan"])

    def on_sale_refunded(self, ev: JournalEvent) -> None:
        d = ev.data
        rid = d["refund_id"]
        opened_at, started = self.refund_plans.pop(rid, (ev.at, None))
        whole = d.get("plan") or (started["plan"] if started else None)
        plan = whole["lines"] if whole else []
        n = int(d["receipt_no"].rsplit("-R", 1)[1])
        orig = self.tx.one("SELECT member FROM sales WHERE id=?", (d["refund_of"],)) \
            if d["refund_of"] else None
        tax = d.get("tax") or []
        self.x("INSERT INTO sales(id, till, kind, state, receipt_no, business_day, receipt_n,"
               " operator, shift_id, member, refund_of, subtotal, discount, total, tax_total,"
               " tax, rounding, paid, due, change, version, void_reason, approver, opened_at,"
               " updated_at, completed_at) VALUES (?,?, 'refund', 'completed', ?,?,?,?,?,?,?,"
               "?,?,?,?,?,?,?, 0, 0, 1, ?,?,?,?,?)",
               (rid, self.cfg.till.till, d["receipt_no"], d["business_day"], n, d["operator"],
                d["shift_id"], orig["member"] if orig else None, d["refund_of"],
                sum(x["amount"] for x in plan), sum(x["discount"] for x in plan), d["total"],
                sum(x["tax"] for x in plan), pack(tax), d["total"] - d["money"], d["money"],
                d["reason"], d["approver"], opened_at, ev.at, ev.at))
        if whole is None or not tax:
            self.report.missing.append(
                f"refund {d['receipt_no']}: restored from its totals only (its plan or tax "
                "split is not in the journal)")
        for pos, (ln, x) in enumerate(zip(d["lines"], plan or [None] * len(d["lines"]),
                                          strict=True)):
            x = x or {"name": ln["sku"], "unit": "pc", "list_price": 0, "member_price": None,
                      "tax_rate_bp": 0, "category": None, "unit_price": 0,
                      "amount": ln["gross"], "discount": 0, "net": ln["gross"], "tax": 0}
            self.x("INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
                   " member_price, tax_rate_bp, category, source, qty, unit_price, amount,"
                   " discount, net, tax, gross, orig_line_id) VALUES (?,?,?,?,?,?,?,?,?,?,"
                   " 'return', ?,?,?,?,?,?,?,?)",
                   (ln["line_id"], rid, pos, ln["sku"], x["name"], x["unit"], x["list_price"],
                    x["member_price"], x["tax_rate_bp"], x["category"], ln["qty"],
                    x["unit_price"], x["amount"], x["discount"], x["net"], x["tax"],
                    ln["gross"], ln["orig_line_id"]))
            if ln["orig_line_id"] is not None:
                self.x("UPDATE sale_lines SET returned_qty=returned_qty+? WHERE id=?",
                       (ln["qty"], ln["orig_line_id"]))
        for pos, t in enumerate(d["tenders"]):
            self.x("INSERT INTO sale_tenders(id, sale_id, pos, method, amount, ref, operator,"
                   " shift_id, business_day, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (f"{rid}:t{pos}", rid, pos, t["method"], t["amount"], t.get("ref"),
                    d["operator"], d["shift_id"], d["business_day"], ev.at))
        for v in d["vouchers"]:
            self.x("INSERT INTO vouchers(code, amount, created_at) VALUES (?,?,?)",
                   (v["code"], v["amount"], ev.at))
        if whole is not None and d["refund_of"] is not None:
            self._refund_attempts(ev, d["refund_of"], whole)
        if whole is not None:
            self.x("INSERT INTO pending_refunds(id, sale_id, state, plan, operator, created_at,"
                   " updated_at) VALUES (?,?, 'done', ?,?,?,?)",
                   (rid, d["refund_of"], pack(whole), d["operator"], opened_at, ev.at))
        self.report.restored["refunds"] += 1

    # -- provider payments: their attempts and idempotency keys (in flight at the end: reported)
    def _attempt(self, ev: JournalEvent, key: str, sale_id: str, kind: str, method: str,
                 amount: int, original: str | None, state: str) -> None:
        n = int(key.rsplit(":", 1)[1])  # keys are {sale_id}:{n}, n the sale's tender_n
        self.x("INSERT INTO payment_attempts(id, sale_id, n, kind, method, provider, amount,"
               " original, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
               " ON CONFLICT(id) DO NOTHING",
               (key, sale_id, n, kind, method, self.cfg.sale.payment_provider, amount, original,
                state, ev.at, ev.at))
        self.x("UPDATE sales SET tender_n = MAX(tender_n, ?) WHERE id = ?", (n, sale_id))

    def _attempt_state(self, ev: JournalEvent, state: str, ref: str | None = None) -> None:
        self.payments.pop(ev.data["key"], None)
        self.x("UPDATE payment_attempts SET state=?, provider_ref=COALESCE(?, provider_ref),"
               " updated_at=? WHERE id=?", (state, ref, ev.at, ev.data["key"]))

    def on_payment_started(self, ev: JournalEvent) -> None:
        d = ev.data
        self.payments[d["key"]] = d
        self._attempt(ev, d["key"], d["sale_id"], "charge", d["method"], d["amount"], None,
                      "pending")

    def on_payment_user_paying(self, ev: JournalEvent) -> None:
        self.x("UPDATE payment_attempts SET state='user_paying', updated_at=? WHERE id=?",
               (ev.at, ev.data["key"]))

    def on_payment_approved(self, ev: JournalEvent) -> None:
        self._attempt_state(ev, "approved", ev.data["provider_ref"])

    def on_payment_declined(self, ev: JournalEvent) -> None:
        self._attempt_state(ev, "declined")

    def on_payment_cancelled(self, ev: JournalEvent) -> None:
        self._attempt_state(ev, "cancelled")

    def on_payment_failed(self, ev: JournalEvent) -> None:
        self._attempt_state(ev, "failed")

    def on_payment_reversed(self, ev: JournalEvent) -> None:
        self._attempt_state(ev, "cancelled")

    def _refund_attempts(self, ev: JournalEvent, sale_id: str, plan: dict[str, Any]) -> None:
        for i, key in plan["keys"].items():
            part = plan["parts"][int(i)]
            state = "approved" if key in plan["approved"] else "pending"
            self._attempt(ev, key, sale_id, "refund", part["method"], part["amount"],
                          part["original"], state)

    def on_refund_approved(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("UPDATE payment_attempts SET state='approved', provider_ref=?, error=NULL,"
               " updated_at=? WHERE id=?", (d["provider_ref"], ev.at, d["key"]))
        if d["refund_id"] in self.refund_plans:
            self.refund_plans[d["refund_id"]][1]["plan"]["approved"][d["key"]] = \
                d["provider_ref"]

    def on_refund_unreachable(self, ev: JournalEvent) -> None:
        # the outcome is unknown: a retry sends this same key again, never a new one
        self.x("UPDATE payment_attempts SET state='pending', error=?, updated_at=? WHERE id=?",
               (ev.data["error"], ev.at, ev.data["key"]))

    def on_refund_declined(self, ev: JournalEvent) -> None:
        """The attempt is final and, in the same transaction, the part got its next key (as
        the returns service's `_new_keys` makes it: the original sale's next tender_n)."""
        d = ev.data
        self.x("UPDATE payment_attempts SET state='declined', error=?, updated_at=? WHERE id=?",
               (d["reason"], ev.at, d["key"]))
        entry = self.refund_plans.get(d["refund_id"])
        if entry is None:
            return
        started = entry[1]
        plan, sale_id = started["plan"], started["sale_id"]
        part = next(i for i, key in plan["keys"].items() if key == d["key"])
        n = self.tx.scalar("SELECT tender_n FROM sales WHERE id = ?", (sale_id,)) + 1
        plan["keys"][part] = f"{sale_id}:{n}"
        p = plan["parts"][int(part)]
        self._attempt(ev, plan["keys"][part], sale_id, "refund", p["method"], p["amount"],
                      p["original"], "pending")

    # -- shifts and days --------------------------------------------------------------------
    def on_shift_opened(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO shifts(id, till, operator, business_day, state, float, opened_at)"
               " VALUES (?,?,?,?, 'open', ?,?)", (d["shift_id"], d["till"], d["operator"],
                                                   d["business_day"], d["float"], ev.at))
        self.open_shift = d["shift_id"]
        self.report.restored["shifts"] += 1

    def on_shift_cash(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO cash_moves(id, shift_id, business_day, amount, reason, operator,"
               " at) VALUES (?,?,?,?,?,?,?)", (d["id"], d["shift_id"], d["business_day"],
                                               d["amount"], d["reason"], d["operator"], ev.at))

    def on_shift_closed(self, ev: JournalEvent) -> None:
        d = ev.data
        self.open_shift = None
        self.x("UPDATE shifts SET state='closed', counted=?, expected=?, variance=?,"
               " closed_by=?, closed_at=? WHERE id=?", (d["counted"], d["expected"],
                                                        d["variance"], d["operator"], ev.at,
                                                        d["shift_id"]))

    def on_day_closed(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO business_days(day, state, closed_at, closed_by, closes, z)"
               " VALUES (?, 'closed', ?,?,?,?) ON CONFLICT(day) DO UPDATE SET state='closed',"
               " closed_at=excluded.closed_at, closed_by=excluded.closed_by,"
               " closes=excluded.closes, z=excluded.z",
               (d["day"], ev.at, d["operator"], d["closes"], pack(d["z"])))

    def on_day_reopened(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("UPDATE business_days SET state='open', reopened_at=?, reopened_by=?,"
               " approver=? WHERE day=?", (ev.at, d.get("reopened_by") or d["approver"],
                                           d["approver"], d["day"]))

    # -- stock --------------------------------------------------------------------------------
    def _moves(self, ev: JournalEvent, kind: str, ref: str | None) -> None:
        for m in ev.data["moves"]:
            self.x("INSERT INTO stock_moves(seq, at, sku, kind, qty, on_hand, unit_cost,"
                   " value, ref, line_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (ev.seq, ev.at, m["sku"], kind, m["qty"], m["on_hand"], m.get("unit_cost"),
                    m.get("value") or 0, ref, m.get("line_id")))
            sale = kind == "sale"
            self.x("INSERT INTO stock(sku, on_hand, avg_cost, last_move_at, last_sale_at,"
                   " updated_at) VALUES (?,?,?,?,?,?) ON CONFLICT(sku) DO UPDATE SET"
                   " on_hand=excluded.on_hand, avg_cost=COALESCE(excluded.avg_cost, avg_cost),"
                   " last_move_at=excluded.last_move_at,"
                   " last_sale_at=COALESCE(excluded.last_sale_at, last_sale_at),"
                   " updated_at=excluded.updated_at",
                   (m["sku"], m["on_hand"], m.get("avg_cost"), ev.at, ev.at if sale else None,
                    ev.at))
            if "value" not in m:
                self.report.restored["stock moves without value"] += 1

    def on_stock_sold(self, ev: JournalEvent) -> None:
        self._moves(ev, ev.data["kind"], ev.data["sale_id"])

    def _doc(self, ev: JournalEvent, kind: str, **cols: Any) -> None:
        d = ev.data
        self.x("INSERT INTO stock_docs(no, kind, state, peer, supplier, reason, ref, lines,"
               " operator, approver, created_at, updated_at, posted_at)"
               " VALUES (?,?, 'posted', ?,?,?,?,?,?,?,?,?,?) ON CONFLICT(no) DO UPDATE SET"
               " state='posted', lines=excluded.lines, approver=excluded.approver,"
               " updated_at=excluded.updated_at, posted_at=excluded.posted_at",
               (d["no"], kind, cols.get("peer"), d.get("supplier"), d.get("reason"),
                d.get("ref"), pack(d["lines"]), d["operator"], d.get("approver"), ev.at,
                ev.at, ev.at))

    def on_stock_received(self, ev: JournalEvent) -> None:
        self._moves(ev, "receive", ev.data["no"])
        self._doc(ev, "receive")

    def on_stock_written_off(self, ev: JournalEvent) -> None:
        self._moves(ev, "writeoff", ev.data["no"])
        self._doc(ev, "writeoff")

    def on_stock_counted(self, ev: JournalEvent) -> None:
        self._moves(ev, "count", ev.data["no"])
        self._doc(ev, "count")

    def on_stock_transferred(self, ev: JournalEvent) -> None:
        kind = f"transfer_{ev.data['direction']}"
        self._moves(ev, kind, ev.data["no"])
        self._doc(ev, kind, peer=ev.data["peer"])

    def on_stock_count_saved(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO stock_docs(no, kind, state, lines, operator, created_at,"
               " updated_at) VALUES (?, 'count', 'draft', ?,?,?,?) ON CONFLICT(no) DO UPDATE"
               " SET lines=excluded.lines, updated_at=excluded.updated_at",
               (d["no"], pack(d["lines"]), d["operator"], ev.at, ev.at))

    def on_stock_threshold_set(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT INTO stock(sku, threshold, updated_at) VALUES (?,?,?)"
               " ON CONFLICT(sku) DO UPDATE SET threshold=excluded.threshold",
               (d["sku"], d["threshold"], ev.at))

    # -- members --------------------------------------------------------------------------------
    def on_member_registered(self, ev: JournalEvent) -> None:
        d = ev.data
        self.member_events.append(ev)
        # the journal masks the phone: the member keeps it masked, made unique, until
        # member.update gives it back; a new QR token (the old card's QR no longer scans)
        # record_at as when registered: head office's registry record (sent from this till,
        # as new) wins at the first lookup by phone; and this one is never sent up again
        self.x("INSERT INTO members(id, phone, name, birthday, card, qr, tier, referred_by,"
               " created_at, updated_at, record_at, hq_record_at)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (d["member"], _placeholder(d["phone"], d["member"]), d["name"], d.get("birthday"),
                d["card"], ledger.new_qr(), d["tier"], d["referred_by"], ev.at, ev.at, ev.at,
                ev.at))
        self.report.restored["members"] += 1

    def on_member_updated(self, ev: JournalEvent) -> None:
        d = ev.data
        values = d.get("values")
        if values is None:  # from before schema 7: which fields changed, not to what
            values = {"active": d["active"]}
            if set(d["fields"]) - {"active", "phone"}:
                self.report.missing.append(
                    f"member {d['member']}: a change of {', '.join(d['fields'])} from before "
                    "journal schema 7 (its new values are not in the journal)")
        values = {k: int(v) if k == "active" else v for k, v in values.items()
                  if k in ledger.UPDATABLE and k != "phone"}
        if d.get("phone") is not None:
            values["phone"] = _placeholder(d["phone"], d["member"])
        sets = ", ".join(f"{k} = ?" for k in values)
        self.x(f"UPDATE members SET {sets}, updated_at = ?, record_at = ?, hq_record_at = ?"
               " WHERE id = ?", (*values.values(), ev.at, ev.at, ev.at, d["member"]))

    def _member_move(self, ev: JournalEvent) -> None:
        d = ev.data
        what = ev.kind.split(".")[1]
        self.member_events.append(ev)
        self.x(f"UPDATE members SET {what} = ?, updated_at = ? WHERE id = ?",
               (d["after"], ev.at, d["member"]))
        self.x("INSERT INTO member_moves(member_id, what, delta, before, after, reason, sale_id,"
               " ref, seq, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (d["member"], what, d["delta"], d["before"], d["after"], d["reason"],
                d.get("sale_id"), d.get("ref"), ev.seq, ev.at))
        if what != "points":
            return
        if d["reason"] == "expire":  # as ledger.expire_points: the lots due are emptied
            self.x("UPDATE member_point_lots SET remaining = 0 WHERE member_id = ? AND"
                   " remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?",
                   (d["member"], ev.at))
        else:
            ledger.lots_moved(self.tx, self.members_cfg, d["member"], d["delta"], ev.at,
                              d.get("sale_id"))
        if d["reason"] == "referral" and d.get("ref"):
            self.x("UPDATE members SET referral_done = 1 WHERE id = ?", (d["ref"],))

    on_member_points = on_member_balance = _member_move

    def on_member_synced(self, ev: JournalEvent) -> None:
        d = ev.data
        self.member_events.append(ev)
        if self.tx.one("SELECT 1 FROM members WHERE id = ?", (d["member"],)) is None:
            # cached from head office (registered at another till): asked of it again
            self.cached_members.add(d["member"])
            return
        ledger.set_figures(self.tx, d["member"], d["balance"], d["points"], ev.at)

    def _master(self, ev: JournalEvent) -> None:
        """Master data from head office is not in the journal (only what a batch changed):
        the restored till says master version 0 and head office sends it all again."""
        self.master_version = max(self.master_version, ev.data.get("version", 0))
        self.master_batches += 1

    on_master_applied = on_master_effective = _master

    def on_member_tier(self, ev: JournalEvent) -> None:
        self.x("UPDATE members SET tier = ? WHERE id = ?", (ev.data["after"], ev.data["member"]))

    def on_member_purchase(self, ev: JournalEvent) -> None:
        d = ev.data
        self.x("INSERT OR REPLACE INTO member_purchases(sale_id, member_id, kind, refund_of,"
               " receipt_no, amount, points, at) VALUES (?,?,?,?,?,?,?,?)",
               (d["sale_id"], d["member"], d["kind"], d.get("refund_of"), d["receipt_no"],
                d["amount"], d["points"], ev.at))
        if d["kind"] == "sale":
            self.x("UPDATE members SET first_sale = COALESCE(first_sale, ?) WHERE id = ?",
                   (d["sale_id"], d["member"]))

    def on_coupon_issued(self, ev: JournalEvent) -> None:
        d = ev.data
        member = d.get("member")
        self.coupons_unlisted += d["count"] - len(d["codes"])
        self.tx.executemany(
            "INSERT INTO coupons(code, member_id, amount, min_spend, valid_from, valid_to,"
            " source, batch, created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            [(c, member, d["amount"], d["min_spend"], d["valid_from"], d["valid_to"],
              d["source"], d.get("batch"), ev.at) for c in d["codes"]])
        if d["source"] == "birthday" and member:
            year = dt.datetime.fromtimestamp(ev.at / 1e6, self.tz).year
            self.x("UPDATE members SET birthday_year = ? WHERE id = ?", (year, member))

    def on_coupon_redeemed(self, ev: JournalEvent) -> None:
        self.x("UPDATE coupons SET used_sale = ?, used_at = ? WHERE code = ?",
               (ev.data["sale_id"], ev.at, ev.data["code"]))

    def on_coupon_released(self, ev: JournalEvent) -> None:
        self.x("UPDATE coupons SET used_sale = NULL, used_at = NULL WHERE code = ?",
               (ev.data["code"],))

    def _members_checked(self) -> None:
        """The members' points and balance equal what the ledger's own replay makes of the
        journal (each move must start where the last one ended)."""
        for member, want in ledger.replay(self.member_events).items():
            if member in self.cached_members:
                continue
            got = self.tx.one("SELECT points, balance FROM members WHERE id = ?", (member,))
            if got is None or (got["points"], got["balance"]) != (want["points"],
                                                                  want["balance"]):
                raise ValueError(f"member {member}: the restored points and balance differ "
                                 f"from the ledger's replay of the journal ({want})")

    # -- printing ------------------------------------------------------------------------------
    def on_print_queued(self, ev: JournalEvent) -> None:
        d = ev.data
        if d.get("document") is None:
            self.old_jobs.append(d["job_id"])
            return
        self.x("INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at,"
               " updated_at) VALUES (?,?,?,?,?, 'queued', ?,?)",
               (d["job_id"], d["printer"], d["kind"], d["ref"], pack(d["document"]), ev.at,
                ev.at))

    def on_print_started(self, ev: JournalEvent) -> None:
        # 'queued' rather than 'printing': the printer loop prints it again from the top,
        # as it does after any restart mid-job
        self.x("UPDATE print_jobs SET attempts=?, last_error=NULL, updated_at=? WHERE id=?",
               (ev.data["attempt"], ev.at, ev.data["job_id"]))

    def on_print_done(self, ev: JournalEvent) -> None:
        state = "sent" if ev.data.get("confirmed") is False else "done"
        self._job_ended(ev, state)

    def on_print_cancelled(self, ev: JournalEvent) -> None:
        self._job_ended(ev, "cancelled")

    def on_print_held(self, ev: JournalEvent) -> None:
        self.x("UPDATE print_jobs SET state='held', failures=?, last_error=?, updated_at=?"
               " WHERE id=?", (ev.data["failures"], ev.data["error"], ev.at,
                               ev.data["job_id"]))

    def on_print_failed(self, ev: JournalEvent) -> None:
        self.x("UPDATE print_jobs SET last_error=?, updated_at=? WHERE id=?",
               (ev.data.get("error") or ev.data["reason"], ev.at, ev.data["job_id"]))

    def _job_ended(self, ev: JournalEvent, state: str) -> None:
        jid = ev.data["job_id"]
        if jid in self.old_jobs:
            self.old_jobs.remove(jid)
        self.x("UPDATE print_jobs SET state=?, last_error=NULL, updated_at=? WHERE id=?",
               (state, ev.at, jid))

    # -- operators, tokens, catalog, promotions, vouchers -----------------------------------
    def on_operator_added(self, ev: JournalEvent) -> None:
        d = ev.data
        if d.get("pin_hash") is None:
            self.old_operators.append(d["id"])
            return
        self.x("INSERT INTO operators(id, name, role, pin_hash, pin_salt) VALUES (?,?,?,?,?)",
               (d["id"], d["name"], d["role"], bytes.fromhex(d["pin_hash"]),
                bytes.fromhex(d["pin_salt"])))
        self.report.restored["operators"] += 1

    def on_token_added(self, ev: JournalEvent) -> None:
        self.tokens[ev.data["id"]] = ev.data["name"]

    def on_token_revoked(self, ev: JournalEvent) -> None:
        ref = ev.data["ref"]
        for tid, name in list(self.tokens.items()):
            if ref in (tid, name):
                del self.tokens[tid]

    def on_catalog_items(self, ev: JournalEvent) -> None:
        """The catalog's own writer, on the items the write journaled (schema 7)."""
        items = [ItemIn.model_validate(x) for x in ev.data["items"]]
        write_rows(self.tx, items, ev.at)
        self.catalog_items += len(items)

    def on_catalog_upserted(self, ev: JournalEvent) -> None:
        self.x("UPDATE catalog_version SET n = n + 1")
        if self.catalog_items:  # the items came just before
            self.report.restored["catalog items"] += self.catalog_items
            self.catalog_items = 0
            return
        self.catalog_upserts += 1  # from before schema 7: the SKUs are named, not the items
        self.catalog_skus.update(ev.data["skus"])

    def on_promo_upserted(self, ev: JournalEvent) -> None:
        for p in ev.data["promotions"]:
            self.x("INSERT INTO promotions(id, data, updated_at) VALUES (?,?,?) ON CONFLICT(id)"
                   " DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                   (p["id"], pack(p), ev.at))

    def on_voucher_issued(self, ev: JournalEvent) -> None:
        self.x("INSERT INTO vouchers(code, amount, created_at) VALUES (?,?,?)",
               (ev.data["code"], ev.data["amount"], ev.at))

    # -- the end ----------------------------------------------------------------------------------
    def _counters(self) -> None:
        """Numbering goes on after the highest number restored, per business day."""
        for table, kind in (("receipt_counters", "sale"), ("refund_counters", "refund")):
            self.x(f"INSERT INTO {table}(business_day, last) SELECT business_day,"
                   " MAX(receipt_n) FROM sales WHERE kind = ? AND receipt_n IS NOT NULL"
                   " GROUP BY business_day", (kind,))
        last: dict[str, int] = {}
        for r in self.x("SELECT no FROM stock_docs").fetchall():
            prefix, n = r["no"].rsplit("-", 2)[1:]
            last[prefix] = max(last.get(prefix, 0), int(n))
        self.x("DELETE FROM stock_doc_counters")
        self.tx.executemany("INSERT INTO stock_doc_counters(prefix, last) VALUES (?,?)",
                            list(last.items()))

    def _missing(self) -> None:
        miss = self.report.missing
        if self.catalog_upserts:
            miss.append(
                f"the catalog: {self.catalog_upserts} catalog writes from before journal "
                f"schema 7 name their SKUs but not the items ({len(self.catalog_skus)} SKUs, "
                f"e.g. {', '.join(sorted(self.catalog_skus)[:5])}); import the catalog again "
                "before selling (gatewayd catalog import, or catalog.upsert)")
        if self.tokens:
            miss.append(
                f"client tokens: {len(self.tokens)} ({', '.join(sorted(self.tokens.values()))})"
                " are not restored (the journal keeps no secret of theirs); add them again "
                "(gatewayd token add) or pair the clients again")
        if self.old_operators:
            miss.append(
                f"operators {', '.join(self.old_operators)}: added before journal schema 7, "
                "their PIN hash is not in the journal; add them again (gatewayd operator add)")
        if self.master_batches:
            miss.append(
                f"master data from head office ({self.master_batches} batches, up to version "
                f"{self.master_version}): the journal records the batches, not their items, "
                "prices, promotions, operators and tax rates (until they come again, the config "
                "file's settings apply; head office's central settings came with the "
                "restore); the restored till says master "
                "version 0 and "
                "head office sends it all again when it links: start the daemon linked before "
                "selling")
        if self.cached_members:
            miss.append(
                f"{len(self.cached_members)} members registered at other tills and cached here: "
                "asked of head office again when they are looked up")
        members = self.report.restored["members"]
        if members:
            miss.append(
                f"members' phones and QR codes: the journal masks them, so the {members} "
                "members came back with their points, balance and history under a masked "
                "phone (138****5678#id), found by card or id; head office's registry sends "
                "their records (phone, QR) with the master data when the till links")
        if self.coupons_unlisted:
            miss.append(f"{self.coupons_unlisted} coupons of big batches: the journal names "
                        "the first 100 codes of a batch only")
        if self.no_item:
            miss.append(
                f"{len(self.no_item)} sales not completed, with lines from before journal "
                "schema 7 (no item data): restored without those lines")
        if self.old_completed:
            miss.append(
                f"{self.old_completed} completed sales from before journal schema 7: their "
                "lines were restored from sku, qty and net only (no names, tax or discounts)")
        if self.old_jobs:
            miss.append(
                f"{len(self.old_jobs)} print jobs queued before journal schema 7 and not "
                "printed: their documents are not in the journal; reprint the receipts "
                "(receipt.reprint)")
        for key, p in self.payments.items():
            miss.append(
                f"a {p['method']} payment of {p['amount']} fen for sale {p['sale_id']} was "
                f"under way at the provider (key {key}): the daemon asks the provider about "
                "it again when it starts; check the sale then")
        for kind, n in sorted(self.unknown.items()):
            miss.append(f"{n} events of kind {kind}: not understood by this gatewayd's rebuild")


def _placeholder(masked: str, member: str) -> str:
    """A restored member's phone until it is given again: the masked one, made unique."""
    return f"{masked}#{member[:8]}"


def rebuild_tables(path: Path, cfg: Config) -> Report:
    """Derive every table of the store at `path` from its journal (its other tables empty),
    then build the till's services on it to price the sales still open and build the
    running totals."""
    store = Store(path)
    try:
        report, _ = store.write_sync(lambda tx: Rebuild(tx, cfg).run())
    finally:
        store.close()
    report.restored["open sales"] = _reprice_open(path, cfg)
    return report


def _reprice_open(path: Path, cfg: Config) -> int:
    from gatewayd.app import App  # the till's own services, on the staged store

    staged = cfg.model_copy(update={"store": cfg.store.model_copy(update={"path": path})})
    app = App(staged)
    try:
        def reprice(tx: Tx) -> int:
            rows = tx.execute("SELECT id, version, updated_at FROM sales WHERE kind = 'sale' AND"
                              " state IN ('open', 'tendering', 'suspended', 'voided')").fetchall()
            for r in rows:
                st = app.sales.load(tx, r["id"])
                assert st is not None
                app.sales._reprice(tx, st)
                tx.execute("UPDATE sales SET version = ?, updated_at = ? WHERE id = ?",
                           (r["version"], r["updated_at"], r["id"]))
            return sum(1 for r in rows)

        return app.store.write_sync(reprice)[0]
    finally:
        app.close()
