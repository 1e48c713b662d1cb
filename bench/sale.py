"""A complete sale end to end through the protocol vs raw sqlite3 writing the same rows.

Subject: a daemon in-process on a temp store, one cashier client over the real WebSocket:
five `sale.add {barcode}` and a cash `sale.tender` that completes the sale (receipt number,
receipt job queued in the completing transaction). Timed per sale and per step.

Baseline, in the same run on the same file system: a raw sqlite3 connection with the store's
pragmas and schema (the same migrations) doing the same transactions with the same rows:
per add one BEGIN IMMEDIATE with the sale row (first add), the line, its priced values, the
totals and a journal event; the tender with the tender row, receipt counter, completion,
print job, the five stock moves and stock rows, and four journal events. Target: sale
overhead <= 3x; basket operations (set_qty, discount, void_line) p99 < 2 ms.

Also in the same rounds, the floor (`Floor`): the same client calls through the same daemon,
whose sale.add and sale.tender handlers run the baseline's transactions through the store's
writer thread and answer with sales of the real size. It splits the ratio into what the
protocol and the writer thread cost and what the sale logic costs on top.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from bench.harness import Row, Timing, open_shift
from protocol.codec import pack

Journal = Callable[[str, dict], int]  # (kind, data) -> seq
SALES = int(os.environ.get("BENCH_SALES", "200"))
ROUNDS = 10
BASKET_SALES = 100  # 1000 set_qty, 1000 discounts and 500 voids
ITEMS = [
    {"sku": f"10{i}", "name": f"商品 {i}", "price": 150 + 90 * i, "tax_rate_bp": 1300,
     "barcodes": [code]}
    for i, code in enumerate(
        ["6901234567892", "6921168509256", "4006381333931", "5901234123457", "9780201379624"])
]


def _raw(path: Path) -> sqlite3.Connection:
    from gatewayd.store.db import PRAGMAS
    from gatewayd.store.migrations import migrate

    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    migrate(conn)
    return conn


def add_rows(c: Any, journal: Journal, sale_id: str, pos: int, item: dict,
             lines: list[str]) -> None:
    """One scan's rows, as the service writes them (without BEGIN and COMMIT)."""
    if pos == 0:
        c.execute("INSERT INTO sales(id, till, state, operator, opened_at, updated_at) "
                  "VALUES (?, 'T01', 'open', '1001', 0, 0)", (sale_id,))
        journal("sale.opened", {"sale_id": sale_id})
    line_id = str(uuid.uuid4())
    lines.append(line_id)
    c.execute("INSERT INTO sale_lines(id, sale_id, pos, sku, name, unit, list_price, "
              "tax_rate_bp, barcode, source, qty) VALUES (?,?,?,?,?,?,?,?,?,?,1000)",
              (line_id, sale_id, pos, item["sku"], item["name"], "pc", item["price"], 1300,
               item["barcodes"][0], "barcode"))
    # the service writes only the lines whose priced values changed: here the new one
    c.execute("UPDATE sale_lines SET amount=?, discount=0, net=?, tax=?, gross=?, "
              "promos=?, explain=? WHERE id=?",
              (item["price"], item["price"], 10, item["price"], pack([]), pack([]), line_id))
    c.execute("UPDATE sales SET subtotal=?, total=?, tax_total=?, tax=?, due=?, "
              "version=version+1, updated_at=0 WHERE id=?",
              (1000, 1000, 100, pack([{"rate_bp": 1300}]), 1000, sale_id))
    journal("sale.line_added", {"sale_id": sale_id, "line_id": line_id, "sku": item["sku"],
                                "qty": 1000})


