"""Members: registration, points, stored value, coupons (gatewayd/members/)."""

from __future__ import annotations

from datetime import datetime as _Datetime
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import Fen, Params, Result, method
from protocol.methods.sale import Sale

# Phones are 11-digit mainland mobile numbers; every result except the member's own detail
# view shows them masked (138****5678). `code` finds a member by phone, card barcode or the
# member QR payload (`[members] qr_prefix` + token, e.g. "GWM1:9f2c…").
_MEMBER = {
    "id": "5b0c…", "phone": "13812345678", "name": "王芳", "tier": "silver",
    "tier_name": "银卡", "discount_bp": 200, "member_price": True,
    "points_multiplier_bp": 12000, "points": 1520, "points_value": 1520, "balance": 55000,
    "active": True, "birthday": "1990-05-17", "card": "88001234", "qr": "GWM1:9f2c…",
    "referred_by": None, "created_at": "<timestamp>",
}
_MEMBER_MASKED = {k: v for k, v in _MEMBER.items()
                  if k not in ("birthday", "card", "qr", "referred_by", "created_at")}
_MEMBER_MASKED["phone"] = "138****5678"
_TS = "<timestamp>"


class MemberCodeParams(Params):
    code: StrictStr = Field(min_length=1, max_length=128,
                            description="phone, card barcode or member QR payload")


class MemberRegisterParams(Params):
    phone: StrictStr = Field(min_length=11, max_length=20)
    name: StrictStr = Field(min_length=1, max_length=40)
    birthday: StrictStr | None = Field(default=None, description="YYYY-MM-DD or MM-DD")
    card: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    referrer: StrictStr | None = Field(default=None, description="the referrer's code")


class MemberUpdateParams(MemberCodeParams):
    phone: StrictStr | None = Field(default=None, min_length=11, max_length=20)
    name: StrictStr | None = Field(default=None, min_length=1, max_length=40)
    birthday: StrictStr | None = None
    card: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    active: StrictBool | None = None


class MemberTopupParams(MemberCodeParams):
    amount: Fen = Field(gt=0)
    method: Literal["cash", "card", "alipay", "wechat", "mobile"] = "cash"
    ref: StrictStr | None = Field(default=None, max_length=80)


class MemberHistoryParams(MemberCodeParams):
    limit: StrictInt = Field(default=50, ge=1, le=500)


class MemberRedeemParams(MemberCodeParams):
    reward: StrictStr = Field(min_length=1, max_length=40)


class MembersRecomputeParams(Params):
    code: StrictStr | None = None


class CouponIssueParams(Params):
    amount: Fen = Field(gt=0, le=100_000_000)
    min_spend: Fen = Field(default=0, ge=0)
    valid_from: _Datetime | None = None
    valid_to: _Datetime | None = None
    valid_days: StrictInt | None = Field(default=None, ge=1, le=3660,
                                         description="when valid_to is not given; default 30")
    member: StrictStr | None = Field(default=None, description="member code; None: bearer")
    count: StrictInt = Field(default=1, ge=1, le=10_000)
    codes: list[StrictStr] | None = Field(default=None, min_length=1, max_length=10_000)
    batch: StrictStr | None = Field(default=None, max_length=40)


class CouponCodeParams(Params):
    code: StrictStr = Field(min_length=1, max_length=64)


class SaleMemberParams(Params):
    code: StrictStr | None = Field(default=None, min_length=1, max_length=128,
                                   description="member code; null detaches the member")


class Member(Result):
    """A member. The phone is masked (138****5678) unless this is the member's own view,
    which also carries birthday, card, qr, referred_by and created_at."""

    id: StrictStr
    phone: StrictStr
    name: StrictStr
    tier: StrictStr
    tier_name: StrictStr
    discount_bp: StrictInt = Field(description="the tier's discount, basis points")
    member_price: StrictBool = Field(description="the tier buys at member prices")
    points_multiplier_bp: StrictInt
    points: StrictInt
    points_value: Fen = Field(description="what the points are worth")
    balance: Fen = Field(description="stored value")
    active: StrictBool
    birthday: StrictStr | None = Field(default=None, description="own view only")
    card: StrictStr | None = Field(default=None, description="own view only")
    qr: StrictStr | None = Field(default=None, description="own view only: the QR payload")
    referred_by: StrictStr | None = Field(default=None, description="own view only")
    created_at: _Datetime | None = Field(default=None, description="own view only")


class MemberUpdated(Result):
    member: Member
    changed: list[StrictStr] = Field(description="the fields that changed")


class Topup(Result):
    amount: Fen
    bonus: Fen = Field(description="from `[members] topup_bonus`")
    before: Fen
    balance: Fen = Field(description="after the top-up and the bonus")
    ref: StrictStr
    member: Member


