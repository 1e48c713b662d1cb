"""Member writes: every function runs inside an open store transaction (`Tx`), so the
sale service can call them in the sale's own completing/tendering/refunding transaction:
a completed sale, its points and its stored-value payment are one fact (issue 6).

Journal events (phones always masked; `member` is the member id):

    member.registered {member, phone, name, tier, card, referred_by}
    member.synced     {member, balance, points, source}: the till's copy set to head
                      office's figures (a member fetched from it, an online hold)
    member.updated    {member, fields: [names], active, phone?}
    member.points     {member, delta, before, after, reason, sale_id?, ref?}
    member.balance    {member, delta, before, after, reason, sale_id?, ref?, method?}
    member.tier       {member, before, after, spend}
    member.purchase   {member, sale_id, kind, amount, points, receipt_no?, refund_of?}
    member.reward     {member, reward, points, coupon?}
    coupon.issued     {codes (first 100), count, amount, min_spend, valid_from, valid_to,
                       member?, source, batch?}
    coupon.redeemed   {code, sale_id, amount, member?}
    coupon.released   {code, sale_id}          (the sale it was redeemed on was voided)

Points and balance on `members` change only through `move_points` / `move_balance`, which
journal delta, before and after and refuse to go below zero (`conflict`, nothing changed:
the caller's transaction rolls back). `replay(events)` rebuilds both from the journal.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from gatewayd.ids import new_id
from gatewayd.members import core
from gatewayd.members.config import CouponTemplate, MembersConfig
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.store.db import JournalEvent, Tx

DAY_US = 86_400 * 1_000_000
COUPON_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


class MemberError(ProtocolError):
    """A member rule refused the change (the transaction it was raised in rolls back)."""


def member_row(tx: Tx, member_id: str) -> sqlite3.Row:
    row = tx.one("SELECT * FROM members WHERE id = ?", (member_id,))
    if row is None:
        raise MemberError("not_found", "no such member")
    return row


# -- registration and edits --------------------------------------------------------------
def register(
    tx: Tx,
    cfg: MembersConfig,
    phone: str,
    name: str,
    birthday: str | None = None,
    card: str | None = None,
    referrer: str | None = None,
) -> str:
    if tx.one("SELECT 1 FROM members WHERE phone = ?", (phone,)):
        raise MemberError("conflict", f"phone {core.mask_phone(phone)} is already a member")
    if card is not None and tx.one("SELECT 1 FROM members WHERE card = ?", (card,)):
        raise MemberError("conflict", f"card {card} belongs to another member")
    member_id = new_id()
    tier = cfg.tiers[0].id
    tx.execute(
        "INSERT INTO members(id, phone, name, birthday, card, qr, tier, referred_by,"
        " created_at, updated_at, record_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (member_id, phone, name, birthday, card, new_qr(), tier, referrer, tx.at, tx.at,
         tx.at),
    )
    data = {"member": member_id, "phone": core.mask_phone(phone), "name": name, "tier": tier,
            "card": card, "referred_by": referrer}
    if birthday is not None:
        data["birthday"] = birthday
    tx.append("member.registered", data)
    return member_id


UPDATABLE = ("phone", "name", "birthday", "card", "active")


def new_qr() -> str:
    """A member's QR token (the card's payload is `[members] qr_prefix` + it)."""
    return secrets.token_hex(12)


def update(tx: Tx, member_id: str, fields: Mapping[str, Any]) -> list[str]:
    row = member_row(tx, member_id)
    changed = {k: v for k, v in fields.items() if k in UPDATABLE and row[k] != v}
    if "phone" in changed and tx.one(
        "SELECT 1 FROM members WHERE phone = ? AND id <> ?", (changed["phone"], member_id)
    ):
        raise MemberError("conflict", "that phone belongs to another member")
    if changed.get("card") is not None and tx.one(
        "SELECT 1 FROM members WHERE card = ? AND id <> ?", (changed["card"], member_id)
    ):
        raise MemberError("conflict", "that card belongs to another member")
    if not changed:
        return []
    sets = ", ".join(f"{k} = ?" for k in changed)
    values = [int(v) if isinstance(v, bool) else v for v in changed.values()]
    tx.execute(f"UPDATE members SET {sets}, updated_at = ?, record_at = ? WHERE id = ?",
               (*values, tx.at, tx.at, member_id))
    data: dict[str, Any] = {"member": member_id, "fields": sorted(changed),
                            "active": bool(changed.get("active", row["active"]))}
    if "phone" in changed:
        data["phone"] = core.mask_phone(changed["phone"])
    # the new values, so a till rebuilt from head office has them; the phone only masked
    data["values"] = {k: bool(v) if k == "active" else v for k, v in changed.items()
                      if k != "phone"}
    tx.append("member.updated", data)
    return sorted(changed)


# -- points and balance -------------------------------------------------------------------
def _move(tx: Tx, member_id: str, what: str, delta: int, reason: str,
          sale_id: str | None, ref: str | None, extra: Mapping[str, Any] | None = None) -> int:
    row = member_row(tx, member_id)
    before = row[what]
    after = before + delta
    if after < 0:
        noun = "points" if what == "points" else "stored-value balance"
        raise MemberError(
            "conflict",
            f"not enough {noun}: has {before}, needs {-delta}",
            {"member": member_id, what: before, "needed": -delta, "reason": reason},
        )
    tx.execute(f"UPDATE members SET {what} = ?, updated_at = ? WHERE id = ?",
               (after, tx.at, member_id))
    data: dict[str, Any] = {"member": member_id, "delta": delta, "before": before,
                            "after": after, "reason": reason}
    if sale_id is not None:
        data["sale_id"] = sale_id
    if ref is not None:
        data["ref"] = ref
    if extra:
        data.update(extra)
    seq = tx.append(f"member.{what}", data)
    tx.execute(
        "INSERT INTO member_moves(member_id, what, delta, before, after, reason, sale_id, ref,"
        " seq, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (member_id, what, delta, before, after, reason, sale_id, ref, seq, tx.at),
    )
    return after


def move_points(tx: Tx, cfg: MembersConfig, member_id: str, delta: int, reason: str,
                sale_id: str | None = None, ref: str | None = None) -> int:
    """Add (a new lot, expiring after `points_expire_days`) or spend (oldest lots first)."""
    if delta == 0:
        return member_row(tx, member_id)["points"]
    if delta < 0:
        expire_points(tx, member_id)  # expired points are not spendable
    after = _move(tx, member_id, "points", delta, reason, sale_id, ref)
    lots_moved(tx, cfg, member_id, delta, tx.at, sale_id)
    return after


def lots_moved(tx: Tx, cfg: MembersConfig, member_id: str, delta: int, at: int,
               sale_id: str | None) -> None:
    """The point lots after a move of `delta` at `at`: a new lot (expiring after
    `points_expire_days`), or the oldest lots spent first. (Also how a till restored from
    head office rebuilds its lots from the journal's moves.)"""
    if delta > 0:
        expires = at + cfg.points_expire_days * DAY_US if cfg.points_expire_days else None
        tx.execute(
            "INSERT INTO member_point_lots(member_id, earned_at, expires_at, remaining, sale_id)"
            " VALUES (?,?,?,?,?)", (member_id, at, expires, delta, sale_id))
    else:
        _spend_lots(tx, member_id, -delta)


def _spend_lots(tx: Tx, member_id: str, need: int) -> None:
    """Take `need` points from the member's lots, oldest first."""
    for lot in tx.execute(
        "SELECT id, remaining FROM member_point_lots WHERE member_id = ? AND remaining > 0"
        " ORDER BY earned_at, id", (member_id,)
    ).fetchall():
        take = min(need, lot["remaining"])
        tx.execute("UPDATE member_point_lots SET remaining = remaining - ? WHERE id = ?",
                   (take, lot["id"]))
        need -= take
        if need == 0:
            break
    if need:  # the projection and the lots disagree: never silently
        raise MemberError("internal", "point lots do not cover the member's points")


def expire_points(tx: Tx, member_id: str) -> int:
    """Expire the member's lots whose time has come; journals one `member.points` with
    reason `expire`. Returns the points expired."""
    rows = tx.execute(
        "SELECT id, remaining FROM member_point_lots WHERE member_id = ? AND remaining > 0"
        " AND expires_at IS NOT NULL AND expires_at <= ?", (member_id, tx.at)).fetchall()
    total = sum(r["remaining"] for r in rows)
    if total:
        tx.executemany("UPDATE member_point_lots SET remaining = 0 WHERE id = ?",
                       [(r["id"],) for r in rows])
        _move(tx, member_id, "points", -total, "expire", None, None)
    return total


def move_balance(tx: Tx, member_id: str, delta: int, reason: str, sale_id: str | None = None,
                 ref: str | None = None, method: str | None = None) -> int:
    extra = {"method": method} if method else None
    return _move(tx, member_id, "balance", delta, reason, sale_id, ref, extra)


def topup(tx: Tx, cfg: MembersConfig, member_id: str, amount: int, method: str,
          ref: str | None = None) -> dict[str, Any]:
    row = member_row(tx, member_id)
    if not row["active"]:
        raise MemberError("conflict", "the member is deactivated")
    if amount <= 0 or amount > cfg.max_topup:
        raise MemberError("invalid_params", f"top-up must be 1..{cfg.max_topup} fen")
    bonus = core.topup_bonus(amount, cfg.topup_bonus)
    topup_ref = ref or new_id()
    move_balance(tx, member_id, amount, "topup", ref=topup_ref, method=method)
    if bonus:
        move_balance(tx, member_id, bonus, "bonus", ref=topup_ref)
    return {"amount": amount, "bonus": bonus, "before": row["balance"],
            "balance": row["balance"] + amount + bonus, "ref": topup_ref}


# -- tiers ----------------------------------------------------------------------------------
def window_spend(tx: Tx, cfg: MembersConfig, member_id: str) -> int:
    since = tx.at - cfg.tier_window_days * DAY_US
    spend = tx.scalar("SELECT COALESCE(SUM(amount), 0) FROM member_purchases"
                      " WHERE member_id = ? AND at >= ?", (member_id, since))
    return max(0, spend)


def recompute_tier(tx: Tx, cfg: MembersConfig, member_id: str) -> str:
    row = member_row(tx, member_id)
    spend = window_spend(tx, cfg, member_id)
    tier = core.tier_for(spend, cfg.tiers).id
    if tier != row["tier"]:
        tx.execute("UPDATE members SET tier = ?, updated_at = ? WHERE id = ?",
                   (tier, tx.at, member_id))
        tx.append("member.tier", {"member": member_id, "before": row["tier"], "after": tier,
                                  "spend": spend})
    return tier


# -- coupons ------------------------------------------------------------------------------
def new_coupon_code() -> str:
    return "C" + "".join(secrets.choice(COUPON_ALPHABET) for _ in range(11))


def issue_coupons(tx: Tx, amount: int, min_spend: int, valid_from: int, valid_to: int,
                  source: str, member_id: str | None = None, count: int = 1,
                  batch: str | None = None, codes: Iterable[str] | None = None) -> list[str]:
    if valid_to <= valid_from:
        raise MemberError("invalid_params", "valid_to must be after valid_from")
    if member_id is not None:
        member_row(tx, member_id)
    wanted = list(codes) if codes is not None else []
    if wanted:
        count = len(wanted)
        taken = [c for c in wanted if tx.one("SELECT 1 FROM coupons WHERE code = ?", (c,))]
        if taken or len(set(wanted)) != len(wanted):
            raise MemberError("conflict", "coupon code already exists", {"codes": taken[:20]})
    else:
        while len(wanted) < count:
            code = new_coupon_code()
            if code not in wanted and not tx.one("SELECT 1 FROM coupons WHERE code = ?", (code,)):
                wanted.append(code)
    tx.executemany(
        "INSERT INTO coupons(code, member_id, amount, min_spend, valid_from, valid_to, source,"
        " batch, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [(c, member_id, amount, min_spend, valid_from, valid_to, source, batch, tx.at)
         for c in wanted],
    )
    data: dict[str, Any] = {"codes": wanted[:100], "count": count, "amount": amount,
                            "min_spend": min_spend, "valid_from": valid_from,
                            "valid_to": valid_to, "source": source}
    if member_id is not None:
        data["member"] = member_id
    if batch is not None:
        data["batch"] = batch
    tx.append("coupon.issued", data)
    return wanted


