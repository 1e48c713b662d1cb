"""Returns: refunds by receipt, exchanges, returns without a receipt, post-voids.

    sale.refund {receipt_no, lines?: [{line_id, qty}]}        refund all that is left, or
                                                              the chosen lines and quantities
    sale.refund {receipt_no, lines?, exchange: true}          the credit becomes a voucher for
                                                              the new sale (see "Exchange")
    sale.refund {no_receipt: true, lines: [{sku, qty, unit_price?}]}   manager approval, cash
    sale.refund {receipt_no?, post_void: true}                the till's last sale, whole,
                                                              manager approval
    sale.refundable {receipt_no}                              what may still be returned
    sale.refund_mode {enabled, whole?}                        the next receipt barcode scanned
                                                              is a refund lookup (or a whole
                                                              refund with `whole`)

Functional core (pure, property-tested): ``line_shares`` (what each sold line is worth in
money actually paid: the sale's ``total - rounding`` allocated over the line grosses with
``money.allocate``), ``plan_lines`` (quantities checked against sold minus already returned;
the values of a partial return are *cumulative* differences, ``v*(R+q)/Q - v*R/Q`` rounded
half-up, so returning a line in pieces gives back exactly the line) and ``allocate_parts``
(the refund money spread over the original tenders still refundable, in proportion, with
``money.allocate``: largest remainder, ties to the earlier tender: deterministic).

Where the money goes back: cash from the drawer (the drawer opens); card / Alipay / WeChat
through the payment provider, one ``provider.refund(key, original, amount)`` per original
charge; a voucher-paid part as a new voucher; stored value and points as tenders of the same
method (the members service reverses them in its refund hook).

Never twice: the plan (lines, parts, and each provider part's idempotency key
``{sale_id}:{n}`` with a ``payment_attempts`` row ``kind='refund'``) is committed BEFORE the
provider is called (``pending_refunds``). If the provider fails or cannot be reached the call
answers ``payment_declined`` (details ``refund_id``, ``reason``) and nothing else changes; the
same ``sale.refund`` again resumes the stored plan: an unreachable part is re-sent with the
SAME key (the provider answers the first outcome), a declined part gets a new key. Only when
every part is approved is the refund document written, in one transaction: a ``sales`` row
``kind='refund'`` numbered ``{store}-{till}-{day}-R{n}``, its lines (``orig_line_id``), the
original lines' ``returned_qty``, negative tenders, the journal event ``sale.refunded``, the
refund hooks of the sale service (stock back in, points reversed) and the refund slip on the
print queue. While a refund of a receipt is pending, another refund of it with different
lines is a ``conflict``, and ``day.close`` refuses. After a crash or restart a pending refund
stays pending (the sale service's charge recovery leaves refund attempts alone) until the
cashier retries it: the daemon never completes one by itself, because its cash part has
not been handed out yet.

Exchange: ``exchange: true`` refunds the lines into a voucher (code = the refund number,
amount = the credit) instead of the original tenders. If a sale is open with at least that
much due, the voucher is tendered on it at once (``applied_to``); otherwise the new sale
takes it with ``sale.tender {method: "voucher", code}``. A refund and a new sale, one flow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from gatewayd.ids import new_id
from gatewayd.ports import NO_DEVICES, Devices, PrintWaker, Publish
from gatewayd.sales.money import allocate, div_round, line_amount
from gatewayd.sales.payments import ProviderUnavailable
from gatewayd.sales.scan import ScanRoute
from gatewayd.store import retention
from gatewayd.store.db import Tx
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.sales.service import SaleService
    from gatewayd.store.db import Store

log = logging.getLogger("gatewayd.returns")

CASH = "cash"
PROVIDER_METHODS = ("card", "alipay", "wechat", "mobile")
VALUES = ("amount", "discount", "net", "tax", "gross", "money")


class RefundError(ValueError):
    def __init__(self, code: str, message: str, **details: Any):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _err(code: str, message: str, **details: Any) -> ProtocolError:
    return ProtocolError(code, message, details or None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- functional core
@dataclass(frozen=True)
class RefundLine:
    orig_line_id: str | None
    sku: str
    name: str
    unit: str
    qty: int
    unit_price: int
    list_price: int
    tax_rate_bp: int
    amount: int
    discount: int
    net: int
    tax: int
    gross: int
    money: int  # what goes back for this line (gross less its share of the cash rounding)
    category: str | None = None
    member_price: int | None = None


@dataclass(frozen=True)
class Bucket:
    key: str  # "cash", a charge's attempt id, or a method
    method: str
    original: str | None  # provider charge key
    remaining: int


@dataclass(frozen=True)
class Part:
    bucket: str | None  # None: the exchange credit (no original tender)
    method: str
    amount: int
    original: str | None = None


@dataclass
class Plan:
    lines: list[RefundLine]
    parts: list[Part]
    request: Any = None
    exchange: bool = False
    post_void: bool = False
    no_receipt: bool = False
    keys: dict[int, str] = field(default_factory=dict)  # part index -> attempt key
    approved: dict[str, str | None] = field(default_factory=dict)  # key -> provider ref

    @property
    def money(self) -> int:
        return sum(p.amount for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"lines": [asdict(x) for x in self.lines], "parts": [asdict(p) for p in self.parts],
                "request": self.request, "exchange": self.exchange,
                "post_void": self.post_void, "no_receipt": self.no_receipt,
                "keys": {str(k): v for k, v in self.keys.items()}, "approved": self.approved}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        return cls([RefundLine(**x) for x in d["lines"]], [Part(**p) for p in d["parts"]],
                   d["request"], d["exchange"], d["post_void"], d["no_receipt"],
                   {int(k): v for k, v in d["keys"].items()}, dict(d["approved"]))


def line_shares(sale: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Money paid per live line: ``total - rounding`` allocated over the line grosses."""
    live = [ln for ln in lines if not ln["voided"]]
    paid = sale["total"] - sale["rounding"]
    weights = [ln["gross"] for ln in live]
    if paid < 0 or (paid > 0 and sum(weights) == 0):
        raise RefundError("conflict", "the sale's amounts cannot be refunded line by line")
    return {ln["id"]: s for ln, s in zip(live, allocate(paid, weights), strict=True)}