def tender_rows(c: Any, journal: Journal, sale_id: str, lines: list[str],
                day: str = "20250301") -> None:
    """The completing cash tender's rows (without BEGIN and COMMIT)."""
    c.execute("INSERT INTO sale_tenders(id, sale_id, pos, method, amount, at) "
              "VALUES (?,?,0,'cash',5000,0)", (str(uuid.uuid4()), sale_id))
    c.execute("UPDATE sales SET state='tendering', paid=5000, change=100, "
              "version=version+1 WHERE id=?", (sale_id,))
    journal("sale.tendered", {"sale_id": sale_id, "amount": 5000})
    last = c.execute("INSERT INTO receipt_counters(business_day, last) VALUES (?, 1) ON "
                     "CONFLICT(business_day) DO UPDATE SET last=last+1 RETURNING last",
                     (day,)).fetchone()[0]
    receipt_no = f"S001-T01-{day}-{last:04d}"
    c.execute("UPDATE sales SET state='completed', receipt_no=?, business_day=?, receipt_n=?,"
              " completed_at=0 WHERE id=?", (receipt_no, day, last, sale_id))
    c.execute("UPDATE sale_tenders SET business_day=? WHERE sale_id=?", (day, sale_id))
    journal("sale.completed", {"sale_id": sale_id, "receipt_no": receipt_no})
    c.execute("INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at,"
              " updated_at) VALUES (?, 'printer', 'receipt', ?, ?, 'queued', 0, 0)",
              (str(uuid.uuid4()), receipt_no, pack([{"type": "text", "text": "x"}] * 40)))
    journal("print.queued", {"ref": receipt_no})
    seq = journal("stock.sold", {"ref": sale_id, "moves": [
        {"sku": it["sku"], "qty": -1000, "on_hand": 0} for it in ITEMS]})
    c.executemany("INSERT INTO stock_moves(seq, at, sku, kind, qty, on_hand, unit_cost, "
                  "value, ref, line_id) VALUES (?, 0, ?, 'sale', -1000, 0, NULL, 0, ?, ?)",
                  [(seq, it["sku"], sale_id, lid) for it, lid in zip(ITEMS, lines,
                                                                     strict=True)])
    c.executemany("INSERT INTO stock(sku, on_hand, last_move_at, last_sale_at, updated_at) "
                  "VALUES (?, -1000, 0, 0, 0) ON CONFLICT(sku) DO UPDATE SET "
                  "on_hand=on_hand-1000, last_move_at=0, last_sale_at=0, updated_at=0",
                  [(it["sku"],) for it in ITEMS])


class RawSale:
    """The same rows as the service writes, by hand, one transaction per step."""

    def __init__(self, conn: sqlite3.Connection):
        self.c = conn
        self.seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]

    def _journal(self, kind: str, data: dict) -> int:
        self.seq += 1
        self.c.execute("INSERT INTO journal(seq, at, kind, data) VALUES (?,?,?,?)",
                       (self.seq, 0, kind, pack(data)))
        return self.seq

    def add(self, sale_id: str, pos: int, item: dict, lines: list[str]) -> None:
        self.c.execute("BEGIN IMMEDIATE")
        add_rows(self.c, self._journal, sale_id, pos, item, lines)
        self.c.execute("COMMIT")

    def tender(self, sale_id: str, lines: list[str]) -> None:
        self.c.execute("BEGIN IMMEDIATE")
        tender_rows(self.c, self._journal, sale_id, lines)
        self.c.execute("COMMIT")


