"""The member ledger on a real store: every write in one transaction, faults change nothing,
and the journal alone rebuilds points and balances."""

from __future__ import annotations

import pytest

from gatewayd.members import ledger
from gatewayd.members.config import parse_members_config
from gatewayd.members.ledger import MemberError
from gatewayd.store.db import Store

CFG = parse_members_config({"referral_points": 50,
                           "points_excluded_categories": ["烟草"]})


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "m.db")
    yield s
    s.close()


def register(store, phone="13812345678", **kw):
    mid, _ = store.write_sync(lambda tx: ledger.register(tx, CFG, phone, "王芳", **kw))
    return mid


def state(store, mid):
    row = store.one("SELECT points, balance, tier FROM members WHERE id = ?", (mid,))
    return dict(row)


def snapshot(store):
    """Everything the members own, to prove a refused change changed nothing."""
    out = {"seq": store.journal_seq()}
    for table in ("members", "member_moves", "member_point_lots", "member_purchases",
                  "coupons"):
        out[table] = [tuple(r) for r in store.all(f"SELECT * FROM {table} ORDER BY 1")]
    return out


def complete(store, mid, sale_id, total, tenders=(), lines=None):
    lines = lines or [{"net": total, "category": None}]
    out, _ = store.write_sync(lambda tx: ledger.complete_sale(
        tx, CFG, mid, sale_id, lines, total, tenders, f"R-{sale_id}"))
    return out


def test_register_conflicts_and_masking_in_the_journal(store):
    mid = register(store, card="88001234")
    with pytest.raises(MemberError) as exc:
        register(store)
    assert exc.value.code == "conflict" and "13812345678" not in exc.value.message
    with pytest.raises(MemberError):
        register(store, "13900000000", card="88001234")
    events = store.journal()
    assert [e.kind for e in events] == ["member.registered"]
    assert events[0].data["phone"] == "138****5678" and events[0].data["member"] == mid
    assert all("13812345678" not in repr(e.data) for e in events)


def test_earn_points_with_tier_multiplier_and_upgrade(store):
    mid = register(store)
    out = complete(store, mid, "s1", 250_000, lines=[
        {"net": 240_000, "category": "食品"}, {"net": 10_000, "category": "烟草"}])
    # normal tier x1 on the spend at the time of the sale; then silver (>= 2000 yuan)
    assert out["points_earned"] == 2_400 and out["tier"] == "silver"
    assert state(store, mid) == {"points": 2_400, "balance": 0, "tier": "silver"}
    out = complete(store, mid, "s2", 10_000)
    assert out["points_earned"] == 120  # silver x1.2
    assert "138****5678" in out["receipt_lines"][0] and "+120" in out["receipt_lines"][1]


def test_refund_reverses_points_in_proportion_and_downgrades(store):
    mid = register(store)
    complete(store, mid, "s1", 250_000)
    assert state(store, mid)["points"] == 2_500
    out, _ = store.write_sync(lambda tx: ledger.refund_sale(tx, CFG, mid, "r1", "s1", 100_000))
    assert out["points_reversed"] == 1_000 and out["tier"] == "normal"
    out, _ = store.write_sync(lambda tx: ledger.refund_sale(tx, CFG, mid, "r2", "s1", 150_000))
    assert out["points_reversed"] == 1_500
    assert state(store, mid) == {"points": 0, "balance": 0, "tier": "normal"}


def test_refund_that_would_push_points_negative_is_refused_nothing_changed(store):
    mid = register(store)
    complete(store, mid, "s1", 100_000)  # +1000 points
    store.write_sync(lambda tx: ledger.move_points(tx, CFG, mid, -900, "reward"))
    before = snapshot(store)
    with pytest.raises(MemberError) as exc:
        store.write_sync(lambda tx: ledger.refund_sale(tx, CFG, mid, "r1", "s1", 100_000))
    assert exc.value.code == "conflict" and "below zero" in exc.value.message
    assert exc.value.details["points"] == 100 and exc.value.details["needed"] == 1000
    assert snapshot(store) == before


def test_stored_value_tender_larger_than_balance_is_refused_nothing_changed(store):
    mid = register(store)
    out, _ = store.write_sync(lambda tx: ledger.topup(tx, CFG, mid, 50_000, "cash"))
    assert out["bonus"] == 5_000 and out["balance"] == 55_000
    before = snapshot(store)
    with pytest.raises(MemberError) as exc:
        store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "stored_value", 55_001))
    assert exc.value.code == "conflict" and exc.value.details["balance"] == 55_000
    assert snapshot(store) == before
    store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "stored_value", 55_000))
    assert state(store, mid)["balance"] == 0
    moves = store.all("SELECT delta, before, after, reason FROM member_moves WHERE what ="
                      " 'balance' ORDER BY id")
    assert [tuple(m) for m in moves] == [(50_000, 0, 50_000, "topup"),
                                        (5_000, 50_000, 55_000, "bonus"),
                                        (-55_000, 55_000, 0, "tender")]


def test_points_beyond_balance_are_refused_and_void_gives_tenders_back(store):
    mid = register(store)
    complete(store, mid, "s0", 30_000)  # 300 points
    store.write_sync(lambda tx: ledger.topup(tx, CFG, mid, 1_000, "cash"))
    before = snapshot(store)
    with pytest.raises(MemberError) as exc:
        store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "points", 301))
    assert exc.value.code == "conflict"
    assert snapshot(store) == before
    store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "points", 200))
    store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "stored_value", 600))
    assert state(store, mid)["points"] == 100 and state(store, mid)["balance"] == 400
    back, _ = store.write_sync(lambda tx: ledger.void_sale(tx, CFG, "s1"))
    assert back == {"balance": 600, "points": 200}
    again, _ = store.write_sync(lambda tx: ledger.void_sale(tx, CFG, "s1"))
    assert again == {"balance": 0, "points": 0}  # never given back twice
    assert state(store, mid)["points"] == 300 and state(store, mid)["balance"] == 1_000


