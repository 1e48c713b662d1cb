"""price_sale: worked examples and hypothesis properties."""

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayd.sales.money import div_round
from gatewayd.sales.pricing import (
    CatalogItem,
    Discount,
    Member,
    PricingConfig,
    PricingError,
    SaleLine,
    price_sale,
)
from gatewayd.sales.promotions import parse_promotions

CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 5, 3, 18, 30, tzinfo=CST)  # Friday evening

CATALOG = {
    "A": CatalogItem("A", "可乐", 400, member_price=350, tax_rate_bp=1300, category="drinks"),
    "B": CatalogItem("B", "薯片", 600, tax_rate_bp=1300, category="snacks"),
    "W": CatalogItem("W", "苹果", 1298, unit="kg", tax_rate_bp=900, category="fruit"),
    "Z": CatalogItem("Z", "报纸", 150, tax_rate_bp=0, category="press"),
}
PROMOS = parse_promotions(
    [
        {"id": "cola3", "kind": "qty_tier", "skus": ["A"], "qty": 3, "price": 1000},
        {
            "id": "hh",
            "kind": "time_price",
            "categories": ["fruit"],
            "start": "18:00",
            "end": "20:00",
            "percent_bp": 2000,
        },
    ]
)


def test_worked_example():
    lines = [
        SaleLine("1", "A", 4000),
        SaleLine("2", "B", 2000, discount=Discount(percent_bp=1000, reason="dent")),
        SaleLine("3", "W", 1250),
        SaleLine("4", "Z", 1000, voided=True),
    ]
    s = price_sale(
        lines, CATALOG, PROMOS, Member("m1"), NOW, order_discount=Discount(amount=100, reason="vip")
    )
    l1, l2, l3, l4 = s.lines
    # 1: 4 x 4.00 = 16.00; 3 for 10 saves 2.00, the 4th at member price saves 0.50
    assert (l1.amount, l1.promo_discount, l1.member_discount) == (1600, 200, 50)
    # 2: 2 x 6.00 = 12.00, -10 % = 1.20
    assert (l2.amount, l2.manual_discount) == (1200, 120)
    # 3: 1.25 kg x 12.98 = 16.225 -> 16.23; happy hour -20 % = 3.246 -> 3.25
    assert (l3.amount, l3.promo_discount) == (1623, 325)
    # order discount 1.00 over 13.50 : 10.80 : 12.98 -> 36.2 / 28.97 / 34.8 -> 36, 29, 35
    assert [ln.order_discount for ln in s.lines] == [36, 29, 35, 0]
    assert [ln.net for ln in s.lines] == [1314, 1051, 1263, 0]
    assert l4.voided and l4.amount == 150 and l4.net == 0 and l4.explain == ("voided",)
    assert s.subtotal == 1600 + 1200 + 1623
    assert s.total == 1314 + 1051 + 1263 == s.subtotal - s.discount
    # inclusive tax per rate group: 9 % on 12.63, 13 % on 23.65
    assert [(t.rate_bp, t.net, t.tax) for t in s.tax] == [(900, 1263, 104), (1300, 2365, 272)]
    assert s.tax[1].tax == div_round(2365 * 1300, 11300)
    assert l1.explain == ("3 for ¥10.00", "member price", "order discount")
    assert l2.explain == ("-10% (dent)", "order discount")
    assert s.explain == ("order -¥1.00 (vip)",)
    wire = s.to_wire()
    assert wire["total"] == s.total and wire["lines"][0]["discount"] == l1.discount


def test_exclusive_tax_is_added_on_top():
    lines = [SaleLine("1", "B", 3000), SaleLine("2", "Z", 1000)]
    s = price_sale(lines, CATALOG, (), None, NOW, PricingConfig(tax_mode="exclusive"))
    assert s.tax_total == div_round(1800 * 1300, 10000) == 234
    assert s.total == 1800 + 150 + 234
    assert s.lines[0].gross == 1800 + 234 and s.lines[1].gross == 150


def test_price_override_takes_no_promotion_or_member_benefit():
    lines = [SaleLine("1", "A", 3000, unit_price=300)]
    s = price_sale(lines, CATALOG, PROMOS, Member("m", discount_bp=1000), NOW)
    (ln,) = s.lines
    assert (ln.unit_price, ln.amount, ln.discount) == (300, 900, 0)
    assert ln.price_override and ln.explain == ("price ¥3.00 (override)",)


def test_manual_discount_is_capped_at_what_is_left():
    lines = [SaleLine("1", "A", 3000, discount=Discount(amount=5000, reason="x"))]
    s = price_sale(lines, CATALOG, PROMOS, None, NOW)
    assert s.lines[0].promo_discount == 200 and s.lines[0].manual_discount == 1000
    assert s.total == 0