def issue_from_template(tx: Tx, tpl: CouponTemplate, member_id: str, source: str) -> str:
    return issue_coupons(tx, tpl.amount, tpl.min_spend, tx.at, tx.at + tpl.valid_days * DAY_US,
                         source, member_id)[0]


def check_coupon(tx: Tx, code: str, spend: int, member_id: str | None) -> sqlite3.Row:
    """The coupon if it may be redeemed now on a sale of `spend` fen by `member_id`."""
    row = tx.one("SELECT * FROM coupons WHERE code = ?", (code,))
    if row is None:
        raise MemberError("not_found", f"no coupon {code}")
    if row["used_sale"] is not None:
        used_at = datetime.fromtimestamp(row["used_at"] / 1e6, UTC)  # a timestamp on the wire
        raise MemberError("conflict", f"coupon {code} was already used",
                          {"code": code, "used_at": used_at})
    if tx.at < row["valid_from"]:
        raise MemberError("conflict", f"coupon {code} is not valid yet")
    if tx.at >= row["valid_to"]:
        raise MemberError("conflict", f"coupon {code} has expired")
    if spend < row["min_spend"]:
        raise MemberError("conflict", f"coupon {code} needs a spend of at least "
                          f"{row['min_spend']} fen", {"min_spend": row["min_spend"]})
    if row["member_id"] is not None and row["member_id"] != member_id:
        raise MemberError("conflict", f"coupon {code} belongs to another member")
    return row


