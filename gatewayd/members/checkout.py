"""The members at the checkout: the wiring into the sale service's hooks.

`bind(app)` creates `app.members` (a MemberService). When the sale service is there
(`app.sales`), it also hooks in (each hook runs INSIDE the sale's own transaction):

    on_complete  points earned, spend/tier, referral reward (ledger.complete_sale); the
                 member summary goes on the wire (`member_info`) and its lines on the receipt
                 (`receipt_extra`)
    on_void      stored-value and points tenders given back, coupons released
    on_refund    points reversed in proportion (refused, nothing changed, if the member has
                 spent them), refund tenders of method stored_value/points paid back
    member_pricing     the member's tier benefits for pricing (member price, discount)
    tender_hooks       `sale.tender {method: stored_value|points}` taken from the member
    member_scan        the scan router sends member QR / card codes to sale.member

and answers `sale.member` (attach) and `sale.coupon` (pay_coupon) through MemberCheckout.
The methods: gatewayd/api/members.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatewayd.members import core, ledger
from gatewayd.members.ledger import MemberError
from gatewayd.members.service import MemberService

if TYPE_CHECKING:
    from gatewayd.app import App
    from gatewayd.store.db import Tx



def bind(app: App) -> tuple[MemberService, MemberCheckout | None]:
    cfg = app.config.members
    svc = MemberService(app.store, cfg, app.config.till.timezone, app.emit)
    app.tasks.append(("members.daily", svc.run_daily))
    shifts = getattr(app, "shifts", None)  # bound before the members
    if shifts is not None:
        svc.cash_taken = shifts.cash_taken
    sales = getattr(app, "sales", None)
    return svc, (hook_sales(app, svc, sales) if sales is not None else None)


@dataclass(frozen=True)
class MemberCheckout:
    """sale.member and sale.coupon, as the hooks made them."""

    attach: Callable[[str | None, str | None], Awaitable[dict[str, Any]]]
    pay_coupon: Callable[[str | None, str], Awaitable[dict[str, Any]]]


def hook_sales(app: App, svc: MemberService, sales: Any) -> MemberCheckout:
    """Wire members into the sale service (see the module doc)."""
    from gatewayd.sales.tenders import Tender, settle

    cfg = svc.config

    # -- inside the sale's transactions ---------------------------------------------------
    def on_complete(tx: Tx, wire: dict[str, Any]) -> None:
        member_id = wire.get("member")
        if not member_id or wire.get("kind") == "refund":
            return
        lines = [{"net": ln["net"], "gross": ln["net"] + (
                  ln["tax"] if wire.get("tax_mode") == "exclusive" else 0),
                  "category": None, "voided": ln["voided"], "line_id": ln["line_id"]}
                 for ln in wire["lines"]]
        cats = {r["id"]: r["category"] for r in tx.execute(
            "SELECT id, category FROM sale_lines WHERE sale_id = ?", (wire["id"],)).fetchall()}
        for ln in lines:
            ln["category"] = cats.get(ln["line_id"])
        summary = ledger.complete_sale(tx, cfg, member_id, wire["id"], lines, wire["total"],
                                       wire["tenders"], wire.get("receipt_no"))
        wire["member_info"] = {k: v for k, v in summary.items() if k != "receipt_lines"}
        wire.setdefault("receipt_extra", []).extend(summary["receipt_lines"])

    def on_void(tx: Tx, wire: dict[str, Any]) -> None:
        ledger.void_sale(tx, cfg, wire["id"])

    def on_refund(tx: Tx, wire: dict[str, Any]) -> None:
        original = wire.get("refund_of")
        if not original:
            return
        for t in wire.get("tenders", []):
            if t["method"] in ledger.TENDER_METHODS and t["amount"] < 0:
                ledger.refund_tender(tx, cfg, original, wire["id"], t["method"], -t["amount"])
        member = tx.one("SELECT member_id FROM member_purchases WHERE sale_id = ?", (original,))
        if member is None:
            return
        amount = -wire["total"] if wire["total"] < 0 else wire["total"]
        out = ledger.refund_sale(tx, cfg, member["member_id"], wire["id"], original, amount,
                                 wire.get("receipt_no"))
        row = tx.one("SELECT phone, points, balance FROM members WHERE id = ?",
                     (member["member_id"],))
        wire["member_info"] = {"member": member["member_id"],
                               "phone": core.mask_phone(row["phone"]), "points": row["points"],
                               "balance": row["balance"], **out}
        wire.setdefault("receipt_extra", []).append(
            f"会员 {core.mask_phone(row['phone'])} 积分 -{out['points_reversed']}"
            f"  积分余额 {row['points']}")

    def member_pricing(tx: Tx, member_id: str | None):
        if member_id is None:
            return None
        row = tx.one("SELECT id, tier, active FROM members WHERE id = ?", (member_id,))
        if row is None or not row["active"]:
            return None
        from gatewayd.sales.pricing import Member

        tier = cfg.tier(row["tier"])
        return Member(id=row["id"], discount_bp=tier.discount_bp, member_price=tier.member_price)

    sales.on_complete.append(on_complete)
    sales.on_void.append(on_void)
    sales.on_refund.append(on_refund)
    if hasattr(sales, "member_pricing"):
        sales.member_pricing = member_pricing

    # -- stored value and points as tenders -----------------------------------------------
    async def member_tender(operator: str | None, method: str, amount: int | None,
                            ref: str | None) -> dict[str, Any]:
        async with sales._pay_lock:
            def fn(tx: Tx) -> dict[str, Any]:
                st = sales._require_active(tx)
                member_id = st.sale["member"]
                if member_id is None:
                    raise MemberError("conflict", f"a {method} tender needs a member on the "
                                      "sale: scan the member code first (sale.member)")
                due = settle(st.sale["total"],
                             [Tender(t["method"], t["amount"]) for t in st.tenders],
                             sales.cfg.cash_rounding).due
                take = amount
                if take is None:
                    take = ledger.max_tender(tx, cfg, member_id, method, due)
                    if take <= 0:
                        raise MemberError("conflict", f"the member has no {method} to pay with")
                tender = sales._take(st, method, take, ref)
                ledger.tender(tx, cfg, member_id, st.sale["id"], method, tender.amount)
                sales._insert_tender(tx, st, tender, operator)
                return sales._finish(tx, st, operator)

            wire, _ = await app.store.write(fn)
        await sales._after(wire)
        return wire

    if hasattr(sales, "tender_hooks"):
        for method in ledger.TENDER_METHODS:
            sales.tender_hooks[method] = member_tender

    # -- sale.member and sale.coupon ---------------------------------------------------------
    async def attach(operator: str | None, code: str | None) -> dict[str, Any]:
        row = svc.require(code) if code else None
        if row is not None and not row["active"]:
            raise MemberError("conflict", "the member is deactivated")
        today = svc.today()

        def fn(tx: Tx) -> dict[str, Any]:
            st = sales._active(tx)
            if st is None:
                if row is None:
                    raise MemberError("conflict", "there is no open sale")
                st = sales._open_sale(tx, operator)
            if st.sale["state"] != "open":
                raise MemberError("conflict", "the sale is being paid: the member must be "
                                  "given before the first tender")
            member_id = row["id"] if row is not None else None
            st.sale["member"] = member_id
            tx.execute("UPDATE sales SET member = ? WHERE id = ?", (member_id, st.sale["id"]))
            coupon = None
            if member_id is not None:
                coupon = ledger.birthday_benefit(tx, cfg, member_id, today)
            tx.append("sale.member", {
                "sale_id": st.sale["id"], "member": member_id,
                "phone": core.mask_phone(row["phone"]) if row is not None else None,
                "operator": operator, "birthday_coupon": coupon})
            sales._reprice(tx, st)
            wire = sales.wire_from_tx(tx, st.sale["id"])
            if coupon:
                wire["birthday_coupon"] = coupon
            return wire

        wire, _ = await app.store.write(fn)
        wire["member_info"] = svc.sale_view(wire["member"])
        sales._published(wire)
        return wire

    async def pay_coupon(operator: str | None, code: str) -> dict[str, Any]:
        async with sales._pay_lock:
            def fn(tx: Tx) -> dict[str, Any]:
                st = sales._require_active(tx)
                if not st.live_lines:
                    raise MemberError("conflict", "the sale is empty: nothing to pay")
                row = ledger.check_coupon(tx, code, st.sale["total"], st.sale["member"])
                due = settle(st.sale["total"],
                             [Tender(t["method"], t["amount"]) for t in st.tenders],
                             sales.cfg.cash_rounding).due
                tender = sales._take(st, "voucher", min(row["amount"], due), code)
                ledger.redeem_coupon(tx, code, st.sale["id"], st.sale["total"],
                                     st.sale["member"])
                sales._insert_tender(tx, st, tender, operator)
                return sales._finish(tx, st, operator)

            wire, _ = await app.store.write(fn)
        await sales._after(wire)
        return wire

    # -- the scan router: member QR payloads and member cards go to sale.member --------------
    async def member_scan(code: str, operator: str | None) -> None:
        await attach(operator, code)

    if hasattr(sales, "member_scan"):
        sales.is_member_code = svc.is_member_code
        sales.member_scan = member_scan

    return MemberCheckout(attach, pay_coupon)
