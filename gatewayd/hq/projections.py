"""Head office's projections of the tills' events: one function per journal kind, each
called in the transaction that stores the event (gatewayd/hq/ingest.py).

A projection is keyed by the fact's own id where it has one (a sale's UUID), so a fact that
reaches head office twice under two epochs (a till restored from a backup resends what it
had after its last acknowledged seq) counts once. The others are keyed by the event's
(store, till, epoch, seq), which is unique by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gatewayd.hq import aggregates, members, stock
from gatewayd.hq.db import HqTx
from protocol.codec import pack
from protocol.journal import JournalRecord

Projector = Callable[[HqTx, str, str, str, JournalRecord], None]
PROJECTORS: dict[str, list[Projector]] = {}


def projects(*kinds: str) -> Callable[[Projector], Projector]:
    def deco(fn: Projector) -> Projector:
        for kind in kinds:
            PROJECTORS.setdefault(kind, []).append(fn)
        return fn

    return deco


def project(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    """Every projector of the event's kind, then those of its family (`stock.*`)."""
    family = ev.kind.split(".", 1)[0] + ".*"
    for fn in (*PROJECTORS.get(ev.kind, ()), *PROJECTORS.get(family, ())):
        fn(tx, store, till, epoch, ev)


def _insert_sale(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord,
                 kind: str, d: dict[str, Any], total: int) -> bool:
    n = tx.execute(
        "INSERT INTO sales(store, sale_id, till, epoch, seq, at, kind, receipt_no, business_day,"
        " shift_id, operator, refund_of, total, subtotal, discount, tax, rounding, paid,"
        " change_due) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (store, d["sale_id"], till, epoch, ev.seq, ev.at, kind, d["receipt_no"],
         d["business_day"], d.get("shift_id"), d.get("operator"), d.get("refund_of"), total,
         d.get("subtotal", total), d.get("discount", 0), _tax(d.get("tax")), d.get("rounding", 0),
         d.get("paid", 0), d.get("change", 0)))
    return n > 0


def _tenders(tx: HqTx, store: str, sale_id: str, tenders: list[dict[str, Any]],
             sign: int) -> None:
    tx.executemany(
        "INSERT INTO sale_tenders(store, sale_id, pos, method, amount, ref) VALUES (?,?,?,?,?,?)",
        [(store, sale_id, i, t["method"], sign * abs(t["amount"]), t.get("ref"))
         for i, t in enumerate(tenders)])


def _tax(tax: Any) -> int:
    """A sale's tax is a list of groups {rate_bp, net, tax, base}: its total."""
    if isinstance(tax, list):
        return sum(g.get("tax", 0) for g in tax)
    return int(tax or 0)


@projects("sale.completed")
def sale_completed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    if not _insert_sale(tx, store, till, epoch, ev, "sale", d, d["total"]):
        return  # the same sale under an earlier epoch: projected once
    tx.executemany(
        "INSERT INTO sale_lines(store, sale_id, pos, line_id, sku, qty, amount)"
        " VALUES (?,?,?,?,?,?,?)",
        [(store, d["sale_id"], i, ln["line_id"], ln["sku"], ln["qty"], ln["net"])
         for i, ln in enumerate(d.get("lines", []))])
    _tenders(tx, store, d["sale_id"], d.get("tenders", []), 1)
    _aggregate(tx, store, ev, "sale", d, d["total"],
               [(ln["sku"], ln["qty"], ln["net"]) for ln in d.get("lines", [])], 1)