class Purchase(Result):
    sale_id: StrictStr
    kind: Literal["sale", "refund"]
    refund_of: StrictStr | None
    receipt_no: StrictStr | None
    amount: Fen
    points: StrictInt
    at: _Datetime


class MemberMove(Result):
    delta: StrictInt
    before: StrictInt
    after: StrictInt
    reason: StrictStr
    sale_id: StrictStr | None
    ref: StrictStr | None
    seq: StrictInt
    at: _Datetime


class Coupon(Result):
    code: StrictStr
    member: StrictStr | None = Field(description="the owner's id; nil: a bearer coupon")
    amount: Fen
    min_spend: Fen
    valid_from: _Datetime
    valid_to: _Datetime
    source: StrictStr = Field(description="issue, birthday, referral, reward")
    batch: StrictStr | None
    used: StrictBool
    used_sale: StrictStr | None
    used_at: _Datetime | None


class MemberHistory(Result):
    member: Member
    purchases: list[Purchase]
    points: list[MemberMove]
    balance: list[MemberMove]
    coupons: list[Coupon]


class Redeemed(Result):
    reward: StrictStr
    name: StrictStr
    points: StrictInt = Field(description="points spent")
    coupon: StrictStr | None = Field(description="the coupon issued, for a coupon reward")
    points_after: StrictInt


class Recomputed(Result):
    members: StrictInt
    tier_changes: StrictInt
    points_expired: StrictInt


class CouponsIssued(Result):
    count: StrictInt
    codes: list[StrictStr]
    amount: Fen
    min_spend: Fen
    valid_from: _Datetime
    valid_to: _Datetime
    member: StrictStr | None
    batch: StrictStr | None


