"""Pricing: one pure function from the basket to the priced sale. No I/O, no clock.

    price_sale(lines, catalog, promotions, member, now, config, order_discount=None)
        -> PricedSale

Inputs are frozen dataclasses (and parsed promotion models from ``promotions``); money is
int fen, quantity int thousandths, percentages int basis points (DESIGN §3):

    SaleLine(line_id, sku, qty, unit_price=None, discount=None, voided=False)
        ``unit_price`` is a price override (fen per unit); ``discount`` a manual
        ``Discount``. Line ids must be unique; qty > 0.
    Discount(percent_bp=None, amount=None, reason="")   exactly one of the two
    CatalogItem(sku, name, price, unit="pc", member_price=None, tax_rate_bp=0, category=None)
    Member(id, discount_bp=0, member_price=True)
    PricingConfig(tax_mode="inclusive"|"exclusive", rounding="half_up")
    catalog: Mapping[sku, CatalogItem]  (every line's sku must be there, voided or not)
    now: aware datetime in the store's timezone (time-window promotions read its wall clock)

Order of operations, per line (a voided line keeps its ``amount`` for display but has no
discount, a net of 0, and counts in neither subtotal nor total):

1. unit price = the override if given, else the catalog price; amount =
   ``line_amount(unit_price, qty)`` (round half-up, or ``config.rounding``).
2. promotions and member benefits (``promotions.apply_promotions``; the best-price rule
   is documented there). The member price (``CatalogItem.member_price``, when
   ``Member.member_price``) and the tier discount (``Member.discount_bp``) are per-unit
   offers that compete with the promotions: a line gets the best of them, they do not
   stack. A line with a price override takes no promotion and no member benefit.
3. the manual line discount, on what is left after (2): a percent of it, or an amount
   capped at it. (The best-price choice in (2) looks at list prices and offers only, not
   at manual discounts: a cashier's discount is applied to whatever price results.)
4. the order discount, on the sum of the lines left after (3): a percent of it, or an
   amount capped at it; spread over the lines in proportion to what is left of each
   (floor, then one fen each to the largest remainders, ties to the earlier line), so the
   line nets add up to the total exactly.

Then tax, per rate group over the line nets: inclusive (the default) ``tax = G * r /
(10000 + r)`` rounded half-up per rate, contained in the total; exclusive ``tax = N * r /
10000`` rounded per rate and added on top. Each group's tax is spread over its lines the
same way as the order discount, so line taxes add up to the groups'.

Output invariants (property-tested): every amount >= 0; per non-voided line
``discount <= amount`` and ``net == amount - discount``; ``total == sum(line.gross)``
where ``gross = net`` (inclusive) or ``net + tax`` (exclusive);
``subtotal - discount == sum(line.net)``; deterministic, and the promotional part
independent of line order.

Cash rounding (抹零) is not pricing: it happens at tender time (``tenders.settle``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .money import (
    ROUNDING_MODES,
    allocate,
    check_int,
    div_round,
    format_percent,
    format_yuan,
    line_amount,
    percent_of,
)
from .promotions import MEMBER_IDS, Applied, PromoLine, Promotion, apply_promotions

__all__ = [
    "CatalogItem",
    "Discount",
    "Member",
    "PricedLine",
    "PricedSale",
    "PricingConfig",
    "PricingError",
    "SaleLine",
    "TaxGroup",
    "price_sale",
]

UNITS = ("pc", "kg")
TAX_MODES = ("inclusive", "exclusive")


class PricingError(ValueError):
    """Bad pricing input (unknown sku, qty <= 0, malformed discount, ...)."""


# The records built per line on every reprice are NamedTuples: immutable like frozen
# dataclasses, and several times cheaper to construct (a scan reprices the whole basket).
class CatalogItem(NamedTuple):
    sku: str
    name: str
    price: int  # fen per unit (per piece, or per kg)
    unit: str = "pc"
    member_price: int | None = None
    tax_rate_bp: int = 0  # 1300 = 13 %
    category: str | None = None


@dataclass(frozen=True)
class Discount:
    percent_bp: int | None = None  # 1000 = 10 % off
    amount: int | None = None  # fen off
    reason: str = ""

    def validate(self, what: str) -> None:
        if (self.percent_bp is None) == (self.amount is None):
            raise PricingError(f"{what}: give exactly one of percent_bp and amount")
        if self.percent_bp is not None:
            check_int(self.percent_bp, f"{what}.percent_bp")
            if not 0 <= self.percent_bp <= 10000:
                raise PricingError(f"{what}.percent_bp must be within 0..10000")
        if self.amount is not None:
            check_int(self.amount, f"{what}.amount")
            if self.amount < 0:
                raise PricingError(f"{what}.amount must be >= 0")

    def off(self, base: int, rounding: str) -> int:
        """The discount on ``base`` fen, never more than ``base``."""
        if self.percent_bp is not None:
            return min(base, percent_of(base, self.percent_bp, rounding))
        return min(base, self.amount or 0)

    def describe(self) -> str:
        if self.percent_bp is not None:
            text = f"-{format_percent(self.percent_bp)}"
        else:
            text = f"-¥{format_yuan(self.amount or 0)}"
        return f"{text} ({self.reason})" if self.reason else text


class SaleLine(NamedTuple):
    line_id: str
    sku: str
    qty: int  # thousandths of the unit
    unit_price: int | None = None  # price override
    discount: Discount | None = None
    voided: bool = False


@dataclass(frozen=True)
class Member:
    id: str
    discount_bp: int = 0  # tier discount, 500 = 5 % off
    member_price: bool = True  # may have catalog member prices


@dataclass(frozen=True)
class PricingConfig:
    tax_mode: str = "inclusive"
    rounding: str = "half_up"


class PricedLine(NamedTuple):
    line_id: str
    sku: str
    name: str
    qty: int
    unit: str
    unit_price: int  # the price used (override or catalog list price)
    amount: int  # line_amount(unit_price, qty), before any discount
    promo_discount: int  # configured promotions
    member_discount: int  # member price and tier discount
    manual_discount: int
    order_discount: int  # this line's share of the order discount
    discount: int  # all of the above
    net: int  # amount - discount (0 when voided)
    tax_rate_bp: int
    tax: int  # this line's share of its rate group's tax
    gross: int  # what the customer pays for it: net, or net + tax when exclusive
    voided: bool
    price_override: bool
    promotions: tuple[Applied, ...]
    explain: tuple[str, ...]  # human lines: "3 for ¥10.00", "member price", "-10% (damaged)"

    def to_wire(self) -> dict[str, Any]:
        """The line as DESIGN §4 carries it, plus ``net``, ``tax`` and ``explain``."""
        return {
            "line_id": self.line_id,
            "sku": self.sku,
            "name": self.name,
            "qty": self.qty,
            "unit": self.unit,
            "unit_price": self.unit_price,
            "amount": self.amount,
            "discount": self.discount,
            "net": self.net,
            "tax": self.tax,
            "voided": self.voided,
            "explain": list(self.explain),
        }


class TaxGroup(NamedTuple):
    rate_bp: int
    net: int  # sum of the line nets at this rate (tax included when inclusive)
    tax: int
    gross: int  # net (inclusive) or net + tax (exclusive)
    base: int  # the amount without tax: net - tax (inclusive) or net (exclusive)


@dataclass(frozen=True)
class PricedSale:
    lines: tuple[PricedLine, ...]
    subtotal: int  # sum of non-voided line amounts
    discount: int  # all discounts
    order_discount: int
    tax_mode: str
    tax: tuple[TaxGroup, ...]  # by rate, ascending
    tax_total: int
    total: int  # what is due before cash rounding
    explain: tuple[str, ...] = field(default=())  # sale-level notes (order discount)

    def to_wire(self) -> dict[str, Any]:
        """The pricing part of the DESIGN §4 sale (the service adds id, state, tenders...)."""
        return {
            "lines": [ln.to_wire() for ln in self.lines],
            "subtotal": self.subtotal,
            "discount": self.discount,
            "total": self.total,
            "tax": [
                {"rate_bp": t.rate_bp, "net": t.net, "tax": t.tax, "base": t.base} for t in self.tax
            ],
        }


def _check_inputs(
    lines: Sequence[SaleLine],
    catalog: Mapping[str, CatalogItem],
    member: Member | None,
    now: datetime,
    config: PricingConfig,
    order_discount: Discount | None,
) -> None:
    if config.tax_mode not in TAX_MODES:
        raise PricingError(f"tax_mode must be one of {TAX_MODES}, got {config.tax_mode!r}")
    if config.rounding not in ROUNDING_MODES:
        raise PricingError(f"rounding must be one of {ROUNDING_MODES}, got {config.rounding!r}")
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise PricingError("now must be an aware datetime")
    seen: set[str] = set()
    for ln in lines:
        if ln.line_id in seen:
            raise PricingError(f"duplicate line_id {ln.line_id!r}")
        seen.add(ln.line_id)
        item = catalog.get(ln.sku)
        if item is None:
            raise PricingError(f"line {ln.line_id}: unknown sku {ln.sku!r}")
        check_int(ln.qty, "qty")
        if ln.qty <= 0:
            raise PricingError(f"line {ln.line_id}: qty must be > 0")
        if ln.unit_price is not None and check_int(ln.unit_price, "unit_price") < 0:
            raise PricingError(f"line {ln.line_id}: unit_price must be >= 0")
        if ln.discount is not None:
            ln.discount.validate(f"line {ln.line_id} discount")
        if item.unit not in UNITS:
            raise PricingError(f"item {item.sku}: unit must be one of {UNITS}")
        if check_int(item.price, "price") < 0:
            raise PricingError(f"item {item.sku}: price must be >= 0")
        if item.member_price is not None and check_int(item.member_price, "member_price") < 0:
            raise PricingError(f"item {item.sku}: member_price must be >= 0")
        if not 0 <= check_int(item.tax_rate_bp, "tax_rate_bp") <= 10000:
            raise PricingError(f"item {item.sku}: tax_rate_bp must be within 0..10000")
    if member is not None and not 0 <= check_int(member.discount_bp, "discount_bp") <= 10000:
        raise PricingError("member.discount_bp must be within 0..10000")
    if order_discount is not None:
        order_discount.validate("order discount")


def price_sale(
    lines: Sequence[SaleLine],
    catalog: Mapping[str, CatalogItem],
    promotions: Iterable[Promotion],
    member: Member | None,
    now: datetime,
    config: PricingConfig | None = None,
    order_discount: Discount | None = None,
) -> PricedSale:
    """Price the basket. Raises ``PricingError`` (a ValueError) on bad input."""
    config = config or PricingConfig()
    _check_inputs(lines, catalog, member, now, config, order_discount)
    mode = config.rounding
    items = [catalog[ln.sku] for ln in lines]
    live = [i for i, ln in enumerate(lines) if not ln.voided]
    amounts = [
        line_amount(ln.unit_price if ln.unit_price is not None else it.price, ln.qty, mode)
        for ln, it in zip(lines, items, strict=True)
    ]

    # 2. promotions on non-voided, non-overridden lines (with no promotion and no member,
    # nothing can apply)
    promotions = tuple(promotions)
    promo = {}
    if promotions or member is not None:
        may_member_price = member is not None and member.member_price
        promo_lines = [
            PromoLine(
                line_id=lines[i].line_id,
                sku=lines[i].sku,
                category=items[i].category,
                unit=items[i].unit,
                unit_price=items[i].price,
                qty=lines[i].qty,
                member_price=items[i].member_price if may_member_price else None,
                member_discount_bp=member.discount_bp if member is not None else 0,
            )
            for i in live
            if lines[i].unit_price is None
        ]
        promo = apply_promotions(
            promo_lines, promotions, now=now, member=member is not None, rounding=mode
        )

    n = len(lines)
    promo_d = [0] * n
    manual_d = [0] * n
    member_d = [0] * n
    applied: list[tuple[Applied, ...]] = [()] * n
    explain: list[list[str]] = [[] for _ in range(n)]
    left = [0] * n
    for i in live:
        ln = lines[i]
        if ln.unit_price is not None:
            explain[i].append(f"price ¥{format_yuan(ln.unit_price)} (override)")
        res = promo.get(ln.line_id)
        if res is not None:
            applied[i] = res.applied
            for a in res.applied:
                if a.promo_id in MEMBER_IDS:
                    member_d[i] += a.discount
                else:
                    promo_d[i] += a.discount
                explain[i].append(a.label)
        rest = amounts[i] - promo_d[i] - member_d[i]
        if ln.discount is not None:
            manual_d[i] = ln.discount.off(rest, mode)
            rest -= manual_d[i]
            explain[i].append(ln.discount.describe())
        left[i] = rest

    # 4. order discount
    order_d = [0] * n
    sale_explain: list[str] = []
    order_total = 0
    if order_discount is not None:
        base = sum(left[i] for i in live)
        order_total = order_discount.off(base, mode)
        shares = allocate(order_total, [left[i] for i in live])
        for i, share in zip(live, shares, strict=True):
            order_d[i] = share
        sale_explain.append(f"order {order_discount.describe()}")

    nets = [0] * n
    for i in live:
        nets[i] = left[i] - order_d[i]

    # tax per rate group
    tax = [0] * n
    groups: list[TaxGroup] = []
    rates = sorted({items[i].tax_rate_bp for i in live})
    for rate in rates:
        members = [i for i in live if items[i].tax_rate_bp == rate]
        g_net = sum(nets[i] for i in members)
        if config.tax_mode == "inclusive":
            g_tax = div_round(g_net * rate, 10000 + rate, mode)
            groups.append(TaxGroup(rate, g_net, g_tax, g_net, g_net - g_tax))
        else:
            g_tax = div_round(g_net * rate, 10000, mode)
            groups.append(TaxGroup(rate, g_net, g_tax, g_net + g_tax, g_net))
        for i, share in zip(members, allocate(g_tax, [nets[i] for i in members]), strict=True):
            tax[i] = share

    priced: list[PricedLine] = []
    for i, ln in enumerate(lines):
        it = items[i]
        disc = promo_d[i] + manual_d[i] + member_d[i] + order_d[i]
        gross = nets[i] + (tax[i] if config.tax_mode == "exclusive" else 0)
        if order_d[i]:
            explain[i].append("order discount")
        priced.append(
            PricedLine(
                line_id=ln.line_id,
                sku=ln.sku,
                name=it.name,
                qty=ln.qty,
                unit=it.unit,
                unit_price=ln.unit_price if ln.unit_price is not None else it.price,
                amount=amounts[i],
                promo_discount=promo_d[i],
                manual_discount=manual_d[i],
                member_discount=member_d[i],
                order_discount=order_d[i],
                discount=disc,
                net=nets[i],
                tax_rate_bp=it.tax_rate_bp,
                tax=tax[i],
                gross=gross,
                voided=ln.voided,
                price_override=ln.unit_price is not None,
                promotions=applied[i],
                explain=tuple(explain[i]) if not ln.voided else ("voided",),
            )
        )
    subtotal = sum(amounts[i] for i in live)
    discount = sum(p.discount for p in priced)
    tax_total = sum(g.tax for g in groups)
    return PricedSale(
        lines=tuple(priced),
        subtotal=subtotal,
        discount=discount,
        order_discount=order_total,
        tax_mode=config.tax_mode,
        tax=tuple(groups),
        tax_total=tax_total,
        total=sum(p.gross for p in priced),
        explain=tuple(sale_explain),
    )