def redeem_coupon(tx: Tx, code: str, sale_id: str, spend: int,
                  member_id: str | None) -> int:
    row = check_coupon(tx, code, spend, member_id)
    cur = tx.execute("UPDATE coupons SET used_sale = ?, used_at = ? WHERE code = ?"
                     " AND used_sale IS NULL", (sale_id, tx.at, code))
    if cur.rowcount != 1:
        raise MemberError("conflict", f"coupon {code} was already used")
    data = {"code": code, "sale_id": sale_id, "amount": row["amount"]}
    if row["member_id"]:
        data["member"] = row["member_id"]
    tx.append("coupon.redeemed", data)
    return row["amount"]


def release_coupons(tx: Tx, sale_id: str) -> list[str]:
    codes = [r["code"] for r in tx.execute(
        "SELECT code FROM coupons WHERE used_sale = ?", (sale_id,)).fetchall()]
    for code in codes:
        tx.execute("UPDATE coupons SET used_sale = NULL, used_at = NULL WHERE code = ?", (code,))
        tx.append("coupon.released", {"code": code, "sale_id": sale_id})
    return codes


# -- rewards and the birthday benefit -------------------------------------------------------
def redeem_reward(tx: Tx, cfg: MembersConfig, member_id: str, reward_id: str) -> dict[str, Any]:
    reward = cfg.reward(reward_id)
    if reward is None:
        raise MemberError("not_found", f"no reward {reward_id!r}")
    if not member_row(tx, member_id)["active"]:
        raise MemberError("conflict", "the member is deactivated")
    after = move_points(tx, cfg, member_id, -reward.points, "reward", ref=reward.id)
    coupon = None
    if reward.coupon is not None:
        coupon = issue_from_template(tx, reward.coupon, member_id, "reward")
    tx.append("member.reward", {"member": member_id, "reward": reward.id,
                                "points": reward.points, "coupon": coupon})
    return {"reward": reward.id, "name": reward.name, "points": reward.points,
            "coupon": coupon, "points_after": after}


