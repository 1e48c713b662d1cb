"""Stock movements inside a store transaction: the one place that changes on-hand.

Every function here takes the caller's open ``Tx`` (``gatewayd.store.db``) and neither commits
nor awaits, so a sale's completion, a refund or a void moves its stock in the same
``BEGIN IMMEDIATE`` transaction as the sale itself: a completed sale and its stock are one fact.

Units: quantities in the item's qty units (thousandths of a piece, grams for kg items); unit
costs in fen per piece or per kg (like ``items.cost``); values in fen.

The journal is the source of truth: each call that moves stock appends ONE journal event whose
data has ``moves: [{sku, qty, on_hand}]`` (qty signed, on_hand after the move), and
``replay(events)`` recomputes on-hand from those events alone. ``STOCK_EVENTS`` names them.

    apply_moves(tx, kind, moves, *, event, data, ref) -> MoveResult
        moves: [Move(sku, qty, unit_cost=None, line_id=None)], qty signed.
        Updates ``stock`` (creating rows on first touch), inserts ``stock_moves``, journals
        ``event`` with ``data`` + ``moves``, tracks low-stock crossings (``low`` flag: one
        ``stock.low`` journal event and one alert per crossing; re-armed above the threshold).
        Refuses with ``NegativeStock`` when ``allow_negative`` is False and an outgoing move
        would leave on-hand below zero (nothing changed: the caller's transaction rolls back).
    receive_cost(on_hand, avg, qty, cost) -> new moving-average cost
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatewayd.sales.money import div_round
from gatewayd.sales.running_totals import add_stock_moves
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.store.db import JournalEvent, Tx

# journal kinds whose data carries `moves` (the replay reads exactly these)
STOCK_EVENTS = (
    "stock.sold",  # a sale completed (kind sale), a refund completed (refund), a post-void
    "stock.received",
    "stock.counted",
    "stock.transferred",
    "stock.written_off",
)
MOVE_KINDS = ("sale", "refund", "void", "receive", "count", "transfer_out", "transfer_in",
              "writeoff")


class StockError(ProtocolError):
    """A refused movement or document: a protocol error (``conflict``, ``invalid_params``,
    ``not_found``), so raised inside a sale hook it reaches the client as itself."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(code, message, details or {})  # type: ignore[arg-type]


class NegativeStock(StockError):
    def __init__(self, sku: str, on_hand: int, qty: int):
        super().__init__(
            "conflict",
            f"not enough stock of {sku}: {on_hand} on hand, {-qty} needed "
            "(inventory.allow_negative is off)",
            {"sku": sku, "on_hand": on_hand, "needed": -qty},
        )
        self.sku = sku


@dataclass(frozen=True)
class Move:
    sku: str
    qty: int  # signed
    unit_cost: int | None = None  # None: the item's current average cost
    line_id: str | None = None


@dataclass
class MoveResult:
    seq: int
    moves: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)  # low-stock crossings
    low_seqs: list[int] = field(default_factory=list)  # their journal seqs


def receive_cost(on_hand: int, avg: int | None, qty: int, cost: int) -> int:
    """Moving-average unit cost after receiving ``qty`` at ``cost`` fen per unit. Stock at or
    below zero (or never costed) carries no value, so the new cost is the received cost."""
    if avg is None or on_hand <= 0:
        return cost
    return div_round(on_hand * avg + qty * cost, on_hand + qty)


def move_value(qty: int, unit_cost: int | None) -> int:
    return 0 if unit_cost is None else div_round(qty * unit_cost, 1000)


def _row(tx: Tx, sku: str) -> tuple[int, int | None, int | None, int, bool]:
    row = tx.one("SELECT on_hand, avg_cost, threshold, low FROM stock WHERE sku = ?", (sku,))
    if row is None:
        return 0, None, None, 0, False
    return row[0], row[1], row[2], row[3], True


def _rows(tx: Tx, skus: list[str]) -> dict[str, list[Any]]:
    """Each sku's stock row (as `_row` gives it) and the cost its moves are valued at: the
    moving average, else the catalog's cost. Two queries however many skus."""
    marks = ",".join("?" * len(skus))
    found = {r[0]: [r[1], r[2], r[3], r[4], True] for r in tx.execute(
        f"SELECT sku, on_hand, avg_cost, threshold, low FROM stock WHERE sku IN ({marks})",
        skus)}
    state = {sku: found.get(sku) or [0, None, None, 0, False] for sku in skus}
    uncosted = [sku for sku, st in state.items() if st[1] is None]
    costs = dict(tx.execute(
        f"SELECT sku, cost FROM items WHERE sku IN ({','.join('?' * len(uncosted))})",
        uncosted).fetchall()) if uncosted else {}
    for sku, st in state.items():
        st.append(st[1] if st[1] is not None else costs.get(sku))
    return state