def test_refund_tender_back_to_stored_value_at_most_what_was_paid(store):
    mid = register(store)
    store.write_sync(lambda tx: ledger.topup(tx, CFG, mid, 2_000, "cash"))
    store.write_sync(lambda tx: ledger.tender(tx, CFG, mid, "s1", "stored_value", 1_500))
    store.write_sync(lambda tx: ledger.refund_tender(tx, CFG, "s1", "r1", "stored_value", 1_000))
    with pytest.raises(MemberError):
        store.write_sync(lambda tx: ledger.refund_tender(tx, CFG, "s1", "r2", "stored_value",
                                                         501))
    store.write_sync(lambda tx: ledger.refund_tender(tx, CFG, "s1", "r2", "stored_value", 500))
    assert state(store, mid)["balance"] == 2_000


def test_coupon_once_validity_min_spend_and_owner(store):
    mid = register(store)
    other = register(store, "13900000000")

    def issue(tx, **kw):
        return ledger.issue_coupons(tx, 1_000, 5_000, tx.at - 1, tx.at + 10**9, "issue", **kw)

    (bearer,), _ = store.write_sync(issue)
    (mine,), _ = store.write_sync(lambda tx: issue(tx, member_id=mid))
    with pytest.raises(MemberError, match="at least"):
        store.write_sync(lambda tx: ledger.redeem_coupon(tx, bearer, "s1", 4_999, None))
    with pytest.raises(MemberError, match="another member"):
        store.write_sync(lambda tx: ledger.redeem_coupon(tx, mine, "s1", 9_999, other))
    store.write_sync(lambda tx: ledger.redeem_coupon(tx, bearer, "s1", 5_000, None))
    before = snapshot(store)
    with pytest.raises(MemberError) as exc:
        store.write_sync(lambda tx: ledger.redeem_coupon(tx, bearer, "s2", 5_000, None))
    assert exc.value.code == "conflict" and "already used" in exc.value.message
    assert snapshot(store) == before
    (expired,), _ = store.write_sync(lambda tx: ledger.issue_coupons(
        tx, 1_000, 0, tx.at - 10, tx.at - 1, "issue"))
    with pytest.raises(MemberError, match="expired"):
        store.write_sync(lambda tx: ledger.redeem_coupon(tx, expired, "s3", 5_000, None))
    (batch := store.write_sync(lambda tx: issue(tx, count=500, batch="b1"))[0])
    assert len(set(batch)) == 500
    assert store.one("SELECT COUNT(*) FROM coupons WHERE batch = 'b1'")[0] == 500


def test_points_expire_oldest_lot_first(store):
    cfg = parse_members_config({"points_expire_days": 30})
    mid = register(store)
    store.write_sync(lambda tx: ledger.move_points(tx, cfg, mid, 100, "earn"))
    # age the first lot past its expiry, then earn more
    store.write_sync(lambda tx: tx.execute(
        "UPDATE member_point_lots SET expires_at = ? WHERE member_id = ?", (tx.at - 1, mid)))
    store.write_sync(lambda tx: ledger.move_points(tx, cfg, mid, 50, "earn"))
    with pytest.raises(MemberError):  # the expired 100 cannot be spent
        store.write_sync(lambda tx: ledger.move_points(tx, cfg, mid, -120, "tender"))
    assert state(store, mid)["points"] == 150  # the refused spend rolled the expiry back too
    expired, _ = store.write_sync(lambda tx: ledger.expire_points(tx, mid))
    assert expired == 100 and state(store, mid)["points"] == 50


def test_referral_reward_on_first_purchase_only(store):
    ref = register(store)
    new = register(store, "13900000000", referrer=ref)
    out = complete(store, new, "s1", 1_000)
    assert out["referral"]["points"] == 50
    complete(store, new, "s2", 1_000)
    assert state(store, ref)["points"] == 50


def test_replay_of_the_journal_equals_the_projection(store):
    a = register(store)
    b = register(store, "13900000000")
    store.write_sync(lambda tx: ledger.topup(tx, CFG, a, 60_000, "cash"))
    complete(store, a, "s1", 123_456)
    store.write_sync(lambda tx: ledger.tender(tx, CFG, a, "s2", "points", 300))
    store.write_sync(lambda tx: ledger.tender(tx, CFG, a, "s2", "stored_value", 7_000))
    store.write_sync(lambda tx: ledger.void_sale(tx, CFG, "s2"))
    complete(store, b, "s3", 5_000)
    store.write_sync(lambda tx: ledger.refund_sale(tx, CFG, a, "r1", "s1", 23_456))
    replayed = ledger.replay(store.journal(limit=10**6))
    projected = {r["id"]: {"points": r["points"], "balance": r["balance"]}
                 for r in store.all("SELECT id, points, balance FROM members")}
    assert replayed == projected and projected[a]["balance"] == 65_000
    # a tampered projection is caught
    store.write_sync(lambda tx: tx.execute("UPDATE members SET points = points + 1 WHERE id=?",
                                           (b,)))
    projected = {r["id"]: {"points": r["points"], "balance": r["balance"]}
                 for r in store.all("SELECT id, points, balance FROM members")}
    assert ledger.replay(store.journal(limit=10**6)) != projected
