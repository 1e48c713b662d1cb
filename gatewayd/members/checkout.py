"""The members at the checkout: the members' part in a sale, and sale.member / sale.coupon.

`MemberParticipant(members)` is built before the sale service and given to it (see
gatewayd/sales/parts.py); what it does runs INSIDE the sale's own transaction:

    on_complete  points earned, spend/tier, referral reward (ledger.complete_sale); the
                 member summary goes on the wire (`member_info`) and its lines on the receipt
                 (`receipt_extra`)
    on_void      stored-value and points tenders given back, coupons released
    on_refund    points reversed in proportion (refused, nothing changed, if the member has
                 spent them), refund tenders of method stored_value/points paid back
    pricing      the member's tier benefits for pricing (member price, discount): the sale
                 policy's member_pricing
    amount/take  `sale.tender {method: stored_value|points}` paid from the member's ledger:
                 the tender provider of both methods

`MemberCheckout(members, sales)` is built after the sale service: `attach` (sale.member,
through the sale's `set_member`), `pay_coupon` (sale.coupon, a tender provider for one
coupon) and its `scan_route` (member QR payloads and cards scanned go to sale.member); it
uses only the sale service's public calls. The methods: gatewayd/api/members.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatewayd.members import core, ledger
from gatewayd.members.ledger import MemberError
from gatewayd.sales.pricing import Member
from gatewayd.sales.scan import ScanRoute

if TYPE_CHECKING:
    from gatewayd.members.service import MemberService
    from gatewayd.sales.records import Loaded
    from gatewayd.sales.service import SaleService
    from gatewayd.store.db import Tx


class MemberParticipant:
    name = "members"

    def __init__(self, members: MemberService):
        self.members = members
        self.cfg = members.config

    # -- inside the sale's transactions ---------------------------------------------------
    def on_complete(self, tx: Tx, wire: dict[str, Any]) -> None:
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
        summary = ledger.complete_sale(tx, self.cfg, member_id, wire["id"], lines,
                                       wire["total"], wire["tenders"], wire.get("receipt_no"))
        wire["member_info"] = {k: v for k, v in summary.items() if k != "receipt_lines"}
        wire.setdefault("receipt_extra", []).extend(summary["receipt_lines"])

    def on_void(self, tx: Tx, wire: dict[str, Any]) -> None:
        ledger.void_sale(tx, self.cfg, wire["id"])

    def on_refund(self, tx: Tx, wire: dict[str, Any]) -> None:
        cfg = self.cfg
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
        row = tx.row("SELECT phone, points, balance FROM members WHERE id = ?",
                     (member["member_id"],))
        wire["member_info"] = {"member": member["member_id"],
                               "phone": core.mask_phone(row["phone"]), "points": row["points"],
                               "balance": row["balance"], **out}
        wire.setdefault("receipt_extra", []).append(
            f"会员 {core.mask_phone(row['phone'])} 积分 -{out['points_reversed']}"
            f"  积分余额 {row['points']}")

    def pricing(self, tx: Tx, member_id: str | None) -> Member | None:
        if member_id is None:
            return None
        row = tx.one("SELECT id, tier, active FROM members WHERE id = ?", (member_id,))
        if row is None or not row["active"]:
            return None
        tier = self.cfg.tier(row["tier"])
        return Member(id=row["id"], discount_bp=tier.discount_bp, member_price=tier.member_price)

    # -- stored value and points as tenders -----------------------------------------------
    def amount(self, tx: Tx, st: Loaded, method: str, requested: int | None, due: int) -> int:
        member_id = st.sale["member"]
        if member_id is None:
            raise MemberError("conflict", f"a {method} tender needs a member on the "
                              "sale: scan the member code first (sale.member)")
        if requested is not None:
            return requested
        take = ledger.max_tender(tx, self.cfg, member_id, method, due)
        if take <= 0:
            raise MemberError("conflict", f"the member has no {method} to pay with")
        return take

    def take(self, tx: Tx, st: Loaded, method: str, amount: int) -> None:
        ledger.tender(tx, self.cfg, st.sale["member"], st.sale["id"], method, amount)


class CouponTender:
    """One coupon (券) as a voucher tender: worth its amount, at most what is due."""

    def __init__(self, code: str):
        self.code = code

    def amount(self, tx: Tx, st: Loaded, method: str, requested: int | None, due: int) -> int:
        if not st.live_lines:
            raise MemberError("conflict", "the sale is empty: nothing to pay")
        row = ledger.check_coupon(tx, self.code, st.sale["total"], st.sale["member"])
        return min(row["amount"], due)

    def take(self, tx: Tx, st: Loaded, method: str, amount: int) -> None:
        ledger.redeem_coupon(tx, self.code, st.sale["id"], st.sale["total"], st.sale["member"])


class MemberCheckout:
    def __init__(self, members: MemberService, sales: SaleService):
        self.members = members
        self.sales = sales
        self.scan_route = ScanRoute("member", members.is_member_code, self.attach_scanned)

    async def attach(self, operator: str | None, code: str | None) -> dict[str, Any]:
        """sale.member: the member (or none, with no code) on the open sale, opening one."""
        svc, cfg = self.members, self.members.config
        row = svc.require(code) if code else None
        if row is not None and not row["active"]:
            raise MemberError("conflict", "the member is deactivated")
        today = svc.today()
        return await self.sales.set_member(
            operator, row["id"] if row is not None else None,
            core.mask_phone(row["phone"]) if row is not None else None,
            lambda tx, member: ledger.birthday_benefit(tx, cfg, member, today),
            svc.sale_view)

    async def attach_scanned(self, code: str, operator: str) -> None:
        await self.attach(operator, code)

    async def pay_coupon(self, operator: str | None, code: str) -> dict[str, Any]:
        """sale.coupon: a coupon pays (part of) the sale."""
        return await self.sales.tender_from(CouponTender(code), operator, "voucher", None, code)
