"""Head office's projections of the tills' events: functions per journal kind, each adding to
the `Projection` of the push being applied (gatewayd/hq/ingest.py), which writes it in the
transaction that stores the events.

A push of 500 events projects to a few hundred rows in a handful of tables. They are written
one statement per table (`HqTx.insert`: executemany on SQLite, one `unnest` INSERT on
PostgreSQL), not one per event: the per-statement round trip was most of the cost of ingest.
What depends on order (a shift closing, a day closing and reopening, a receipt moving the
cost the next sale is costed at, a member's purchase) runs after those inserts, in journal
order; what only the last event decides (the sale open at the till, its last alert) is
written once, as that event left it.

A projection is keyed by the fact's own id where it has one (a sale's UUID), so a fact that
reaches head office twice under two epochs (a till restored from a backup resends what it
had after its last acknowledged seq) counts once: the sales insert says which sales are new
(`HqTx.insert_new`), and only those get lines, tenders and a share of the aggregates. The
others are keyed by the event's (store, till, epoch, seq), which is unique by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from gatewayd.hq import aggregates, members, stock
from gatewayd.hq.db import HqTx, Insert
from protocol.codec import pack
from protocol.journal import JournalRecord

EVENTS = Insert("events", ("store", "till", "epoch", "seq", "at", "kind", "data"), fresh=True)
SALES = Insert("sales", (
    "store", "sale_id", "till", "epoch", "seq", "at", "kind", "receipt_no", "business_day",
    "shift_id", "operator", "refund_of", "total", "subtotal", "discount", "tax", "rounding",
    "paid", "change_due"), uniform=(
    "store", "till", "epoch", "kind", "business_day", "shift_id", "operator", "refund_of"))
SALE_LINES = Insert("sale_lines", ("store", "sale_id", "pos", "line_id", "sku", "qty", "amount"),
                    fresh=True)
SALE_TENDERS = Insert("sale_tenders", ("store", "sale_id", "pos", "method", "amount", "ref"),
                      fresh=True)
STOCK_MOVES = Insert("stock_moves", (
    "store", "till", "epoch", "seq", "pos", "at", "kind", "sku", "qty", "ref"), fresh=True)
MEMBER_ENTRIES = Insert("member_entries", (
    "store", "till", "epoch", "seq", "at", "member", "what", "delta", "after", "reason",
    "sale_id", "ref"), fresh=True)
MEMBERS = Insert("hq_members", ("member", "store", "tier", "registered"))
SHIFT_OPENS = Insert("shifts", ("store", "shift_id", "till", "opened_at", "operator"))
SHIFT_CLOSES = Insert(
    "shifts", ("store", "shift_id", "till", "closed_at", "data"),
    "(store, shift_id) DO UPDATE SET closed_at=excluded.closed_at, data=excluded.data")
DAY_CLOSES = Insert(
    "till_days", ("store", "till", "day", "state", "closes", "closed_seq", "closed_epoch", "net",
                  "z"),
    "(store, till, day) DO UPDATE SET state='closed', closes=excluded.closes,"
    " closed_seq=excluded.closed_seq, closed_epoch=excluded.closed_epoch, net=excluded.net,"
    " z=excluded.z")
DAY_REOPENS = Insert("till_days", ("store", "till", "day", "state", "closes"),
                     "(store, till, day) DO UPDATE SET state='open'")
TILL_AUDIT = Insert("till_audit", ("store", "till", "epoch", "seq", "at", "kind", "actor",
                                   "data"), fresh=True)
OPEN_SALE = Insert("till_live", ("store", "till", "open_sale", "open_since"),
                   "(store, till) DO UPDATE SET open_sale=excluded.open_sale,"
                   " open_since=excluded.open_since")
TILL_ALERT = Insert("till_live", ("store", "till", "alert", "alert_at"),
                    "(store, till) DO UPDATE SET alert=excluded.alert,"
                    " alert_at=excluded.alert_at")

Later = Callable[["Projection", HqTx], None]


class Projection:
    """What one push's events project to, collected in journal order and written by `write`.

    - `add`: idempotent inserts of distinct keys; their order does not matter, so each table
      gets one statement, before anything else.
    - sales (`sale`): inserted first of all, in one statement that says which are new; a
      sale's lines and tenders, and `then` steps guarded by it, count only a new sale.
    - `then`: steps that depend on what came before them (a shift's open before its close, a
      receipt before the sale costed with it), run in journal order after the inserts.
    """

    def __init__(self, store: str, till: str, epoch: str):
        self.store, self.till, self.epoch = store, till, epoch
        self.rows: dict[Insert, list[tuple[Any, ...]]] = {}
        self.sales: list[tuple[Any, ...]] = []
        # the sales' lines and tenders, one list each (rows keyed by their sale, second),
        # and where each sale's are in them: (sale_id, lines from, to, tenders from, to)
        self.lines: list[tuple[Any, ...]] = []
        self.tenders: list[tuple[Any, ...]] = []
        self.sale_parts: list[tuple[str, int, int, int, int]] = []
        self.steps: list[Later] = []
        self.sales_batch: list[tuple[Any, ...]] | None = None  # _sale's, the last step's
        self.new_sales: set[str] = set()
        self.uncounted: set[str] | None = None  # new sales not yet summed (_aggregate)
        self.skus: set[str] = set()  # whose cost a step may need: read once for the push
        self._costs: dict[str, int] | None = None
        self._deltas: aggregates.Deltas | None = None
        self.open_sale: tuple[str | None, int | None] | None = None  # None: as the db has it
        self.closed_sales: list[str] = []  # closed while the open sale was the db's
        self.alert: tuple[str, int] | None = None
        self.stock_moved: list[dict[str, Any]] = []  # the moves of stock_moved's events

    def add(self, insert: Insert, rows: Iterable[tuple[Any, ...]]) -> None:
        self.rows.setdefault(insert, []).extend(rows)

    def sale(self, row: tuple[Any, ...], lines: list[tuple[Any, ...]],
             tenders: list[tuple[Any, ...]]) -> None:
        """A sale row (its id second) and its SALE_LINES and SALE_TENDERS rows, which go in
        only if it is new."""
        self.sales.append(row)
        here, paid = self.lines, self.tenders
        self.sale_parts.append((row[1], len(here), len(here) + len(lines), len(paid),
                                len(paid) + len(tenders)))
        here += lines
        paid += tenders

    def then(self, step: Later) -> None:
        self.steps.append(step)
        self.sales_batch = None  # a sale after this step is summed after it

    def costs(self, tx: HqTx) -> dict[str, int]:
        """The store's item costs as the push goes: read once, moved by its receipts."""
        if self._costs is None:
            self._costs = aggregates.unit_costs(tx, self.store, self.skus)
        return self._costs

    def deltas(self, tx: HqTx) -> aggregates.Deltas:
        """`aggregates.deltas(tx)`, looked up once a push rather than once a sale."""
        if self._deltas is None:
            self._deltas = aggregates.deltas(tx)
        return self._deltas

    def project_push(self, events: Sequence[JournalRecord], data: Sequence[bytes]) -> None:
        """The push's EVENTS rows (each event with `data`, its bytes as the till sent them)
        and its projections, in one walk over its events."""
        store, till, epoch = self.store, self.till, self.epoch
        # the events' table first (of those written in any order)
        append = self.rows.setdefault(EVENTS, []).append
        by_kind = _BY_KIND
        for ev, d in zip(events, data, strict=True):  # the events' hot loop: no call to spare
            kind = ev.kind
            append((store, till, epoch, ev.seq, ev.at, kind, d))
            fns = by_kind.get(kind)
            if fns is None:
                fns = _projectors(kind)
            for fn in fns:
                fn(self, ev)

    def write(self, tx: HqTx, fresh: bool = True) -> None:
        """`fresh`: the push's events are new to head office (`apply_push` checked so under the
        epoch's lock), so the rows keyed by them or by its new sales are loaded as
        `HqTx.insert_fresh` does; False: every insert keeps its ON CONFLICT."""
        costs = aggregates.unit_costs_later(tx, self.store, self.skus) if self.skus else None
        self.new_sales = tx.insert_new(SALES, self.sales, "sale_id")  # the costs' answer too
        if costs is not None:
            self._costs = costs()
        if self.sales:
            self._sale_parts()
        if self.stock_moved:  # summed in any order: a stock move adds what it says
            self.deltas(tx).stock(self.store, self.stock_moved)
        if fresh:  # first: on PostgreSQL the COPYs leave the pipeline, the inserts rejoin it
            for insert, rows in self.rows.items():
                if insert.fresh:
                    tx.insert_fresh(insert, rows)
        for insert, rows in self.rows.items():
            if not (fresh and insert.fresh):
                tx.insert(insert, rows)
        for step in self.steps:
            step(self, tx)
        if self.open_sale is not None:  # the till's alert below is another statement
            tx.send_last(OPEN_SALE.sql(), (self.store, self.till, *self.open_sale))
        elif self.closed_sales:
            tx.executemany("UPDATE till_live SET open_sale=NULL, open_since=NULL WHERE store=?"
                           " AND till=? AND open_sale=?",
                           [(self.store, self.till, s) for s in self.closed_sales])
        if self.alert is not None:
            tx.upsert_in_order(TILL_ALERT, [(self.store, self.till, *self.alert)])

    def _sale_parts(self) -> None:
        """The lines and tenders of the new sales, into `rows`: all of them when every sale
        is new (as a push's usually are); else those of the new ones, a sale given twice in
        the push with the parts of its first, whose row the sales insert kept."""
        lines, tenders = self.lines, self.tenders
        if len(self.new_sales) < len(self.sales):
            first: dict[str, tuple[int, int, int, int]] = {}
            for sale_id, l0, l1, t0, t1 in self.sale_parts:
                first.setdefault(sale_id, (l0, l1, t0, t1))
            lines, tenders = [], []
            for sale_id in self.new_sales:
                l0, l1, t0, t1 = first[sale_id]
                lines += self.lines[l0:l1]
                tenders += self.tenders[t0:t1]
        if lines:
            self.add(SALE_LINES, lines)
        if tenders:
            self.add(SALE_TENDERS, tenders)


