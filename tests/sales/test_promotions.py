"""Promotions: one example per kind, the best-price choice, and parsing errors."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gatewayd.sales.promotions import (
    PromoLine,
    PromotionError,
    apply_promotions,
    parse_promotion,
    parse_promotions,
)

CST = timezone(timedelta(hours=8))
FRI_1830 = datetime(2024, 5, 3, 18, 30, tzinfo=CST)  # a Friday


def pc(line_id, sku, pieces, price, category=None, **kw):
    return PromoLine(line_id, sku, category, "pc", price, pieces * 1000, **kw)


def run(lines, promos, *, now=FRI_1830, member=False):
    return apply_promotions(lines, parse_promotions(promos), now=now, member=member)


def disc(result):
    return {k: v.discount for k, v in result.items()}


TIER = {"id": "cola3", "kind": "qty_tier", "skus": ["cola"], "qty": 3, "price": 1000}


def test_qty_tier_every_complete_group():
    r = run([pc("a", "cola", 7, 400)], [TIER])
    assert r["a"].discount == 2 * (1200 - 1000)  # two groups, the 7th piece at list
    assert [(x.promo_id, x.label) for x in r["a"].applied] == [("cola3", "3 for ¥10.00")]


def test_qty_tier_across_lines_of_the_same_sku_spreads_the_discount():
    r = run([pc("b", "cola", 1, 400), pc("a", "cola", 2, 400)], [TIER])
    # one group (a, a, b) saves 200, spread 800:400 -> 133.3 / 66.7
    assert disc(r) == {"a": 133, "b": 67}


def test_qty_tier_does_not_pool_different_skus():
    promo = dict(TIER, skus=["cola", "soda"])
    r = run([pc("a", "cola", 2, 400), pc("b", "soda", 1, 400)], [promo])
    assert disc(r) == {"a": 0, "b": 0}
    r = run([pc("a", "cola", 3, 400), pc("b", "soda", 3, 400)], [promo])
    assert disc(r) == {"a": 200, "b": 200}


def test_mix_match_takes_the_dearest_pieces():
    promo = {"id": "mm", "kind": "mix_match", "categories": ["snack"], "qty": 3, "price": 1000}
    lines = [
        pc("a", "chips", 1, 400, "snack"),
        pc("b", "nuts", 1, 600, "snack"),
        pc("c", "candy", 2, 300, "snack"),
        pc("d", "milk", 5, 500, "dairy"),
    ]
    r = run(lines, [promo])
    # 600 + 400 + 300 = 1300 for 1000: saving 300 over b, a and one c
    assert sum(disc(r).values()) == 300
    assert r["d"].discount == 0 and r["d"].applied == ()
    assert disc(r) == {"a": 92, "b": 139, "c": 69, "d": 0}
    assert r["a"].applied[0].label == "any 3 for ¥10.00"


def test_buy_x_get_y_same_set_cheapest_of_each_group_free():
    promo = {"id": "b2g1", "kind": "buy_x_get_y", "categories": ["shirt"], "buy": 2, "get": 1}
    prices = [1000, 900, 800, 700, 600, 500]
    lines = [pc(f"l{p}", f"s{p}", 1, p, "shirt") for p in prices]
    r = run(lines, [promo])
    # groups (1000, 900, 800) and (700, 600, 500): 800 and 500 free
    assert disc(r) == {"l1000": 0, "l900": 0, "l800": 800, "l700": 0, "l600": 0, "l500": 500}
    # qualifying lines still say which promotion they took part in
    assert [a.label for a in r["l1000"].applied] == ["buy 2 get 1"]


def test_buy_x_get_y_percent_off():
    promo = {
        "id": "half",
        "kind": "buy_x_get_y",
        "skus": ["tea"],
        "buy": 1,
        "get": 1,
        "percent_bp": 5000,
    }
    r = run([pc("a", "tea", 3, 999)], [promo])
    assert r["a"].discount == 500  # one group, 999 * 50 % = 499.5 -> 500; third piece at list
    assert r["a"].applied[0].label == "buy 1 get 1 at 50% off"


def test_buy_x_get_y_mixed_sets_cheapest_reward_first():
    promo = {
        "id": "mix",
        "kind": "buy_x_get_y",
        "skus": ["shampoo"],
        "buy": 2,
        "get": 1,
        "get_skus": ["soap", "comb"],
    }
    lines = [pc("a", "shampoo", 2, 2500), pc("b", "soap", 1, 500), pc("c", "comb", 1, 300)]
    r = run(lines, [promo])
    assert disc(r) == {"a": 0, "b": 0, "c": 300}  # one group: the cheaper reward is free
    assert [x.promo_id for x in r["a"].applied] == ["mix"]
    assert r["b"].applied == ()
    lines[0] = pc("a", "shampoo", 4, 2500)
    assert disc(run(lines, [promo])) == {"a": 0, "b": 500, "c": 300}
    # reward pieces alone do not qualify
    assert disc(run(lines[1:], [promo])) == {"b": 0, "c": 0}


def test_time_price_window_and_weekday():
    promo = {
        "id": "hh",
        "kind": "time_price",
        "categories": ["fruit"],
        "weekdays": [5],
        "start": "18:00",
        "end": "20:00",
        "price": 999,
    }
    apples = PromoLine("a", "apple", "fruit", "kg", 1298, 1250)  # 1.25 kg
    inside = run([apples], [promo])
    assert inside["a"].discount == 1623 - 1249  # 16.225 -> 16.23 vs 12.4875 -> 12.49
    assert inside["a"].applied[0].label == "¥9.99 18:00-20:00"
    assert run([apples], [promo], now=FRI_1830 + timedelta(hours=2))["a"].discount == 0
    assert run([apples], [promo], now=FRI_1830 + timedelta(days=1))["a"].discount == 0
    assert run([apples], [promo], now=FRI_1830.replace(hour=18, minute=0))["a"].discount > 0


def test_time_price_window_past_midnight_belongs_to_its_start_day():
    promo = {
        "id": "late",
        "kind": "time_price",
        "skus": ["beer"],
        "weekdays": [5],
        "start": "22:00",
        "end": "02:00",
        "percent_bp": 2000,
    }
    line = [pc("a", "beer", 1, 1000)]
    fri_2300 = FRI_1830.replace(hour=23)
    assert run(line, [promo], now=fri_2300)["a"].discount == 200
    assert run(line, [promo], now=fri_2300 + timedelta(hours=2))["a"].discount == 200  # Sat 1:00
    assert run(line, [promo], now=fri_2300 + timedelta(hours=4))["a"].discount == 0  # Sat 3:00
    assert run(line, [promo], now=fri_2300 - timedelta(days=1))["a"].discount == 0  # Thu 23:00


def test_time_window_uses_the_wall_clock_of_now():
    promo = {
        "id": "am",
        "kind": "time_price",
        "skus": ["x"],
        "start": "08:00",
        "end": "09:00",
        "price": 1,
    }
    line = [pc("a", "x", 1, 100)]
    # 00:30 UTC is 08:30 in the store's timezone: the caller passes store-local time
    assert run(line, [promo], now=datetime(2024, 5, 3, 0, 30, tzinfo=UTC))["a"].discount == 0
    assert run(line, [promo], now=datetime(2024, 5, 3, 8, 30, tzinfo=CST))["a"].discount == 99


def test_member_price_only_when_offered():
    line = pc("a", "cola", 2, 400, member_price=350)
    r = run([line], [])
    assert r["a"].discount == 100 and r["a"].applied[0].label == "member price"
    assert run([pc("a", "cola", 2, 400)], [])["a"].discount == 0


def test_best_price_group_promo_against_member_price():
    # 6 pieces: 3-for-10 twice saves 400, member price saves 300 -> the tier wins everything
    r = run([pc("a", "cola", 6, 400, member_price=350)], [TIER], member=True)
    assert r["a"].discount == 400
    assert [x.promo_id for x in r["a"].applied] == ["cola3"]
    # 4 pieces: one group of 3, the 4th piece at member price
    r = run([pc("a", "cola", 4, 400, member_price=350)], [TIER], member=True)
    assert r["a"].discount == 200 + 50
    assert [x.label for x in r["a"].applied] == ["3 for ¥10.00", "member price"]
    # a tier that is worse than the member price is not used
    worse = dict(TIER, price=1100)
    r = run([pc("a", "cola", 3, 400, member_price=350)], [worse], member=True)
    assert r["a"].discount == 150 and r["a"].applied[0].promo_id == "member_price"


def test_best_price_between_group_promotions():
    mm = {"id": "mm", "kind": "mix_match", "skus": ["cola", "soda"], "qty": 2, "price": 700}
    lines = [pc("a", "cola", 3, 400)]
    # tier saves 200 over 3 pieces; any-2-for-7 saves 100 (one group) -> tier
    assert [x.promo_id for x in run(lines, [mm, TIER])["a"].applied] == ["cola3"]
    # 4 colas and a soda: mix-and-match makes two groups (200 over 4 pieces), the tier one
    # (200 over 3): equal saving, the tier uses fewer pieces and wins the round; the
    # leftover cola + soda pair then gets the mix-and-match in the next round
    lines = [pc("a", "cola", 4, 400), pc("b", "soda", 1, 400)]
    r = run(lines, [mm, TIER])
    assert disc(r) == {"a": 200 + 50, "b": 50}
    assert [x.promo_id for x in r["a"].applied] == ["cola3", "mm"]


def test_ties_go_to_the_lower_promotion_id():
    twin = dict(TIER, id="a-first", name="twin")
    r = run([pc("x", "cola", 3, 400)], [TIER, twin])
    assert [a.promo_id for a in r["x"].applied] == ["a-first"]
    assert r["x"].applied[0].label == "twin"


def test_member_tier_discount_competes_instead_of_stacking():
    r = run([pc("a", "cola", 3, 400, member_discount_bp=2000)], [TIER], member=True)
    # 20 % off = 240 beats 3-for-10 (200)
    assert r["a"].discount == 240
    assert r["a"].applied[0].label == "member -20%"


def test_members_only_active_and_validity():
    promo = dict(TIER, members_only=True)
    assert run([pc("a", "cola", 3, 400)], [promo])["a"].discount == 0
    assert run([pc("a", "cola", 3, 400)], [promo], member=True)["a"].discount == 200
    assert run([pc("a", "cola", 3, 400)], [dict(TIER, active=False)])["a"].discount == 0
    dated = dict(TIER, valid_from="2024-05-04T00:00:00+08:00")
    assert run([pc("a", "cola", 3, 400)], [dated])["a"].discount == 0
    assert (
        run([pc("a", "cola", 3, 400)], [dated], now=FRI_1830 + timedelta(days=1))["a"].discount
        == 200
    )
    until = dict(TIER, valid_until="2024-05-03T18:30:00+08:00")  # exclusive
    assert run([pc("a", "cola", 3, 400)], [until])["a"].discount == 0


def test_weighed_items_and_fractions_take_no_group_promotion():
    promo = {"id": "mm", "kind": "mix_match", "skus": ["nuts"], "qty": 2, "price": 100}
    kg = PromoLine("a", "nuts", None, "kg", 1000, 3000)
    assert run([kg], [promo])["a"].discount == 0
    frac = PromoLine("a", "nuts", None, "pc", 1000, 2500)  # 2.5 pieces: one group of 2
    assert run([frac], [promo])["a"].discount == 1900


def test_order_of_lines_and_promotions_does_not_matter():
    promos = [
        TIER,
        {
            "id": "mm",
            "kind": "mix_match",
            "skus": ["cola", "soda", "juice"],
            "qty": 2,
            "price": 650,
        },
        {
            "id": "bx",
            "kind": "buy_x_get_y",
            "skus": ["juice"],
            "buy": 1,
            "get": 1,
            "percent_bp": 5000,
        },
    ]
    lines = [
        pc("l1", "cola", 4, 400, member_price=380),
        pc("l2", "soda", 1, 350),
        pc("l3", "juice", 3, 450),
        pc("l4", "cola", 2, 400, member_price=380),
        pc("l5", "juice", 1, 450),
    ]
    want = run(lines, promos, member=True)
    rng = random.Random(7)
    for _ in range(20):
        ls, ps = lines[:], promos[:]
        rng.shuffle(ls)
        rng.shuffle(ps)
        assert run(ls, ps, member=True) == want


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        apply_promotions([], [], now=datetime(2024, 1, 1), member=False)


# ----------------------------------------------------------------------------- parsing


def fields(exc: PromotionError):
    return {e["field"] for e in exc.errors}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id": "x", "kind": "qty_tier", "skus": ["a"], "qty": 1, "price": 100}, "qty"),
        ({"id": "x", "kind": "qty_tier", "skus": ["a"], "qty": 3, "price": 9.99}, "price"),
        ({"id": "x", "kind": "qty_tier", "skus": ["a"], "qty": 3, "price": -1}, "price"),
        ({"id": "x", "kind": "qty_tier", "qty": 3, "price": 100}, "skus or categories"),
        ({"id": "x", "kind": "bogus", "skus": ["a"]}, "kind"),
        ({"id": "x", "skus": ["a"]}, "kind"),
        ({"id": "", "kind": "mix_match", "skus": ["a"], "qty": 2, "price": 1}, "id"),
        (
            {"id": "x", "kind": "mix_match", "skus": ["a"], "qty": 2, "price": 1, "colour": 1},
            "colour",
        ),
        ({"id": "x", "kind": "buy_x_get_y", "skus": ["a"], "buy": 0, "get": 1}, "buy"),
        (
            {
                "id": "x",
                "kind": "buy_x_get_y",
                "skus": ["a"],
                "buy": 1,
                "get": 1,
                "percent_bp": 10001,
            },
            "percent_bp",
        ),
        (
            {"id": "x", "kind": "time_price", "skus": ["a"], "price": 1, "percent_bp": 10},
            "price or percent_bp",
        ),
        ({"id": "x", "kind": "time_price", "skus": ["a"]}, "price or percent_bp"),
        ({"id": "x", "kind": "time_price", "skus": ["a"], "price": 1, "weekdays": [8]}, "weekdays"),
        ({"id": "x", "kind": "time_price", "skus": ["a"], "price": 1, "start": "25:00"}, "start"),
        (
            {
                "id": "x",
                "kind": "time_price",
                "skus": ["a"],
                "price": 1,
                "start": "08:00",
                "end": "08:00",
            },
            "end",
        ),
        (
            {
                "id": "x",
                "kind": "qty_tier",
                "skus": ["a"],
                "qty": 3,
                "price": 1,
                "valid_from": "2024-01-01T00:00:00",
            },
            "valid_from",
        ),
        (
            {
                "id": "x",
                "kind": "qty_tier",
                "skus": ["a"],
                "qty": 3,
                "price": 1,
                "valid_from": "2024-02-01T00:00:00Z",
                "valid_until": "2024-01-01T00:00:00Z",
            },
            "valid_until",
        ),
    ],
)
def test_parse_errors_name_the_field(data, field):
    with pytest.raises(PromotionError) as info:
        parse_promotion(data)
    assert field in fields(info.value), info.value.errors
    assert field in str(info.value)


def test_parse_promotions_is_all_or_nothing_with_indexes_and_duplicates():
    good = dict(TIER)
    with pytest.raises(PromotionError) as info:
        parse_promotions([good, {"id": "y", "kind": "nope"}, dict(TIER)])
    assert fields(info.value) == {"[1].kind", "[2].id"}


def test_parse_from_toml_shapes():
    import tomllib

    text = """
    [[promo]]
    id = "hh"
    kind = "time_price"
    categories = ["bakery"]
    weekdays = [1, 2, 3, 4, 5]
    start = 19:30:00
    percent_bp = 5000
    """
    (promo,) = parse_promotions(tomllib.loads(text)["promo"])
    assert promo.kind == "time_price" and promo.start.hour == 19 and promo.end is None
    assert promo.label == "50% off 19:30-24:00"
    assert parse_promotion(TIER) == parse_promotion(dict(TIER))  # frozen, comparable