@projects("sale.refunded")
def sale_refunded(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = {**ev.data, "sale_id": ev.data["refund_id"]}
    money = d.get("money", d.get("total", 0))
    if not _insert_sale(tx, store, till, epoch, ev, "refund", d, -abs(money)):
        return
    tx.executemany(
        "INSERT INTO sale_lines(store, sale_id, pos, line_id, sku, qty, amount)"
        " VALUES (?,?,?,?,?,?,?)",
        [(store, d["sale_id"], i, ln["line_id"], ln["sku"], -abs(ln["qty"]),
          -abs(ln.get("gross", 0))) for i, ln in enumerate(d.get("lines", []))])
    _tenders(tx, store, d["sale_id"], d.get("tenders", []), -1)
    _aggregate(tx, store, ev, "refund", d, -abs(money),
               [(ln["sku"], -abs(ln["qty"]), -abs(ln.get("gross", 0)))
                for ln in d.get("lines", [])], -1)


def _aggregate(tx: HqTx, store: str, ev: JournalRecord, kind: str, d: dict[str, Any],
               total: int, lines: list[tuple[str, int, int]], sign: int) -> None:
    """What a sale stored for the first time adds to the report aggregates."""
    costs = aggregates.unit_costs(tx, store, (sku for sku, _, _ in lines))
    tenders = [[t["method"], sign * abs(t["amount"])] for t in d.get("tenders", [])]
    change = d.get("change", 0) if kind == "sale" else 0
    if change and tenders:  # the payment mix counts what was kept: change is given in cash
        cash = next((t for t in tenders if t[0] == "cash"), tenders[-1])
        cash[1] -= change
    aggregates.deltas(tx).sale(
        store, d["business_day"], aggregates.local_hour(ev.at), kind, total,
        d.get("discount", 0), _tax(d.get("tax")),
        [(sku, qty, amount, costs.get(sku)) for sku, qty, amount in lines],
        [(method, amount) for method, amount in tenders])


MATCHED = ("stock.transferred", "stock.received")  # receipts matched to what was sent


@projects(*MATCHED)
def stock_matched(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    if ev.kind == "stock.transferred":
        twice = stock.transferred(tx, store, till, ev)
    else:
        lines = [{"sku": ln["sku"], "qty": ln["qty"]} for ln in ev.data["lines"]]
        twice = stock.received(tx, store, till, ev, lines, "purchase")
    if twice is not None:  # the goods came in once: the second confirmation does not count
        from gatewayd.hq.ingest import Alert, raise_alert  # ingest imports this module

        raise_alert(tx, Alert("transfer_confirmed_twice", store, till, twice))
        return
    _moves(tx, store, till, epoch, ev)


@projects("stock.*")
def stock_moved(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    if ev.kind not in MATCHED:  # stock_matched decides whether those count
        _moves(tx, store, till, epoch, ev)


def _moves(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    moves = ev.data.get("moves")
    if not moves:
        return  # stock.low, stock.threshold_set, stock.count_saved: no quantity moved
    ref = ev.data.get("sale_id") or ev.data.get("no") or ev.data.get("ref")
    tx.executemany(
        "INSERT INTO stock_moves(store, till, epoch, seq, pos, at, kind, sku, qty, ref)"
        " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        [(store, till, epoch, ev.seq, i, ev.at, ev.kind, m["sku"], m["qty"], ref)
         for i, m in enumerate(moves)])
    aggregates.deltas(tx).stock(store, moves)


@projects("member.points", "member.balance")
def member_entry(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    """A ledger entry: stored once under its event key; it settles the hold it debits."""
    d = ev.data
    n = tx.execute(
        "INSERT INTO member_entries(store, till, epoch, seq, at, member, what, delta, after,"
        " reason, sale_id, ref) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (store, till, epoch, ev.seq, ev.at, d["member"], ev.kind.split(".", 1)[1], d["delta"],
         d.get("after"), d.get("reason"), d.get("sale_id"), d.get("ref")))
    if n:
        members.entry_settles(tx, ev)


@projects("coupon.issued")
def coupon_issued(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    members.coupon_issued(tx, store, till, ev)


@projects("coupon.redeemed")
def coupon_redeemed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    twice = members.coupon_redeemed(tx, store, till, ev)
    if twice is not None:
        from gatewayd.hq.ingest import Alert, raise_alert  # ingest imports this module

        raise_alert(tx, Alert("coupon_spent_twice", store, till, twice))


@projects("coupon.released")
def coupon_released(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    members.coupon_released(tx, ev)


@projects("shift.opened")
def shift_opened(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    tx.execute(
        "INSERT INTO shifts(store, shift_id, till, opened_at, operator) VALUES (?,?,?,?,?)"
        " ON CONFLICT DO NOTHING", (store, d["shift_id"], till, ev.at, d.get("operator")))


@projects("shift.closed")
def shift_closed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    tx.execute(
        "INSERT INTO shifts(store, shift_id, till, closed_at, data) VALUES (?,?,?,?,?)"
        " ON CONFLICT (store, shift_id) DO UPDATE SET closed_at=excluded.closed_at,"
        " data=excluded.data", (store, d["shift_id"], till, ev.at, pack(d)))


@projects("day.closed")
def day_closed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    z = d.get("z") or {}
    tx.execute(
        "INSERT INTO till_days(store, till, day, state, closes, closed_seq, closed_epoch, net, z)"
        " VALUES (?,?,?,'closed',?,?,?,?,?) ON CONFLICT (store, till, day) DO UPDATE SET"
        " state='closed', closes=excluded.closes, closed_seq=excluded.closed_seq,"
        " closed_epoch=excluded.closed_epoch, net=excluded.net, z=excluded.z",
        (store, till, d["day"], d.get("closes", 1), ev.seq, epoch, z.get("net"), pack(z)))


@projects("day.reopened")
def day_reopened(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    tx.execute(
        "INSERT INTO till_days(store, till, day, state, closes) VALUES (?,?,?,'open',0)"
        " ON CONFLICT (store, till, day) DO UPDATE SET state='open'",
        (store, till, ev.data["day"]))


@projects("auth.*", "operator.*", "token.*", "pair.*", "approval.*",
          "sale.price_overridden", "sale.discount", "drawer.opened", "receipt.reprinted")
def audit(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    actor = d.get("operator") or d.get("approver") or d.get("id")
    tx.execute(
        "INSERT INTO till_audit(store, till, epoch, seq, at, kind, actor, data)"
        " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (store, till, epoch, ev.seq, ev.at, ev.kind, actor if isinstance(actor, str) else None,
         pack(d)))


# -- for the reports and the live view of the tills ---------------------------------------------
@projects("member.purchase")
def member_purchase(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    """The sale's member, once (the first epoch that brought it), into the member sums."""
    d = ev.data
    if not tx.execute("UPDATE sales SET member=? WHERE store=? AND sale_id=? AND member IS NULL",
                      (d["member"], store, d["sale_id"])):
        return
    sale = tx.one("SELECT business_day, at, kind, total FROM sales WHERE store=? AND sale_id=?",
                  (store, d["sale_id"]))
    assert sale is not None
    day = sale["business_day"]
    aggregates.deltas(tx).member_sale(store, day, aggregates.local_hour(sale["at"]),
                                      d["member"], sale["kind"], sale["total"])
    if sale["kind"] == "sale":
        tx.execute("UPDATE hq_members SET first_day=COALESCE(first_day, ?), last_day=? WHERE"
                   " member=? AND (last_day IS NULL OR last_day < ?)",
                   (day, day, d["member"], day))


@projects("member.registered")
def member_registered(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    day = datetime.fromtimestamp(ev.at / 1e6, UTC).astimezone(aggregates.CHAIN_TZ)
    tx.execute("INSERT INTO hq_members(member, store, tier, registered) VALUES (?,?,?,?)"
               " ON CONFLICT DO NOTHING", (d["member"], store, d["tier"], day.strftime("%Y%m%d")))


@projects("member.tier")
def member_tier(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    tx.execute("UPDATE hq_members SET tier=? WHERE member=?",
               (ev.data["after"], ev.data["member"]))


@projects("stock.received")
def cost_received(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    aggregates.received(tx, store, ev.data.get("lines", []), ev.data.get("moves", []))


@projects("sale.opened", "sale.resumed")
def sale_open(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    tx.execute("INSERT INTO till_live(store, till, open_sale, open_since) VALUES (?,?,?,?)"
               " ON CONFLICT (store, till) DO UPDATE SET open_sale=excluded.open_sale,"
               " open_since=excluded.open_since", (store, till, ev.data["sale_id"], ev.at))


@projects("sale.completed", "sale.voided", "sale.suspended")
def sale_closed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    tx.execute("UPDATE till_live SET open_sale=NULL, open_since=NULL WHERE store=? AND till=?"
               " AND open_sale=?", (store, till, ev.data["sale_id"]))


@projects("alert.raised")
def till_alert(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    d = ev.data
    text = f"{d['device']}: {d['message']}" if d.get("device") else d["message"]
    tx.execute("INSERT INTO till_live(store, till, alert, alert_at) VALUES (?,?,?,?)"
               " ON CONFLICT (store, till) DO UPDATE SET alert=excluded.alert,"
               " alert_at=excluded.alert_at", (store, till, text[:200], ev.at))
@projects("sale.voided")
def sale_voided(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    audit(tx, store, till, epoch, ev)
    members.sale_voided(tx, ev.data["sale_id"])