def _projectors(kind: str) -> tuple[Projector, ...]:
    """A kind's projectors and its family's, remembered for the journal's kinds."""
    family = kind.split(".", 1)[0] + ".*"
    fns = (*PROJECTORS.get(kind, ()), *PROJECTORS.get(family, ()))
    if len(_BY_KIND) < 1000:  # the journal's kinds, not whatever a till may send
        _BY_KIND[kind] = fns
    return fns


Projector = Callable[[Projection, JournalRecord], None]
PROJECTORS: dict[str, list[Projector]] = {}
_BY_KIND: dict[str, tuple[Projector, ...]] = {}  # a kind's projectors and its family's


def projects(*kinds: str) -> Callable[[Projector], Projector]:
    def deco(fn: Projector) -> Projector:
        for kind in kinds:
            PROJECTORS.setdefault(kind, []).append(fn)
        _BY_KIND.clear()
        return fn

    return deco


Step = Callable[[HqTx, str, str, str, JournalRecord], None]


def steps(*kinds: str) -> Callable[[Step], Step]:
    """A projector that reads and writes as it goes (holds, coupons, transfers): run with the
    transaction as a `then` step, in journal order, after the push's inserts."""
    def deco(fn: Step) -> Step:
        def project(out: Projection, ev: JournalRecord) -> None:
            out.then(lambda out, tx: fn(tx, out.store, out.till, out.epoch, ev))

        projects(*kinds)(project)
        return fn

    return deco