def birthday_benefit(tx: Tx, cfg: MembersConfig, member_id: str, today: date) -> str | None:
    """On the member's first visit (attach to a sale) in the birthday month of a year:
    issue the configured birthday coupon, once per year. Returns its code."""
    if cfg.birthday_coupon is None or not cfg.birthday_benefit:
        return None
    row = member_row(tx, member_id)
    if core.birthday_month(row["birthday"]) != today.month or row["birthday_year"] == today.year:
        return None
    tx.execute("UPDATE members SET birthday_year = ? WHERE id = ?", (today.year, member_id))
    return issue_from_template(tx, cfg.birthday_coupon, member_id, "birthday")


# -- replay -----------------------------------------------------------------------------------
def replay(events: Iterable[JournalEvent]) -> dict[str, dict[str, int]]:
    """Points and balance of every member from the journal alone. Each move must start
    where the previous one ended (`before` == running value) and never go below zero:
    a broken chain raises ValueError naming the event."""
    state: dict[str, dict[str, int]] = {}
    for ev in events:
        if ev.kind == "member.registered":
            state[ev.data["member"]] = {"points": 0, "balance": 0}
        elif ev.kind == "member.synced":
            state[ev.data["member"]] = {"points": ev.data["points"],
                                        "balance": ev.data["balance"]}
        elif ev.kind in ("member.points", "member.balance"):
            what = ev.kind.split(".")[1]
            d = ev.data
            cur = state.setdefault(d["member"], {"points": 0, "balance": 0})
            if d["before"] != cur[what] or d["before"] + d["delta"] != d["after"] or d["after"] < 0:
                raise ValueError(f"journal seq {ev.seq}: {what} chain broken for {d['member']}")
            cur[what] = d["after"]
    return state