class Floor:
    """`sale.add` and `sale.tender` with the sale logic cut out: each call, validated and
    dispatched as ever, runs the raw baseline's transaction through the store's writer
    thread and answers with a sale of the size the service answers at that step. What any
    daemon of this design (a WebSocket call and a writer-thread commit per step) pays here
    before its first line of sale logic."""

    DAY = "20250302"  # its receipts are counted apart from the daemon's and the baseline's

    def __init__(self, app: Any, answers: list[dict]):
        self.app, self.answers = app, answers  # the service's answers to one sale's 6 calls
        self.sale_id, self.lines = "", []
        self.by_barcode = {it["barcodes"][0]: it for it in ITEMS}
        self._other = {"sale.add": self.add, "sale.tender": self.tender}

    async def add(self, ctx: Any, p: Any) -> dict:
        if not self.lines:
            self.sale_id = str(uuid.uuid4())
        sale_id, lines, item = self.sale_id, self.lines, self.by_barcode[p.barcode]
        pos = len(lines)
        await self.app.store.write(
            lambda tx: add_rows(tx.conn, tx.append, sale_id, pos, item, lines))
        return self.answers[pos]

    async def tender(self, ctx: Any, p: Any) -> dict:
        sale_id, lines = self.sale_id, self.lines
        await self.app.store.write(
            lambda tx: tender_rows(tx.conn, tx.append, sale_id, lines, self.DAY))
        self.lines = []
        return self.answers[-1]

    def swap(self) -> None:
        """Put these handlers in place of the service's, or the service's back."""
        handlers = self.app.registry.handlers
        for name, other in self._other.items():
            spec, current = handlers[name]
            handlers[name] = (spec, other)
            self._other[name] = current


class Steps:
    """Timings of whole sales and of their steps, pooled over the rounds."""

    def __init__(self) -> None:
        self.sale: list[float] = []
        self.add: list[float] = []
        self.tender: list[float] = []

    def timings(self) -> tuple[Timing, Timing, Timing]:
        return Timing.of(self.sale), Timing.of(self.add), Timing.of(self.tender)


def _raw_sales(raw: RawSale, n: int, out: Steps) -> None:
    clock = time.perf_counter
    for _ in range(n):
        sale_id, lines = str(uuid.uuid4()), []
        t0 = clock()
        for pos, item in enumerate(ITEMS):
            a = clock()
            raw.add(sale_id, pos, item, lines)
            out.add.append(clock() - a)
        a = clock()
        raw.tender(sale_id, lines)
        out.tender.append(clock() - a)
        out.sale.append(clock() - t0)


async def _protocol_sales(gw, n: int, out: Steps) -> None:
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        for item in ITEMS:
            a = clock()
            await gw.call("sale.add", {"barcode": item["barcodes"][0]})
            out.add.append(clock() - a)
        a = clock()
        done = await gw.call("sale.tender", {"method": "cash", "amount": 5000})
        out.tender.append(clock() - a)
        out.sale.append(clock() - t0)
        assert done["state"] == "completed"


async def _service_sales(svc, n: int, out: Steps) -> None:
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        for item in ITEMS:
            await svc.add("1001", barcode=item["barcodes"][0])
        await svc.tender("1001", "cash", 5000)
        out.sale.append(clock() - t0)