def _upsert(insert: Insert, row: tuple[Any, ...]) -> Later:
    return lambda out, tx: tx.upsert_in_order(insert, [row])


def _tax(tax: Any) -> int:
    """A sale's tax is a list of groups {rate_bp, net, tax, base}: its total."""
    if isinstance(tax, list):
        total = 0
        for group in tax:
            total += group.get("tax", 0)
        return total
    return int(tax or 0)


def _sale(out: Projection, ev: JournalRecord, kind: str, d: dict[str, Any], total: int,
          lines: list[tuple[Any, ...]], sign: int) -> None:
    """A sale or refund: its row, its lines (SALE_LINES rows: sku, qty and amount from the
    fifth) and tenders if it is new, and then what it adds to the report aggregates."""
    sale_id = d["sale_id"]
    store = out.store
    get = d.get
    tenders = get("tenders", [])
    tax = _tax(get("tax"))
    discount = get("discount", 0)
    change = get("change", 0)
    day = d["business_day"]
    out.sale((store, sale_id, out.till, out.epoch, ev.seq, ev.at, kind, d["receipt_no"],
              day, get("shift_id"), get("operator"), get("refund_of"), total,
              get("subtotal", total), discount, tax, get("rounding", 0), get("paid", 0),
              change), lines,
             [(store, sale_id, i, t["method"], sign * abs(t["amount"]), t.get("ref"))
              for i, t in enumerate(tenders)])
    out.skus.update([line[4] for line in lines])
    # the sales since the last other step are summed by one step (in journal order still)
    batch = out.sales_batch
    if batch is None:
        batch = out.sales_batch = []
        out.steps.append(partial(_aggregate, batch))
    batch.append((sale_id, ev.at, kind, day, total, discount, tax,
                  change if kind == "sale" else 0, lines, tenders, sign))


