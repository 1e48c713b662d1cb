"""The returns core (pure): partial returns add up exactly to the line, the money per line
adds up to what was paid, the allocation over the original tenders never gives a tender more
than it paid and, refunded to the end in any pieces, gives each tender back exactly its
amount; quantities above what is left are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.sales.returns import (
    Bucket,
    RefundError,
    allocate_parts,
    buckets,
    line_shares,
    no_receipt_line,
    plan_lines,
)

VALUES = ("amount", "discount", "net", "tax", "gross")


def make_line(i: int, qty: int, amount: int, discount: int, rate: int, voided=False) -> dict:
    net = amount - discount
    return {"id": f"l{i}", "sku": f"s{i}", "name": f"item {i}", "unit": "pc", "qty": qty,
            "returned_qty": 0, "unit_price": None, "list_price": amount, "tax_rate_bp": rate,
            "amount": amount, "discount": discount, "net": 0 if voided else net,
            "tax": 0 if voided else net * rate // (10000 + rate),
            "gross": 0 if voided else net, "voided": int(voided)}


@st.composite
def sales(draw):
    lines = []
    for i in range(draw(st.integers(1, 6))):
        qty = draw(st.integers(1, 20)) * draw(st.sampled_from([1000, 1, 250]))
        amount = draw(st.integers(0, 100_000))
        discount = draw(st.integers(0, amount))
        lines.append(make_line(i, qty, amount, discount, draw(st.sampled_from([0, 900, 1300])),
                               voided=draw(st.integers(0, 9)) == 0))
    total = sum(ln["gross"] for ln in lines)
    rounding = draw(st.integers(-5, min(9, total))) if total else 0  # (half_up_jiao: < 0)
    paid = total - rounding
    # tenders: some provider charges, maybe cash with change, maybe a voucher
    kinds = draw(st.lists(st.sampled_from(["cash", "alipay", "card", "voucher"]), min_size=1,
                          max_size=4))
    weights = [draw(st.integers(1, 10)) for _ in kinds]
    from gatewayd.sales.money import allocate

    shares = allocate(paid, weights)
    tenders, change = [], 0
    for n, (k, s) in enumerate(zip(kinds, shares, strict=True)):
        if k == "cash":
            extra = draw(st.integers(0, 500))
            change += extra
            tenders.append({"method": "cash", "amount": s + extra, "attempt_id": None})
        elif k == "voucher":
            tenders.append({"method": "voucher", "amount": s, "attempt_id": None})
        else:
            tenders.append({"method": k, "amount": s, "attempt_id": f"sale:{n + 1}"})
    sale = {"total": total, "rounding": rounding, "change": change}
    return sale, lines, tenders


@settings(max_examples=300, deadline=None)
@given(sales(), st.data())
def test_refunding_in_any_pieces_gives_back_exactly_each_line_and_each_tender(s, data):
    sale, lines, tenders = s
    shares = line_shares(sale, lines)
    assert sum(shares.values()) == sale["total"] - sale["rounding"]
    prior: dict[str, int] = {}
    got_lines = {ln["id"]: dict.fromkeys((*VALUES, "money"), 0) for ln in lines}
    paid_back = 0
    while True:
        left = [ln for ln in lines if not ln["voided"] and ln["qty"] > ln["returned_qty"]]
        if not left:
            break
        picks = data.draw(st.lists(st.sampled_from(left), min_size=1, max_size=len(left),
                                   unique_by=lambda ln: ln["id"]))
        request = [(ln["id"], data.draw(st.integers(1, ln["qty"] - ln["returned_qty"])))
                   for ln in picks]
        rlines = plan_lines(sale, lines, request)
        money = sum(x.money for x in rlines)
        avail = buckets(sale, tenders, prior)
        parts = allocate_parts(money, avail)
        assert sum(p.amount for p in parts) == money
        by_key = {b.key: b for b in avail}
        for p in parts:
            assert 0 < p.amount <= by_key[p.bucket].remaining
            prior[p.bucket] = prior.get(p.bucket, 0) + p.amount
        assert allocate_parts(money, avail) == parts  # deterministic
        paid_back += money
        for x in rlines:
            for k in (*VALUES, "money"):
                assert getattr(x, k) >= 0 or k == "money"
                got_lines[x.orig_line_id][k] += getattr(x, k)
        for line_id, q in request:  # what the completing transaction does
            next(ln for ln in lines if ln["id"] == line_id)["returned_qty"] += q
    for ln in lines:
        if not ln["voided"]:
            assert {k: got_lines[ln["id"]][k] for k in VALUES} == {k: ln[k] for k in VALUES}
            assert got_lines[ln["id"]]["money"] == shares[ln["id"]]
    assert paid_back == sale["total"] - sale["rounding"]
    # every tender got back exactly what it paid (cash net of change)
    for b in buckets(sale, tenders, prior):
        assert b.remaining == 0


def test_more_than_left_and_bad_lines_are_refused():
    lines = [make_line(0, 3000, 1050, 0, 1300), make_line(1, 1000, 500, 0, 0, voided=True)]
    sale = {"total": 1050, "rounding": 0, "change": 0}
    with pytest.raises(RefundError) as err:
        plan_lines(sale, lines, [("l0", 3001)])
    assert err.value.code == "conflict" and err.value.details["refundable"] == 3000
    lines[0]["returned_qty"] = 2000
    with pytest.raises(RefundError) as err:
        plan_lines(sale, lines, [("l0", 2000)])
    assert err.value.details["refundable"] == 1000
    for bad in ([("l1", 1000)], [("nope", 1)], [("l0", 0)], [], [("l0", 1), ("l0", 1)]):
        with pytest.raises(RefundError) as err:
            plan_lines(sale, lines, bad)
        assert err.value.code == "invalid_params"
    [x] = plan_lines(sale, lines, None)
    assert (x.qty, x.gross) == (1000, 350)
    lines[0]["returned_qty"] = 3000
    with pytest.raises(RefundError) as err:
        plan_lines(sale, lines, None)
    assert err.value.code == "conflict"


def test_allocation_is_proportional_with_ties_to_the_earlier_tender():
    avail = [Bucket("cash", "cash", None, 1000), Bucket("k1", "alipay", "k1", 1000)]
    parts = allocate_parts(101, avail)
    assert [(p.bucket, p.amount) for p in parts] == [("cash", 51), ("k1", 50)]
    assert parts[1].original == "k1"
    with pytest.raises(RefundError):
        allocate_parts(2001, avail)
    assert allocate_parts(0, avail) == []


def test_cash_bucket_is_net_of_change_and_prior_refunds():
    sale = {"change": 300}
    tenders = [{"method": "cash", "amount": 1000, "attempt_id": None},
               {"method": "alipay", "amount": 500, "attempt_id": "s:1"},
               {"method": "cash", "amount": 200, "attempt_id": None}]
    got = buckets(sale, tenders, {"cash": 100})
    assert [(b.key, b.remaining) for b in got] == [("cash", 800), ("s:1", 500)]


def test_no_receipt_line_tax():
    item = {"sku": "x", "name": "X", "unit": "pc", "price": 999, "tax_rate_bp": 1300}
    inc = no_receipt_line(item, 2000, 565, "inclusive")
    assert (inc.gross, inc.net, inc.tax, inc.money) == (1130, 1130, 130, 1130)
    exc = no_receipt_line(item, 2000, 500, "exclusive")
    assert (exc.net, exc.tax, exc.gross) == (1000, 130, 1130)
