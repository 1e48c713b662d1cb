"""The sale: items, discounts, prices, tenders, suspend/resume, void, promotions, vouchers."""

from __future__ import annotations

from datetime import datetime as _Datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import Fen, NoParams, Params, Qty, Result, method

# The sale as `sale.updated` and every sale method carry it (DESIGN §4, extended): lines carry
# `net`, `tax`, `tax_rate_bp`, `promo` [{id, label, discount}] and `explain`; the sale carries
# `tax` [{rate_bp, net, tax, base}], `tax_total`, `cash_due`, `version`, `payment`.
_SALE = {
    "id": "0b7c…", "kind": "sale", "receipt_no": None, "state": "open",
    "lines": [{"line_id": "5e1a…", "sku": "1001", "name": "可口可乐 330ml", "qty": 3000,
               "unit": "pc", "unit_price": 350, "price_override": None, "amount": 1050,
               "discount": 50, "net": 1000, "tax": 115, "tax_rate_bp": 1300, "voided": False,
               "promo": [{"id": "coke3", "label": "3 for ¥10.00", "discount": 50}],
               "explain": ["3 for ¥10.00"]}],
    "member": None, "subtotal": 1050, "discount": 50, "total": 1000,
    "tax": [{"rate_bp": 1300, "net": 1000, "tax": 115, "base": 885}], "tax_total": 115,
    "rounding": 0, "tenders": [], "paid": 0, "due": 1000, "cash_due": 1000, "change": 0,
    "operator": "1001", "version": 3, "payment": None,
}
_SALE_ERRORS = ("invalid_params", "not_found", "conflict", "unauthenticated")


class SaleAddParams(Params):
    barcode: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    sku: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    plu: StrictStr | None = Field(default=None, min_length=1, max_length=8)
    qty: Qty | None = None


class SaleLineParams(Params):
    line_id: StrictStr


class SaleSetQtyParams(SaleLineParams):
    qty: Qty


class SaleDiscountParams(Params):
    line_id: StrictStr | None = None
    percent: StrictInt | None = Field(
        default=None, description="basis points: 1000 = 10 % off; 0 clears the discount")
    amount: Fen | None = None
    reason: StrictStr = Field(min_length=1, max_length=200)


class SalePriceParams(SaleLineParams):
    unit_price: Fen


class SaleTenderParams(Params):
    method: Literal["cash", "card", "alipay", "wechat", "voucher", "stored_value", "points"] \
        | None = None
    amount: Fen | None = None
    code: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    ref: StrictStr | None = Field(default=None, max_length=64)


class SaleVoidParams(Params):
    reason: StrictStr = Field(min_length=1, max_length=200)


class SaleIdParams(Params):
    id: StrictStr


class SaleGetParams(Params):
    receipt_no: StrictStr | None = None
    id: StrictStr | None = None


class SaleListParams(Params):
    day: StrictStr | None = Field(default=None, pattern=r"^\d{8}$",
                                  description="business day YYYYMMDD; default today")
    limit: StrictInt = Field(default=200, ge=1, le=1000)
    offset: StrictInt = Field(default=0, ge=0)


class ReprintParams(Params):
    receipt_no: StrictStr | None = None


class PromoUpsertParams(Params):
    promotions: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class VoucherIssueParams(Params):
    code: StrictStr = Field(min_length=1, max_length=64)
    amount: Fen = Field(gt=0)


class PaymentSimParams(Params):
    outcome: Literal["approve", "decline", "user_paying", "timeout", "error"] | None = None
    polls: StrictInt | None = Field(default=None, ge=0, le=1000)
    script: list[Literal["approve", "decline", "user_paying", "timeout", "error"]] | None = None


_sale = {"needs_operator": True}
class Promo(Result):
    id: StrictStr
    label: StrictStr
    discount: Fen


