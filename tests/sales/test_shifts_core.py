"""The report core (gatewayd.sales.shifts.summarize) property-tested against sums computed
here: per tender method, Z net == sum of the sales' tenders (cash net of change) minus the
refunds; voided sales count as voids only; tax per rate; the cash reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.sales.money import allocate
from gatewayd.sales.shifts import business_day, expected_cash, summarize

METHODS = ["cash", "card", "alipay", "wechat", "voucher"]
RATES = [0, 900, 1300]


@st.composite
def documents(draw):
    docs, lines, tenders, n = [], [], [], 0
    for i in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["sale", "sale", "refund"]))
        state = draw(st.sampled_from(["completed", "completed", "voided"])) \
            if kind == "sale" else "completed"
        doc_id = f"d{i}"
        grosses = draw(st.lists(st.tuples(st.sampled_from(RATES), st.integers(0, 50_000),
                                          st.booleans()), min_size=1, max_size=5))
        total = 0
        for j, (rate, gross, voided) in enumerate(grosses):
            voided = voided and kind == "sale"
            tax = gross * rate // (10000 + rate)
            lines.append({"sale_id": doc_id, "tax_rate_bp": rate, "amount": gross,
                          "net": gross, "tax": tax, "gross": 0 if voided else gross,
                          "voided": int(voided), "_j": j})
            if not voided:
                total += gross
        rounding = draw(st.integers(0, min(9, total))) if kind == "sale" else 0
        money = total - rounding
        methods = draw(st.lists(st.sampled_from(METHODS), min_size=1, max_size=3, unique=True))
        shares = allocate(money, [1] * len(methods)) if money else [0] * len(methods)
        change = 0
        for m, share in zip(methods, shares, strict=True):
            amount = share
            if m == "cash" and kind == "sale":
                change = draw(st.integers(0, 10_000))
                amount += change
            tenders.append({"sale_id": doc_id, "method": m,
                            "amount": amount if kind == "sale" else -amount})
        if kind == "sale" and state == "completed":
            n += 1
        docs.append({"id": doc_id, "kind": kind, "state": state,
                     "receipt_no": f"R-{i:04d}" if state == "completed" else None,
                     "receipt_n": i if state == "completed" else None,
                     "operator": draw(st.sampled_from(["1001", "1002", None])),
                     "subtotal": total, "discount": 0, "total": total, "rounding": rounding,
                     "change": change,
                     "void_reason": draw(st.sampled_from([None, "post_void"]))
                     if kind == "refund" else None})
    return docs, lines, tenders


@settings(max_examples=300, deadline=None)
@given(documents(), st.lists(st.integers(-50_000, 50_000).filter(bool), max_size=4),
       st.lists(st.integers(0, 100_000), max_size=3))
def test_z_totals_are_the_tenders_minus_the_refunds_per_method(data, moves, floats):
    docs, lines, tenders = data
    z = summarize(docs, lines, tenders, [{"amount": a} for a in moves], floats)
    by_id = {d["id"]: d for d in docs}
    want: dict[str, int] = {}
    for t in tenders:
        d = by_id[t["sale_id"]]
        if d["state"] != "completed":
            continue
        want[t["method"]] = want.get(t["method"], 0) + t["amount"]
    for d in docs:
        if d["kind"] == "sale" and d["state"] == "completed":
            want["cash"] = want.get("cash", 0) - d["change"]
    got = {t["method"]: t["net"] for t in z["tenders"]}
    assert all(got.get(m, 0) == want.get(m, 0) for m in set(got) | set(want))
    assert set(got) <= set(want)
    for t in z["tenders"]:
        assert t["net"] == t["sales"] - t["refunds"] and t["refunds"] >= 0
    # the whole: what was collected less what went back
    completed = [d for d in docs if d["kind"] == "sale" and d["state"] == "completed"]
    refunds = [d for d in docs if d["kind"] == "refund"]
    collected = sum(d["total"] - d["rounding"] for d in completed)
    given_back = sum(d["total"] for d in refunds)
    assert sum(got.values()) == collected - given_back == z["net"]
    assert z["refunds"]["total"] + z["post_voids"]["total"] == given_back
    assert z["sales"]["count"] == len(completed)
    assert z["voids"]["count"] == sum(d["kind"] == "sale" and d["state"] == "voided"
                                      for d in docs)
    # tax per rate: the live lines of completed sales minus those of refunds
    tax: dict[int, int] = {}
    for ln in lines:
        d = by_id[ln["sale_id"]]
        if d["state"] == "completed" and not ln["voided"]:
            sign = 1 if d["kind"] == "sale" else -1
            tax[ln["tax_rate_bp"]] = tax.get(ln["tax_rate_bp"], 0) + sign * ln["tax"]
    assert {t["rate_bp"]: t["tax"] for t in z["tax"]} == tax
    # cash: float + cash net of change - cash refunds + paid in - paid out
    assert expected_cash(z) == sum(floats) + want.get("cash", 0) + sum(moves)
    # cashiers add up
    assert sum(c["sales"] for c in z["cashiers"]) == len(completed)
    assert sum(c["sales_total"] - c["refunds_total"] for c in z["cashiers"]) == z["net"]
    if completed:
        assert z["first_receipt"] == min(completed, key=lambda d: d["receipt_n"])["receipt_no"]
        assert z["last_receipt"] == max(completed, key=lambda d: d["receipt_n"])["receipt_no"]
    else:
        assert z["first_receipt"] is None


def test_summarize_of_nothing():
    z = summarize([], [], [])
    assert z["tenders"] == [] and z["net"] == 0 and z["cash"]["expected"] == 0


def test_business_day_is_the_local_date():
    tz = ZoneInfo("Asia/Shanghai")
    # 2026-05-12 16:30 UTC is 00:30 on the 13th in Shanghai
    at = int(datetime(2026, 5, 12, 16, 30, tzinfo=UTC).timestamp() * 1e6)
    assert business_day(at, tz) == "20260513"
    assert business_day(at, timezone(timedelta(hours=-5))) == "20260512"
