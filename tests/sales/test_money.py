"""money: exact integer rounding, line amounts, percentages, allocation, 抹零, formatting."""

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.sales.money import (
    ROUNDING_MODES,
    allocate,
    cash_rounding,
    div_round,
    format_percent,
    format_yuan,
    line_amount,
    percent_of,
)

DECIMAL_MODE = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}


@pytest.mark.parametrize(
    ("n", "d", "mode", "want"),
    [
        (5, 2, "half_up", 3),
        (-5, 2, "half_up", -3),  # away from zero at .5
        (5, -2, "half_up", -3),
        (-5, -2, "half_up", 3),
        (7, 3, "half_up", 2),
        (5, 2, "half_even", 2),
        (7, 2, "half_even", 4),
        (-5, 2, "half_even", -2),
        (9, 4, "down", 2),
        (-9, 4, "down", -2),
        (9, 4, "up", 3),
        (-9, 4, "up", -3),
        (-9, 4, "floor", -3),
        (-9, 4, "ceiling", -2),
        (8, 4, "up", 2),  # exact: no bump in any mode
        (0, 7, "up", 0),
    ],
)
def test_div_round_examples(n, d, mode, want):
    assert div_round(n, d, mode) == want


@given(
    st.integers(-(10**15), 10**15),
    st.integers(-(10**6), 10**6).filter(bool),
    st.sampled_from(ROUNDING_MODES),
)
def test_div_round_matches_decimal(n, d, mode):
    with localcontext() as ctx:
        ctx.prec = 80
        want = int((Decimal(n) / Decimal(d)).to_integral_value(rounding=DECIMAL_MODE[mode]))
    assert div_round(n, d, mode) == want


def test_div_round_refuses_float_bool_zero_and_bad_mode():
    with pytest.raises(TypeError):
        div_round(1.5, 2)
    with pytest.raises(TypeError):
        div_round(True, 2)
    with pytest.raises(ZeroDivisionError):
        div_round(1, 0)
    with pytest.raises(ValueError, match="rounding mode"):
        div_round(1, 2, "banker")


def test_line_amount_units():
    assert line_amount(350, 3000) == 1050  # 3 pieces
    assert line_amount(1298, 1250) == 1623  # 1.25 kg at 12.98/kg = 16.225 -> 16.23
    assert line_amount(1299, 500) == 650  # 6.495 -> 6.50 half-up
    assert line_amount(1299, 500, "half_even") == 650  # 649.5 -> even is 650
    assert line_amount(1297, 500, "half_even") == 648  # 648.5 -> 648
    assert line_amount(1, 1) == 0
    with pytest.raises(TypeError):
        line_amount(12.5, 1000)


def test_percent_of():
    assert percent_of(1000, 1000) == 100
    assert percent_of(999, 1250) == 125  # 124.875
    assert percent_of(5, 1000) == 1  # 0.5 -> 1
    assert percent_of(5, 1000, "down") == 0


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_allocate_properties(total, weights):
    if sum(weights) == 0:
        if total:
            with pytest.raises(ValueError):
                allocate(total, weights)
        else:
            assert allocate(0, weights) == [0] * len(weights)
        return
    total = total % (sum(weights) + 1)
    shares = allocate(total, weights)
    assert sum(shares) == total
    for s, w in zip(shares, weights, strict=True):
        assert 0 <= s <= w
        # proportional within one fen
        assert abs(s * sum(weights) - total * w) < sum(weights)


def test_allocate_remainder_goes_to_largest_then_first():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(2, [1, 2, 2]) == [0, 1, 1]  # 0.4, 0.8, 0.8 -> the two 0.8s
    assert allocate(100, [1350, 1080, 1298]) == [36, 29, 35]


@pytest.mark.parametrize(
    ("amount", "mode", "rounded"),
    [
        (1234, "none", 1234),
        (1234, "drop_fen", 1230),
        (1239, "drop_fen", 1230),
        (1234, "drop_jiao", 1200),
        (1299, "drop_jiao", 1200),
        (1234, "half_up_jiao", 1230),
        (1235, "half_up_jiao", 1240),
        (1230, "half_up_jiao", 1230),
        (-1234, "drop_fen", -1230),  # magnitude: never gives back more than exact
        (-1235, "half_up_jiao", -1240),
        (7, "drop_jiao", 0),
    ],
)
def test_cash_rounding_examples(amount, mode, rounded):
    r, rounding = cash_rounding(amount, mode)
    assert r == rounded
    assert r + rounding == amount


@given(st.integers(-(10**9), 10**9), st.sampled_from(["drop_fen", "drop_jiao", "half_up_jiao"]))
def test_cash_rounding_properties(amount, mode):
    rounded, rounding = cash_rounding(amount, mode)
    assert rounded + rounding == amount
    step = 100 if mode == "drop_jiao" else 10
    assert rounded % step == 0
    if mode == "half_up_jiao":
        assert abs(rounding) <= 5
    else:
        assert abs(rounded) <= abs(amount) and abs(rounding) < step


def test_cash_rounding_unknown_mode():
    with pytest.raises(ValueError, match="cash rounding mode"):
        cash_rounding(100, "drop_yuan")


def test_format():
    assert format_yuan(1234) == "12.34"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(0) == "0.00"
    assert format_yuan(100000) == "1000.00"
    assert format_percent(1000) == "10%"
    assert format_percent(1250) == "12.5%"
    assert format_percent(5) == "0.05%"