def _aggregate(batch: list[tuple[Any, ...]], out: Projection, tx: HqTx) -> None:
    """What sales (`_sale`) add to the report aggregates, in journal order (their lines are
    costed as the push's receipts before them left the costs)."""
    store, local_hour = out.store, aggregates.local_hour
    if out.uncounted is None:
        out.uncounted = set(out.new_sales)
    uncounted = out.uncounted
    costs = out.costs(tx)
    add = out.deltas(tx).sale
    for sale_id, at, kind, day, total, discount, tax, change, lines, tenders, sign in batch:
        if sale_id not in uncounted:
            continue  # the same sale under an earlier epoch, or again in this push: once
        uncounted.remove(sale_id)  # its first in the push, as its rows
        paid = [[t["method"], sign * abs(t["amount"])] for t in tenders]
        if change and paid:  # the payment mix counts what was kept: change is given in cash
            cash = next((t for t in paid if t[0] == "cash"), paid[-1])
            cash[1] -= change
        add(store, day, local_hour(at), kind, total, discount, tax,
            [(sku, qty, amount, costs.get(sku)) for _, _, _, _, sku, qty, amount in lines], paid)


@projects("sale.completed")
def sale_completed(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    store, sale_id = out.store, d["sale_id"]
    _sale(out, ev, "sale", d, d["total"],
          [(store, sale_id, i, ln["line_id"], ln["sku"], ln["qty"], ln["net"])
           for i, ln in enumerate(d.get("lines", []))], 1)


@projects("sale.refunded")
def sale_refunded(out: Projection, ev: JournalRecord) -> None:
    d = {**ev.data, "sale_id": ev.data["refund_id"]}
    store, sale_id = out.store, d["sale_id"]
    _sale(out, ev, "refund", d, -abs(d.get("money", d.get("total", 0))),
          [(store, sale_id, i, ln["line_id"], ln["sku"], -abs(ln["qty"]),
            -abs(ln.get("gross", 0))) for i, ln in enumerate(d.get("lines", []))], -1)


MATCHED = ("stock.transferred", "stock.received")  # receipts matched to what was sent


@steps(*MATCHED)
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
    tx.insert(STOCK_MOVES, _moves(store, till, epoch, ev))
    aggregates.deltas(tx).stock(store, ev.data.get("moves") or [])


@projects("stock.*")
def stock_moved(out: Projection, ev: JournalRecord) -> None:
    if ev.kind in MATCHED:  # stock_matched decides whether those count
        return
    rows = _moves(out.store, out.till, out.epoch, ev)
    if rows:
        out.add(STOCK_MOVES, rows)
        out.stock_moved += ev.data["moves"]


def _moves(store: str, till: str, epoch: str, ev: JournalRecord) -> list[tuple[Any, ...]]:
    get = ev.data.get
    moves = get("moves")
    if not moves:
        return []  # stock.low, stock.threshold_set, stock.count_saved: no quantity moved
    ref = get("sale_id") or get("no") or get("ref")
    seq, at, kind = ev.seq, ev.at, ev.kind
    return [(store, till, epoch, seq, i, at, kind, m["sku"], m["qty"], ref)
            for i, m in enumerate(moves)]


@projects("member.points", "member.balance")
def member_entry(out: Projection, ev: JournalRecord) -> None:
    """A ledger entry: stored once under its event key (new, as the event is); it settles
    the hold it debits."""
    d = ev.data
    out.add(MEMBER_ENTRIES, [(
        out.store, out.till, out.epoch, ev.seq, ev.at, d["member"], ev.kind.split(".", 1)[1],
        d["delta"], d.get("after"), d.get("reason"), d.get("sale_id"), d.get("ref"))])
    out.then(lambda out, tx: members.entry_settles(tx, ev))


@steps("coupon.issued")
def coupon_issued(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    members.coupon_issued(tx, store, till, ev)


@steps("coupon.redeemed")
def coupon_redeemed(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    twice = members.coupon_redeemed(tx, store, till, ev)
    if twice is not None:
        from gatewayd.hq.ingest import Alert, raise_alert  # ingest imports this module

        raise_alert(tx, Alert("coupon_spent_twice", store, till, twice))


@steps("coupon.released")
def coupon_released(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    members.coupon_released(tx, ev)


@projects("shift.opened")
def shift_opened(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    out.add(SHIFT_OPENS, [(out.store, d["shift_id"], out.till, ev.at, d.get("operator"))])


@projects("shift.closed")
def shift_closed(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    out.then(_upsert(SHIFT_CLOSES, (out.store, d["shift_id"], out.till, ev.at, pack(d))))


@projects("day.closed")
def day_closed(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    z = d.get("z") or {}
    out.then(_upsert(DAY_CLOSES, (out.store, out.till, d["day"], "closed", d.get("closes", 1),
                                  ev.seq, out.epoch, z.get("net"), pack(z))))


@projects("day.reopened")
def day_reopened(out: Projection, ev: JournalRecord) -> None:
    out.then(_upsert(DAY_REOPENS, (out.store, out.till, ev.data["day"], "open", 0)))


@projects("auth.*", "operator.*", "token.*", "pair.*", "approval.*", "sale.voided",
          "sale.price_overridden", "sale.discount", "drawer.opened", "receipt.reprinted",
          "store.restored")
def audit(out: Projection, ev: JournalRecord) -> None:
    # the audit trail is for reading: the PIN's hash stays in the event (a restore needs it)
    d = {k: v for k, v in ev.data.items() if k not in _SECRETS}
    actor = d.get("operator") or d.get("approver") or d.get("id")
    out.add(TILL_AUDIT, [(out.store, out.till, out.epoch, ev.seq, ev.at, ev.kind,
                          actor if isinstance(actor, str) else None, pack(d))])


_SECRETS = frozenset({"pin_hash", "pin_salt"})


# -- for the reports and the live view of the tills ---------------------------------------------
@projects("member.purchase")
def member_purchase(out: Projection, ev: JournalRecord) -> None:
    """The sale's member, once (the first epoch that brought it), into the member sums."""
    d = ev.data

    def step(out: Projection, tx: HqTx) -> None:
        if not tx.execute("UPDATE sales SET member=? WHERE store=? AND sale_id=? AND member IS"
                          " NULL", (d["member"], out.store, d["sale_id"])):
            return
        sale = tx.one("SELECT business_day, at, kind, total FROM sales WHERE store=? AND"
                      " sale_id=?", (out.store, d["sale_id"]))
        assert sale is not None
        day = sale["business_day"]
        aggregates.deltas(tx).member_sale(out.store, day, aggregates.local_hour(sale["at"]),
                                          d["member"], sale["kind"], sale["total"])
        if sale["kind"] == "sale":
            tx.send("UPDATE hq_members SET first_day=COALESCE(first_day, ?), last_day=? WHERE"
                    " member=? AND (last_day IS NULL OR last_day < ?)",
                    (day, day, d["member"], day))

    out.then(step)


@projects("member.registered")
def member_registered(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    day = datetime.fromtimestamp(ev.at / 1e6, UTC).astimezone(aggregates.CHAIN_TZ)
    out.add(MEMBERS, [(d["member"], out.store, d["tier"], day.strftime("%Y%m%d"))])


@projects("member.tier")
def member_tier(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    out.then(lambda out, tx: tx.send("UPDATE hq_members SET tier=? WHERE member=?",
                                     (d["after"], d["member"])))


@projects("stock.received")
def cost_received(out: Projection, ev: JournalRecord) -> None:
    lines, moves = ev.data.get("lines", []), ev.data.get("moves", [])
    out.skus.update(ln["sku"] for ln in lines)
    out.then(lambda out, tx: aggregates.received(tx, out.store, lines, moves, out.costs(tx)))


@projects("sale.opened", "sale.resumed")
def sale_open(out: Projection, ev: JournalRecord) -> None:
    out.open_sale = (ev.data["sale_id"], ev.at)


@projects("sale.completed", "sale.voided", "sale.suspended")
def sale_closed(out: Projection, ev: JournalRecord) -> None:
    sale_id = ev.data["sale_id"]
    if out.open_sale is None:
        out.closed_sales.append(sale_id)
    elif out.open_sale[0] == sale_id:
        out.open_sale = (None, None)


@projects("alert.raised")
def till_alert(out: Projection, ev: JournalRecord) -> None:
    d = ev.data
    text = f"{d['device']}: {d['message']}" if d.get("device") else d["message"]
    out.alert = (text[:200], ev.at)


@steps("sale.voided")
def sale_voided(tx: HqTx, store: str, till: str, epoch: str, ev: JournalRecord) -> None:
    members.sale_voided(tx, ev.data["sale_id"])