def test_member_tier_discount_vs_promotion():
    m = Member("m", discount_bp=500, member_price=False)
    s = price_sale([SaleLine("1", "A", 3000), SaleLine("2", "B", 1000)], CATALOG, PROMOS, m, NOW)
    # cola: 3-for-10 (200) beats 5 % (60); chips: 5 % of 6.00 = 0.30
    assert [(ln.promo_discount, ln.member_discount) for ln in s.lines] == [(200, 0), (0, 30)]
    assert s.lines[1].explain == ("member -5%",)


def test_percent_order_discount():
    lines = [SaleLine("1", "B", 1000), SaleLine("2", "Z", 1000)]
    s = price_sale(lines, CATALOG, (), None, NOW, order_discount=Discount(percent_bp=1000))
    assert s.order_discount == 75 and s.total == 675
    assert [ln.order_discount for ln in s.lines] == [60, 15]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([SaleLine("1", "nope", 1000)], "unknown sku"),
        ([SaleLine("1", "A", 0)], "qty"),
        ([SaleLine("1", "A", 1000), SaleLine("1", "B", 1000)], "duplicate"),
        ([SaleLine("1", "A", 1000, unit_price=-1)], "unit_price"),
        ([SaleLine("1", "A", 1000, discount=Discount())], "exactly one"),
        ([SaleLine("1", "A", 1000, discount=Discount(percent_bp=20000))], "percent_bp"),
    ],
)
def test_bad_input(lines, message):
    with pytest.raises(PricingError, match=message):
        price_sale(lines, CATALOG, (), None, NOW)


def test_floats_and_naive_time_are_refused():
    with pytest.raises(TypeError):
        price_sale([SaleLine("1", "A", 1.5)], CATALOG, (), None, NOW)
    with pytest.raises(PricingError, match="aware"):
        price_sale([SaleLine("1", "A", 1000)], CATALOG, (), None, NOW.replace(tzinfo=None))


# ------------------------------------------------------------------------------ properties

SKUS = ["s0", "s1", "s2", "s3", "s4", "k0"]


@st.composite
def catalogs(draw):
    out = {}
    for sku in SKUS:
        price = draw(st.integers(0, 2500))
        out[sku] = CatalogItem(
            sku=sku,
            name=sku,
            price=price,
            unit="kg" if sku.startswith("k") else "pc",
            member_price=draw(st.none() | st.integers(0, price + 100)),
            tax_rate_bp=draw(st.sampled_from([0, 600, 900, 1300])),
            category=draw(st.sampled_from(["c0", "c1", None])),
        )
    return out


sku_sets = st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)
money = st.integers(0, 20000)
percent = st.integers(1, 10000)


@st.composite
def promo_dicts(draw):
    kind = draw(st.sampled_from(["qty_tier", "mix_match", "buy_x_get_y", "time_price"]))
    d = {"kind": kind, "skus": draw(sku_sets)}
    if draw(st.booleans()):
        d["categories"] = ["c0"]
    if kind in ("qty_tier", "mix_match"):
        qty = draw(st.integers(2, 4))
        d |= {"qty": qty, "price": draw(st.integers(0, qty * 2000))}
    elif kind == "buy_x_get_y":
        d |= {"buy": draw(st.integers(1, 3)), "get": draw(st.integers(1, 2))}
        d["percent_bp"] = draw(percent)
        if draw(st.booleans()):
            d["get_skus"] = draw(sku_sets)
    else:
        if draw(st.booleans()):
            d["price"] = draw(money)
        else:
            d["percent_bp"] = draw(percent)
        d["start"] = draw(st.sampled_from(["00:00", "18:00", "20:00"]))
    d["members_only"] = draw(st.integers(0, 3)) == 0
    return d


discounts = (
    st.none()
    | st.builds(Discount, percent_bp=st.integers(0, 10000), reason=st.just("r"))
    | st.builds(Discount, amount=st.integers(0, 30000), reason=st.just("r"))
)


@st.composite
def sales(draw):
    catalog = draw(catalogs())
    raw = draw(st.lists(promo_dicts(), max_size=5))
    promos = parse_promotions([dict(d, id=f"p{i}") for i, d in enumerate(raw)])
    n = draw(st.integers(0, 8))
    lines = []
    for i in range(n):
        sku = draw(st.sampled_from(["s0", "s0", "s1", "s1", "s2", *SKUS]))
        qty = draw(st.integers(1, 6)) * 1000 if sku[0] == "s" else draw(st.integers(1, 5000))
        if draw(st.integers(0, 9)) == 0:
            qty = draw(st.integers(1, 9999))  # fractions of a piece
        lines.append(
            SaleLine(
                line_id=f"L{i:02d}",
                sku=sku,
                qty=qty,
                unit_price=draw(st.none() | st.integers(0, 5000)),
                discount=draw(discounts),
                voided=draw(st.integers(0, 9)) == 0,
            )
        )
    member = draw(
        st.none()
        | st.builds(
            Member, id=st.just("m"), discount_bp=st.integers(0, 3000), member_price=st.booleans()
        )
    )
    config = PricingConfig(
        tax_mode=draw(st.sampled_from(["inclusive", "exclusive"])),
        rounding=draw(st.sampled_from(["half_up", "half_even", "down"])),
    )
    order = draw(discounts)
    hour = draw(st.integers(0, 23))
    return lines, catalog, promos, member, NOW.replace(hour=hour), config, order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sales())