def apply_moves(
    tx: Tx,
    kind: str,
    moves: Sequence[Move],
    *,
    event: str,
    data: Mapping[str, Any],
    ref: str | None,
    allow_negative: bool = True,
    receive: bool = False,
    sale: bool = False,
) -> MoveResult:
    """Apply ``moves`` (in order; the same sku may appear twice) and journal one event.

    ``receive``: incoming moves with a unit cost update the moving average (receiving and
    transfers in). ``sale``: stamps ``last_sale_at`` (slow movers)."""
    if kind not in MOVE_KINDS:
        raise ValueError(f"unknown move kind {kind!r}")
    at = tx.at
    # sku -> [on_hand, avg, threshold, low, exists, cost the moves are valued at]
    state = _rows(tx, list(dict.fromkeys(m.sku for m in moves)))
    applied: list[tuple[Move, int, int | None, int, int | None]] = []
    for m in moves:
        st = state[m.sku]
        on_hand, avg = st[0], st[1]
        if m.qty < 0 and not allow_negative and on_hand + m.qty < 0:
            raise NegativeStock(m.sku, on_hand, m.qty)
        if receive and m.qty > 0 and m.unit_cost is not None:
            avg = receive_cost(on_hand, avg, m.qty, m.unit_cost)
            unit_cost = m.unit_cost
        else:
            unit_cost = m.unit_cost if m.unit_cost is not None else st[5]
        on_hand += m.qty
        st[0], st[1] = on_hand, avg
        if avg is not None:
            st[5] = avg
        applied.append((m, on_hand, unit_cost, move_value(m.qty, unit_cost), avg))

    wire = [{"sku": m.sku, "qty": m.qty, "on_hand": after} for m, after, _, _, _ in applied]
    # cost, value and average travel with the move in the journal: a till restored from
    # head office gets its stock and its cost of goods back without the catalog's costs
    seq = tx.append(event, {**data, "moves": [
        {**w, "unit_cost": uc, "value": val, "avg_cost": avg_after, "line_id": m.line_id}
        for w, (m, _, uc, val, avg_after) in zip(wire, applied, strict=True)]})
    tx.executemany(
        "INSERT INTO stock_moves(seq, at, sku, kind, qty, on_hand, unit_cost, value, ref,"
        " line_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(seq, at, m.sku, kind, m.qty, after, uc, val, ref, m.line_id)
         for m, after, uc, val, _ in applied],
    )
    add_stock_moves(tx, at, [(m.sku, kind, m.qty, val) for m, _, _, val, _ in applied])
    result = MoveResult(seq, wire)
    updates, inserts, crossed = [], [], []
    for sku, (on_hand, avg, threshold, low, exists, _cost) in state.items():
        new_low = low
        if threshold is not None:
            if on_hand <= threshold and not low:
                new_low = 1
            elif on_hand > threshold and low:
                new_low = 0  # re-armed: the next crossing raises again
        if exists:
            updates.append((on_hand, avg, new_low, at, sale, at, at, sku))
        else:
            inserts.append((sku, on_hand, avg, at, at if sale else None, at))
        if new_low and not low:
            crossed.append({"kind": "low_stock", "sku": sku, "on_hand": on_hand,
                            "threshold": threshold})
    if updates:
        tx.executemany(
            "UPDATE stock SET on_hand = ?, avg_cost = ?, low = ?, last_move_at = ?,"
            " last_sale_at = CASE WHEN ? THEN ? ELSE last_sale_at END, updated_at = ?"
            " WHERE sku = ?", updates)
    if inserts:
        tx.executemany(
            "INSERT INTO stock(sku, on_hand, avg_cost, low, last_move_at, last_sale_at,"
            " updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)", inserts)
    for alert in crossed:
        result.low_seqs.append(tx.append("stock.low", alert))
        result.alerts.append(alert)
    return result


def set_threshold(tx: Tx, sku: str, threshold: int | None) -> MoveResult:
    """Set (or clear, with None) an item's low-stock threshold. An item already at or below
    the new threshold crosses it now: one alert, like a move would raise."""
    on_hand, _avg, _thr, low, exists = _row(tx, sku)
    new_low = 1 if threshold is not None and on_hand <= threshold else 0
    if exists:
        tx.execute("UPDATE stock SET threshold = ?, low = ?, updated_at = ? WHERE sku = ?",
                   (threshold, new_low, tx.at, sku))
    else:
        tx.execute("INSERT INTO stock(sku, on_hand, threshold, low, updated_at)"
                   " VALUES (?, 0, ?, ?, ?)", (sku, threshold, new_low, tx.at))
    seq = tx.append("stock.threshold_set", {"sku": sku, "threshold": threshold})
    result = MoveResult(seq, [])
    if new_low and not low:
        alert = {"kind": "low_stock", "sku": sku, "on_hand": on_hand, "threshold": threshold}
        result.low_seqs.append(tx.append("stock.low", alert))
        result.alerts.append(alert)
    return result


def replay(events: Iterable[JournalEvent]) -> dict[str, int]:
    """On-hand per sku recomputed from the journal's stock events alone."""
    on_hand: dict[str, int] = {}
    for ev in events:
        if ev.kind in STOCK_EVENTS:
            for m in ev.data.get("moves", ()):
                on_hand[m["sku"]] = on_hand.get(m["sku"], 0) + m["qty"]
    return on_hand


def next_doc_no(tx: Tx, store: str, till: str, prefix: str) -> str:
    row = tx.one("SELECT last FROM stock_doc_counters WHERE prefix = ?", (prefix,))
    n = (row[0] if row else 0) + 1
    tx.execute(
        "INSERT INTO stock_doc_counters(prefix, last) VALUES (?, ?)"
        " ON CONFLICT(prefix) DO UPDATE SET last = excluded.last",
        (prefix, n),
    )
    return f"{store}-{till}-{prefix}-{n:06d}"