# -- the sale's side: called by the sale service in the sale's own transaction ------------------
TENDER_METHODS = ("stored_value", "points")


def tender(tx: Tx, cfg: MembersConfig, member_id: str | None, sale_id: str, method: str,
           amount: int, ref: str | None = None) -> dict[str, Any]:
    """Take a stored-value or points tender of `amount` fen now (like a card charge): the
    balance or points go down in the tender's transaction, or nothing changes (`conflict`
    when there is not enough). Points: `amount` must be a whole number of points
    (`point_value` fen each)."""
    if member_id is None:
        raise MemberError("conflict", f"a {method} tender needs a member on the sale "
                          "(sale.member first)")
    if not member_row(tx, member_id)["active"]:
        raise MemberError("conflict", "the member is deactivated")
    if amount <= 0:
        raise MemberError("invalid_params", "amount must be > 0")
    if method == "stored_value":
        after = move_balance(tx, member_id, -amount, "tender", sale_id=sale_id, ref=ref)
        return {"method": method, "amount": amount, "balance": after}
    if method == "points":
        if amount % cfg.point_value:
            raise MemberError("invalid_params", f"a points tender is a whole number of points: "
                              f"a multiple of {cfg.point_value} fen")
        points = amount // cfg.point_value
        after = move_points(tx, cfg, member_id, -points, "tender", sale_id=sale_id, ref=ref)
        return {"method": method, "amount": amount, "points": points, "points_after": after}
    raise MemberError("invalid_params", f"{method} is not a member tender")


def max_tender(tx: Tx, cfg: MembersConfig, member_id: str, method: str, due: int) -> int:
    """The most a `method` tender can take of `due` (for `amount` omitted: "the rest")."""
    row = member_row(tx, member_id)
    if method == "stored_value":
        return min(due, row["balance"])
    usable = row["points"] - _expired_now(tx, member_id)
    return min(due - due % cfg.point_value, usable * cfg.point_value)


def _expired_now(tx: Tx, member_id: str) -> int:
    return tx.scalar(
        "SELECT COALESCE(SUM(remaining), 0) FROM member_point_lots WHERE member_id = ?"
        " AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?",
        (member_id, tx.at))


def void_sale(tx: Tx, cfg: MembersConfig, sale_id: str) -> dict[str, int]:
    """A sale voided before completion: give back its stored-value and points tenders and
    release its coupons. Idempotent (a tender given back is not given back twice)."""
    back = {"balance": 0, "points": 0}
    for what in ("balance", "points"):
        rows = tx.execute(
            "SELECT member_id, SUM(delta) AS d FROM member_moves WHERE sale_id = ? AND what = ?"
            " AND reason IN ('tender', 'tender_void') GROUP BY member_id", (sale_id, what)
        ).fetchall()
        for r in rows:
            if r["d"] < 0:
                if what == "balance":
                    move_balance(tx, r["member_id"], -r["d"], "tender_void", sale_id=sale_id)
                else:
                    move_points(tx, cfg, r["member_id"], -r["d"], "tender_void", sale_id=sale_id)
                back[what] += -r["d"]
    release_coupons(tx, sale_id)
    tx.execute("UPDATE member_authorizations SET state = 'voided' WHERE sale_id = ?",
               (sale_id,))
    return back