async def _measure(root: Path, n: int) -> dict:
    """Rounds alternate raw sqlite3, the protocol and the service, so drift on a shared
    machine hits all three alike."""
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    raw = RawSale(_raw(root / "raw.db"))
    _raw_sales(raw, 10, Steps())  # warm-up
    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"},
                                 "data_dir": str(root / "daemon"),
                                 "sale": {"printer": "printer"}})
    app = App(cfg)
    clock = time.perf_counter
    base, proto, service, floored = Steps(), Steps(), Steps(), Steps()
    basket: dict[str, list[float]] = {"sale.set_qty": [], "sale.discount": [],
                                      "sale.void_line": [], "system.info": []}
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run)
        app.store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
        (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
        url = f"ws://127.0.0.1:{app.port}/ws"
        async with connect(url, token, reconnect=False) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            await _protocol_sales(gw, 10, Steps())  # warm-up
            answers = [await gw.call("sale.add", {"barcode": it["barcodes"][0]})
                       for it in ITEMS]
            answers.append(await gw.call("sale.tender", {"method": "cash", "amount": 5000}))
            floor = Floor(app, answers)
            for _ in range(ROUNDS):
                _raw_sales(raw, n // ROUNDS, base)
                await _protocol_sales(gw, n // ROUNDS, proto)
                await _service_sales(app.sales, n // ROUNDS, service)
                floor.swap()
                try:
                    await _protocol_sales(gw, n // ROUNDS, floored)
                finally:
                    floor.swap()
            # the protocol round trip alone: a call that does no store work
            for _ in range(300):
                a = clock()
                await gw.call("system.info")
                basket["system.info"].append(clock() - a)
            # basket operations on an open sale of five lines: per sale ten set_qty and ten
            # discounts, then each line voided and scanned again, then paid (a fresh sale
            # each time, so voided lines do not pile up in one basket; 500 voids, so that
            # their p99 is not the second-slowest of a hundred)
            for _ in range(BASKET_SALES):
                sale = None
                for item in ITEMS:
                    sale = await gw.call("sale.add", {"barcode": item["barcodes"][0]})
                line_ids = [ln["line_id"] for ln in sale["lines"]]
                for k in range(10):
                    lid = line_ids[k % len(line_ids)]
                    for name, params in (
                            ("sale.set_qty", {"line_id": lid, "qty": 2000 + 1000 * (k % 3)}),
                            ("sale.discount", {"line_id": lid, "percent": 100 * (k % 5),
                                               "reason": "bench"})):
                        a = clock()
                        await gw.call(name, params)
                        basket[name].append(clock() - a)
                for lid, item in zip(line_ids, ITEMS, strict=True):
                    a = clock()
                    await gw.call("sale.void_line", {"line_id": lid})
                    basket["sale.void_line"].append(clock() - a)
                    await gw.call("sale.add", {"barcode": item["barcodes"][0]})
                await gw.call("sale.tender", {"method": "cash", "amount": 50000})
        jobs = app.store.one("SELECT COUNT(*) FROM print_jobs WHERE kind='receipt' AND "
                             "ref NOT LIKE ?", (f"%-{Floor.DAY}-%",))[0]
        nursery.cancel_scope.cancel()
    app.close()
    raw.c.close()
    return {"base": base, "proto": proto, "service": service, "floor": floored, "jobs": jobs,
            "basket": {k: Timing.of(v) for k, v in basket.items()}}


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-sale-", dir=base) as tmp:
        got = trio.run(_measure, Path(tmp), SALES)
    raw_sale, raw_add, raw_tender = got["base"].timings()
    sale, add, tender = got["proto"].timings()
    floor_sale = got["floor"].timings()[0]
    basket = got["basket"]
    rate, raw_rate = 1 / sale.mean, 1 / raw_sale.mean
    rows = [
        Row("sale.complete", sale, raw_sale, target=3.0,
            note=f"{SALES} sales of 5 scans + cash: {rate:.0f} sales/s through the protocol "
                 f"vs {raw_rate:.0f}/s raw sqlite3 (same rows, same pragmas, {ROUNDS} "
                 f"alternating rounds); {got['jobs']} receipt jobs queued"),
        Row("sale.step.add", add, raw_add, target=3.0),
        Row("sale.step.tender", tender, raw_tender, target=3.0,
            note="the cash tender that completes: receipt no., print job, stock, 4 events"),
        Row("sale.complete.in_process", Timing.of(got["service"].sale), raw_sale, target=3.0,
            note="the same sales called on SaleService directly (no WebSocket)"),
        Row("sale.floor", floor_sale, raw_sale,
            note="the same calls and rows through the protocol and the writer thread, no sale "
                 "logic (Floor): what the design costs before the first line of it"),
        Row("sale.complete.vs_floor", sale, floor_sale,
            note="the daemon's sale against that floor: what the sale logic costs"),
    ]
    rt = basket.pop("system.info")
    rows.append(Row("call.system_info", value=rt.p50, value_p99=rt.p99, unit="s",
                    note="the protocol round trip alone (6 per sale)"))
    for name, t in basket.items():
        rows.append(Row(f"basket.{name.removeprefix('sale.')}", value=t.p50, value_p99=t.p99,
                        unit="s", limit=2e-3,
                        note=f"p99 against the 2 ms target, over {t.n} calls on a sale of "
                             "five lines"))
    return rows


if __name__ == "__main__":
    from bench.harness import print_table

    print_table(run())
