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
    authorize    on an enrolled till, before the sale's transaction: head office holds the
                 amount (a `hold` on the link, its id the idempotency key), or, when it
                 cannot be reached, the offline policy decides ([members] offline_*); the
                 tender then takes exactly that (`Authorized`), and a failed transaction
                 releases the hold

`MemberCheckout(members, sales)` is built after the sale service: `attach` (sale.member,
through the sale's `set_member`), `pay_coupon` (sale.coupon, a tender provider for one
coupon) and its `scan_route` (member QR payloads and cards scanned go to sale.member); it
uses only the sale service's public calls. The methods: gatewayd/api/members.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatewayd.ids import new_id
from gatewayd.members import core, ledger
from gatewayd.members.ledger import MemberError
from gatewayd.ports import HqUnavailable
from gatewayd.sales.pricing import Member
from gatewayd.sales.scan import ScanRoute
from protocol import repl

if TYPE_CHECKING:
    from gatewayd.members.service import MemberService
    from gatewayd.sales.parts import TenderProvider
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

    async def authorize(self, st: Loaded, method: str, amount: int) -> TenderProvider:
        which = "balance" if method == "stored_value" else "points"
        units = amount if which == "balance" else amount // self.cfg.point_value
        auth = await authorize(self.members, which, st.sale["member"], st.sale["id"], units)
        return self if auth is None else Authorized(self, auth, amount)

    async def release(self, bound: TenderProvider) -> None:
        if isinstance(bound, Authorized):
            await release(self.members, bound.auth)


@dataclass(frozen=True)
class Authorization:
    """Who let a stored-value, points or coupon tender through: head office (`hq`, a hold
    of this id) or the offline policy (`offline`: "allow" or a limit per member per day)."""

    id: str
    ledger: str  # balance | points | coupon
    amount: int  # fen of stored value, points, or the coupon's fen
    mode: str  # hq | offline
    available: int | None = None  # hq: what the member had across the chain before it
    policy: str | int | None = None  # offline: the policy applied
    why: str | None = None  # offline: why head office was not asked

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "ledger": self.ledger, "amount": self.amount,
                               "mode": self.mode}
        if self.policy is not None:
            out["policy"] = self.policy
        if self.why is not None:
            out["offline_reason"] = self.why
        return out


def _noun(which: str) -> str:
    return {"balance": "stored value", "points": "points", "coupon": "a coupon"}[which]


async def authorize(members: MemberService, which: str, member_id: str | None, sale_id: str,
                    amount: int, code: str | None = None) -> Authorization | None:
    """Head office's hold on `amount` of the member's `which` ledger (or the coupon), or the
    offline policy's answer; None for a till on its own (its own ledger is the truth)."""
    hq = members.hq
    if hq is None or not hq.enrolled:
        return None
    hold_id = new_id()
    pending: list[repl.PendingEntry] = []
    if member_id is not None and which != "coupon":
        pending = [repl.PendingEntry(seq=r["seq"], delta=r["delta"]) for r in members.store.all(
            "SELECT seq, delta FROM member_moves WHERE member_id = ? AND what = ? AND seq > ?"
            f" AND {ledger.NOT_HELD} ORDER BY seq LIMIT 1000", (member_id, which, hq.acked))]
    frame = repl.Hold(id=hold_id, member=member_id, ledger=which,  # type: ignore[arg-type]
                      amount=amount, sale_id=sale_id, code=code, pending=pending)
    try:
        reply = await hq.request(frame)
    except HqUnavailable as exc:
        policy = members.config.offline_policy(which)
        if policy == "refuse":
            raise MemberError(
                "payment_declined", f"head office cannot be reached ({exc}), and {_noun(which)} "
                "is refused offline by this till's policy", {"offline": True, "policy": policy,
                                                            "ledger": which}) from None
        return Authorization(hold_id, which, amount, "offline", policy=policy, why=str(exc))
    if not reply.ok:
        raise MemberError(reply.code or "payment_declined",
                          f"head office refused: {reply.message}",
                          {**(reply.result or {}), "ledger": which, "hold": hold_id})
    result = reply.result or {}
    return Authorization(hold_id, which, amount, "hq", available=result.get("available"))


async def release(members: MemberService, auth: Authorization) -> None:
    """Give an online hold back (the tender's transaction failed). If head office cannot be
    told now, the hold ends when it expires there."""
    if auth.mode != "hq" or members.hq is None:
        return
    try:
        await members.hq.request(repl.Release(id=auth.id))
    except HqUnavailable:
        pass