class SaleLine(Result):
    line_id: StrictStr
    sku: StrictStr
    name: StrictStr
    qty: Qty
    unit: Literal["pc", "kg"]
    unit_price: Fen = Field(description="per piece or per kg, as charged")
    price_override: StrictStr | None = Field(
        description="label (a price label) or override (sale.price); nil: the list price")
    amount: Fen = Field(description="round-half-up of unit_price * qty / 1000")
    discount: Fen
    net: Fen = Field(description="amount - discount")
    tax: Fen
    tax_rate_bp: StrictInt
    voided: StrictBool
    promo: list[Promo]
    explain: list[StrictStr] = Field(description="how the line was priced, for the screen")


class Tender(Result):
    method: StrictStr
    amount: Fen = Field(description="negative on a refund")
    ref: StrictStr | None = Field(default=None, description="absent when the tender has none")


class TaxGroup(Result):
    rate_bp: StrictInt
    net: Fen
    tax: Fen
    base: Fen


class PaymentInProgress(Result):
    method: StrictStr
    amount: Fen
    state: StrictStr = Field(description="started, user_paying, ...")
    key: StrictStr = Field(description="the provider payment's idempotency key")


class MemberOnSale(Result):
    """The member attached to the sale (sale.member and after): phone masked."""

    id: StrictStr
    phone: StrictStr
    name: StrictStr
    tier: StrictStr
    tier_name: StrictStr
    points: StrictInt
    balance: Fen
    discount_bp: StrictInt


class ReferralReward(Result):
    referrer: StrictStr
    points: StrictInt = Field(description="points given to the referrer")
    coupon: StrictStr | None = Field(description="the coupon given to the new member")


class MemberEarned(Result):
    """What a completed sale did for its member."""

    member: StrictStr
    phone: StrictStr
    name: StrictStr
    tier: StrictStr = Field(description="after the sale (it may have moved up)")
    tier_name: StrictStr
    points_earned: StrictInt
    points: StrictInt
    balance: Fen
    referral: ReferralReward | None = Field(description="the member's first purchase: the "
                                            "referral reward given")


class MemberReversed(Result):
    """What a refund took back from the original sale's member."""

    member: StrictStr
    phone: StrictStr
    points: StrictInt
    balance: Fen
    points_reversed: StrictInt
    tier: StrictStr | None = Field(default=None, description="absent when nothing was earned")


class TenderAuthorization(Result):
    """Who let a stored-value, points or coupon tender through on a till enrolled at head
    office (DESIGN §8). The tender's `ref` is `{mode}:{id}` for stored value and points."""

    id: StrictStr = Field(description="the hold id: head office's idempotency key")
    ledger: Literal["balance", "points", "coupon"]
    amount: StrictInt = Field(description="fen of stored value, points, or the coupon's fen")
    mode: Literal["hq", "offline"] = Field(description="hq: head office held it online; "
                                           "offline: head office was unreachable and the "
                                           "till's offline policy allowed it")
    policy: StrictStr | StrictInt | None = Field(
        default=None, description="offline: the policy applied (\"allow\", or the limit "
        "per member per day)")
    offline_reason: StrictStr | None = Field(default=None, description="offline: why head "
                                             "office was not asked")


