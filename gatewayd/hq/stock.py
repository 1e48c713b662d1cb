"""Stock per store at head office (issue 15): a store's on-hand is the sum of the stock moves
of every till of the store (their sales, receipts, counts, write-offs and transfers, each
projected once from the journal); transfers between stores and deliveries from head office
or a distribution centre are matched here.

    a till of A posts a transfer out to B  -> transfers row `in_transit` (no = A's TRO no)
    head office creates a delivery to B    -> transfers row `in_transit` (no = DLV-...)
    a till of B confirms what it counted   -> stock.transferred `in` with ref = that no:
                                              the row is `received`, with the counted lines;
                                              `hq.transfers` reports sent - received
    head office orders from a supplier     -> transfers row `in_transit` of kind purchase
                                              (gatewayd/hq/replenish.py), received with
                                              stock.received whose ref = that no
    a second confirmation of the same no   -> not counted at head office (its moves are
                                              left out of the store's on-hand) and an alert
                                              names it

A till asks for its store's figures with a `stock` request: the on-hand of each sku and the
highest journal seq of that till head office holds, so the till adds its own moves after it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from gatewayd.hq.db import HqTx, now_us
from protocol import repl
from protocol.codec import pack, unpack
from protocol.journal import JournalRecord


class TransferError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# -- projection of stock.transferred (called with the event's stock moves) -----------------------
def transferred(tx: HqTx, store: str, till: str, ev: JournalRecord) -> str | None:
    """Record a transfer out, or match a transfer in to what was sent. Returns an alert
    message for a confirmation of a transfer already received (its moves must not count)."""
    d = ev.data
    lines = [{"sku": ln["sku"], "qty": ln["qty"]} for ln in d["lines"]]
    if d["direction"] == "out":
        tx.execute(
            "INSERT INTO transfers(no, kind, from_store, to_store, sent_at, sent_till, lines,"
            " state) VALUES (?,?,?,?,?,?,?,'in_transit') ON CONFLICT DO NOTHING",
            (d["no"], "transfer", store, d["peer"], ev.at, till, pack(lines)))
        return None
    return received(tx, store, till, ev, lines, "transfer")


def received(tx: HqTx, store: str, till: str, ev: JournalRecord, lines: list[dict[str, Any]],
             what: str) -> str | None:
    """A till's receipt (`stock.transferred` in, or `stock.received` against a purchase
    order) whose ref names a transfer, delivery or order: it is received, with the counted
    lines. Returns an alert message when it was received already (the moves must not
    count)."""
    d = ev.data
    ref = d.get("ref")
    if not ref:
        return None  # a receipt from outside the chain: nothing to match
    row = tx.lock_for_update("SELECT kind, state, received_no, received_till, to_store, lines"
                             " FROM transfers WHERE no=?", (ref,))
    if row is None or (row["kind"] == "purchase") != (what == "purchase"):
        return None
    if row["state"] == "received" and row["received_no"] != d["no"]:
        tx.execute("UPDATE transfers SET confirmations = confirmations + 1 WHERE no=?", (ref,))
        return (f"{row['kind']} {ref} was confirmed again by {d['no']} at {store}/{till}; the "
                f"first confirmation was {row['received_no']} at {row['to_store']}/"
                f"{row['received_till']}: the second is not counted at head office")
    tx.execute("UPDATE transfers SET state='received', received_no=?, received_till=?,"
               " received_at=?, received=?, differing=?, confirmations=1 WHERE no=?",
               (d["no"], till, ev.at, pack(lines),
                pack(differing(unpack(bytes(row["lines"])), lines)), ref))
    return None


def differing(sent: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items counted differently from what was sent: [{sku, sent, received,
    difference}] by sku, as `transfer_view` has them (kept on the row, `differing`)."""
    counted: dict[str, int] = defaultdict(int)
    for ln in got:
        counted[ln["sku"]] += ln["qty"]
    sent_by: dict[str, int] = defaultdict(int)
    for ln in sent:
        sent_by[ln["sku"]] += ln["qty"]
    return [{"sku": s, "sent": sent_by.get(s, 0), "received": counted.get(s, 0),
             "difference": counted.get(s, 0) - sent_by.get(s, 0)}
            for s in sorted(set(sent_by) | set(counted))
            if counted.get(s, 0) != sent_by.get(s, 0)]


# -- the store's figures ---------------------------------------------------------------------------
def on_hand(tx: HqTx, store: str, skus: list[str] | None) -> dict[str, int]:
    # the on-hand the apply keeps with the moves (gatewayd/hq/aggregates.py): one row an
    # item, where summing a year of a store's moves read ~450k rows
    if skus:
        marks = ",".join("?" * len(skus))
        rows = tx.all(f"SELECT sku, on_hand FROM agg_stock WHERE store=? AND sku IN ({marks})",
                      (store, *skus))
    else:
        rows = tx.all("SELECT sku, on_hand FROM agg_stock WHERE store=?", (store,))
    return {r["sku"]: int(r["on_hand"]) for r in rows}