def _portion(value: int, qty: int, returned: int, q: int) -> int:
    return div_round(value * (returned + q), qty) - div_round(value * returned, qty)


def plan_lines(sale: Mapping[str, Any], lines: Sequence[Mapping[str, Any]],
               request: Sequence[tuple[str, int]] | None) -> list[RefundLine]:
    """The refund lines for ``request`` ([(line_id, qty)], or None: everything left)."""
    shares = line_shares(sale, lines)
    by_id = {ln["id"]: ln for ln in lines}
    if request is None:
        wanted = [(ln["id"], ln["qty"] - ln["returned_qty"]) for ln in lines
                  if not ln["voided"] and ln["qty"] > ln["returned_qty"]]
        if not wanted:
            raise RefundError("conflict", "everything on this receipt has been refunded already",
                              reason="fully_refunded")
    else:
        if not request:
            raise RefundError("invalid_params", "no lines to refund", field="lines")
        seen: set[str] = set()
        for line_id, q in request:
            if line_id in seen:
                raise RefundError("invalid_params", f"line {line_id} is given twice",
                                  line_id=line_id)
            seen.add(line_id)
            ln = by_id.get(line_id)
            if ln is None:
                raise RefundError("invalid_params", f"line {line_id} is not on this receipt",
                                  line_id=line_id)
            if ln["voided"]:
                raise RefundError("invalid_params", f"line {line_id} was voided: not sold",
                                  line_id=line_id)
            if q <= 0:
                raise RefundError("invalid_params", "qty must be > 0", line_id=line_id)
            left = ln["qty"] - ln["returned_qty"]
            if q > left:
                raise RefundError(
                    "conflict", f"line {line_id} ({ln['name']}): {q} to refund but only {left} "
                    f"left (sold {ln['qty']}, returned {ln['returned_qty']})",
                    line_id=line_id, sold=ln["qty"], returned=ln["returned_qty"], requested=q,
                    refundable=left, reason="more_than_sold")
        wanted = list(request)
    out = []
    for line_id, q in wanted:
        ln = by_id[line_id]
        vals = {k: _portion(ln[k] if k != "money" else shares[line_id], ln["qty"],
                            ln["returned_qty"], q) for k in VALUES}
        unit_price = ln["unit_price"] if ln["unit_price"] is not None else ln["list_price"]
        out.append(RefundLine(line_id, ln["sku"], ln["name"], ln["unit"], q, unit_price,
                              ln["list_price"], ln["tax_rate_bp"], category=ln.get("category"),
                              member_price=ln.get("member_price"), **vals))
    return out


