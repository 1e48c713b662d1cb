"""Members across the chain at head office: the registry, the ledgers and the online
authorization of money that can be spent at more than one till (DESIGN §8).

The registry is what the tills send (`member` requests: registrations and edits, the
newest record wins); the ledgers are the tills' own entries (`member.balance`,
`member.points` events, projected into member_entries once each under their event key),
merged from every till. What a member
may spend now is

    available = sum of the member's entries + the asking till's entries HQ does not hold yet
                - the live holds (held, not yet settled by their entry, not expired)

A hold (`hold` on the link) is decided under the member's ledger row lock, so two tills
asking for the last of a balance at the same moment get one yes and one no, on SQLite and
on PostgreSQL with several HQ processes alike. The hold's id is the till's idempotency key:
the same id asked again answers what it answered the first time and never holds twice.

A hold ends when the till's own entry for it arrives (its `ref` is the hold id: the debit,
state `debited`), when the sale is voided or the till releases it (`released`), or, if
neither ever arrives, when it expires. A single-use coupon is held by inserting its code
into coupon_uses: one row per code, whichever till comes first.
"""

from __future__ import annotations

from typing import Any

from gatewayd.hq import master
from gatewayd.hq.db import HqTx, now_us
from protocol import repl
from protocol.errors import ErrorCode
from protocol.journal import JournalRecord

MEMBER_COLS = ("id", "phone", "name", "birthday", "card", "qr", "tier", "active",
               "referred_by", "updated_at")


class Refusal(Exception):
    """A request head office answers with `reply {ok: false}`: nothing was written."""

    def __init__(self, code: ErrorCode, message: str, **details: Any):
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.details = details


# -- projections (called by gatewayd/hq/projections.py, in the push's transaction) -----------
def put(tx: HqTx, store: str, till: str, frame: repl.PutMember) -> dict[str, Any]:
    """A member registered or edited at a till: the registry row, the newest record wins (a
    late, older record changes nothing); a new record is also a master change (kind
    `member`), so every till of the chain knows the member after its next sync."""
    r = frame.record
    n = tx.execute(
        "INSERT INTO members(id, phone, name, birthday, card, qr, tier, active, referred_by,"
        " store, till, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE"
        " SET phone=excluded.phone, name=excluded.name, birthday=excluded.birthday,"
        " card=excluded.card, qr=excluded.qr, tier=excluded.tier, active=excluded.active,"
        " referred_by=excluded.referred_by, store=excluded.store, till=excluded.till,"
        " updated_at=excluded.updated_at WHERE members.updated_at <= excluded.updated_at",
        (r.id, r.phone, r.name, r.birthday, r.card, r.qr, r.tier, int(r.active), r.referred_by,
         store, till, r.updated_at))
    if not n:
        return {"id": r.id, "stored": False}
    version = master.commit(tx, [master.Change("member", r.id, r.model_dump())],
                            f"{store}/{till}", "till")
    return {"id": r.id, "stored": True, "version": version}


def entry_settles(tx: HqTx, ev: JournalRecord) -> None:
    """A `member.balance`/`member.points` entry arrived: the tender it records debits its
    hold; a tender given back (the sale voided) releases the sale's holds of that ledger."""
    d = ev.data
    ledger = ev.kind.split(".", 1)[1]
    if d.get("reason") == "tender" and d.get("ref"):
        tx.execute("UPDATE member_holds SET state='debited', settled_at=? WHERE id=?"
                   " AND state='held'", (now_us(), d["ref"]))
    elif d.get("reason") == "tender_void" and d.get("sale_id"):
        tx.execute("UPDATE member_holds SET state='released', settled_at=? WHERE sale_id=?"
                   " AND ledger=? AND state IN ('held', 'debited')",
                   (now_us(), d["sale_id"], ledger))