def test_pricing_invariants(case):
    lines, catalog, promos, member, now, config, order = case
    s = price_sale(lines, catalog, promos, member, now, config, order)
    assert len(s.lines) == len(lines)
    for ln in s.lines:
        parts = (ln.promo_discount, ln.member_discount, ln.manual_discount, ln.order_discount)
        for v in (ln.amount, ln.discount, ln.net, ln.tax, ln.gross, *parts):
            assert type(v) is int and v >= 0
        if ln.voided:
            assert ln.discount == ln.net == ln.tax == ln.gross == 0
            continue
        assert ln.discount == sum(parts)
        assert ln.discount <= ln.amount  # no discount exceeds its line
        assert ln.net == ln.amount - ln.discount
        if config.tax_mode == "inclusive":
            assert ln.tax <= ln.net and ln.gross == ln.net
        else:
            assert ln.gross == ln.net + ln.tax
        if ln.price_override:
            assert ln.promo_discount == ln.member_discount == 0
    live = [ln for ln in s.lines if not ln.voided]
    assert s.total == sum(ln.gross for ln in s.lines)
    assert s.subtotal == sum(ln.amount for ln in live)
    assert s.subtotal - s.discount == sum(ln.net for ln in live)
    assert s.tax_total == sum(t.tax for t in s.tax) == sum(ln.tax for ln in s.lines)
    assert s.order_discount == sum(ln.order_discount for ln in s.lines)
    if config.tax_mode == "inclusive":
        assert s.total == s.subtotal - s.discount
    else:
        assert s.total == s.subtotal - s.discount + s.tax_total
    for g in s.tax:
        assert g.net == sum(ln.net for ln in live if ln.tax_rate_bp == g.rate_bp)
    # deterministic
    assert price_sale(lines, catalog, promos, member, now, config, order) == s
    # promotions never make the sale dearer than the list price
    plain = price_sale(lines, catalog, (), None, now, config, None)
    assert s.subtotal == plain.subtotal
    assert s.subtotal - s.discount <= plain.subtotal


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sales(), st.randoms(use_true_random=False))
def test_line_order_does_not_change_the_choice(case, rnd):
    lines, catalog, promos, member, now, config, order = case
    s = price_sale(lines, catalog, promos, member, now, config, order)
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    promos_shuffled = list(promos)
    rnd.shuffle(promos_shuffled)
    t = price_sale(shuffled, catalog, promos_shuffled, member, now, config, order)
    assert (t.subtotal, t.discount, t.total, t.tax_total) == (
        s.subtotal,
        s.discount,
        s.total,
        s.tax_total,
    )
    by_id = {ln.line_id: ln for ln in t.lines}
    for ln in s.lines:
        other = by_id[ln.line_id]
        # everything but the order discount's fen remainders (which go by line order)
        assert (ln.promo_discount, ln.member_discount, ln.manual_discount, ln.promotions) == (
            other.promo_discount,
            other.member_discount,
            other.manual_discount,
            other.promotions,
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sales())
def test_group_promotions_never_lose_against_per_unit_offers(case):
    lines, catalog, promos, member, now, config, _ = case
    # the choice is made before manual discounts: a manual percent on one line of a group
    # can make a group worse overall (documented), so compare without them
    lines = [ln._replace(discount=None) for ln in lines]
    with_all = price_sale(lines, catalog, promos, member, now, config)
    per_unit_only = [p for p in promos if p.kind == "time_price"]
    offers = price_sale(lines, catalog, per_unit_only, member, now, config)
    # each group taken saves >= 1 fen against the per-unit baseline; per-unit percent offers
    # re-round the rest of a line, which can cost < 1 fen per line
    slack = len(lines)
    before_tax = lambda s: s.subtotal - s.discount  # noqa: E731
    assert before_tax(with_all) <= before_tax(offers) + slack


def test_shuffle_example_with_ties():
    # two identical lines and a promotion that can only take one group: the chosen line is
    # the same whatever the order
    catalog = {"A": CatalogItem("A", "a", 500)}
    promos = parse_promotions(
        [{"id": "p", "kind": "qty_tier", "skus": ["A"], "qty": 2, "price": 600}]
    )
    lines = [SaleLine("x", "A", 1000), SaleLine("y", "A", 1000), SaleLine("z", "A", 1000)]
    want = {
        ln.line_id: ln.promo_discount for ln in price_sale(lines, catalog, promos, None, NOW).lines
    }
    assert sorted(want.values()) == [0, 200, 200]
    for seed in range(6):
        ls = lines[:]
        random.Random(seed).shuffle(ls)
        got = price_sale(ls, catalog, promos, None, NOW)
        assert {ln.line_id: ln.promo_discount for ln in got.lines} == want
