"""The inventory service: stock documents, the sale participant, low-stock alerts (the
protocol methods: gatewayd/api/inventory.py).

    InventoryService(store, store_id, till, config, publish=...)
      .on_sale_complete(tx, sale)    sale participant: a completed sale moves its lines out, a
                                     completed refund moves its lines back in (at the cost
                                     they left at), all in the sale's own transaction
      .on_sale_void(tx, sale)        sale participant: a voided sale that had moved stock (a
                                     post-void) moves it all back; an open sale moved nothing
      .check_available(sku, qty)     with allow_negative off: conflict when `qty` more would
                                     leave the item below zero (sale.add)
      .receive / .count / .transfer / .writeoff(tx-level documents: protocol/methods/inventory.py)

Documents are numbered ``{store}-{till}-{PREFIX}-{n:06d}`` (RCV receive, CNT count sheet,
TRO transfer out, TRI transfer in, WOF write-off), one counter per prefix, allocated in the
document's transaction. Each posted document journals ONE event carrying its moves.

Alerts: a low-stock crossing is decided inside the moving transaction (the ``stock.low``
flag and a ``stock.low`` journal event); the bus event ``alerts.raised`` is published only
after that transaction committed. For our own documents we know when; for the sale hooks
(run inside the sale service's write) a small task waits for the store's writer to finish
and publishes the alerts whose journal event is really there.

Config ``[inventory]`` (config.py): ``allow_negative`` (default true: a till must not stop
selling because the stock count is wrong), ``slow_days`` (default 30, the inventory report).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from gatewayd.inventory.config import InventoryConfig
from gatewayd.inventory.stock import (
    Move,
    MoveResult,
    StockError,
    apply_moves,
    next_doc_no,
    set_threshold,
)
from gatewayd.ports import HqUnavailable
from protocol import repl
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.ports import HeadOffice, Publish
    from gatewayd.store.db import Store, Tx
    from gatewayd.store.reader import Reads

PREFIX = {"receive": "RCV", "count": "CNT", "transfer_out": "TRO", "transfer_in": "TRI",
          "writeoff": "WOF"}


def utc(us: int | None) -> dt.datetime | None:
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC)


def _sale_id(sale: Any) -> str:
    if isinstance(sale, str):
        return sale
    if isinstance(sale, Mapping):
        return sale["id"]
    return sale.id


def _cache_store_stock(tx: Tx, sku: str, on_hand: int, till_seq: int, as_of: int) -> None:
    tx.execute("INSERT INTO store_stock(sku, on_hand, till_seq, as_of) VALUES (?,?,?,?)"
               " ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand,"
               " till_seq = excluded.till_seq, as_of = excluded.as_of", (sku, on_hand, till_seq,
                                                                        as_of))


def _protocol(err: StockError) -> ProtocolError:
    return ProtocolError(err.code, err.message, err.details)


class Inventory:
    """The tx-level service: no trio, no bus. ``store``, ``till`` and config are all it needs,
    so the CLI and the benchmarks can drive it without a daemon."""

    def __init__(self, store: Store, store_id: str, till: str, config: InventoryConfig):
        self.store = store
        self.store_id, self.till = store_id, till
        self.config = config
        # low-stock alerts decided in transactions we do not commit ourselves (sale hooks)
        self._pending: list[tuple[int, dict[str, Any]]] = []
        self._pending_lock = threading.Lock()
        self.on_pending: Callable[[], None] | None = None

    # -- reads -----------------------------------------------------------------------------
    def stock_row(self, sku: str) -> dict[str, Any] | None:
        row = self.store.one(
            "SELECT i.sku, i.name, i.unit, i.cost, s.on_hand, s.avg_cost, s.threshold, s.low,"
            " s.last_move_at, s.last_sale_at FROM items i LEFT JOIN stock s ON s.sku = i.sku"
            " WHERE i.sku = ?",
            (sku,),
        )
        if row is None:
            return None
        return self._wire(row)

    @staticmethod
    def _wire(row: Any) -> dict[str, Any]:
        on_hand = row["on_hand"] or 0
        avg = row["avg_cost"]
        source: str | None = "average"
        if avg is None:
            avg, source = row["cost"], ("catalog" if row["cost"] is not None else None)
        threshold = row["threshold"]
        return {
            "sku": row["sku"],
            "name": row["name"],
            "unit": row["unit"],
            "on_hand": on_hand,
            "avg_cost": avg,
            "cost_source": source,
            "value": 0 if avg is None else (on_hand * avg + 500) // 1000,
            "threshold": threshold,
            "low": threshold is not None and on_hand <= threshold,
            "last_move_at": utc(row["last_move_at"]),
            "last_sale_at": utc(row["last_sale_at"]),
        }

    def low(self, reads: Reads | None = None) -> list[dict[str, Any]]:
        """Items at or below their threshold, the furthest below first: read along the
        index of `on_hand - threshold` (0019_history_indexes.sql), not a scan of all stock.
        The protocol runs it on a reader thread (`reads`, gatewayd/store/reader.py)."""
        rows = (reads or self.store).all(
            "SELECT i.sku, i.name, i.unit, i.cost, s.on_hand, s.avg_cost, s.threshold, s.low,"
            " s.last_move_at, s.last_sale_at FROM stock s JOIN items i ON i.sku = s.sku"
            " WHERE s.threshold IS NOT NULL AND s.on_hand - s.threshold <= 0"
            " ORDER BY s.on_hand - s.threshold, s.sku"
        )
        return [self._wire(r) for r in rows]

    def moves(self, sku: str, limit: int = 100, before: int | None = None,
              reads: Reads | None = None) -> list[dict]:
        """An item's moves, newest first in journal order, a page at a time: the page after
        the move `before` (by the (sku, seq) index, on a reader thread from the protocol: an
        item's history grows without bound)."""
        select = ("SELECT id, seq, at, kind, qty, on_hand, unit_cost, value, ref, line_id"
                  " FROM stock_moves WHERE sku = ?")
        params: tuple[str | int, ...] = (sku,)
        if before is None:
            sql = select
        else:
            # after `before` in (seq, id) order; gone since (retention), after the move
            # below it, by rowid
            sql = (select + " AND (seq, id) < ((SELECT seq FROM stock_moves WHERE id <= ?"
                   " ORDER BY id DESC LIMIT 1), ?)")
            params = (sku, before, before)
        rows = (reads or self.store).all(sql + " ORDER BY seq DESC, id DESC LIMIT ?",
                                         (*params, limit))
        return [{**dict(r), "at": utc(r["at"])} for r in rows]

    def doc(self, no: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM stock_docs WHERE no = ?", (no,))
        return None if row is None else self._doc_wire(row)

    @staticmethod
    def _doc_wire(row: Any) -> dict[str, Any]:
        out = dict(row)
        out["lines"] = unpack(row["lines"])
        for key in ("created_at", "updated_at", "posted_at"):
            out[key] = utc(out[key])
        return out

    # -- the sale hooks (inside the sale's transaction) ---------------------------------------
    def on_sale_complete(self, tx: Tx, sale: Any) -> MoveResult | None:
        """Hook for ``sales.on_complete`` and ``sales.on_refund`` (the wire sale, or its id):
        a sale moves its live lines out, a refund moves them back in at the unit cost they
        left at. Idempotent: a sale whose stock has moved is not moved again."""
        sale_id = _sale_id(sale)
        if isinstance(sale, Mapping) and "lines" in sale and "kind" in sale:
            kind, receipt_no = sale["kind"], sale.get("receipt_no")
            lines = [(ln["line_id"], ln["sku"], ln["qty"]) for ln in sale["lines"]
                     if not ln["voided"]]
        else:
            head = tx.one("SELECT kind, receipt_no FROM sales WHERE id = ?", (sale_id,))
            if head is None:
                return None
            kind, receipt_no = head["kind"], head["receipt_no"]
            lines = [tuple(r) for r in tx.execute(
                "SELECT id, sku, qty FROM sale_lines WHERE sale_id = ? AND voided = 0"
                " ORDER BY pos", (sale_id,))]
        if not lines or tx.one("SELECT 1 FROM stock_moves WHERE ref = ? LIMIT 1",
                               (sale_id,)) is not None:
            return None
        if kind == "refund":
            moves = []
            for line_id, sku, qty in lines:
                got = tx.one(
                    "SELECT m.unit_cost FROM sale_lines l JOIN stock_moves m"
                    " ON m.line_id = l.orig_line_id AND m.kind = 'sale' WHERE l.id = ? LIMIT 1",
                    (line_id,))
                moves.append(Move(sku, qty, got[0] if got else None, line_id))
        else:
            kind = "sale"
            moves = [Move(sku, -qty, None, line_id) for line_id, sku, qty in lines]
        result = apply_moves(
            tx, kind, moves, event="stock.sold",
            data={"kind": kind, "sale_id": sale_id, "receipt_no": receipt_no},
            ref=sale_id, allow_negative=self.config.allow_negative or kind == "refund",
            sale=kind == "sale",
        )
        self._defer(result)
        return result

    def on_sale_void(self, tx: Tx, sale: Any) -> MoveResult | None:
        """Reverse whatever the sale moved (nothing, for a sale voided before completion)."""
        sale_id = _sale_id(sale)
        rows = tx.execute(
            "SELECT sku, line_id, SUM(qty) AS qty, MAX(unit_cost) AS unit_cost FROM stock_moves"
            " WHERE ref = ? GROUP BY sku, line_id HAVING SUM(qty) != 0 ORDER BY MIN(id)",
            (sale_id,),
        ).fetchall()
        if not rows:
            return None
        moves = [Move(r["sku"], -r["qty"], r["unit_cost"], r["line_id"]) for r in rows]
        result = apply_moves(tx, "void", moves, event="stock.sold",
                             data={"kind": "void", "sale_id": sale_id}, ref=sale_id)
        self._defer(result)
        return result

    def check_available(self, sku: str, qty: int, in_sale: int = 0) -> None:
        """sale.add with allow_negative off: refuse when on-hand cannot cover ``in_sale`` (the
        sale's other lines of the item) plus ``qty``. A no-op when negative stock is allowed."""
        if self.config.allow_negative:
            return
        row = self.store.one("SELECT on_hand FROM stock WHERE sku = ?", (sku,))
        on_hand = row[0] if row else 0
        if on_hand - in_sale - qty < 0:
            raise ProtocolError(
                "conflict",
                f"not enough stock of {sku}: {on_hand} on hand, {in_sale + qty} needed "
                "(inventory.allow_negative is off)",
                {"sku": sku, "on_hand": on_hand, "needed": in_sale + qty},
            )

    def _defer(self, result: MoveResult) -> None:
        if not result.alerts:
            return
        with self._pending_lock:
            self._pending.extend(zip(result.low_seqs, result.alerts, strict=True))
        if self.on_pending is not None:
            self.on_pending()

    def committed_alerts(self) -> list[dict[str, Any]]:
        """Pending alerts whose journal event is committed; drop the ones rolled back.
        Call only when no write that could still commit them is in flight."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
        out = []
        for seq, alert in pending:
            row = self.store.one("SELECT kind, data FROM journal WHERE seq = ?", (seq,))
            if row is not None and row["kind"] == "stock.low" and unpack(row["data"]) == alert:
                out.append(alert)
        return out

    # -- documents (each one transaction) ---------------------------------------------------
    def _known(self, tx: Tx, skus: Sequence[str]) -> None:
        errors = []
        for i, sku in enumerate(skus):
            if tx.one("SELECT 1 FROM items WHERE sku = ?", (sku,)) is None:
                errors.append({"line": i, "sku": sku, "error": f"unknown sku {sku!r}"})
        if errors:
            raise StockError("invalid_params",
                             f"{len(errors)} line(s) name unknown items; nothing was changed",
                             {"errors": errors})

    def _new_doc(self, tx: Tx, kind: str, lines: list[dict], *, state: str = "posted",
                 operator: str | None = None, **cols: Any) -> str:
        no = next_doc_no(tx, self.store_id, self.till, PREFIX[kind])
        tx.execute(
            "INSERT INTO stock_docs(no, kind, state, peer, supplier, reason, ref, note, lines,"
            " operator, created_at, updated_at, posted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (no, kind, state, cols.get("peer"), cols.get("supplier"), cols.get("reason"),
             cols.get("ref"), cols.get("note"), pack(lines), operator, tx.at, tx.at,
             tx.at if state == "posted" else None),
        )
        return no

    def receive(self, tx: Tx, lines: list[dict], *, supplier: str | None = None,
                ref: str | None = None, note: str | None = None,
                operator: str | None = None) -> dict[str, Any]:
        self._known(tx, [ln["sku"] for ln in lines])
        no = self._new_doc(tx, "receive", lines, operator=operator, supplier=supplier, ref=ref,
                           note=note)
        result = apply_moves(
            tx, "receive", [Move(ln["sku"], ln["qty"], ln["cost"]) for ln in lines],
            event="stock.received",
            data={"no": no, "supplier": supplier, "ref": ref, "operator": operator,
                  "lines": lines},
            ref=no, receive=True,
        )
        return self._done(no, "receive", result)

    def transfer(self, tx: Tx, direction: str, peer: str, lines: list[dict], *,
                 ref: str | None = None, note: str | None = None,
                 operator: str | None = None) -> dict[str, Any]:
        self._known(tx, [ln["sku"] for ln in lines])
        kind = "transfer_out" if direction == "out" else "transfer_in"
        no = self._new_doc(tx, kind, lines, operator=operator, peer=peer, ref=ref, note=note)
        sign = -1 if direction == "out" else 1
        result = apply_moves(
            tx, kind, [Move(ln["sku"], sign * ln["qty"], ln.get("cost")) for ln in lines],
            event="stock.transferred",
            data={"no": no, "direction": direction, "peer": peer, "ref": ref,
                  "operator": operator, "lines": lines},
            ref=no, receive=direction == "in", allow_negative=self.config.allow_negative,
        )
        return self._done(no, kind, result)

    def writeoff(self, tx: Tx, lines: list[dict], reason: str, *, note: str | None = None,
                 operator: str | None = None) -> dict[str, Any]:
        self._known(tx, [ln["sku"] for ln in lines])
        no = self._new_doc(tx, "writeoff", lines, operator=operator, reason=reason, note=note)
        result = apply_moves(
            tx, "writeoff", [Move(ln["sku"], -ln["qty"]) for ln in lines],
            event="stock.written_off",
            data={"no": no, "reason": reason, "operator": operator, "lines": lines},
            ref=no, allow_negative=self.config.allow_negative,
        )
        return self._done(no, "writeoff", result)

    def count(self, tx: Tx, no: str | None, lines: list[dict], *, post: bool = False,
              note: str | None = None, operator: str | None = None,
              approver: str | None = None,
              store: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create or update a count sheet, and post it when ``post``. A posted sheet is final:
        anything more is a conflict (and the transaction changes nothing). `store`: on an
        enrolled till, head office's answer for the sheet's items ({on_hand, till_seq}): the
        count is the store's, so the variance is against the store's figure (head office's
        plus this till's moves it did not hold), and head office's sum of every till's moves
        becomes what was counted."""
        self._known(tx, [ln["sku"] for ln in lines])
        if no is None:
            if not lines:
                raise StockError("invalid_params", "a new count sheet needs lines")
            sheet = {ln["sku"]: ln["counted"] for ln in lines}
            no = self._new_doc(tx, "count", [{"sku": s, "counted": c} for s, c in sheet.items()],
                               state="draft", operator=operator, note=note)
        else:
            row = tx.one("SELECT kind, state, lines FROM stock_docs WHERE no = ?", (no,))
            if row is None or row["kind"] != "count":
                raise StockError("not_found", f"no count sheet {no}", {"no": no})
            if row["state"] == "posted":
                raise StockError("conflict", f"count sheet {no} is already posted; nothing "
                                 "was changed", {"no": no, "state": "posted"})
            sheet = {ln["sku"]: ln["counted"] for ln in unpack(row["lines"])}
            sheet.update({ln["sku"]: ln["counted"] for ln in lines})
        saved = [{"sku": s, "counted": c} for s, c in sheet.items()]
        if lines or note is not None:
            tx.execute("UPDATE stock_docs SET lines = ?, note = COALESCE(?, note),"
                       " updated_at = ? WHERE no = ?", (pack(saved), note, tx.at, no))
            tx.append("stock.count_saved", {"no": no, "lines": [
                {"sku": ln["sku"], "counted": ln["counted"]} for ln in lines],
                "operator": operator})
        if not post:
            return {"no": no, "kind": "count", "state": "draft", "lines": saved}
        posted = []
        moves = []
        for ln in saved:
            if store is not None:
                expected = store["on_hand"].get(ln["sku"], 0) + tx.scalar(
                    "SELECT COALESCE(SUM(qty), 0) FROM stock_moves WHERE sku = ? AND seq > ?",
                    (ln["sku"], store["till_seq"]))
            else:
                got = tx.one("SELECT on_hand FROM stock WHERE sku = ?", (ln["sku"],))
                expected = got[0] if got else 0
            variance = ln["counted"] - expected
            posted.append({**ln, "expected": expected, "variance": variance})
            if variance:
                moves.append(Move(ln["sku"], variance))
        tx.execute("UPDATE stock_docs SET state = 'posted', lines = ?, approver = ?,"
                   " posted_at = ?, updated_at = ? WHERE no = ?",
                   (pack(posted), approver, tx.at, tx.at, no))
        result = apply_moves(
            tx, "count", moves, event="stock.counted",
            data={"no": no, "lines": posted, "operator": operator, "approver": approver},
            ref=no,
        )
        out = self._done(no, "count", result)
        out["lines"] = posted
        return out

    def threshold(self, tx: Tx, sku: str, threshold: int | None) -> dict[str, Any]:
        self._known(tx, [sku])
        result = set_threshold(tx, sku, threshold)
        return {"sku": sku, "threshold": threshold, "seq": result.seq, "alerts": result.alerts}

    @staticmethod
    def _done(no: str, kind: str, result: MoveResult) -> dict[str, Any]:
        return {"no": no, "kind": kind, "state": "posted", "seq": result.seq,
                "moves": result.moves, "alerts": result.alerts}


class InventoryService(Inventory):
    """The daemon's inventory: the tx-level service plus the bus and the alert task. A sale
    participant (gatewayd/sales/parts.py): stock leaves with a completed sale, comes back
    with a void or a refund; `check_available` is the sale policy's stock guard."""

    name = "inventory"

    def __init__(self, store: Store, store_id: str, till: str, config: InventoryConfig, *,
                 publish: Publish, hq: HeadOffice | None = None):
        super().__init__(store, store_id, till, config)
        self.emit = publish
        self.hq = hq  # an enrolled till: the store's figures and transfers from head office
        self._wake: trio.Event | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self.on_pending = self._kick

    def on_complete(self, tx: Tx, wire: dict[str, Any]) -> None:
        self.on_sale_complete(tx, wire)

    def on_refund(self, tx: Tx, wire: dict[str, Any]) -> None:
        self.on_sale_complete(tx, wire)  # a refund sale's lines come back in

    def on_void(self, tx: Tx, wire: dict[str, Any]) -> None:
        self.on_sale_void(tx, wire)

    # -- the store, not the till (head office's figures) ------------------------------------
    async def _ask(self, **query: Any) -> dict[str, Any] | None:
        """Head office's answer to a `stock` request; None when it cannot be asked."""
        if self.hq is None or not self.hq.online:
            return None
        try:
            reply = await self.hq.request(repl.StockQuery(id=str(uuid.uuid4()), **query))
        except HqUnavailable:
            return None
        return reply.result if reply.ok else None

    async def store_view(self, sku: str) -> dict[str, Any] | None:
        """The store's on-hand of `sku`: head office's figure as of its last answer (asked
        now when the link is up) plus this till's moves head office did not hold then, and
        how old that figure is. None on a till on its own."""
        if self.hq is None or not self.hq.enrolled:
            return None
        got = await self._ask(skus=[sku])
        if got is not None:
            figure = got["on_hand"].get(sku, 0)
            await self.store.write(partial(_cache_store_stock, sku=sku, on_hand=figure,
                                           till_seq=got["till_seq"], as_of=got["as_of"]))
        row = self.store.one("SELECT on_hand, till_seq, as_of FROM store_stock WHERE sku = ?",
                             (sku,))
        if row is None:
            return {"on_hand": None, "hq_on_hand": None, "own_moves": None, "as_of": None,
                    "age_s": None}
        own = self.store.scalar("SELECT COALESCE(SUM(qty), 0) FROM stock_moves WHERE sku = ?"
                                " AND seq > ?", (sku, row["till_seq"]))
        return {"on_hand": row["on_hand"] + own, "hq_on_hand": row["on_hand"], "own_moves": own,
                "as_of": utc(row["as_of"]),
                "age_s": round(max(0, time.time() * 1e6 - row["as_of"]) / 1e6, 3)}

    async def store_figures(self, skus: list[str]) -> dict[str, Any] | None:
        """Head office's figures of the store for `skus` ({on_hand, till_seq}), to post a
        count against; None on a till on its own. An enrolled till that cannot ask refuses:
        a count posted against one till's figure would set the store's stock wrong."""
        if self.hq is None or not self.hq.enrolled:
            return None
        got = await self._ask(skus=skus)
        if got is None:
            raise ProtocolError("device_offline", "a count is posted against the store's "
                                "figure, and head office cannot be reached now: save the "
                                "sheet and post it when the link is back")
        return {"on_hand": got["on_hand"], "till_seq": got["till_seq"]}

    async def incoming(self) -> list[dict[str, Any]]:
        """Transfers and deliveries on their way to this store (head office's list; none on
        a till on its own: no chain sends it goods)."""
        if self.hq is None or not self.hq.enrolled:
            return []
        got = await self._ask(on_hand=False)
        if got is None:
            raise ProtocolError("device_offline", "head office cannot be reached now; the "
                                "pending receipts are listed when it can")
        return got["incoming"]

    async def check_receipt(self, ref: str, doc_kind: str) -> None:
        """Before a transfer in (or a receipt) with `ref`: not received here already, and
        (when head office can be asked) sent to this store and not received by another till.
        A receipt's ref is checked only when head office knows it (a purchase order): a
        supplier's own delivery note may come twice."""
        got = await self._ask(on_hand=False, transfer=ref)
        found = got.get("transfer") if got is not None else None
        mine = self.store.one("SELECT no FROM stock_docs WHERE kind = ? AND ref = ?",
                              (doc_kind, ref))
        if mine is not None and (doc_kind == "transfer_in" or found is not None):
            raise ProtocolError("conflict", f"{ref} was already received here as "
                                f"{mine['no']}", {"received_no": mine["no"]})
        if found is None:
            return  # not a transfer head office knows (or offline): the till's word stands
        if found["to_store"] != self.store_id:
            raise ProtocolError("conflict", f"{found['kind']} {ref} goes to store "
                                f"{found['to_store']}, not {self.store_id}")
        if found["state"] == "received":
            raise ProtocolError(
                "conflict", f"{found['kind']} {ref} was already received as "
                f"{found['received_no']} at {found['to_store']}/{found['received_till']}",
                {"received_no": found["received_no"], "till": found["received_till"]})

    def publish(self, alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            self.emit("alerts.raised", alert)

    async def write(self, fn: Callable[[Tx], dict[str, Any]]) -> dict[str, Any]:
        try:
            result, _ = await self.store.write(fn)
        except StockError as err:
            raise _protocol(err) from None
        self.publish(result.pop("alerts", []))
        return result

    def _kick(self) -> None:
        # called from the writer thread inside a transaction: wake the alert task without
        # waiting for the event loop (the write lock is held)
        if self._token is None or self._wake is None:
            return
        try:
            self._token.run_sync_soon(self._wake.set)
        except trio.RunFinishedError:
            pass

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Publish the sale hooks' low-stock alerts once their transaction has committed."""
        self._token = trio.lowlevel.current_trio_token()
        self._wake = trio.Event()
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            await trio.sleep(0)
            # The writer runs one transaction at a time: once this empty one has had its
            # turn, the transaction that decided the alerts has committed or rolled back.
            await self.store.write(lambda tx: None)
            self.publish(self.committed_alerts())