def complete_sale(
    tx: Tx,
    cfg: MembersConfig,
    member_id: str,
    sale_id: str,
    lines: Iterable[Mapping[str, Any]],
    total: int,
    tenders: Iterable[Mapping[str, Any]] = (),
    receipt_no: str | None = None,
) -> dict[str, Any]:
    """The member's part of a completed sale, in the completing transaction: record the
    purchase (tier window), earn points (per yuan paid outside excluded categories and
    outside the points tender, x the tier multiplier), recompute the tier, and on the
    member's first purchase give the referral reward. Returns what the receipt prints."""
    row = member_row(tx, member_id)
    tier = cfg.tier(row["tier"])
    not_earning = set(cfg.points_no_earn_methods)
    points_tendered = sum(int(t["amount"]) for t in tenders if t.get("method") in not_earning)
    base = core.points_base(lines, cfg.points_excluded_categories, points_tendered)
    earned = core.points_for(base, cfg.points_per_yuan, tier.points_multiplier_bp)
    if not row["active"]:
        earned = 0  # deactivated while the sale was open: the purchase counts, no points
    tx.execute(
        "INSERT INTO member_purchases(sale_id, member_id, kind, receipt_no, amount, points, at)"
        " VALUES (?,?,?,?,?,?,?)", (sale_id, member_id, "sale", receipt_no, total, earned, tx.at))
    tx.append("member.purchase", {"member": member_id, "sale_id": sale_id, "kind": "sale",
                                  "amount": total, "points": earned, "receipt_no": receipt_no})
    expire_points(tx, member_id)
    points_after = move_points(tx, cfg, member_id, earned, "earn", sale_id=sale_id,
                               ref=receipt_no) if earned else member_row(tx, member_id)["points"]
    new_tier = recompute_tier(tx, cfg, member_id)
    referral = None
    if row["first_sale"] is None:
        tx.execute("UPDATE members SET first_sale = ? WHERE id = ?", (sale_id, member_id))
        if row["referred_by"] and not row["referral_done"]:
            referral = referral_reward(tx, cfg, member_id, row["referred_by"])
    after = member_row(tx, member_id)
    summary = {
        "member": member_id,
        "phone": core.mask_phone(after["phone"]),
        "name": after["name"],
        "tier": new_tier,
        "tier_name": cfg.tier(new_tier).name,
        "points_earned": earned,
        "points": points_after,
        "balance": after["balance"],
        "referral": referral,
    }
    summary["receipt_lines"] = receipt_lines(summary)
    return summary


def referral_reward(tx: Tx, cfg: MembersConfig, member_id: str, referrer: str) -> dict[str, Any]:
    tx.execute("UPDATE members SET referral_done = 1 WHERE id = ?", (member_id,))
    out: dict[str, Any] = {"referrer": referrer, "points": 0, "coupon": None}
    ref_row = tx.one("SELECT active FROM members WHERE id = ?", (referrer,))
    if cfg.referral_points and ref_row is not None and ref_row["active"]:
        move_points(tx, cfg, referrer, cfg.referral_points, "referral", ref=member_id)
        out["points"] = cfg.referral_points
    if cfg.referral_coupon is not None:
        out["coupon"] = issue_from_template(tx, cfg.referral_coupon, member_id, "referral")
    return out


def receipt_lines(summary: Mapping[str, Any]) -> list[str]:
    """What the receipt prints for the member (phone masked)."""
    from gatewayd.sales.money import format_yuan

    return [
        f"会员 {summary['phone']} {summary['tier_name']}",
        f"本次积分 +{summary['points_earned']}  积分余额 {summary['points']}",
        f"储值余额 ¥{format_yuan(summary['balance'])}",
    ]