method(
    "member.register",
    MemberRegisterParams,
    "cashier",
    "Register a member: `phone` (11-digit mobile, +86 allowed), `name`, optional `birthday` "
    "(YYYY-MM-DD or MM-DD), `card` (card barcode) and `referrer` (the referring member's "
    "code: they get `[members] referral_points` on this member's first purchase). Starts in "
    "the lowest tier with 0 points and balance. Returns the member's own view (full phone, "
    "QR payload). Journals `member.registered` (phone masked).",
    errors=("invalid_params", "conflict", "not_found"),
    example={"params": {"phone": "13812345678", "name": "王芳", "birthday": "1990-05-17",
                        "card": "88001234"}, "result": _MEMBER},
    result=Member,
)
method(
    "member.get",
    MemberCodeParams,
    "cashier",
    "Find a member by phone, card barcode or QR payload: `points`, `points_value` (fen), "
    "`balance` (stored value, fen), `tier` and its benefits. The phone is shown in full only "
    "when the code given was the phone, or to a supervisor and above; else 138****5678 "
    "(and no card/QR/birthday).",
    errors=("not_found",),
    example={"params": {"code": "88001234"}, "result": _MEMBER_MASKED},
    result=Member,
)
method(
    "member.update",
    MemberUpdateParams,
    "cashier",
    "Edit `phone`, `name`, `birthday`, `card`; `active: false` deactivates (needs a "
    "supervisor: approval_required otherwise), `true` reactivates. A deactivated member "
    "cannot be attached to a sale, top up or pay. Returns {member, changed}.",
    errors=("invalid_params", "conflict", "not_found", "approval_required"),
    example={"params": {"code": "13812345678", "active": False},
             "result": {"member": _MEMBER, "changed": ["active"]}},
    result=MemberUpdated,
)
method(
    "member.topup",
    MemberTopupParams,
    "cashier",
    "Add stored value paid by `method` (cash by default). The bonus rule of `[members] "
    "topup_bonus` applies (充500送50: the largest `min` <= amount). Journals "
    "`member.balance` with before/after for the top-up and for the bonus.",
    errors=("invalid_params", "conflict", "not_found"),
    needs_operator=True,
    example={"params": {"code": "13812345678", "amount": 50000},
             "result": {"amount": 50000, "bonus": 5000, "before": 0, "balance": 55000,
                        "ref": "…", "member": _MEMBER_MASKED}},
    result=Topup,
)
method(
    "member.history",
    MemberHistoryParams,
    "cashier",
    "The member's latest purchases and refunds (`purchases`: sale_id, kind, receipt_no, "
    "amount, points), `points` and `balance` movements (delta, before, after, reason, "
    "sale_id, ref, seq, at) and `coupons`, newest first, up to `limit` each.",
    errors=("not_found",),
    example={"params": {"code": "13812345678", "limit": 2}, "result": {
        "member": _MEMBER_MASKED,
        "purchases": [{"sale_id": "…", "kind": "sale", "refund_of": None,
                       "receipt_no": "S001-T01-20250101-0001", "amount": 12800,
                       "points": 153, "at": _TS}],
        "points": [{"delta": 153, "before": 1367, "after": 1520, "reason": "earn",
                    "sale_id": "…", "ref": "S001-T01-20250101-0001", "seq": 912, "at": _TS}],
        "balance": [{"delta": -3000, "before": 58000, "after": 55000, "reason": "tender",
                     "sale_id": "…", "ref": None, "seq": 910, "at": _TS}],
        "coupons": []}},
    result=MemberHistory,
)
method(
    "member.redeem",
    MemberRedeemParams,
    "cashier",
    "Spend points on a reward of `[[members.rewards]]` (a coupon, or goods recorded as "
    "redeemed). Not enough points: conflict, nothing changed.",
    errors=("not_found", "conflict"),
    example={"params": {"code": "13812345678", "reward": "coupon5"},
             "result": {"reward": "coupon5", "name": "5元券 (¥5 coupon)", "points": 50,
                        "coupon": "C7K3…", "points_after": 520}},
    result=Redeemed,
)
method(
    "members.recompute",
    MembersRecomputeParams,
    "admin",
    "Expire due points and recompute tiers from the spend over `[members] "
    "tier_window_days` (upgrades and downgrades; journaled `member.tier`), for one member "
    "(`code`) or all, in batches.",
    example={"params": {}, "result": {"members": 1000, "tier_changes": 3,
                                      "points_expired": 200}},
    result=Recomputed,
)
method(
    "coupon.issue",
    CouponIssueParams,
    "supervisor",
    "Issue coupons worth `amount` fen with a minimum spend: `count` generated codes, or "
    "the given `codes`, to a `member` (only they can use it) or to the bearer; valid from "
    "`valid_from` (default now) to `valid_to` (default + `valid_days`, 30). Redeemed once "
    "with `sale.coupon {code}`. Journals one `coupon.issued`.",
    errors=("invalid_params", "conflict", "not_found"),
    example={"params": {"amount": 1000, "min_spend": 5000, "count": 2, "batch": "spring"},
             "result": {"count": 2, "codes": ["C7K3…", "CM2Q…"], "amount": 1000,
                        "min_spend": 5000, "valid_from": _TS, "valid_to": _TS,
                        "member": None, "batch": "spring"}},
    result=CouponsIssued,
)
method(
    "coupon.get",
    CouponCodeParams,
    "cashier",
    "A coupon: amount, min_spend, validity, owner (`member` id or null), source "
    "(issue|birthday|referral|reward), whether and where it was used.",
    errors=("not_found",),
    example={"params": {"code": "C7K3…"},
             "result": {"code": "C7K3…", "member": None, "amount": 1000, "min_spend": 5000,
                        "valid_from": _TS, "valid_to": _TS, "source": "issue",
                        "batch": "spring", "used": False, "used_sale": None,
                        "used_at": None}},
    result=Coupon,
)
method(
    "sale.member",
    SaleMemberParams,
    "cashier",
    "Attach the member (phone, card or QR payload) to the open sale (opening one if none), "
    "or detach with `code: null`; the sale is repriced with the member price and tier "
    "discount. On the member's first visit in their birthday month a birthday coupon is "
    "issued (`birthday_coupon`). Returns the sale with `member_info` (phone masked). Only "
    "before the first tender. Scanning a member QR code or card does the same.",
    errors=("not_found", "conflict"),
    needs_operator=True,
    example={"params": {"code": "GWM1:9f2c…"},
             "result": {"id": "…", "state": "open", "member": "5b0c…",
                        "member_info": {"id": "5b0c…", "phone": "138****5678",
                                        "name": "王芳", "tier": "silver",
                                        "tier_name": "银卡", "points": 1520,
                                        "balance": 55000, "discount_bp": 200},
                        "total": 12544, "due": 12544}},
    result=Sale,
)
method(
    "sale.coupon",
    CouponCodeParams,
    "cashier",
    "Redeem a coupon on the open sale as a tender (method `voucher`, ref = the code), "
    "up to the amount due: once only (a second use is conflict), within its validity, for "
    "a sale total >= its min_spend, by its member if it has one. Voiding the sale releases "
    "it.",
    errors=("not_found", "conflict"),
    needs_operator=True,
    example={"params": {"code": "C7K3…"},
             "result": {"id": "…", "state": "tendering",
                        "tenders": [{"method": "voucher", "amount": 1000, "ref": "C7K3…"}],
                        "due": 11544}},
    result=Sale,
)