class Sale(Result):
    """The sale as `sale.updated` and every sale method carry it (DESIGN §4, extended). The
    empty sale (`id` nil: nothing sold yet) carries only the keys marked always."""

    id: StrictStr | None
    kind: Literal["sale", "refund"]
    receipt_no: StrictStr | None
    state: Literal["open", "tendering", "completed", "voided", "suspended"]
    lines: list[SaleLine]
    member: StrictStr | None = Field(description="the member's id")
    subtotal: Fen
    discount: Fen
    total: Fen
    tax: list[TaxGroup]
    tax_total: Fen
    explain: list[StrictStr]
    rounding: Fen = Field(description="抹零: the cash rounding")
    tenders: list[Tender]
    paid: Fen
    due: Fen
    cash_due: Fen = Field(description="what is due in cash, after rounding")
    change: Fen
    operator: StrictStr | None
    version: StrictInt = Field(description="increases with every change of the sale")
    payment: PaymentInProgress | None = Field(description="a provider payment in progress")
    tax_mode: Literal["inclusive", "exclusive"] | None = None
    business_day: StrictStr | None = None
    shift_id: StrictStr | None = None
    refund_of: StrictStr | None = Field(default=None, description="a refund: the sale's id")
    reprints: StrictInt | None = None
    void_reason: StrictStr | None = None
    opened_at: _Datetime | None = None
    completed_at: _Datetime | None = None
    added: StrictStr | None = Field(default=None, description="sale.add: the new line's id")
    member_info: MemberOnSale | MemberEarned | MemberReversed | None = Field(
        default=None, description="the member attached; on completion what the sale earned; "
        "on a refund what it took back")
    receipt_extra: list[StrictStr] | None = Field(
        default=None, description="member lines printed on the receipt")
    birthday_coupon: StrictStr | None = Field(
        default=None, description="sale.member: a birthday coupon issued now")
    authorization: TenderAuthorization | None = Field(
        default=None, description="sale.tender of stored_value/points, sale.coupon, on an "
        "enrolled till: who authorized this tender")


class SuspendedSale(Result):
    id: StrictStr
    operator: StrictStr | None
    total: Fen
    lines: StrictInt = Field(description="lines not voided")
    opened_at: _Datetime | None
    suspended_at: _Datetime | None


class SuspendedSales(Result):
    sales: list[SuspendedSale]


class SaleSummary(Result):
    id: StrictStr
    receipt_no: StrictStr | None
    kind: Literal["sale", "refund"]
    state: StrictStr
    completed_at: _Datetime | None
    operator: StrictStr | None
    items: StrictInt
    tenders: list[StrictStr] = Field(description="the tender methods used")
    total: Fen


class SaleList(Result):
    day: StrictStr
    total_count: StrictInt
    sales: list[SaleSummary]


class Reprinted(Result):
    receipt_no: StrictStr
    reprints: StrictInt
    job_id: StrictStr | None


class PromoUpserted(Result):
    count: StrictInt
    seq: StrictInt


class PromoList(Result):
    promotions: list[dict[StrictStr, Any]] = Field(
        description="the `[[promotions]]` model of the config, with `source` (config|store)")


class Voucher(Result):
    code: StrictStr
    amount: Fen


class SaleTenders(Result):
    tenders: list[StrictStr] = Field(
        description="the tender methods `sale.tender` takes at this till, in the order "
        "cash, card, mobile, alipay, wechat, stored_value, voucher, points")
    source: Literal["hq", "config"] = Field(
        description="`hq`: head office's payment setting `tenders` (hq.payment.set); "
        "`config`: the till's `[sale] tenders` (absent there: every method)")


class PaymentSimState(Result):
    outcome: StrictStr
    polls: StrictInt
    charged: dict[StrictStr, Fen] = Field(description="idempotency key -> amount charged")
    operations: StrictInt