def in_transit(tx: HqTx, store: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in tx.all("SELECT lines FROM transfers WHERE to_store=? AND state='in_transit'",
                    (store,)):
        for ln in unpack(r["lines"]):
            out[ln["sku"]] += ln["qty"]
    return dict(out)


def answer(tx: HqTx, store: str, till: str, epoch: str,
           frame: repl.StockQuery) -> dict[str, Any]:
    """The `stock` request: the store's on-hand of the skus asked (all when none), as of now,
    and this till's journal seq head office holds (the figure includes its moves up to it);
    the transfers and deliveries on their way to the store."""
    row = tx.one("SELECT acked_seq FROM till_epochs WHERE store=? AND till=? AND epoch=?",
                 (store, till, epoch))
    out: dict[str, Any] = {
        "store": store, "as_of": now_us(), "till_seq": row["acked_seq"] if row else 0,
        "on_hand": on_hand(tx, store, frame.skus or None) if frame.on_hand else {},
        "incoming": transfers(tx, to_store=store, state="in_transit")}
    if frame.transfer is not None:
        found = tx.one("SELECT * FROM transfers WHERE no=?", (frame.transfer,))
        out["transfer"] = transfer_view(found) if found is not None else None
    return out


# -- hq.stock, hq.transfers, hq.delivery.create ------------------------------------------------
def store_stock(tx: HqTx, store: str, sku: str | None) -> dict[str, Any]:
    figures = on_hand(tx, store, [sku] if sku else None)
    transit = in_transit(tx, store)
    last = {r["sku"]: r["at"] for r in tx.all(
        "SELECT sku, MAX(at) AS at FROM stock_moves WHERE store=?"
        + (" AND sku=?" if sku else "") + " GROUP BY sku", (store, sku) if sku else (store,))}
    skus = sorted(set(figures) | ({s for s in transit if s == sku} if sku else set(transit)))
    return {"store": store, "items": [
        {"sku": s, "on_hand": figures.get(s, 0), "in_transit": transit.get(s, 0),
         "last_move_at": _ts(last.get(s))} for s in skus]}


def _ts(us: int | None) -> datetime | None:
    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


def transfer_view(r: dict[str, Any]) -> dict[str, Any]:
    sent = unpack(r["lines"])
    got = unpack(r["received"]) if r["received"] is not None else None
    lines = []
    counted: dict[str, int] = defaultdict(int)
    for ln in got or []:
        counted[ln["sku"]] += ln["qty"]
    sent_by: dict[str, int] = defaultdict(int)
    for ln in sent:
        sent_by[ln["sku"]] += ln["qty"]
    for s in sorted(set(sent_by) | set(counted)):
        line: dict[str, Any] = {"sku": s, "sent": sent_by.get(s, 0)}
        if got is not None:
            line["received"] = counted.get(s, 0)
            line["difference"] = counted.get(s, 0) - sent_by.get(s, 0)
        lines.append(line)
    return {"no": r["no"], "kind": r["kind"], "from_store": r["from_store"],
            "to_store": r["to_store"], "state": r["state"], "sent_at": _ts(r["sent_at"]),
            "received_no": r["received_no"], "received_till": r["received_till"],
            "received_at": _ts(r["received_at"]), "confirmations": r["confirmations"],
            "differences": sum(1 for ln in lines if ln.get("difference")), "lines": lines}


def transfers(tx: HqTx, store: str | None = None, to_store: str | None = None,
              state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    where, args = [], []
    if store is not None:
        where.append("(from_store=? OR to_store=?)")
        args += [store, store]
    if to_store is not None:
        where.append("to_store=?")
        args.append(to_store)
    if state is not None:
        where.append("state=?")
        args.append(state)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    rows = tx.all(f"SELECT * FROM transfers{cond} ORDER BY sent_at DESC LIMIT ?",
                  (*args, limit))
    return [transfer_view(r) for r in rows]


def create_delivery(tx: HqTx, from_store: str, to_store: str, lines: list[dict[str, Any]],
                    ref: str | None) -> dict[str, Any]:
    """配送: goods sent to a store by head office or a distribution centre; the store receives
    them as it receives a transfer (a pending receipt, confirmed with what it counted)."""
    now = now_us()
    day = datetime.fromtimestamp(now / 1e6, UTC).strftime("%Y%m%d")
    no = ref or f"DLV-{day}-{secrets.token_hex(3).upper()}"
    if tx.one("SELECT 1 FROM transfers WHERE no=?", (no,)):
        raise TransferError("conflict", f"a transfer or delivery {no} exists already")
    tx.execute(
        "INSERT INTO transfers(no, kind, from_store, to_store, sent_at, lines, state)"
        " VALUES (?,?,?,?,?,?,'in_transit')",
        (no, "delivery", from_store, to_store, now, pack(lines)))
    row = tx.one("SELECT * FROM transfers WHERE no=?", (no,))
    assert row is not None
    return transfer_view(row)