def record(tx: Tx, members: MemberService, auth: Authorization, sale_id: str,
           member_id: str | None, code: str | None = None) -> None:
    """In the tender's transaction: the offline limit checked, the authorization recorded,
    and, after an online hold, the till's copy of the ledger set to head office's figure."""
    day = members.today().isoformat()
    if auth.mode == "offline" and isinstance(auth.policy, int):
        taken = ledger.offline_taken(tx, member_id, auth.ledger, day)
        if taken + auth.amount > auth.policy:
            raise MemberError(
                "payment_declined",
                f"head office cannot be reached, and this till's offline limit for "
                f"{_noun(auth.ledger)} is {auth.policy} per member per day ({taken} taken "
                "today)", {"offline": True, "policy": auth.policy, "taken": taken,
                           "ledger": auth.ledger})
    if auth.mode == "hq" and auth.available is not None and member_id is not None:
        row = ledger.member_row(tx, member_id)
        balance = auth.available if auth.ledger == "balance" else row["balance"]
        points = auth.available if auth.ledger == "points" else row["points"]
        ledger.sync(tx, member_id, balance, points, "hold")
    ledger.record_authorization(tx, auth.id, sale_id, member_id, auth.ledger, auth.amount,
                                code, auth.mode, day)


class Authorized:
    """The stored-value or points tender head office (or the offline policy) authorized:
    takes exactly that amount, its ledger entry's ref the hold id."""

    def __init__(self, participant: MemberParticipant, auth: Authorization, amount: int):
        self.participant = participant
        self.auth = auth
        self.fen = amount
        self.tender_ref = f"{auth.mode}:{auth.id}"
        self.authorization = auth.view()

    def amount(self, tx: Tx, st: Loaded, method: str, requested: int | None, due: int) -> int:
        return self.fen

    def take(self, tx: Tx, st: Loaded, method: str, amount: int) -> None:
        p = self.participant
        record(tx, p.members, self.auth, st.sale["id"], st.sale["member"])
        ledger.tender(tx, p.cfg, st.sale["member"], st.sale["id"], method, amount,
                      ref=self.auth.id)


class CouponTender:
    """One coupon (券) as a voucher tender: worth its amount, at most what is due. On an
    enrolled till head office holds the coupon first, so it is spent once in the chain."""

    def __init__(self, members: MemberService, code: str):
        self.members = members
        self.code = code
        self.auth: Authorization | None = None
        self.authorization: dict[str, Any] | None = None

    async def authorize(self, st: Loaded, method: str, amount: int) -> TenderProvider:
        auth = await authorize(self.members, "coupon", st.sale["member"], st.sale["id"],
                               amount, self.code)
        if auth is None:
            return self
        bound = CouponTender(self.members, self.code)
        bound.auth, bound.authorization = auth, auth.view()
        return bound

    async def release(self, bound: TenderProvider) -> None:
        if isinstance(bound, CouponTender) and bound.auth is not None:
            await release(self.members, bound.auth)

    def amount(self, tx: Tx, st: Loaded, method: str, requested: int | None, due: int) -> int:
        if not st.live_lines:
            raise MemberError("conflict", "the sale is empty: nothing to pay")
        row = ledger.check_coupon(tx, self.code, st.sale["total"], st.sale["member"])
        return min(row["amount"], due)

    def take(self, tx: Tx, st: Loaded, method: str, amount: int) -> None:
        if self.auth is not None:
            record(tx, self.members, self.auth, st.sale["id"], st.sale["member"], self.code)
        ledger.redeem_coupon(tx, self.code, st.sale["id"], st.sale["total"], st.sale["member"])


class MemberCheckout:
    def __init__(self, members: MemberService, sales: SaleService):
        self.members = members
        self.sales = sales
        self.scan_route = ScanRoute("member", members.is_member_code, self.attach_scanned)

    async def attach(self, operator: str | None, code: str | None) -> dict[str, Any]:
        """sale.member: the member (or none, with no code) on the open sale, opening one."""
        svc, cfg = self.members, self.members.config
        # with what the member may spend across the chain, when head office answers
        row = await svc.resolve(code) if code else None
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
        return await self.sales.tender_from(CouponTender(self.members, code), operator,
                                            "voucher", None, code)