def buckets(sale: Mapping[str, Any], tenders: Sequence[Mapping[str, Any]],
            prior: Mapping[str, int]) -> list[Bucket]:
    """The original tenders still refundable: cash net of change, one bucket per provider
    charge, one per other method; ``prior`` = what earlier refunds gave back per bucket."""
    order: list[str] = []
    amount: dict[str, int] = {}
    meta: dict[str, tuple[str, str | None]] = {}
    for t in tenders:
        if t["method"] == CASH:
            key = CASH
        elif t.get("attempt_id"):
            key = t["attempt_id"]
        else:
            key = t["method"]
        if key not in amount:
            order.append(key)
            amount[key] = 0
            meta[key] = (t["method"], t.get("attempt_id") if key != t["method"] else None)
        amount[key] += t["amount"]
    if CASH in amount:
        amount[CASH] -= sale["change"]
    return [Bucket(k, meta[k][0], meta[k][1], max(0, amount[k] - prior.get(k, 0)))
            for k in order]


def allocate_parts(money: int, avail: Sequence[Bucket]) -> list[Part]:
    """Spread ``money`` over the buckets in proportion to what is left of each."""
    weights = [b.remaining for b in avail]
    if money > sum(weights):
        raise RefundError("conflict", "the original tenders cannot cover this refund",
                          money=money, refundable=sum(weights))
    if money == 0:
        return []
    shares = allocate(money, weights)
    return [Part(b.key, b.method, s, b.original) for b, s in zip(avail, shares, strict=True)
            if s > 0]


def no_receipt_line(item: Mapping[str, Any], qty: int, unit_price: int,
                    tax_mode: str) -> RefundLine:
    """A returned item without a receipt, priced as given (inclusive or exclusive tax)."""
    amount = line_amount(unit_price, qty)
    r = item["tax_rate_bp"]
    if tax_mode == "exclusive":
        net, tax = amount, div_round(amount * r, 10000)
        gross = net + tax
    else:
        net = gross = amount
        tax = div_round(amount * r, 10000 + r)
    return RefundLine(None, item["sku"], item["name"], item["unit"], qty, unit_price,
                      item["price"], r, amount, 0, net, tax, gross, gross,
                      category=item.get("category"), member_price=item.get("member_price"))


# ---------------------------------------------------------------------- the service
def _rows(tx: Tx, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in tx.execute(sql, params).fetchall()]