def coupon_issued(tx: HqTx, store: str, till: str, ev: JournalRecord) -> None:
    d = ev.data
    tx.executemany(
        "INSERT INTO coupons(code, member, amount, min_spend, valid_from, valid_to, source,"
        " store, till) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        [(c, d.get("member"), d["amount"], d["min_spend"], d["valid_from"], d["valid_to"],
          d["source"], store, till) for c in d["codes"]])


def coupon_redeemed(tx: HqTx, store: str, till: str, ev: JournalRecord) -> str | None:
    """The coupon's use at HQ becomes `redeemed`. Returns an alert message when the coupon
    was already spent by another sale (two tills took it offline)."""
    d = ev.data
    n = tx.execute(
        "INSERT INTO coupon_uses(code, hold_id, sale_id, store, till, state, at)"
        " VALUES (?,NULL,?,?,?,'redeemed',?) ON CONFLICT DO NOTHING",
        (d["code"], d["sale_id"], store, till, ev.at))
    if n:
        return None
    use = tx.one("SELECT sale_id, store, till FROM coupon_uses WHERE code=?", (d["code"],))
    assert use is not None
    if use["sale_id"] == d["sale_id"]:
        tx.execute("UPDATE coupon_uses SET state='redeemed' WHERE code=?", (d["code"],))
        tx.execute("UPDATE member_holds SET state='debited', settled_at=? WHERE code=?"
                   " AND sale_id=? AND state='held'", (now_us(), d["code"], d["sale_id"]))
        return None
    return (f"coupon {d['code']} was spent twice: by sale {use['sale_id']} at "
            f"{use['store']}/{use['till']} and by sale {d['sale_id']} at {store}/{till}")


def coupon_released(tx: HqTx, ev: JournalRecord) -> None:
    d = ev.data
    tx.execute("DELETE FROM coupon_uses WHERE code=? AND sale_id=?", (d["code"], d["sale_id"]))


def sale_voided(tx: HqTx, sale_id: str) -> None:
    """Whatever the voided sale still held is free again."""
    now = now_us()
    tx.execute("UPDATE member_holds SET state='released', settled_at=? WHERE sale_id=?"
               " AND state='held'", (now, sale_id))
    tx.execute("DELETE FROM coupon_uses WHERE sale_id=? AND state='held'", (sale_id,))


# -- what a member has ---------------------------------------------------------------------------
def _figures(tx: HqTx, member: str, ledger: str, now: int,
             link_key: tuple[str, str, str] | None = None) -> tuple[int, int, int]:
    """(sum of the member's entries, its live holds, the asking till's seq head office
    holds) in ONE statement: one snapshot, so a push committing an entry and settling its
    hold in between can never be seen half (counted twice, or not at all)."""
    row = tx.one(
        "SELECT (SELECT COALESCE(SUM(delta), 0) FROM member_entries WHERE member=? AND what=?)"
        " AS entries, (SELECT COALESCE(SUM(amount), 0) FROM member_holds WHERE member=? AND"
        " ledger=? AND state='held' AND expires_at > ?) AS held, (SELECT acked_seq FROM"
        " till_epochs WHERE store=? AND till=? AND epoch=?) AS acked",
        (member, ledger, member, ledger, now, *(link_key or ("", "", ""))))
    assert row is not None
    return int(row["entries"]), int(row["held"]), int(row["acked"] or 0)


def available(tx: HqTx, member: str, ledger: str, now: int | None = None) -> int:
    entries, held, _ = _figures(tx, member, ledger, now_us() if now is None else now)
    return entries - held


