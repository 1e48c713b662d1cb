"""The sale service: the one place a sale changes (DESIGN §1, §2).

Every change is ONE store transaction that reads the sale from the projection, applies the
intent, prices the basket with the functional core (``pricing.price_sale`` and
``tenders.settle``: the service never adds money itself), writes the projection (sales,
sale_lines, sale_tenders, payment_attempts) and appends the journal event(s). A tender
settles against the total the basket was last priced at; it does not reprice. After a
kill -9 the projection IS the last acknowledged sale. The open sale's lines and tenders are
also kept in memory as of the last commit (``Tx.on_commit``), keyed by the sale's id and
``version``, which every change of a line or tender bumps (``_reprice``, ``_settle``): a
change reads the sales row and, when the version matches, takes the lines and tenders from
memory instead of reading them again. ``GATEWAYD_CHECK_SALE_CACHE=1`` (set by the tests)
compares every such use with a fresh read. After the commit the whole sale is published as
``sale.updated`` and the customer display follows it.

Provider payments (card, Alipay, WeChat Pay) are three steps, each its own transaction:
the attempt with its idempotency key ``{sale_id}:{n}`` is committed *before* the provider is
called; the provider is called (and polled while the customer confirms, then cancelled on
timeout); the outcome is committed (an approved charge becomes a tender, once: the tender
row is UNIQUE on the attempt). On start, attempts left pending are settled by asking the
provider about their key (`recover`).

Who else takes part in a sale (shifts, members, inventory) is given to the service when it
is built, as `SaleParts` (gatewayd/sales/parts.py): participants whose on_complete / on_void
/ on_refund run INSIDE the transaction named (what they write commits or rolls back with
the sale), a frozen `SalePolicy` (business day, open guard, shift, stock guard, member
pricing) and tender providers by method (members: stored_value, points). An on_complete
may add ``wire["receipt_extra"]`` (lines printed on the receipt).

The service is one class in four files, one reason to change each: this one (the sale's
lifecycle: lines, discounts, suspend/resume, void, completion, receipts, promotions),
``payment_flow.py`` (tenders and the provider flow), ``wire.py`` (the sale as the wire
carries it, and the reads) and ``display.py`` (the customer display and drawer task);
``records.py`` holds ``Loaded``, the sale as a transaction reads it, and ``states.py``
the state table.

Helpers the returns service may use: ``next_receipt_no(tx, day)``, ``load(tx, sale_id)``,
``wire_from_tx(tx, sale_id)``, ``provider`` (``refund(key, original, amount)``),
``receipt_document(wire)``, ``complete_side_effects(wire)``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import trio

from drivers.base import DeviceBusy
from gatewayd.ids import new_id
from gatewayd.ports import NO_DEVICES, Devices, PrintWaker, Publish
from gatewayd.sales.catalog.repository import Catalog, Match, compile_scale_layouts
from gatewayd.sales.config import SaleConfig
from gatewayd.sales.display import CustomerDisplay
from gatewayd.sales.money import check_int, div_round, line_amount
from gatewayd.sales.parts import Hook, SaleParts
from gatewayd.sales.payment_flow import PaymentFlow
from gatewayd.sales.payments import (
    PaymentProvider,
)
from gatewayd.sales.pricing import (
    CatalogItem,
    Discount,
    PricingConfig,
    PricingError,
    SaleLine,
    price_sale,
)
from gatewayd.sales.promotions import Promotion, PromotionError, parse_promotions
from gatewayd.sales.receipt import receipt_document, reprint_mark
from gatewayd.sales.records import Loaded, pack_list
from gatewayd.sales.records import sale_error as _err
from gatewayd.sales.states import ACTIVE, move
from gatewayd.sales.tenders import (
    CASH,
    Tender,
    TenderConfig,
    TenderError,
    settle,
)
from gatewayd.sales.wire import LAST_RECEIPT_SQL, SaleWire, as_utc
from gatewayd.store import retention
from gatewayd.store.db import Tx
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.store.db import Store
    from gatewayd.till import TillConfig

log = logging.getLogger("gatewayd.sales")
# the job a completed sale or refund queued for its receipt: the first of its ref (its
# reprints come after it), read in print_jobs_ref's rowid order without a sort
FIRST_RECEIPT_JOB_SQL = ("SELECT document FROM print_jobs WHERE ref=? AND kind IN ('receipt',"
                         " 'refund') ORDER BY rowid LIMIT 1")

class SaleService(SaleWire, PaymentFlow, CustomerDisplay):
    """The sale, built with what it uses (DESIGN §1): its store, its `[sale]` section and the
    till's identity, the catalog, the payment provider, who takes part in a sale
    (`parts`, see parts.py), a publish callback, and the devices and print queue it drives.
    No daemon or socket is needed: a test or head office passes `SaleParts.standalone`."""

    def __init__(self, store: Store, config: SaleConfig, till: TillConfig, *,
                 catalog: Catalog, provider: PaymentProvider, parts: SaleParts,
                 publish: Publish, devices: Devices = NO_DEVICES,
                 printing: PrintWaker | None = None, promotions: tuple[Promotion, ...] = (),
                 session_operator: Callable[[], str | None] = lambda: None):
        self.store = store
        self.cfg = config
        self.till = till
        self.catalog = catalog
        self.provider = provider
        self.publish = publish
        self.devices = devices
        self.printing = printing
        # the operator logged in on a connection to this till (scans act for them)
        self.session_operator = session_operator
        self.policy = parts.policy
        self.tenders = dict(parts.tenders)
        self.on_complete: list[Hook] = [p.on_complete for p in parts.participants]
        self.on_void: list[Hook] = [p.on_void for p in parts.participants]
        self.on_refund: list[Hook] = [p.on_refund for p in parts.participants]
        self.config_promotions = promotions
        self.stored_promotions: tuple[Promotion, ...] = ()
        self.tz = ZoneInfo(self.till.timezone)
        self.layouts = compile_scale_layouts(self.cfg.scale_layouts)
        self.settings_changed()
        self._pay_lock = trio.Lock()
        self._display_send, self._display_recv = trio.open_memory_channel[
            tuple[str, Any]](64)
        self.receipt_re = re.compile(
            rf"^{re.escape(self.till.store)}-{re.escape(self.till.till)}-\d{{8}}-\d+$")
        # the open sale as last committed: (id, version, lines, tenders); see the module doc
        self._kept: tuple[str, int, list[dict[str, Any]], list[dict[str, Any]]] | None = None
        self._check_kept = os.environ.get("GATEWAYD_CHECK_SALE_CACHE") == "1"
        self.reload_promotions()

    # ------------------------------------------------------------------ small helpers
    def now(self) -> datetime:
        return datetime.now(self.tz)

    def settings_changed(self) -> None:
        """`self.cfg` changed (head office's central settings): what is derived from it."""
        self.pricing_config = PricingConfig(self.cfg.tax_mode, self.cfg.rounding)
        self.tender_config = TenderConfig(self.cfg.cash_rounding, self.cfg.max_change)

    def reload_promotions(self) -> None:
        """The stored promotions, read again (after promo.upsert, or head office's)."""
        rows = self.store.all("SELECT data FROM promotions ORDER BY id")
        stored = [unpack(r["data"]) for r in rows]
        ids = {p.id for p in self.config_promotions}
        try:
            parsed = parse_promotions([d for d in stored if d.get("id") not in ids])
        except PromotionError as exc:
            log.error("stored promotions are invalid, ignored: %s", exc)
            parsed = ()
        self.stored_promotions = parsed

    @property
    def promotions(self) -> tuple[Promotion, ...]:
        return (*self.config_promotions, *self.stored_promotions)

    def is_receipt_no(self, code: str) -> bool:
        return bool(self.receipt_re.match(code.strip()))

    # ------------------------------------------------------------------ reading
    @staticmethod
    def load(tx: Tx, sale_id: str, row: Any = None) -> Loaded | None:
        """The sale with its lines and tenders (`row`: its sales row, when already read)."""
        row = row if row is not None else tx.one("SELECT * FROM sales WHERE id=?", (sale_id,))
        if row is None:
            return None
        lines = [dict(r) for r in tx.execute(
            "SELECT * FROM sale_lines WHERE sale_id=? ORDER BY pos", (sale_id,)).fetchall()]
        tenders = [dict(r) for r in tx.execute(
            "SELECT * FROM sale_tenders WHERE sale_id=? ORDER BY pos", (sale_id,)).fetchall()]
        return Loaded(dict(row), lines, tenders)

    def _active(self, tx: Tx) -> Loaded | None:
        row = tx.one("SELECT * FROM sales WHERE till=? AND state IN ('open','tendering')",
                     (self.till.till,))
        if row is None:
            return None
        kept = self._kept
        if kept is None or kept[0] != row["id"] or kept[1] != row["version"]:
            return self.load(tx, row["id"], row)
        st = Loaded(dict(row), [dict(ln) for ln in kept[2]], [dict(t) for t in kept[3]])
        if self._check_kept:
            fresh = self.load(tx, row["id"], row)
            assert fresh is not None and (fresh.lines, fresh.tenders) == (st.lines, st.tenders), \
                f"the kept open sale {row['id']} v{row['version']} differs from the store"
        return st

    def _keep(self, st: Loaded) -> None:
        """On commit: remember the open sale (or forget it once it is no longer open)."""
        s = st.sale
        self._kept = (s["id"], s["version"], st.lines, st.tenders) \
            if s["state"] in ACTIVE else None

    def _require_active(self, tx: Tx) -> Loaded:
        st = self._active(tx)
        if st is None:
            raise _err("conflict", "there is no open sale")
        return st

    def _require_open(self, tx: Tx) -> Loaded:
        st = self._require_active(tx)
        if st.sale["state"] != "open":
            raise _err("conflict", "the sale is being paid: finish paying or void the sale",
                       state=st.sale["state"])
        return st

    def active_operator(self) -> str | None:
        """The operator scans act for: the active sale's, else a logged-in session's."""
        row = self.store.one(
            "SELECT operator FROM sales WHERE till=? AND state IN ('open','tendering')",
            (self.till.till,))
        if row is not None and row["operator"]:
            return row["operator"]
        return self.session_operator()

    # ------------------------------------------------------------------ pricing
    def _reprice(self, tx: Tx, st: Loaded) -> None:
        """Price the basket and settle the tenders with the functional core; write the
        priced projection. Raises ProtocolError on bad input (nothing is committed)."""
        s = st.sale
        lines = []
        catalog: dict[str, CatalogItem] = {}
        for ln in st.lines:
            disc = None
            if ln["disc_bp"] is not None or ln["disc_amount"] is not None:
                disc = Discount(ln["disc_bp"], ln["disc_amount"], ln["disc_reason"] or "")
            lines.append(SaleLine(ln["id"], ln["sku"], ln["qty"], ln["unit_price"], disc,
                                  bool(ln["voided"])))
            if ln["sku"] not in catalog:
                catalog[ln["sku"]] = CatalogItem(
                    ln["sku"], ln["name"], ln["list_price"], ln["unit"], ln["member_price"],
                    ln["tax_rate_bp"], ln["category"])
        order = None
        if s["order_disc_bp"] is not None or s["order_disc_amount"] is not None:
            order = Discount(s["order_disc_bp"], s["order_disc_amount"],
                             s["order_disc_reason"] or "")
        try:
            priced = price_sale(lines, catalog, self.promotions,
                                self.policy.member_pricing(tx, s["member"]),
                                datetime.fromtimestamp(tx.at / 1e6, self.tz),
                                self.pricing_config, order)
        except PricingError as exc:
            raise _err("invalid_params", str(exc)) from None
        settlement = self._settlement(priced.total, st.tenders)
        by_id = {ln["id"]: ln for ln in st.lines}
        rows = []
        for p in priced.lines:
            promos = [{"id": a.promo_id, "label": a.label, "discount": a.discount}
                      for a in p.promotions]
            ln = by_id[p.line_id]
            row = (p.amount, p.discount, p.promo_discount + p.member_discount,
                   p.manual_discount, p.order_discount, p.net, p.tax, p.gross,
                   pack_list(promos), pack_list(p.explain))
            # A scan reprices the whole basket but usually changes one line: write only
            # the lines whose priced values moved (a 60-line basket is not 60 UPDATEs).
            if row != _priced_of(ln):
                rows.append((*row, p.line_id))
                ln.update(zip(_PRICED_COLUMNS, row, strict=True))
        if rows:
            tx.executemany(
                "UPDATE sale_lines SET amount=?, discount=?, promo_discount=?,"
                " manual_discount=?, order_discount=?, net=?, tax=?, gross=?, promos=?,"
                " explain=? WHERE id=?", rows)
        tax = [{"rate_bp": t.rate_bp, "net": t.net, "tax": t.tax, "base": t.base}
               for t in priced.tax]
        s.update(subtotal=priced.subtotal, discount=priced.discount, total=priced.total,
                 tax_total=priced.tax_total, tax=pack(tax), explain=pack(list(priced.explain)),
                 rounding=settlement.rounding, paid=settlement.paid, due=settlement.due,
                 change=settlement.change, version=s["version"] + 1, updated_at=tx.at)
        tx.execute(
            "UPDATE sales SET subtotal=:subtotal, discount=:discount, total=:total,"
            " tax_total=:tax_total, tax=:tax, explain=:explain, rounding=:rounding, paid=:paid,"
            f" due=:due, change=:change, version=:version, updated_at=:updated_at"
            f"{st.changed_columns()} WHERE id=:id", s)
        st.settlement = settlement
        tx.on_commit(lambda: self._keep(st))

    def _settlement(self, total: int, tenders: list[dict[str, Any]]) -> Any:
        try:
            return settle(total, [Tender(t["method"], t["amount"]) for t in tenders],
                          self.cfg.cash_rounding)
        except TenderError as exc:
            raise _err(exc.code, f"{exc}: the tenders taken no longer fit the sale") from None

    def _settle(self, tx: Tx, st: Loaded) -> None:
        """A tender changes what is paid, not the prices: settle the tenders against the
        total the basket was last priced at (a promotion window that closed since the last
        scan does not change the total the customer was shown)."""
        s = st.sale
        settlement = self._settlement(s["total"], st.tenders)
        s.update(rounding=settlement.rounding, paid=settlement.paid, due=settlement.due,
                 change=settlement.change, version=s["version"] + 1, updated_at=tx.at)
        tx.execute(
            "UPDATE sales SET rounding=:rounding, paid=:paid, due=:due, change=:change,"
            f" version=:version, updated_at=:updated_at{st.changed_columns()} WHERE id=:id", s)
        st.settlement = settlement
        tx.on_commit(lambda: self._keep(st))

    # ------------------------------------------------------------------ the write path
    async def _change(self, fn: Callable[[Tx], Any], *, display: bool = True) -> dict[str, Any]:
        """Run one change; publish the whole sale after the commit."""
        wire, _ = await self.store.write(fn)
        self._published(wire, display=display)
        return wire

    def _published(self, wire: dict[str, Any], *, display: bool = True) -> None:
        self.publish("sale.updated", wire)
        if display:
            self._display(("sale", wire))

    def _open_sale(self, tx: Tx, operator: str | None) -> Loaded:
        self.policy.open_guard(tx)
        sale_id = new_id()
        tx.execute(
            "INSERT INTO sales(id, till, state, operator, opened_at, updated_at) "
            "VALUES (?,?, 'open', ?, ?, ?)", (sale_id, self.till.till, operator, tx.at, tx.at))
        tx.append("sale.opened", {"sale_id": sale_id, "till": self.till.till,
                                  "operator": operator})
        st = self.load(tx, sale_id)
        assert st is not None
        return st

    def _check_qty(self, qty: int, unit: str) -> None:
        check_int(qty, "qty")
        if qty <= 0:
            raise _err("invalid_params", "qty must be > 0 (thousandths: 1000 = 1 piece, "
                       "grams for kg items)", field="qty")
        if qty > self.cfg.max_qty:
            raise _err("invalid_params", f"qty {qty} is above the limit {self.cfg.max_qty} "
                       f"({self.cfg.max_qty // 1000} {unit})", field="qty")
        if unit == "pc" and qty % 1000:
            raise _err("invalid_params", "a piece item's qty is whole pieces (a multiple of "
                       "1000)", field="qty")

    def _check_price(self, price: int) -> None:
        check_int(price, "unit_price")
        if price < 0 or price > self.cfg.max_unit_price:
            raise _err("invalid_params",
                       f"unit price {price} fen is outside 0..{self.cfg.max_unit_price}",
                       field="unit_price")

    async def resolve(self, *, barcode: str | None = None, sku: str | None = None,
                      plu: str | None = None) -> Match:
        cat = self.catalog
        if barcode is not None:
            match = cat.lookup(barcode, self.layouts)
            if match is None:
                raise _err("not_found", f"unknown barcode {barcode!r}", barcode=barcode)
        elif sku is not None:
            item = cat.get(sku)
            if item is None:
                raise _err("not_found", f"no item with sku {sku!r}", sku=sku)
            match = Match(item, None, None, "sku")
        elif plu is not None:
            item = cat.by_plu(plu)
            if item is None:
                raise _err("not_found", f"no item with PLU {plu!r}", plu=plu)
            match = Match(item, None, None, "plu")
        else:
            raise _err("invalid_params", "give one of barcode, sku or plu")
        if not match.item.active:
            raise _err("conflict", f"{match.item.name} ({match.item.sku}) is not for sale "
                       "(inactive in the catalog)", sku=match.item.sku)
        return match

    async def weigh(self) -> int:
        from gatewayd.devices import as_scale, pick

        try:
            scale = as_scale(pick(self.devices, "scale", self.cfg.scale))
        except ProtocolError:
            raise _err("device_offline", "this item is sold by weight and no scale is "
                       "configured: give the weight as qty (grams)") from None
        reading = await scale.read(timeout=self.cfg.scale_timeout_ms / 1000)
        if not reading.stable:
            raise DeviceBusy(f"{scale.info.id}: weight not stable")
        if reading.grams <= 0:
            raise _err("invalid_params", "the scale shows no weight: put the item on the scale",
                       grams=reading.grams)
        return reading.grams

    async def add(self, operator: str | None, *, barcode: str | None = None,
                  sku: str | None = None, plu: str | None = None,
                  qty: int | None = None) -> dict[str, Any]:
        given = [x for x in (barcode, sku, plu) if x is not None]
        if len(given) != 1:
            raise _err("invalid_params", "give exactly one of barcode, sku or plu")
        match = await self.resolve(barcode=barcode, sku=sku, plu=plu)
        item = match.item
        unit_price: int | None = None
        price_source: str | None = None
        if match.price_override is not None:
            # a price label: the amount printed for the whole pack is the line's amount
            unit_price, qty = self._label_price(item, match.price_override, qty)
            price_source = "label"
        elif match.qty_override is not None:
            if qty is not None:
                raise _err("invalid_params", "the label carries the weight; do not give qty")
            qty = match.qty_override
        elif qty is None:
            qty = await self.weigh() if item.unit == "kg" else 1000
        self._check_qty(qty, item.unit)
        if unit_price is not None:
            self._check_price(unit_price)

        def fn(tx: Tx) -> dict[str, Any]:
            st = self._active(tx)
            if st is not None and st.sale["state"] != "open":
                raise _err("conflict", "the sale is being paid: finish paying or void the sale")
            if st is None:
                st = self._open_sale(tx, operator)
            if len(st.lines) >= self.cfg.max_lines:
                raise _err("conflict", f"a sale has at most {self.cfg.max_lines} lines")
            self.policy.qty_guard(item.sku, qty, _in_sale(st, item.sku))
            same = next((ln for ln in st.lines if ln["sku"] == item.sku), None)
            snap = (same["name"], same["unit"], same["list_price"], same["member_price"],
                    same["tax_rate_bp"], same["category"]) if same else (
                item.name, item.unit, item.price, item.member_price, item.tax_rate_bp,
                item.category)
            line_id = new_id()
            line = {
                "id": line_id, "sale_id": st.sale["id"], "pos": len(st.lines),
                "sku": item.sku, "name": snap[0], "unit": snap[1], "list_price": snap[2],
                "member_price": snap[3], "tax_rate_bp": snap[4], "category": snap[5],
                "barcode": barcode, "source": match.source, "qty": qty,
                "unit_price": unit_price, "price_source": price_source,
                "disc_bp": None, "disc_amount": None, "disc_reason": None, "voided": 0,
            }
            line = dict(tx.row(
                "INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price,"
                " member_price, tax_rate_bp, category, barcode, source, qty, unit_price,"
                " price_source) VALUES (:id,:sale_id,:pos,:sku,:name,:unit,:list_price,"
                ":member_price,:tax_rate_bp,:category,:barcode,:source,:qty,:unit_price,"
                ":price_source) RETURNING *", line))  # the whole row, defaults included
            st.lines.append(line)
            self._reprice(tx, st)
            tx.append("sale.line_added", {
                "sale_id": st.sale["id"], "line_id": line_id, "sku": item.sku, "qty": qty,
                "unit_price": unit_price, "source": match.source, "barcode": barcode,
                "operator": operator, "version": st.sale["version"],
                "item": dict(zip(ITEM_SNAPSHOT, snap, strict=True))})
            wire = self._wire_of(tx, st)
            wire["added"] = line_id
            return wire

        return await self._change(fn)

    def _label_price(self, item: Any, price: int, qty: int | None) -> tuple[int, int]:
        if qty is not None:
            raise _err("invalid_params", "the label carries the price; do not give qty")
        if item.unit == "kg" and item.price > 0:
            grams = max(1, div_round(price * 1000, item.price))
            unit_price = div_round(price * 1000, grams)
            if line_amount(unit_price, grams) == price:
                return unit_price, grams
        return price, 1000

    async def set_qty(self, operator: str | None, line_id: str, qty: int) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_open(tx)
            ln = self._line(st, line_id)
            self._check_qty(qty, ln["unit"])
            self.policy.qty_guard(ln["sku"], qty, _in_sale(st, ln["sku"], but=line_id))
            ln["qty"] = qty
            tx.execute("UPDATE sale_lines SET qty=? WHERE id=?", (qty, line_id))
            self._reprice(tx, st)
            tx.append("sale.qty_set", {"sale_id": st.sale["id"], "line_id": line_id,
                                       "qty": qty, "operator": operator,
                                       "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    @staticmethod
    def _line(st: Loaded, line_id: str, *, live: bool = True) -> dict[str, Any]:
        for ln in st.lines:
            if ln["id"] == line_id:
                if live and ln["voided"]:
                    raise _err("conflict", "that line is voided", line_id=line_id)
                return ln
        raise _err("not_found", f"no line {line_id!r} in the sale", line_id=line_id)

    async def void_line(self, operator: str | None, line_id: str) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_open(tx)
            ln = self._line(st, line_id)
            ln["voided"] = 1
            tx.execute("UPDATE sale_lines SET voided=1 WHERE id=?", (line_id,))
            self._reprice(tx, st)
            tx.append("sale.line_voided", {"sale_id": st.sale["id"], "line_id": line_id,
                                           "sku": ln["sku"], "qty": ln["qty"],
                                           "operator": operator,
                                           "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    def discount_needs_approval(self, *, line_id: str | None, percent_bp: int | None,
                                amount: int | None) -> bool:
        """Above `max_cashier_discount_percent` of the line (or the sale's subtotal)?"""
        limit_bp = self.cfg.max_cashier_discount_percent * 100
        if percent_bp is not None:
            return percent_bp > limit_bp
        row = self.store.one(
            "SELECT id, subtotal FROM sales WHERE till=? AND state IN ('open','tendering')",
            (self.till.till,))
        if row is None:
            return False
        if line_id is not None:
            ln = self.store.one("SELECT amount FROM sale_lines WHERE id=? AND sale_id=?",
                                    (line_id, row["id"]))
            base = ln["amount"] if ln else 0
        else:
            base = row["subtotal"]
        return (amount or 0) * 10000 > limit_bp * base

    async def discount(self, operator: str | None, *, line_id: str | None,
                       percent_bp: int | None, amount: int | None, reason: str,
                       approver: str | None = None) -> dict[str, Any]:
        if (percent_bp is None) == (amount is None):
            raise _err("invalid_params", "give exactly one of percent (basis points) and amount")
        if percent_bp is not None and not 0 <= percent_bp <= 10000:
            raise _err("invalid_params", "percent is in basis points: 0..10000 (1000 = 10 %)")
        if amount is not None and not 0 <= amount <= self.cfg.max_unit_price:
            raise _err("invalid_params", "discount amount out of range")
        if not reason.strip():
            raise _err("invalid_params", "a discount needs a reason", field="reason")

        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_open(tx)
            clear = percent_bp == 0 or amount == 0
            values = (None, None, None) if clear else (percent_bp, amount, reason)
            if line_id is not None:
                ln = self._line(st, line_id)
                ln.update(disc_bp=values[0], disc_amount=values[1], disc_reason=values[2])
                tx.execute("UPDATE sale_lines SET disc_bp=?, disc_amount=?, disc_reason=? "
                           "WHERE id=?", (*values, line_id))
            else:
                st.sale.update(order_disc_bp=values[0], order_disc_amount=values[1],
                               order_disc_reason=values[2])
                tx.execute("UPDATE sales SET order_disc_bp=?, order_disc_amount=?, "
                           "order_disc_reason=? WHERE id=?", (*values, st.sale["id"]))
            self._reprice(tx, st)
            tx.append("sale.discount", {"sale_id": st.sale["id"], "line_id": line_id,
                                        "percent_bp": percent_bp, "amount": amount,
                                        "reason": reason, "operator": operator,
                                        "approver": approver, "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    async def set_price(self, operator: str | None, line_id: str, unit_price: int,
                        approver: str | None = None) -> dict[str, Any]:
        self._check_price(unit_price)

        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_open(tx)
            ln = self._line(st, line_id)
            ln.update(unit_price=unit_price, price_source="override")
            tx.execute("UPDATE sale_lines SET unit_price=?, price_source='override' WHERE id=?",
                       (unit_price, line_id))
            self._reprice(tx, st)
            tx.append("sale.price_overridden", {
                "sale_id": st.sale["id"], "line_id": line_id, "sku": ln["sku"],
                "list_price": ln["list_price"], "unit_price": unit_price,
                "operator": operator, "approver": approver, "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    async def set_member(self, operator: str | None, member: str | None, phone: str | None,
                         benefit: Callable[[Tx, str], Any],
                         view: Callable[[str | None], Any]) -> dict[str, Any]:
        """sale.member: `member` (None: no member) on the open sale, opening one for a member;
        refused once the sale is being paid. `benefit(tx, member)` runs in the same
        transaction (the members' birthday coupon, journaled with it); `view(member)` is the
        wire's `member_info`."""
        def fn(tx: Tx) -> dict[str, Any]:
            st = self._active(tx)
            if st is None:
                if member is None:
                    raise _err("conflict", "there is no open sale")
                st = self._open_sale(tx, operator)
            if st.sale["state"] != "open":
                raise _err("conflict", "the sale is being paid: the member must be "
                           "given before the first tender")
            st.sale["member"] = member
            tx.execute("UPDATE sales SET member = ? WHERE id = ?", (member, st.sale["id"]))
            coupon = benefit(tx, member) if member is not None else None
            tx.append("sale.member", {
                "sale_id": st.sale["id"], "member": member, "phone": phone,
                "operator": operator, "birthday_coupon": coupon})
            self._reprice(tx, st)
            wire = self.wire_from_tx(tx, st.sale["id"])
            if coupon:
                wire["birthday_coupon"] = coupon
            return wire

        wire, _ = await self.store.write(fn)
        wire["member_info"] = view(wire["member"])
        self._published(wire)
        return wire

    # ------------------------------------------------------------------ suspend / void
    async def suspend(self, operator: str | None) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_open(tx)
            if st.tenders:
                raise _err("conflict", "a sale with tenders cannot be suspended")
            if not st.live_lines:
                raise _err("conflict", "nothing to suspend: the sale is empty")
            move(st.sale, "suspend")
            self._reprice(tx, st)
            tx.append("sale.suspended", {"sale_id": st.sale["id"], "operator": operator,
                                         "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    async def resume(self, operator: str | None, sale_id: str) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            st = self.load(tx, sale_id)
            if st is None or st.sale["till"] != self.till.till:
                raise _err("not_found", f"no suspended sale {sale_id!r}")
            if st.sale["state"] != "suspended":
                raise _err("conflict", f"sale {sale_id} is {st.sale['state']}, not suspended")
            self.policy.open_guard(tx)
            active = self._active(tx)
            if active is not None:
                if active.live_lines or active.tenders:
                    raise _err("conflict", "finish, suspend or void the open sale first",
                               sale_id=active.sale["id"])
                move(active.sale, "drop")  # an empty sale is simply dropped
                tx.execute("UPDATE sales SET state='voided', void_reason='empty' WHERE id=?",
                           (active.sale["id"],))
                tx.append("sale.voided", {"sale_id": active.sale["id"], "reason": "empty",
                                          "operator": operator})
            move(st.sale, "resume")
            self._reprice(tx, st)  # prices as of now (a time-window promotion may have ended)
            tx.append("sale.resumed", {"sale_id": sale_id, "operator": operator,
                                       "version": st.sale["version"]})
            return self._wire_of(tx, st)

        return await self._change(fn)

    def suspended(self) -> list[dict[str, Any]]:
        rows = self.store.all(
            "SELECT s.id, s.operator, s.total, s.updated_at, s.opened_at,"
            " (SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id=s.id AND NOT l.voided) n"
            " FROM sales s WHERE till=? AND state='suspended' ORDER BY updated_at",
            (self.till.till,))
        return [{"id": r["id"], "operator": r["operator"], "total": r["total"], "lines": r["n"],
                 "opened_at": as_utc(r["opened_at"]), "suspended_at": as_utc(r["updated_at"])}
                for r in rows]

    async def void(self, operator: str | None, reason: str,
                   approver: str | None = None) -> dict[str, Any]:
        if not reason.strip():
            raise _err("invalid_params", "a void needs a reason", field="reason")
        async with self._pay_lock:
            # give back what providers took first (a reversal of each approved charge)
            row = self.store.one(
                "SELECT id FROM sales WHERE till=? AND state IN ('open','tendering')",
                (self.till.till,))
            if row is None:
                raise _err("conflict", "there is no open sale")
            attempts = self.store.all(
                "SELECT a.* FROM payment_attempts a JOIN sale_tenders t ON t.attempt_id=a.id "
                "WHERE a.sale_id=? AND a.state='approved'", (row["id"],))
            reversed_ = []
            for a in attempts:
                res = await self._provider_call(self.provider.cancel, a["id"])
                if res.state != "cancelled":
                    raise _err("conflict", f"the {a['method']} payment could not be reversed "
                               f"({res.state}); refund it instead", key=a["id"])
                reversed_.append(a["id"])

            def fn(tx: Tx) -> dict[str, Any]:
                st = self._require_active(tx)
                for key in reversed_:
                    tx.execute("UPDATE payment_attempts SET state='cancelled', updated_at=? "
                               "WHERE id=?", (tx.at, key))
                    tx.append("payment.reversed", {"key": key, "sale_id": st.sale["id"]})
                move(st.sale, "void")
                day = self.policy.business_day(tx)
                tx.execute("UPDATE sales SET void_reason=?, approver=?, business_day=? "
                           "WHERE id=?", (reason, approver, day, st.sale["id"]))
                self._reprice(tx, st)
                tx.append("sale.voided", {
                    "sale_id": st.sale["id"], "reason": reason, "operator": operator,
                    "approver": approver, "total": st.sale["total"],
                    "cash_tendered": sum(t["amount"] for t in st.tenders
                                         if t["method"] == CASH),
                    "version": st.sale["version"], "business_day": day})
                wire = self.wire_from_tx(tx, st.sale["id"])
                for hook in self.on_void:
                    hook(tx, wire)
                return wire

            wire = await self._change(fn, display=False)
            self._display(("idle", None))
            return wire

    # ------------------------------------------------------------------ completion
    def next_receipt_no(self, tx: Tx, day: str) -> tuple[str, int]:
        """Allocate the next receipt number of `day` inside `tx` (gap-free)."""
        n = tx.scalar("INSERT INTO receipt_counters(business_day, last) VALUES (?, 1) "
                      "ON CONFLICT(business_day) DO UPDATE SET last=last+1 RETURNING last",
                      (day,))
        return f"{self.till.store}-{self.till.till}-{day}-{n:04d}", n

    def _complete(self, tx: Tx, st: Loaded, operator: str | None) -> dict[str, Any]:
        s = st.sale
        day = self.policy.business_day(tx)
        receipt_no, n = self.next_receipt_no(tx, day)
        shift = self.policy.shift_of(tx, operator or s["operator"])
        move(s, "complete")
        s.update(receipt_no=receipt_no, business_day=day, receipt_n=n,
                 shift_id=shift, completed_at=tx.at, updated_at=tx.at,
                 operator=operator if s["operator"] is None else s["operator"])
        tx.execute("UPDATE sales SET state=:state, receipt_no=:receipt_no,"
                   " business_day=:business_day, receipt_n=:receipt_n, shift_id=:shift_id,"
                   " completed_at=:completed_at, updated_at=:updated_at, operator=:operator"
                   " WHERE id=:id", s)
        tx.execute("UPDATE sale_tenders SET shift_id=?, business_day=? WHERE sale_id=?",
                   (shift, day, s["id"]))
        for t in st.tenders:
            t.update(shift_id=shift, business_day=day)
        wire = self._wire_of(tx, st)  # from the rows just written: the crash test rereads
        tx.append("sale.completed", {
            "sale_id": s["id"], "receipt_no": receipt_no, "business_day": day,
            "shift_id": shift, "operator": wire["operator"], "total": wire["total"],
            "subtotal": wire["subtotal"], "discount": wire["discount"],
            "tax": wire["tax"], "rounding": wire["rounding"], "paid": wire["paid"],
            "change": wire["change"], "tenders": wire["tenders"],
            "lines": [completed_line(ln) for ln in st.lines if not ln["voided"]],
            "voided_lines": [completed_line(ln) for ln in st.lines if ln["voided"]]})
        for hook in self.on_complete:  # before the receipt: hooks may add receipt_extra
            hook(tx, wire)
        printers = self.devices.of_kind("printer")
        printer = self.cfg.printer or (printers[0].info.id if printers else None)
        if printer is not None:
            from gatewayd import printing

            printing.enqueue(tx, printer, self.receipt_document(wire), kind="receipt",
                             ref=receipt_no)
        return wire

    def run_refund_hooks(self, tx: Tx, wire: dict[str, Any]) -> None:
        for hook in self.on_refund:
            hook(tx, wire)

    def receipt_document(self, wire: dict[str, Any], reprint: int = 0) -> list[dict[str, Any]]:
        return receipt_document(wire, self.cfg, self.till, self.tz, reprint=reprint)

    async def _after(self, wire: dict[str, Any]) -> None:
        """After a commit: publish, and when completed: print, drawer, display."""
        self.publish("sale.updated", wire)
        if wire["state"] == "completed":
            await self.complete_side_effects(wire)
        else:
            self._display(("sale", wire))

    async def complete_side_effects(self, wire: dict[str, Any]) -> None:
        if self.printing is not None:
            self.printing.wake()
        self._display(("done", wire))
        if any(t["method"] == CASH for t in wire["tenders"]):
            self._display(("drawer", wire))

    # ------------------------------------------------------------------ receipts
    async def reprint(self, operator: str | None, receipt_no: str | None) -> dict[str, Any]:
        if receipt_no is None:
            row = self.store.one(LAST_RECEIPT_SQL, (self.till.till,))
            if row is None:
                raise _err("not_found", "no receipt has been printed yet")
            receipt_no = row["receipt_no"]
        printers = self.devices.of_kind("printer")
        printer = self.cfg.printer or (printers[0].info.id if printers else None)
        if printer is None:
            raise _err("not_found", "no printer is configured")

        def fn(tx: Tx) -> dict[str, Any]:
            retention.bring_back(tx, self.store.archive_dir, receipt_no)
            row = tx.one("SELECT id, reprints FROM sales WHERE receipt_no=?", (receipt_no,))
            if row is None:
                raise _err("not_found", f"no receipt {receipt_no}", receipt_no=receipt_no)
            tx.execute("UPDATE sales SET reprints=reprints+1 WHERE id=?", (row["id"],))
            count = row["reprints"] + 1
            from gatewayd import printing

            job = printing.enqueue(tx, printer, self._reprint_document(tx, row["id"], receipt_no,
                                                                       count),
                                   kind="reprint", ref=receipt_no)
            tx.append("receipt.reprinted", {"receipt_no": receipt_no, "sale_id": row["id"],
                                            "count": count, "operator": operator,
                                            "job_id": job})
            return {"receipt_no": receipt_no, "reprints": count, "job_id": job}

        result, _ = await self.store.write(fn)
        if self.printing is not None:
            self.printing.wake()
        return result

    def _reprint_document(self, tx: Tx, sale_id: str, receipt_no: str,
                          count: int) -> list[dict[str, Any]]:
        """The receipt as it was first queued (sale or refund slip), headed with the reprint
        mark: a copy of what the customer was given (its member points line, a refund's
        original receipt number), and no reading and rendering of the sale inside the write
        (0.4-0.5 ms of the writer's time, issue 18). Rendered from the sale when that job
        is gone (retention archived it, or no printer was configured then)."""
        first = tx.one(FIRST_RECEIPT_JOB_SQL, (receipt_no,))
        if first is None:
            wire = self.wire_from_tx(tx, sale_id)
            return self.receipt_document(wire, count)
        return [reprint_mark(count), *unpack(first["document"])]

    # ------------------------------------------------------------------ promotions, vouchers
    async def upsert_promotions(self, operator: str | None,
                                items: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            parsed = parse_promotions(items)
        except PromotionError as exc:
            raise _err("invalid_params", str(exc), errors=exc.errors) from None
        clash = sorted({p.id for p in parsed} & {p.id for p in self.config_promotions})
        if clash:
            raise _err("conflict", f"promotion(s) {', '.join(clash)} come from the config "
                       "file; change them there", ids=clash)

        def fn(tx: Tx) -> dict[str, Any]:
            save_promotions(tx, items)
            seq = tx.append("promo.upserted", {"ids": [p.id for p in parsed],
                                               "promotions": items, "operator": operator})
            return {"count": len(parsed), "seq": seq}

        result, _ = await self.store.write(fn)
        self.reload_promotions()
        return result

    def list_promotions(self) -> list[dict[str, Any]]:
        return [{**p.model_dump(mode="json"), "source": src}
                for src, ps in (("config", self.config_promotions),
                                ("store", self.stored_promotions)) for p in ps]

    async def issue_voucher(self, operator: str | None, code: str, amount: int) -> dict:
        if amount > self.cfg.max_voucher:
            raise _err("invalid_params", f"a voucher is worth at most {self.cfg.max_voucher} fen "
                       "here (sale.max_voucher)", max_voucher=self.cfg.max_voucher)

        def fn(tx: Tx) -> dict[str, Any]:
            if tx.one("SELECT 1 FROM vouchers WHERE code=?", (code,)):
                raise _err("conflict", f"voucher {code} exists")
            tx.execute("INSERT INTO vouchers(code, amount, created_at) VALUES (?,?,?)",
                       (code, amount, tx.at))
            tx.append("voucher.issued", {"code": code, "amount": amount, "operator": operator})
            return {"code": code, "amount": amount}

        result, _ = await self.store.write(fn)
        return result

_PRICED_COLUMNS = ("amount", "discount", "promo_discount", "manual_discount", "order_discount",
                   "net", "tax", "gross", "promos", "explain")
_priced_of = itemgetter(*_PRICED_COLUMNS)


ITEM_SNAPSHOT = ("name", "unit", "list_price", "member_price", "tax_rate_bp", "category")
_COMPLETED_FIELDS = ("sku", "qty", "net", *ITEM_SNAPSHOT, "unit_price", "amount", "discount",
                     "tax", "gross")


def completed_line(row: dict[str, Any]) -> dict[str, Any]:
    """A sale line as sale.completed journals it: enough to rebuild it (restore from head
    office) without the catalog."""
    return {"line_id": row["id"], **{k: row[k] for k in _COMPLETED_FIELDS}}


def _in_sale(st: Loaded, sku: str, but: str | None = None) -> int:
    """The quantity of `sku` on the sale's live lines, leaving out line `but`."""
    return sum(ln["qty"] for ln in st.lines
               if ln["sku"] == sku and not ln["voided"] and ln["id"] != but)


def save_promotions(tx: Tx, items: list[dict[str, Any]]) -> None:
    """Stored promotions (validated dicts), by id: from promo.upsert or head office."""
    tx.executemany(
        "INSERT INTO promotions(id, data, updated_at) VALUES (?,?,?) ON CONFLICT(id)"
        " DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
        [(d["id"], pack(d), tx.at) for d in items])
