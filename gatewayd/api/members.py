"""The members' methods: member.*, coupon.*, members.recompute, and sale.member /
sale.coupon through the members' checkout hooks (gatewayd/members/)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gatewayd.members import core
from gatewayd.members.ledger import MemberError
from protocol.errors import ProtocolError
from protocol.methods import (
    CouponCodeParams,
    CouponIssueParams,
    MemberCodeParams,
    MemberHistoryParams,
    MemberRedeemParams,
    MemberRegisterParams,
    MembersRecomputeParams,
    MemberTopupParams,
    MemberUpdateParams,
    SaleMemberParams,
)
from protocol.roles import at_least

if TYPE_CHECKING:
    from gatewayd.members.checkout import MemberCheckout
    from gatewayd.members.service import MemberService
    from gatewayd.server.registry import CallContext, Registry


def _us(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1_000_000)


def register(reg: Registry, svc: MemberService, checkout: MemberCheckout | None) -> None:
    cfg = svc.config

    async def member_id_of(code: str) -> str:
        return (await svc.resolve(code))["id"]

    @reg.method("member.register")
    async def member_register(ctx: CallContext, p: MemberRegisterParams) -> dict[str, Any]:
        return await svc.register(p.phone, p.name, p.birthday, p.card, p.referrer)

    @reg.method("member.get")
    async def member_get(ctx: CallContext, p: MemberCodeParams) -> dict[str, Any]:
        row = await svc.resolve(p.code)
        kind, _ = core.code_kind(p.code, cfg.qr_prefix)
        # the full phone only to whoever gave it, or to a supervisor and above
        own = kind == "phone" or at_least(ctx.session.role or "viewer", "supervisor")
        return svc.view(row, own=own)

    @reg.method("member.update")
    async def member_update(ctx: CallContext, p: MemberUpdateParams) -> dict[str, Any]:
        row = await svc.resolve(p.code)
        fields = {k: getattr(p, k) for k in ("phone", "name", "birthday", "card", "active")
                  if getattr(p, k) is not None}
        if not fields:
            raise MemberError("invalid_params", "nothing to change")
        if "active" in fields and bool(row["active"]) != fields["active"]:
            await ctx.require("supervisor", "member.deactivate" if not fields["active"]
                              else "member.reactivate")
        return await svc.update(row["id"], fields)

    @reg.method("member.topup")
    async def member_topup(ctx: CallContext, p: MemberTopupParams) -> dict[str, Any]:
        return await svc.topup(await member_id_of(p.code), p.amount, p.method, p.ref, ctx.actor)

    @reg.method("member.history")
    async def member_history(ctx: CallContext, p: MemberHistoryParams) -> dict[str, Any]:
        row = await svc.resolve(p.code)
        history = await svc.store.read(lambda snap: svc.history(row["id"], p.limit, snap))
        return {"member": svc.view(row), **history}

    @reg.method("member.redeem")
    async def member_redeem(ctx: CallContext, p: MemberRedeemParams) -> dict[str, Any]:
        return await svc.redeem_reward(await member_id_of(p.code), p.reward)

    @reg.method("members.recompute")
    async def members_recompute(ctx: CallContext, p: MembersRecomputeParams) -> dict[str, Any]:
        return await svc.recompute(await member_id_of(p.code) if p.code else None)

    @reg.method("coupon.issue")
    async def coupon_issue(ctx: CallContext, p: CouponIssueParams) -> dict[str, Any]:
        if p.codes is not None and p.count != 1 and p.count != len(p.codes):
            raise MemberError("invalid_params", "give codes or count, not both")
        member = await member_id_of(p.member) if p.member else None
        codes = await svc.issue_coupons(p.amount, p.min_spend, _us(p.valid_from),
                                        _us(p.valid_to), p.valid_days, member, p.count,
                                        p.codes, p.batch)
        first = svc.coupon(codes[0])
        assert first is not None  # issued just now
        return {"count": len(codes), "codes": codes, "amount": p.amount,
                "min_spend": p.min_spend, "valid_from": first["valid_from"],
                "valid_to": first["valid_to"], "member": member, "batch": p.batch}

    @reg.method("coupon.get")
    async def coupon_get(ctx: CallContext, p: CouponCodeParams) -> dict[str, Any]:
        c = svc.coupon(p.code)
        if c is None:
            raise MemberError("not_found", f"no coupon {p.code}")
        return c

    if checkout is None:
        @reg.method("sale.member")
        async def sale_member_unavailable(ctx: CallContext, p: SaleMemberParams
                                          ) -> dict[str, Any]:
            raise ProtocolError("conflict", "the sale service is not running")
        return

    @reg.method("sale.member")
    async def sale_member(ctx: CallContext, p: SaleMemberParams) -> dict[str, Any]:
        return await checkout.attach(ctx.actor, p.code)

    @reg.method("sale.coupon")
    async def sale_coupon(ctx: CallContext, p: CouponCodeParams) -> dict[str, Any]:
        return await checkout.pay_coupon(ctx.actor, p.code)