def member_row(tx: HqTx, member_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM members WHERE id=?", (member_id,))


def find(tx: HqTx, code: str) -> dict[str, Any] | None:
    """By member id, phone, card or QR token (the till strips its QR prefix)."""
    for col in ("id", "phone", "card", "qr"):
        row = tx.one(f"SELECT * FROM members WHERE {col}=? ORDER BY updated_at DESC LIMIT 1",
                     (code,))
        if row is not None:
            return row
    return None


def snapshot(tx: HqTx, row: dict[str, Any],
             link_key: tuple[str, str, str] | None = None) -> dict[str, Any]:
    """A member as a till caches it: the registry row, what it may spend now, and its
    unused coupons; for the asking till (`link_key`), per ledger the seq of its journal
    head office held for that figure (`till_seq`): the till adds its own entries after it."""
    now = now_us()
    coupons = tx.all(
        "SELECT c.code, c.amount, c.min_spend, c.valid_from, c.valid_to, c.source FROM coupons c"
        " LEFT JOIN coupon_uses u ON u.code=c.code WHERE c.member=? AND u.code IS NULL"
        " AND c.valid_to > ? ORDER BY c.valid_to", (row["id"], now))
    out: dict[str, Any] = {
        "member": {k: (bool(row[k]) if k == "active" else row[k]) for k in MEMBER_COLS},
        "coupons": coupons, "till_seq": {}}
    for ledger in ("balance", "points"):
        entries, held, acked = _figures(tx, row["id"], ledger, now, link_key)
        out[ledger] = entries - held
        out["till_seq"][ledger] = acked
    return out


# -- the link's requests ---------------------------------------------------------------------------
def lookup(tx: HqTx, link_key: tuple[str, str, str], frame: repl.Lookup) -> dict[str, Any]:
    row = find(tx, frame.code)
    if row is None:
        raise Refusal("not_found", "no member with that phone, card or QR code in the chain")
    return snapshot(tx, row, link_key)


def _same(hold: dict[str, Any], frame: repl.Hold) -> bool:
    return (hold["member"], hold["ledger"], hold["amount"], hold["sale_id"], hold["code"]) == (
        frame.member, frame.ledger, frame.amount, frame.sale_id, frame.code)


def hold(tx: HqTx, store: str, till: str, epoch: str, frame: repl.Hold,
         ttl_s: int) -> dict[str, Any]:
    """Authorize `frame.amount` of the member's ledger (or the coupon) for one tender."""
    now = now_us()
    if frame.ledger == "coupon":
        return _hold_coupon(tx, store, till, frame, now, ttl_s)
    if frame.member is None:
        raise Refusal("invalid_params", f"a {frame.ledger} hold needs the member")
    tx.execute("INSERT INTO member_ledgers(member) VALUES (?) ON CONFLICT DO NOTHING",
               (frame.member,))
    tx.lock_for_update("SELECT member FROM member_ledgers WHERE member=?", (frame.member,))
    seen = tx.one("SELECT * FROM member_holds WHERE id=?", (frame.id,))
    if seen is not None:
        return _again(seen, frame)
    entries, held, acked = _figures(tx, frame.member, frame.ledger, now, (store, till, epoch))
    # the asking till's own entries of this member that head office does not hold yet
    has = entries + sum(p.delta for p in frame.pending if p.seq > acked) - held
    if has < frame.amount:
        noun = "stored-value balance" if frame.ledger == "balance" else "points"
        raise Refusal("payment_declined", f"not enough {noun} across the chain: has {has}, "
                      f"needs {frame.amount}", available=has, needed=frame.amount)
    _insert_hold(tx, store, till, frame, now, ttl_s)
    return {"id": frame.id, "state": "held", "amount": frame.amount, "available": has,
            "after": has - frame.amount}


def _hold_coupon(tx: HqTx, store: str, till: str, frame: repl.Hold, now: int,
                 ttl_s: int) -> dict[str, Any]:
    if frame.code is None:
        raise Refusal("invalid_params", "a coupon hold needs the coupon's code")
    seen = tx.one("SELECT * FROM member_holds WHERE id=?", (frame.id,))
    if seen is not None:
        return _again(seen, frame)
    n = tx.execute(
        "INSERT INTO coupon_uses(code, hold_id, sale_id, store, till, state, at)"
        " VALUES (?,?,?,?,?,'held',?) ON CONFLICT DO NOTHING",
        (frame.code, frame.id, frame.sale_id, store, till, now))
    if not n:
        use = tx.one("SELECT sale_id, store, till, state FROM coupon_uses WHERE code=?",
                     (frame.code,))
        assert use is not None
        raise Refusal("conflict", f"coupon {frame.code} was already used at "
                      f"{use['store']}/{use['till']}", coupon=frame.code,
                      store=use["store"], till=use["till"])
    _insert_hold(tx, store, till, frame, now, ttl_s)
    return {"id": frame.id, "state": "held", "amount": frame.amount}


def _insert_hold(tx: HqTx, store: str, till: str, frame: repl.Hold, now: int,
                 ttl_s: int) -> None:
    tx.execute(
        "INSERT INTO member_holds(id, member, ledger, amount, code, sale_id, store, till, state,"
        " created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,'held',?,?)",
        (frame.id, frame.member, frame.ledger, frame.amount, frame.code, frame.sale_id, store,
         till, now, now + ttl_s * 1_000_000))


def _again(seen: dict[str, Any], frame: repl.Hold) -> dict[str, Any]:
    """The same hold id asked again (a retry): the first answer, or a refusal if the id is
    reused for another tender."""
    if not _same(seen, frame):
        raise Refusal("conflict", f"hold {frame.id} was already used for another tender")
    if seen["state"] == "released":
        raise Refusal("conflict", f"hold {frame.id} was released; ask with a new id")
    return {"id": frame.id, "state": seen["state"], "amount": seen["amount"], "repeated": True}


def release(tx: HqTx, store: str, till: str, frame: repl.Release) -> dict[str, Any]:
    """The till gave up the tender it asked for (its own transaction failed, the customer
    changed their mind). Releasing twice, or an unknown id, changes nothing."""
    row = tx.one("SELECT store, till, state FROM member_holds WHERE id=?", (frame.id,))
    if row is None:
        return {"id": frame.id, "state": "unknown"}
    if (row["store"], row["till"]) != (store, till):
        raise Refusal("forbidden", f"hold {frame.id} belongs to another till")
    if row["state"] == "held":
        tx.execute("UPDATE member_holds SET state='released', settled_at=? WHERE id=?",
                   (now_us(), frame.id))
        tx.execute("DELETE FROM coupon_uses WHERE hold_id=? AND state='held'", (frame.id,))
        return {"id": frame.id, "state": "released"}
    return {"id": frame.id, "state": row["state"]}


def answer(tx: HqTx, store: str, till: str, epoch: str,
           frame: repl.Hold | repl.Release | repl.Lookup | repl.PutMember,
           ttl_s: int) -> dict[str, Any]:
    if isinstance(frame, repl.Hold):
        return hold(tx, store, till, epoch, frame, ttl_s)
    if isinstance(frame, repl.Release):
        return release(tx, store, till, frame)
    if isinstance(frame, repl.PutMember):
        return put(tx, store, till, frame)
    return lookup(tx, (store, till, epoch), frame)


# -- hq.member.* ----------------------------------------------------------------------------
def view(tx: HqTx, code: str) -> dict[str, Any] | None:
    row = find(tx, code)
    if row is None:
        return None
    out = snapshot(tx, row)
    del out["till_seq"]
    out["member"]["store"] = row["store"]
    out["member"]["till"] = row["till"]
    out["holds"] = tx.all(
        "SELECT id, ledger, amount, code, sale_id, store, till, state, created_at, expires_at"
        " FROM member_holds WHERE member=? AND state='held' AND expires_at > ?"
        " ORDER BY created_at", (row["id"], now_us()))
    return out


def ledger(tx: HqTx, member_id: str, limit: int) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT store, till, seq, at, what, delta, reason, sale_id, ref FROM member_entries"
        " WHERE member=? ORDER BY at DESC, seq DESC LIMIT ?", (member_id, limit))