class ReturnsService:
    """Refunds of the sales of `sales`, on its store; the drawer and the printer are the
    till's `devices` and print queue (`printing`)."""

    def __init__(self, store: Store, sales: SaleService, *, publish: Publish,
                 devices: Devices = NO_DEVICES, printing: PrintWaker | None = None):
        self.store = store
        self.sales = sales
        self.publish = publish
        self.devices = devices
        self.printing = printing
        self.till = sales.till
        self._lock = trio.Lock()
        # refund mode: the next receipt number scanned is looked up (or refunded whole)
        self.refund_mode = False
        self.whole = False
        self.whole_approver: str | None = None
        self.scan_route = ScanRoute(
            "receipt", lambda code: self.refund_mode and sales.is_receipt_no(code),
            self.on_receipt_scan)

    # -- reading -----------------------------------------------------------------------
    def _archived_refundable(self, receipt_no: str) -> dict[str, Any] | None:
        """`refundable` of a sale retention archived: read from the archive (the refund
        itself brings the sale back into the live store, in its transaction)."""
        directory = self.store.archive_dir
        if directory is None:
            return None
        bundle = retention.find_sale(directory, receipt_no=receipt_no)
        if bundle is None or bundle["sales"]["kind"] != "sale":
            return None
        sale = bundle["sales"]
        refunds = sorted((r["sales"] for r in retention.find_refunds(
            directory, sale["id"], sale["business_day"]) if r["sales"]["state"] == "completed"),
            key=lambda r: r["completed_at"])
        return {"sale": self.sales.wire(sale, bundle["sale_lines"], bundle["sale_tenders"],
                                        None),
                "lines": [{"line_id": r["id"], "sku": r["sku"], "name": r["name"],
                           "qty": r["qty"], "returned": r["returned_qty"],
                           "refundable": 0 if r["voided"] else r["qty"] - r["returned_qty"]}
                          for r in sorted(bundle["sale_lines"], key=lambda r: r["pos"])],
                "refunds": [r["receipt_no"] for r in refunds],
                "pending": None}

    def refundable(self, receipt_no: str) -> dict[str, Any]:
        store = self.store
        row = store.one("SELECT id, kind, state FROM sales WHERE receipt_no=?", (receipt_no,))
        if row is None:
            archived = self._archived_refundable(receipt_no)
            if archived is not None:
                return archived
        if row is None or row["kind"] != "sale":
            raise _err("not_found", f"no sale with receipt {receipt_no}", receipt_no=receipt_no)
        wire = self.sales.get_wire(row["id"])
        lines = store.all("SELECT id, sku, name, qty, returned_qty, voided, gross FROM "
                          "sale_lines WHERE sale_id=? ORDER BY pos", (row["id"],))
        pending = store.one("SELECT id FROM pending_refunds WHERE sale_id=? AND "
                            "state='pending'", (row["id"],))
        refunds = store.all("SELECT receipt_no FROM sales WHERE refund_of=? AND "
                            "state='completed' ORDER BY completed_at", (row["id"],))
        return {"sale": wire,
                "lines": [{"line_id": r["id"], "sku": r["sku"], "name": r["name"],
                           "qty": r["qty"], "returned": r["returned_qty"],
                           "refundable": 0 if r["voided"] else r["qty"] - r["returned_qty"]}
                          for r in lines],
                "refunds": [r["receipt_no"] for r in refunds],
                "pending": pending["id"] if pending else None}

    # -- the refund ----------------------------------------------------------------------
    async def refund(self, operator: str | None, *, receipt_no: str | None,
                     lines: list[dict[str, Any]] | None, exchange: bool = False,
                     no_receipt: bool = False, post_void: bool = False,
                     approver: str | None = None) -> dict[str, Any]:
        async with self._lock:
            plan_id, plan, wire = await self._prepare(
                operator, receipt_no, lines, exchange, no_receipt, post_void, approver)
            if wire is None:  # provider parts first, then the document
                await self._provider_parts(plan_id, plan)
                done, _ = await self.store.write(
                    lambda tx: self._complete(tx, plan_id, operator, approver))
                return await self._after(done, operator)
            return await self._after(wire, operator)

    async def _prepare(self, operator: str | None, receipt_no: str | None,
                       lines: list[dict[str, Any]] | None, exchange: bool, no_receipt: bool,
                       post_void: bool, approver: str | None
                       ) -> tuple[str, Plan, dict[str, Any] | None]:
        """Plan the refund and commit the plan. Without provider parts the refund is
        completed in the same transaction (its wire is returned); else the wire is None and
        the provider parts are due."""
        svc = self.sales

        def fn(tx: Tx) -> tuple[str, Plan, dict[str, Any] | None]:
            svc.policy.business_day(tx)  # refuses on a closed business day
            if no_receipt:
                plan = self._plan_no_receipt(tx, lines)
                orig = None
            else:
                orig = self._original(tx, receipt_no, post_void)
                request = None if lines is None else [(x["line_id"], x["qty"]) for x in lines]
                pending = tx.one("SELECT * FROM pending_refunds WHERE sale_id=? AND "
                                 "state='pending'", (orig["id"],))
                if pending is not None:
                    plan = Plan.from_dict(unpack(pending["plan"]))
                    req = None if request is None else [list(x) for x in request]
                    if (plan.request != req or plan.exchange != exchange
                            or plan.post_void != post_void):
                        raise _err("conflict", "a refund of this receipt is in progress: "
                                   "retry it with the same lines to finish it",
                                   refund_id=pending["id"], lines=plan.request,
                                   reason="refund_pending")
                    return pending["id"], plan, None
                plan = self._plan(tx, orig, request, exchange, post_void)
            plan_id = new_id()
            has_provider = any(p.original for p in plan.parts)
            tx.execute("INSERT INTO pending_refunds(id, sale_id, plan, state, operator,"
                       " created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                       (plan_id, orig["id"] if orig else None, pack(plan.to_dict()),
                        "pending" if has_provider else "done", operator, tx.at, tx.at))
            if not has_provider:
                return plan_id, plan, self._complete(tx, plan_id, operator, approver, plan)
            assert orig is not None  # provider parts come from the original's tenders
            self._new_keys(tx, plan_id, orig["id"], plan)
            tx.append("refund.started", {"refund_id": plan_id, "sale_id": orig["id"],
                                         "receipt_no": orig["receipt_no"],
                                         "operator": operator, "plan": plan.to_dict()})
            return plan_id, plan, None

        try:
            out, _ = await self.store.write(fn)
        except RefundError as exc:
            raise _err(exc.code, exc.message, **exc.details) from None
        return out

    def _original(self, tx: Tx, receipt_no: str | None, post_void: bool) -> dict[str, Any]:
        if receipt_no is None:
            if not post_void:
                raise _err("invalid_params", "give the receipt_no (or no_receipt: true)",
                           field="receipt_no")
            row = tx.one("SELECT * FROM sales WHERE till=? AND kind='sale' AND state="
                         "'completed' ORDER BY completed_at DESC, rowid DESC LIMIT 1",
                         (self.till.till,))
            if row is None:
                raise _err("not_found", "no sale to post-void")
        else:
            retention.bring_back(tx, self.store.archive_dir, receipt_no)
            row = tx.one("SELECT * FROM sales WHERE receipt_no=?", (receipt_no,))
            if row is None or row["kind"] != "sale":
                raise _err("not_found", f"no sale with receipt {receipt_no}",
                           receipt_no=receipt_no)
        if row["state"] != "completed":
            raise _err("conflict", f"sale {row['receipt_no']} is {row['state']}")
        if post_void:
            last = tx.one("SELECT id FROM sales WHERE till=? AND kind='sale' AND state="
                          "'completed' ORDER BY completed_at DESC, rowid DESC LIMIT 1",
                          (self.till.till,))
            if last is None or last["id"] != row["id"]:
                raise _err("conflict", "only the last sale of this till can be post-voided; "
                           "refund this one instead", reason="not_last")
            if tx.one("SELECT 1 FROM sales WHERE refund_of=?", (row["id"],)):
                raise _err("conflict", "this sale has refunds: it cannot be post-voided")
        return dict(row)

    def _plan(self, tx: Tx, orig: dict[str, Any], request: list[tuple[str, int]] | None,
              exchange: bool, post_void: bool) -> Plan:
        lines = _rows(tx, "SELECT * FROM sale_lines WHERE sale_id=? ORDER BY pos",
                      (orig["id"],))
        tenders = _rows(tx, "SELECT * FROM sale_tenders WHERE sale_id=? ORDER BY pos",
                        (orig["id"],))
        if post_void and request is not None:
            raise RefundError("invalid_params", "a post-void is of the whole sale: no lines")
        rlines = plan_lines(orig, lines, request)
        money = sum(x.money for x in rlines)
        if exchange:
            parts = [Part(None, "voucher", money)] if money else []
        else:
            prior: dict[str, int] = {}
            for r in tx.execute("SELECT plan FROM pending_refunds WHERE sale_id=? AND "
                                "state='done'", (orig["id"],)).fetchall():
                for p in unpack(r["plan"])["parts"]:
                    if p["bucket"] is not None:
                        prior[p["bucket"]] = prior.get(p["bucket"], 0) + p["amount"]
            parts = allocate_parts(money, buckets(orig, tenders, prior))
        req = None if request is None else [list(x) for x in request]
        return Plan(rlines, parts, req, exchange, post_void)

    def _plan_no_receipt(self, tx: Tx, lines: list[dict[str, Any]] | None) -> Plan:
        if not lines:
            raise _err("invalid_params", "a return without a receipt lists its lines: "
                       "[{sku, qty, unit_price?}]", field="lines")
        cfg = self.sales.cfg
        out = []
        for x in lines:
            sku = x.get("sku")
            if sku is None:
                raise _err("invalid_params", "each line needs a sku", field="lines")
            found = tx.one("SELECT * FROM items WHERE sku=?", (sku,))
            if found is None:
                raise _err("not_found", f"no item with sku {sku!r}", sku=sku)
            item = dict(found)  # at its category's tax rate when head office set one
            rate = tx.one("SELECT rate_bp FROM tax_rates WHERE category=?", (item["category"],))
            if rate is not None:
                item["tax_rate_bp"] = rate["rate_bp"]
            qty, price = x["qty"], x.get("unit_price")
            price = item["price"] if price is None else price
            if qty <= 0 or qty > cfg.max_qty:
                raise _err("invalid_params", f"qty must be within 1..{cfg.max_qty}", sku=sku)
            if price < 0 or price > cfg.max_unit_price:
                raise _err("invalid_params", "unit_price out of range", sku=sku)
            out.append(no_receipt_line(dict(item), qty, price, cfg.tax_mode))
        money = sum(x.money for x in out)
        parts = [Part(CASH, CASH, money)] if money else []
        return Plan(out, parts, None, no_receipt=True)

    def _new_keys(self, tx: Tx, plan_id: str, sale_id: str, plan: Plan,
                  only: Sequence[int] | None = None) -> None:
        """Provider parts get an attempt (and its idempotency key) before any call."""
        provider = self.sales.provider
        for i, part in enumerate(plan.parts):
            if part.original is None or (only is not None and i not in only):
                continue
            n = tx.scalar("UPDATE sales SET tender_n=tender_n+1 WHERE id=? RETURNING tender_n",
                          (sale_id,))
            key = f"{sale_id}:{n}"
            tx.execute("INSERT INTO payment_attempts(id, sale_id, n, kind, method, provider,"
                       " amount, original, state, created_at, updated_at) VALUES (?,?,?,"
                       " 'refund', ?,?,?,?, 'pending', ?, ?)",
                       (key, sale_id, n, part.method, provider.name, part.amount,
                        part.original, tx.at, tx.at))
            plan.keys[i] = key
        tx.execute("UPDATE pending_refunds SET plan=?, updated_at=? WHERE id=?",
                   (pack(plan.to_dict()), tx.at, plan_id))

    async def _provider_parts(self, plan_id: str, plan: Plan) -> None:
        svc = self.sales
        for i, part in enumerate(plan.parts):
            key = plan.keys.get(i)
            if key is None or key in plan.approved:
                continue
            try:
                res = await svc._provider_call(svc.provider.refund, key, part.original,
                                               part.amount)
            except (ProviderUnavailable, trio.TooSlowError):
                await self._mark(key, "pending", "provider unreachable: outcome unknown")
                raise _err("payment_declined", f"the payment provider cannot be reached for "
                           f"the {part.method} refund; nothing was completed: retry the same "
                           "refund (the same key is re-sent, so it is never refunded twice)",
                           refund_id=plan_id, key=key, reason="provider_unavailable") from None
            if res.state != "approved":
                await self._declined(plan_id, plan, i, key, res.message or res.state)
                raise _err("payment_declined", f"the {part.method} refund was declined: "
                           f"{res.message or res.state}", refund_id=plan_id, key=key,
                           reason="declined")

            def ok(tx: Tx, key: str = key, ref: str | None = res.provider_ref) -> None:
                tx.execute("UPDATE payment_attempts SET state='approved', provider_ref=?,"
                           " error=NULL, updated_at=? WHERE id=?", (ref, tx.at, key))
                tx.append("refund.approved", {"refund_id": plan_id, "key": key,
                                              "provider_ref": ref})
                plan.approved[key] = ref
                tx.execute("UPDATE pending_refunds SET plan=?, updated_at=? WHERE id=?",
                           (pack(plan.to_dict()), tx.at, plan_id))

            await self.store.write(ok)

    async def _mark(self, key: str, state: str, error: str) -> None:
        def fn(tx: Tx) -> None:
            tx.execute("UPDATE payment_attempts SET state=?, error=?, updated_at=? WHERE id=?",
                       (state, error, tx.at, key))
            tx.append("refund.unreachable", {"key": key, "error": error})

        await self.store.write(fn)

    async def _declined(self, plan_id: str, plan: Plan, i: int, key: str, why: str) -> None:
        """A declined part: the attempt is final; the part gets a new key for the retry."""
        def fn(tx: Tx) -> None:
            tx.execute("UPDATE payment_attempts SET state='declined', error=?, updated_at=? "
                       "WHERE id=?", (why, tx.at, key))
            tx.append("refund.declined", {"refund_id": plan_id, "key": key, "reason": why})
            sale_id = tx.scalar("SELECT sale_id FROM pending_refunds WHERE id=?", (plan_id,))
            self._new_keys(tx, plan_id, sale_id, plan, only=[i])

        await self.store.write(fn)

    # -- completion (one transaction) --------------------------------------------------
    def _next_no(self, tx: Tx, day: str) -> tuple[str, int]:
        n = tx.scalar("INSERT INTO refund_counters(business_day, last) VALUES (?, 1) "
                      "ON CONFLICT(business_day) DO UPDATE SET last=last+1 RETURNING last",
                      (day,))
        return f"{self.till.store}-{self.till.till}-{day}-R{n:04d}", n

    def _complete(self, tx: Tx, plan_id: str, operator: str | None, approver: str | None,
                  plan: Plan | None = None) -> dict[str, Any]:
        svc = self.sales
        row = tx.one("SELECT * FROM pending_refunds WHERE id=?", (plan_id,))
        if row is None or (plan is None and row["state"] != "pending"):
            raise _err("conflict", "this refund is not pending any more")
        if plan is None:
            plan = Plan.from_dict(unpack(row["plan"]))
            missing = [k for k in plan.keys.values() if k not in plan.approved]
            if missing:
                raise _err("payment_declined", "provider refunds are not all approved",
                           keys=missing, refund_id=plan_id)
        orig_id = row["sale_id"]
        orig = tx.one("SELECT * FROM sales WHERE id=?", (orig_id,)) if orig_id else None
        # the quantities again, inside the transaction that changes them
        for x in plan.lines:
            if x.orig_line_id is None:
                continue
            ln = tx.row("SELECT qty, returned_qty FROM sale_lines WHERE id=?",
                        (x.orig_line_id,))
            if ln["returned_qty"] + x.qty > ln["qty"]:
                raise _err("conflict", "the line was refunded meanwhile",
                           line_id=x.orig_line_id)
        day = svc.policy.business_day(tx)
        refund_no, n = self._next_no(tx, day)
        shift = svc.policy.shift_of(tx, operator)
        goods = sum(x.gross for x in plan.lines)
        money = plan.money
        tax: dict[int, dict[str, int]] = {}
        for x in plan.lines:
            g = tax.setdefault(x.tax_rate_bp, {"rate_bp": x.tax_rate_bp, "net": 0, "tax": 0,
                                               "base": 0})
            g["net"] += x.gross
            g["tax"] += x.tax
            g["base"] += x.gross - x.tax if svc.cfg.tax_mode == "inclusive" else x.net
        reason = "post_void" if plan.post_void else ("no_receipt" if plan.no_receipt else None)
        tx.execute(
            "INSERT INTO sales(id, till, kind, state, receipt_no, business_day, receipt_n,"
            " operator, shift_id, member, refund_of, subtotal, discount, total, tax_total, tax,"
            " rounding, paid, due, change, version, void_reason, approver, opened_at,"
            " updated_at, completed_at) VALUES (?,?, 'refund', 'completed', ?,?,?,?,?,?,?,?,?,"
            "?,?,?,?,?, 0, 0, 1, ?,?,?,?,?)",
            (plan_id, self.till.till, refund_no, day, n, operator, shift,
             orig["member"] if orig else None, orig_id,
             sum(x.amount for x in plan.lines), sum(x.discount for x in plan.lines), goods,
             sum(x.tax for x in plan.lines), pack(list(tax.values())), goods - money, money,
             reason, approver, row["created_at"], tx.at, tx.at))
        for pos, x in enumerate(plan.lines):
            tx.execute(
                "INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
                " member_price, tax_rate_bp, category, source, qty, unit_price, amount,"
                " discount, net, tax, gross, orig_line_id) VALUES (?,?,?,?,?,?,?,?,?,?,"
                " 'return', ?,?,?,?,?,?,?,?)",
                (new_id(), plan_id, pos, x.sku, x.name, x.unit, x.list_price,
                 x.member_price, x.tax_rate_bp, x.category, x.qty, x.unit_price, x.amount,
                 x.discount, x.net, x.tax, x.gross, x.orig_line_id))
            if x.orig_line_id is not None:
                tx.execute("UPDATE sale_lines SET returned_qty=returned_qty+? WHERE id=?",
                           (x.qty, x.orig_line_id))
        vouchers = []
        for i, part in enumerate(plan.parts):
            key = plan.keys.get(i)
            ref = plan.approved.get(key) if key else None
            if part.method == "voucher":
                code = refund_no if part.bucket is None else f"{refund_no}-V{i + 1}"
                tx.execute("INSERT INTO vouchers(code, amount, created_at) VALUES (?,?,?)",
                           (code, part.amount, tx.at))
                vouchers.append({"code": code, "amount": part.amount,
                                 "exchange": part.bucket is None})
                ref = code
            tx.execute(
                "INSERT INTO sale_tenders(id, sale_id, pos, method, amount, ref, attempt_id,"
                " operator, shift_id, business_day, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (new_id(), plan_id, i, part.method, -part.amount, ref, key, operator,
                 shift, day, tx.at))
        tx.execute("UPDATE pending_refunds SET state='done', plan=?, updated_at=? WHERE id=?",
                   (pack(plan.to_dict()), tx.at, plan_id))
        wire = svc.wire_from_tx(tx, plan_id)
        tx.append("sale.refunded", {
            "refund_id": plan_id, "receipt_no": refund_no, "business_day": day,
            "shift_id": shift, "refund_of": orig_id,
            "orig_receipt_no": orig["receipt_no"] if orig else None,
            "operator": operator, "approver": approver, "reason": reason,
            "exchange": plan.exchange, "total": goods, "money": money,
            "tenders": wire["tenders"], "vouchers": vouchers,
            "lines": [{"line_id": ln["line_id"], "orig_line_id": x.orig_line_id,
                       "sku": x.sku, "qty": x.qty, "gross": x.gross}
                      for ln, x in zip(wire["lines"], plan.lines, strict=True)],
            "tax": list(tax.values()), "plan": plan.to_dict()})
        svc.run_refund_hooks(tx, wire)
        printer = svc.cfg.printer or next(
            (d.info.id for d in self.devices.of_kind("printer")), None)
        if printer is not None:
            from gatewayd import printing

            slip = {**wire, "refund_of": orig["receipt_no"] if orig else None}
            printing.enqueue(tx, printer, svc.receipt_document(slip), kind="refund",
                             ref=refund_no)
        return {**wire, "orig_receipt_no": orig["receipt_no"] if orig else None,
                "vouchers": vouchers, "exchange": plan.exchange}

    async def _after(self, wire: dict[str, Any], operator: str | None) -> dict[str, Any]:
        from gatewayd.sales.shifts import open_drawer

        self.publish("sale.refunded", wire)
        if self.printing is not None:
            self.printing.wake()
        if any(t["method"] == CASH and t["amount"] < 0 for t in wire["tenders"]):
            await open_drawer(self.devices, self.store, self.sales.cfg.drawer, "refund", operator,
                              {"receipt_no": wire["receipt_no"], "sale_id": wire["id"]})
        wire["applied_to"] = None
        if wire.get("exchange") and wire["vouchers"]:
            wire["applied_to"] = await self._apply_credit(wire["vouchers"][0], operator)
        return wire

    async def _apply_credit(self, voucher: dict[str, Any], operator: str | None) -> str | None:
        """Exchange: tender the credit on the open sale when it is due at least that much."""
        svc = self.sales
        row = self.store.one("SELECT id, due FROM sales WHERE till=? AND state IN "
                                 "('open','tendering')", (self.till.till,))
        if row is None or row["due"] < voucher["amount"]:
            return None
        try:
            await svc.tender(operator, "voucher", voucher["amount"], voucher["code"], None)
        except ProtocolError as exc:
            log.info("exchange credit %s not applied: %s", voucher["code"], exc.message)
            return None
        return row["id"]

    # -- the scan router's refund mode -------------------------------------------------
    def set_mode(self, enabled: bool, whole: bool, operator: str | None,
                 approver: str | None = None) -> dict[str, Any]:
        """`whole` refunds the next receipt scanned, so the caller (api/returns.py) has
        checked the role sale.refund needs; `approver` is who approved it, if anyone."""
        self.refund_mode = enabled
        self.whole = whole if enabled else False
        self.whole_approver = approver if self.whole else None
        out = {"enabled": enabled, "whole": self.whole, "operator": operator}
        self.publish("sale.refund_mode", out)
        return out

    async def on_receipt_scan(self, code: str, operator: str) -> None:
        whole, approver = self.whole, self.whole_approver
        self.set_mode(False, False, operator)
        if whole:
            await self.refund(operator, receipt_no=code.strip(), lines=None,
                              approver=approver)
            return
        self.publish("sale.refund_lookup", self.refundable(code.strip()))