method(
    "sale.current",
    NoParams,
    "viewer",
    "The till's open sale; with none open, the last completed or voided sale (so a checkout "
    "keeps showing the change until the next scan); with none at all, an empty sale with "
    "`id` null.",
    example={"params": {}, "result": _SALE},
    result=Sale,
)
method(
    "sale.add",
    SaleAddParams,
    "cashier",
    "Add an item by exactly one of `barcode` (EAN/UPC, in-store scale label, PLU or sku), "
    "`sku` or `plu`; opens a sale when none is open. `qty` in thousandths (default 1 piece); a "
    "kg item without a weight on its label takes the scale's stable weight (unstable: "
    "`device_busy`; zero: `invalid_params`; no scale: `device_offline`). The result is the "
    "whole sale with `added` = the new line's id; `sale.updated` follows.",
    errors=(*_SALE_ERRORS, "device_busy", "device_offline"),
    example={"params": {"barcode": "6901028068123"}, "result": {**_SALE, "added": "5e1a…"}},
    **_sale,
    result=Sale,
)
method(
    "sale.set_qty",
    SaleSetQtyParams,
    "cashier",
    "Set a line's quantity (thousandths; whole pieces for pc items; 0 < qty <= "
    "`sale.max_qty`).",
    errors=_SALE_ERRORS,
    example={"params": {"line_id": "5e1a…", "qty": 3000}, "result": _SALE},
    **_sale,
    result=Sale,
)
method(
    "sale.void_line",
    SaleLineParams,
    "cashier",
    "Void a line (it stays on the sale, struck out, for the audit).",
    errors=_SALE_ERRORS,
    example={"params": {"line_id": "5e1a…"}, "result": _SALE},
    **_sale,
    result=Sale,
)
method(
    "sale.discount",
    SaleDiscountParams,
    "cashier",
    "A manual discount with a reason on a line (`line_id`) or on the whole order: `percent` "
    "in basis points (1000 = 10 %) or `amount` in fen; 0 clears it. Above the configured "
    "`sale.max_cashier_discount_percent` (whole percent) of the line or order it needs a "
    "supervisor's approval (`approve` in the params).",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"line_id": "5e1a…", "percent": 1000, "reason": "damaged box"},
             "result": _SALE},
    **_sale,
    result=Sale,
)
method(
    "sale.price",
    SalePriceParams,
    "supervisor",
    "Override a line's unit price (fen per piece or per kg); a cashier needs a supervisor's "
    "approval. An overridden line takes no promotion. Above `sale.max_unit_price`: "
    "`invalid_params`.",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"line_id": "5e1a…", "unit_price": 300,
                        "approve": {"operator": "9001", "pin": "9999"}}, "result": _SALE},
    **_sale,
    result=Sale,
)
method(
    "sale.tender",
    SaleTenderParams,
    "cashier",
    "Take a payment. `cash` (amount handed over; default the cash due after 抹零), `card`, "
    "`alipay`/`wechat` with the customer's payment `code` (or no method: the code is "
    "classified), `voucher` with its `code`. Provider payments carry an idempotency key, wait "
    "while the customer confirms (`payment.state` user_paying on `sale.updated`) and are "
    "cancelled on timeout. The same payment code twice is `conflict`. At due <= 0 the sale "
    "completes: receipt number, receipt queued, drawer opened for cash, display shows the "
    "change. A sale is paid only in an open shift: without one, `conflict` {reason: "
    "no_shift} says to open it (`shift.open`) and nothing is taken (`[sale] require_shift`, "
    "on by default).",
    errors=(*_SALE_ERRORS, "payment_declined"),
    example={"params": {"method": "cash", "amount": 2000},
             "result": {**_SALE, "state": "completed", "receipt_no": "S001-T01-20250301-0042",
                        "tenders": [{"method": "cash", "amount": 2000}], "paid": 2000,
                        "due": 0, "cash_due": 0, "change": 1000}},
    **_sale,
    result=Sale,
)
method(
    "sale.tenders",
    NoParams,
    "viewer",
    "The tender methods this till takes now: head office's payment setting `tenders` when "
    "it sent one, else the config file's `[sale] tenders`, else every method. A checkout "
    "offers only these; `sale.tender` refuses another with `invalid_params` (details "
    "`method`, `tenders`).",
    example={"params": {}, "result": {"tenders": ["cash", "alipay", "wechat"],
                                      "source": "config"}},
    result=SaleTenders,
)
method(
    "sale.suspend",
    NoParams,
    "cashier",
    "Park the open sale (no tenders yet); several may be suspended at once.",
    errors=("conflict", "unauthenticated"),
    example={"params": {}, "result": {**_SALE, "state": "suspended"}},
    **_sale,
    result=Sale,
)
method(
    "sale.resume",
    SaleIdParams,
    "cashier",
    "Make a suspended sale the open sale again (re-priced as of now). The open sale must be "
    "empty.",
    errors=_SALE_ERRORS,
    example={"params": {"id": "0b7c…"}, "result": _SALE},
    **_sale,
    result=Sale,
)
method(
    "sale.suspended",
    NoParams,
    "cashier",
    "The till's suspended sales, oldest first.",
    example={"params": {}, "result": {"sales": [{"id": "0b7c…", "operator": "1001",
                                                 "total": 1000, "lines": 1}]}},
    result=SuspendedSales,
)
method(
    "sale.void",
    SaleVoidParams,
    "manager",
    "Void the whole open sale with a reason (approval by a manager); approved provider "
    "payments are reversed first.",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"reason": "customer left", "approve": {"operator": "9001",
                                                               "pin": "9999"}},
             "result": {**_SALE, "state": "voided"}},
    **_sale,
    result=Sale,
)
method(
    "sale.get",
    SaleGetParams,
    "viewer",
    "A sale by `receipt_no` or `id`.",
    errors=("invalid_params", "not_found"),
    example={"params": {"receipt_no": "S001-T01-20250301-0042"},
             "result": {**_SALE, "state": "completed", "receipt_no": "S001-T01-20250301-0042"}},
    result=Sale,
)
method(
    "sale.list",
    SaleListParams,
    "supervisor",
    "Completed, voided and refund documents of a business day, newest first: a summary per "
    "document (receipt_no, kind, state, time, operator, item count, tender methods, total); "
    "`sale.get` gives the whole sale.",
    errors=("invalid_params",),
    example={"params": {"day": "20250301", "limit": 2},
             "result": {"day": "20250301", "total_count": 57, "sales": [
                 {"id": "0b5c…", "receipt_no": "S001-T01-20250301-0057", "kind": "sale",
                  "state": "completed", "completed_at": "2025-03-01T09:41:07Z",
                  "operator": "1001", "items": 5, "tenders": ["cash"], "total": 4350}]}},
    result=SaleList,
)
method(
    "receipt.reprint",
    ReprintParams,
    "cashier",
    "Queue the receipt again (the till's last receipt by default), headed 重打印 with its "
    "count; every reprint is journaled and counted.",
    errors=("not_found", "unauthenticated"),
    example={"params": {}, "result": {"receipt_no": "S001-T01-20250301-0042", "reprints": 1,
                                      "job_id": "77d2…"}},
    **_sale,
    result=Reprinted,
)
method(
    "promo.upsert",
    PromoUpsertParams,
    "manager",
    "Add or replace promotions (the `[[promotions]]` model of the config: qty_tier, "
    "mix_match, buy_x_get_y, time_price): all or none; errors name `[i].field`.",
    errors=("invalid_params", "conflict"),
    example={"params": {"promotions": [{"id": "coke3", "kind": "qty_tier", "skus": ["1001"],
                                        "qty": 3, "price": 1000}]},
             "result": {"count": 1, "seq": 120}},
    result=PromoUpserted,
)
method(
    "promo.list",
    NoParams,
    "viewer",
    "Every promotion in force, with its `source` (config or store).",
    example={"params": {}, "result": {"promotions": [{"id": "coke3", "kind": "qty_tier",
                                                      "source": "store"}]}},
    result=PromoList,
)
method(
    "voucher.issue",
    VoucherIssueParams,
    "manager",
    "Issue a voucher (redeemable once by `sale.tender {method: voucher, code}`), worth at "
    "most `[sale] max_voucher` (default ¥1,000.00).",
    errors=("conflict", "invalid_params"),
    example={"params": {"code": "V2025-0001", "amount": 2000},
             "result": {"code": "V2025-0001", "amount": 2000}},
    result=Voucher,
)
method(
    "payment.sim",
    PaymentSimParams,
    "admin",
    "Control the simulated payment provider (when it is the configured provider): the "
    "default `outcome`, `polls` before a user_paying charge succeeds, a `script` of outcomes "
    "for the next charges. Returns its ledger summary: `charged` {key: amount}.",
    errors=("not_found",),
    example={"params": {"script": ["user_paying"], "polls": 2},
             "result": {"outcome": "approve", "polls": 2, "charged": {"0b7c…:1": 1000},
                        "operations": 3}},
    result=PaymentSimState,
)