def refund_sale(tx: Tx, cfg: MembersConfig, member_id: str, refund_id: str, original_id: str,
                amount: int, receipt_no: str | None = None) -> dict[str, Any]:
    """A refund of `amount` fen (> 0) of the member's sale `original_id`: spend goes down
    and the points earned on the original are reversed in proportion (cumulative over
    partial refunds, so a whole refund reverses exactly what was earned). If the member has
    already spent those points the refund is refused (`conflict`), nothing changed."""
    orig = tx.one("SELECT * FROM member_purchases WHERE sale_id = ?", (original_id,))
    if orig is None:  # the original had no member: nothing to reverse
        return {"points_reversed": 0}
    prev = tx.row("SELECT COALESCE(SUM(-amount), 0) AS amt, COALESCE(SUM(-points), 0) AS pts"
                  " FROM member_purchases WHERE refund_of = ?", (original_id,))
    refunded_after = min(orig["amount"], prev["amt"] + amount)
    target = orig["points"] * refunded_after // orig["amount"] if orig["amount"] else 0
    reverse = max(0, target - prev["pts"])
    tx.execute(
        "INSERT INTO member_purchases(sale_id, member_id, kind, refund_of, receipt_no, amount,"
        " points, at) VALUES (?,?,?,?,?,?,?,?)",
        (refund_id, orig["member_id"], "refund", original_id, receipt_no, -amount, -reverse,
         tx.at))
    tx.append("member.purchase", {"member": orig["member_id"], "sale_id": refund_id,
                                  "kind": "refund", "refund_of": original_id, "amount": -amount,
                                  "points": -reverse, "receipt_no": receipt_no})
    if reverse:
        expire_points(tx, orig["member_id"])
        have = member_row(tx, orig["member_id"])["points"]
        if have < reverse:
            raise MemberError(
                "conflict",
                f"the refund would take back {reverse} points the member no longer has "
                f"({have} left): points cannot go below zero",
                {"member": orig["member_id"], "points": have, "needed": reverse},
            )
        move_points(tx, cfg, orig["member_id"], -reverse, "reverse", sale_id=refund_id,
                    ref=original_id)
    tier = recompute_tier(tx, cfg, orig["member_id"])
    return {"points_reversed": reverse, "tier": tier}


def refund_tender(tx: Tx, cfg: MembersConfig, original_id: str, refund_id: str, method: str,
                  amount: int) -> dict[str, Any]:
    """Pay a refund back to the original stored-value or points tender (`amount` fen > 0);
    never more than the original sale took that way, less what was refunded before."""
    what = "balance" if method == "stored_value" else "points"
    rows = tx.execute(
        "SELECT member_id, -SUM(delta) AS taken FROM member_moves WHERE sale_id = ? AND what = ?"
        " AND reason IN ('tender', 'tender_void') GROUP BY member_id", (original_id, what)
    ).fetchall()
    if not rows or rows[0]["taken"] <= 0:
        raise MemberError("conflict", f"the original sale took no {method} tender")
    member_id, taken = rows[0]["member_id"], rows[0]["taken"]
    back = tx.scalar(
        "SELECT COALESCE(SUM(delta), 0) FROM member_moves WHERE ref = ? AND what = ?"
        " AND reason = 'refund'", (original_id, what))
    # a refund split over the tenders may give the points part in odd fen: round half-up
    # to whole points, never more than were taken
    units = amount if what == "balance" else min(
        taken - back, (2 * amount + cfg.point_value) // (2 * cfg.point_value))
    if units > taken - back:
        raise MemberError("conflict", f"refund exceeds what was paid with {method}")
    if what == "balance":
        after = move_balance(tx, member_id, units, "refund", sale_id=refund_id, ref=original_id)
    else:
        after = move_points(tx, cfg, member_id, units, "refund", sale_id=refund_id,
                            ref=original_id)
    return {"method": method, "amount": amount, what: after}


# -- the chain: head office's figures, authorizations ------------------------------------------
def sync(tx: Tx, member_id: str, balance: int, points: int, source: str) -> None:
    """Set the till's copy of the member's ledgers to head office's figures (what the member
    may spend across the chain). Points: lots are added (no expiry: head office's figure
    already left out what expired) or spent oldest first."""
    if set_figures(tx, member_id, balance, points, tx.at):
        tx.append("member.synced", {"member": member_id, "balance": balance, "points": points,
                                    "source": source})


def set_figures(tx: Tx, member_id: str, balance: int, points: int, at: int) -> bool:
    """The member's balance and points set to head office's (`sync`; and a till rebuilt from
    head office replaying `member.synced`). False when they were so already."""
    row = member_row(tx, member_id)
    if (row["balance"], row["points"]) == (balance, points):
        return False
    if points > row["points"]:
        tx.execute("INSERT INTO member_point_lots(member_id, earned_at, expires_at, remaining)"
                   " VALUES (?,?,NULL,?)", (member_id, at, points - row["points"]))
    elif points < row["points"]:
        _spend_lots(tx, member_id, row["points"] - points)
    tx.execute("UPDATE members SET balance = ?, points = ?, updated_at = ? WHERE id = ?",
               (balance, points, at, member_id))
    return True


def import_member(tx: Tx, snapshot: Mapping[str, Any]) -> str:
    """A member head office knows and this till does not (registered at another till): its
    registry row, its figures and its unused coupons, cached here. Not a registration: no
    member.registered (head office has the member's record already)."""
    m = snapshot["member"]
    clash = apply_record(tx, m)
    if clash is not None:
        raise MemberError("conflict", f"this till has another member with phone "
                          f"{core.mask_phone(m['phone'])} or card {m['card']}: resolve it at "
                          "head office", {"member": clash})
    for c in snapshot.get("coupons", []):
        tx.execute(
            "INSERT INTO coupons(code, member_id, amount, min_spend, valid_from, valid_to,"
            " source, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (c["code"], m["id"], c["amount"], c["min_spend"], c["valid_from"], c["valid_to"],
             c["source"], tx.at))
    # head office's figure holds this till's entries up to till_seq: ours after it are added
    figures = {}
    for what in ("balance", "points"):
        after = snapshot.get("till_seq", {}).get(what)
        own = 0 if after is None else tx.scalar(
            "SELECT COALESCE(SUM(delta), 0) FROM member_moves WHERE member_id = ? AND what = ?"
            f" AND seq > ? AND {NOT_HELD}", (m["id"], what, after))
        figures[what] = max(0, snapshot[what] + own)
    sync(tx, m["id"], figures["balance"], figures["points"], "lookup")
    return m["id"]


