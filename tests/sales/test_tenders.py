"""Tender math: split payments, change only from cash, 抹零 kept as its own amount."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.sales.tenders import (
    CASH,
    NON_CASH_METHODS,
    Tender,
    TenderConfig,
    TenderError,
    TenderState,
    apply_tender,
    settle,
)


def test_cash_with_change():
    r = apply_tender(TenderState(1234), "cash", 2000)
    s = r.settlement
    assert s.complete and (s.paid, s.change, s.rounding, s.due) == (2000, 766, 0, 0)
    assert s.to_wire() == {"rounding": 0, "paid": 2000, "due": 0, "change": 766}
    assert r.state.tenders == (Tender("cash", 2000),)


def test_drop_fen_rounding_is_its_own_amount():
    cfg = TenderConfig(cash_rounding="drop_fen")
    before = settle(1234, (), "drop_fen")
    assert (before.due, before.cash_due) == (1234, 1230)
    s = apply_tender(TenderState(1234), "cash", None, cfg).settlement  # exact cash
    assert (s.paid, s.change, s.rounding) == (1230, 0, 4)
    s = apply_tender(TenderState(1234), "cash", 5000, cfg).settlement
    assert (s.paid, s.change, s.rounding) == (5000, 3770, 4)


def test_half_up_jiao_can_round_up_and_exact_cash_is_accepted():
    cfg = TenderConfig(cash_rounding="half_up_jiao")
    s = apply_tender(TenderState(1235), "cash", None, cfg).settlement
    assert (s.paid, s.change, s.rounding) == (1240, 0, -5)
    s = apply_tender(TenderState(1235), "cash", 1235, cfg).settlement
    assert s.complete and (s.change, s.rounding) == (0, 0)


def test_drop_jiao_can_round_the_rest_to_nothing():
    cfg = TenderConfig(cash_rounding="drop_jiao")
    st0 = apply_tender(TenderState(1250), "card", 1200, cfg)
    assert not st0.settlement.complete
    assert (st0.settlement.due, st0.settlement.cash_due) == (50, 0)
    s = apply_tender(st0.state, "cash", None, cfg).settlement
    assert s.complete and (s.paid, s.change, s.rounding) == (1200, 0, 50)


def test_split_card_then_cash_rounding_only_on_the_cash_part():
    cfg = TenderConfig(cash_rounding="drop_fen")
    r = apply_tender(TenderState(10000), "card", 3333, cfg)
    assert (r.settlement.due, r.settlement.cash_due) == (6667, 6660)
    r = apply_tender(r.state, "cash", 7000, cfg)
    s = r.settlement
    assert s.complete and (s.paid, s.change, s.rounding) == (10333, 340, 7)


def test_cash_first_then_card_no_rounding():
    cfg = TenderConfig(cash_rounding="drop_jiao")
    r = apply_tender(TenderState(1234), "cash", 500, cfg)
    assert (r.settlement.due, r.settlement.cash_due) == (734, 700)
    s = apply_tender(r.state, "mobile", None, cfg).settlement
    assert s.complete and (s.paid, s.change, s.rounding) == (1234, 0, 0)


def test_non_cash_may_not_exceed_due_and_gives_no_change():
    r = apply_tender(TenderState(1000), "card", 400)
    with pytest.raises(TenderError, match="exceeds"):
        apply_tender(r.state, "wechat", 601)
    s = apply_tender(r.state, "wechat", None).settlement
    assert s.complete and s.change == 0 and s.paid == 1000


def test_errors():
    with pytest.raises(TenderError) as info:
        apply_tender(TenderState(1000, (Tender("card", 1000),)), "cash", 100)
    assert info.value.code == "conflict"
    with pytest.raises(TenderError, match="unknown tender method"):
        apply_tender(TenderState(1000), "bitcoin", 100)
    with pytest.raises(TenderError, match="> 0"):
        apply_tender(TenderState(1000), "cash", 0)
    with pytest.raises(TenderError, match="> 0"):
        apply_tender(TenderState(1000), "card", -5)
    with pytest.raises(TypeError):
        apply_tender(TenderState(1000), "cash", 10.0)
    with pytest.raises(TenderError, match="change"):
        apply_tender(TenderState(1000), "cash", 1_000_000, TenderConfig(max_change=50_000))
    with pytest.raises(TenderError, match="exceed the total"):
        settle(100, (Tender("card", 200),))


# ------------------------------------------------------------------------------ properties

methods = st.sampled_from((CASH, CASH, *NON_CASH_METHODS))
modes = st.sampled_from(["none", "drop_fen", "drop_jiao", "half_up_jiao"])


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 10**7),
    st.lists(st.tuples(methods, st.none() | st.integers(1, 2 * 10**7)), max_size=6),
    modes,
)
def test_tendering_properties(total, steps, mode):
    cfg = TenderConfig(cash_rounding=mode)
    state = TenderState(total)
    s = settle(total, (), mode)
    for method, amount in steps:
        if s.complete:
            with pytest.raises(TenderError):
                apply_tender(state, method, amount, cfg)
            break
        try:
            r = apply_tender(state, method, amount, cfg)
        except TenderError:
            # only a non-cash amount above the due is refused here
            assert method != CASH and amount is not None and amount > s.due
            continue
        state, s = r.state, r.settlement
        assert s == settle(total, state.tenders, mode)  # computed in one place
    has_cash = any(t.method == CASH for t in state.tenders)
    cash = sum(t.amount for t in state.tenders if t.method == CASH)
    assert s.paid == sum(t.amount for t in state.tenders)
    assert s.change >= 0 and s.due >= 0 and s.cash_due >= 0
    assert s.change <= cash  # change only ever comes out of cash
    if not has_cash:
        assert s.change == 0 and s.rounding == 0
    if s.complete:
        assert s.paid - s.change + s.rounding == total
        assert s.due == 0
        assert abs(s.rounding) < (100 if mode == "drop_jiao" else 10)
    else:
        assert s.rounding == s.change == 0
        assert s.due == total - s.paid > 0
    # the non-cash part never exceeds the total
    assert sum(t.amount for t in state.tenders if t.method != CASH) <= total


@given(st.integers(1, 10**7), modes, methods)
def test_paying_the_rest_always_completes(total, mode, method):
    r = apply_tender(TenderState(total), method, None, TenderConfig(cash_rounding=mode))
    s = r.settlement
    assert s.complete and s.change == 0
    assert s.paid + s.rounding == total