def apply_record(tx: Tx, m: Mapping[str, Any]) -> str | None:
    """Head office's record of a member (registered or edited at another till, `updated_at`
    when that till changed it): inserted (ledgers empty until head office gives them) or
    updated, unless this till changed the member since (its own record goes up). A member
    this till holds keeps its tier: the till computes it by its tier rules (recompute_tier),
    and the record's is only what its till had when it last sent it. Returns the id of
    another member here with that phone or card, which blocks it."""
    clash = tx.one("SELECT id FROM members WHERE id <> ? AND (phone = ? OR (card IS NOT NULL"
                   " AND card = ?))", (m["id"], m["phone"], m["card"]))
    if clash is not None:
        return clash["id"]
    at = m["updated_at"]
    if tx.one("SELECT 1 FROM members WHERE id = ?", (m["id"],)) is None:
        tx.execute(
            "INSERT INTO members(id, phone, name, birthday, card, qr, tier, active,"
            " referred_by, referral_done, created_at, updated_at, record_at, hq_record_at)"
            " VALUES (?,?,?,?,?,?,?,?,NULL,1,?,?,?,?)",
            (m["id"], m["phone"], m["name"], m["birthday"], m["card"], m["qr"], m["tier"],
             int(m["active"]), tx.at, tx.at, at, at))
    else:
        tx.execute("UPDATE members SET phone = ?, name = ?, birthday = ?, card = ?, qr = ?,"
                   " active = ?, record_at = ?, hq_record_at = ? WHERE id = ?"
                   " AND COALESCE(record_at, 0) <= ?",
                   (m["phone"], m["name"], m["birthday"], m["card"], m["qr"],
                    int(m["active"]), at, at, m["id"], at))
    return None


# A tender head office held (its ledger entry's ref is the hold id): while the entry has not
# reached head office, the hold already counts there, so the till must not count it again.
NOT_HELD = ("NOT (reason = 'tender' AND ref IN (SELECT id FROM member_authorizations"
            " WHERE mode = 'hq'))")


def offline_taken(tx: Tx, member_id: str | None, ledger: str, day: str) -> int:
    """What this till took of `ledger` offline today for the member (the offline limit)."""
    return tx.scalar(
        "SELECT COALESCE(SUM(amount), 0) FROM member_authorizations WHERE member_id IS ?"
        " AND ledger = ? AND day = ? AND mode = 'offline' AND state = 'taken'",
        (member_id, ledger, day))


def record_authorization(tx: Tx, hold_id: str, sale_id: str, member_id: str | None,
                         ledger: str, amount: int, code: str | None, mode: str,
                         day: str) -> None:
    tx.execute(
        "INSERT INTO member_authorizations(id, sale_id, member_id, ledger, amount, code, mode,"
        " day, state, at) VALUES (?,?,?,?,?,?,?,?,'taken',?)",
        (hold_id, sale_id, member_id, ledger, amount, code, mode, day, tx.at))
