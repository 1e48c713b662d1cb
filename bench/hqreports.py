"""Head-office reports at chain scale (issue 16 item 4): a year of a 50-store chain seeded
straight into HQ's tables, then every report timed for a month of one store and for the
year of the whole chain, on SQLite and on PostgreSQL.

The seed writes what the replication apply writes (gatewayd/hq/projections.py): `sales`,
`sale_lines`, `sale_tenders`, `hq_members`, `item_costs`, `stock_moves`, `transfers`, and the
report aggregates summed by the apply's own `aggregates.Deltas` (written by its `flush`, in
the seeding transaction), in bulk: `executemany` on SQLite, `COPY` on PostgreSQL.
Sales are spread over the opening hours with lunch and evening peaks, 1-7 lines each, 40 %
with a member, 2 % refunded, paid by cash, Alipay, WeChat or card.
Stock, as the tills journal it: an opening count (`stock.counted`) of every item; each sale
and refund line's move (`stock.sold`); a weekly restock of every item below a week of its
sales, up to three weeks' (a delivery from the distribution centre DC01, received with
`stock.transferred` in, and for one item in five a purchase order from SUP01 received with
`stock.received`, at the item's cost, so its moving average stays that cost); about two
transfers a week from each store to another (`stock.transferred` out, received one to three
days later, the last days' still in transit). 3 % of delivery, order and transfer lines are
counted one piece short or over: those are the transfer report's rows. `agg_stock` is the
sum of the moves, through `Deltas.stock`, as the apply adds them.

Size: GATEWAYD_BENCH_HQR_LINES sale lines in all (default 200,000 for a quick run; the
issue's figure is 20,000,000: `make bench-hq-reports`), over GATEWAYD_BENCH_HQR_STORES
stores (50) and GATEWAYD_BENCH_HQR_DAYS days (365). GATEWAYD_BENCH_HQR_BACKENDS picks
`sqlite,postgresql`. GATEWAYD_BENCH_HQR_DIR keeps the SQLite file (default a temp dir);
each PostgreSQL database is made for the run and dropped after.

Rows (targets: p95 < 1 s for a month and one store, < 3 s for a year and the chain):
- hqr.<backend>.month_store.<report>: p95 of 20 runs, each a random store and month;
- hqr.<backend>.year_chain.<report>: p95 of 5 runs over the whole year of the chain (not
  for replenishment, a store's plan by definition);
- hqr.<backend>.items_vs_raw: the item ranking of a store-month from the aggregates against
  the same sums read from the sale lines (the baseline, in the same run);
- hqr.<backend>.seed: lines seeded per second (a plain figure).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.harness import Row, Timing
from gatewayd.hq import aggregates, replenish, reports
from gatewayd.hq import stock as hq_stock
from gatewayd.hq.db import HqStore, HqTx, open_backend
from protocol.codec import pack

LINES = int(os.environ.get("GATEWAYD_BENCH_HQR_LINES", "200000"))
STORES = int(os.environ.get("GATEWAYD_BENCH_HQR_STORES", "50"))
DAYS = int(os.environ.get("GATEWAYD_BENCH_HQR_DAYS", "365"))
BACKENDS = os.environ.get("GATEWAYD_BENCH_HQR_BACKENDS", "sqlite,postgresql").split(",")
PG = os.environ.get("GATEWAYD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SKUS = 5000
FIRST_DAY = dt.date(2025, 1, 1)
TENDERS = (("cash", 35), ("alipay", 30), ("wechat", 30), ("card", 5))
TIERS = (("normal", 70), ("silver", 22), ("gold", 8))
# sales by hour of the day (opening 07-22), lunch and evening peaks
HOURS = {7: 3, 8: 5, 9: 5, 10: 6, 11: 9, 12: 10, 13: 8, 14: 5, 15: 5, 16: 6, 17: 9, 18: 11,
         19: 10, 20: 6, 21: 3}
AVG_LINES = 4  # lines per sale: 1..7, uniform

SALE_COLS = ("store", "sale_id", "till", "epoch", "seq", "at", "kind", "receipt_no",
             "business_day", "shift_id", "operator", "refund_of", "total", "subtotal",
             "discount", "tax", "rounding", "paid", "change_due", "member")
LINE_COLS = ("store", "sale_id", "pos", "line_id", "sku", "qty", "amount")
MOVE_COLS = ("store", "till", "epoch", "seq", "pos", "at", "kind", "sku", "qty", "ref")
TRANSFER_COLS = ("no", "kind", "from_store", "to_store", "sent_at", "sent_till", "lines",
                 "state", "received_no", "received_till", "received_at", "received",
                 "confirmations", "differing")
UNIT = 1000  # qty is in thousandths: one piece
DIFFER = 0.03  # share of the lines received that are counted one piece short or over
TENDER_COLS = ("store", "sale_id", "pos", "method", "amount", "ref")


def bulk(tx: HqTx, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows into a table the fastest way the backend has: COPY, or one executemany."""
    if not rows:
        return
    if tx.backend.name == "postgresql":
        with tx.conn.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        tx.executemany(f"INSERT INTO {table}({', '.join(cols)}) VALUES"
                       f" ({', '.join('?' * len(cols))})", rows)


class Chain:
    """The generated chain: items with prices and costs, members, and a day's sales."""

    def __init__(self, stores: int, days: int, lines: int, seed: int = 16):
        self.rng = random.Random(seed)
        self.stores = [f"S{i + 1:03d}" for i in range(stores)]
        self.days = [FIRST_DAY + dt.timedelta(days=i) for i in range(days)]
        self.sales_per_store_day = max(1, lines // (stores * days * AVG_LINES))
        self.prices = [self.rng.randint(150, 6000) for _ in range(SKUS)]
        self.costs = [p * self.rng.randint(55, 80) // 100 for p in self.prices]
        # popular items sell more: a Zipf-like choice by cumulative weights
        self.cum_weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(SKUS)))
        self.sku_ids = range(SKUS)
        self.members_per_store = max(10, self.sales_per_store_day * 6)
        self.hours = [h for h, w in HOURS.items() for _ in range(w)]
        self.tenders = [m for m, w in TENDERS for _ in range(w)]
        self.tiers = [t for t, w in TIERS for _ in range(w)]
        self.member_days: dict[str, list[str]] = {}  # member -> [first, last] purchase day
        # stock: a week of an item's expected sales at a store is its reorder point, three
        # weeks' its maximum (whole pieces; at least 2 and 8)
        units_a_day = self.sales_per_store_day * AVG_LINES * 2  # 1-3 pieces a line
        total_w = self.cum_weights[-1]
        prev = 0.0
        self.reorder: list[int] = []
        self.top: list[int] = []
        for w in self.cum_weights:
            rate = units_a_day * (w - prev) / total_w
            prev = w
            low = max(2, -(-int(rate * 7 * 10) // 10))
            self.reorder.append(low * UNIT)
            self.top.append((low + max(6, int(rate * 14))) * UNIT)
        self.on_hand: dict[str, list[int]] = {}
        self.seq: dict[str, int] = dict.fromkeys(self.stores, 0)
        self.transfers: list[tuple] = []  # rows of `transfers`, written at the end
        self.stats = {"moves": 0, "transfers": 0, "differences": 0, "in_transit": 0}
        # transfers between stores, planned for the year: (store, day) -> [(at, move kind,
        # ref, [(sku, signed qty)])]
        self.plan: dict[tuple[str, dt.date], list[tuple]] = {}
        if len(self.stores) > 1:
            for si, s in enumerate(self.stores):
                for di, day in enumerate(self.days):
                    if self.rng.random() < 2 / 7:
                        self._plan_transfer(s, si, di, day)

    def _next_seq(self, store: str) -> int:
        self.seq[store] += 1
        return self.seq[store]

    def _counted(self, lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """What the receiving store counts: now and then a piece short or over."""
        out = []
        for sku, qty in lines:
            if self.rng.random() < DIFFER:
                qty = max(0, qty + self.rng.choice((-UNIT, UNIT)))
                self.stats["differences"] += 1
            out.append((sku, qty))
        return out

    def _plan_transfer(self, s: str, si: int, di: int, day: dt.date) -> None:
        rng = self.rng
        peer = self.stores[(si + rng.randrange(1, len(self.stores))) % len(self.stores)]
        bd = day.strftime("%Y%m%d")
        no = f"{s}-TRO-{bd}"
        idx = sorted(set(rng.choices(self.sku_ids, cum_weights=self.cum_weights,
                                     k=rng.randint(3, 20))))
        sent = [(f"{i:06d}", UNIT * rng.randint(1, 6)) for i in idx]
        sent_at = self._at(day, 10)
        self.plan.setdefault((s, day), []).append(
            (sent_at, "stock.transferred", no, [(sku, -q) for sku, q in sent]))
        arrives = di + rng.randint(1, 3)
        pack_sent = pack([{"sku": sku, "qty": q} for sku, q in sent])
        self.stats["transfers"] += 1
        if arrives >= len(self.days):  # still on its way at the year's end
            self.stats["in_transit"] += 1
            self.transfers.append((no, "transfer", s, peer, sent_at, "T01", pack_sent,
                                   "in_transit", None, None, None, None, 0, None))
            return
        day_in = self.days[arrives]
        got = self._counted(sent)
        rno, got_at = f"{peer}-TRI-{day_in.strftime('%Y%m%d')}-{s}", self._at(day_in, 15)
        self.plan.setdefault((peer, day_in), []).append(
            (got_at, "stock.transferred", rno, got))
        self.transfers.append((no, "transfer", s, peer, sent_at, "T01", pack_sent, "received",
                               rno, "T01", got_at, *_received(sent, got)))

    @staticmethod
    def _at(day: dt.date, hour: int) -> int:
        return int(dt.datetime.combine(day, dt.time(hour), aggregates.CHAIN_TZ).timestamp()
                   * 1_000_000)

    def _moves(self, store: str, at: int, kind: str, ref: str, lines: list[tuple[str, int]],
               deltas: aggregates.Deltas, out: dict[str, list[tuple]]) -> None:
        """One stock event's moves: rows of `stock_moves`, and into `deltas` as the apply
        adds them; the store's simulated on-hand follows."""
        seq = self._next_seq(store)
        out["moves"].extend((store, "T01", "bench", seq, p, at, kind, sku, q, ref)
                            for p, (sku, q) in enumerate(lines))
        deltas.stock(store, [{"sku": sku, "qty": q} for sku, q in lines])
        stock = self.on_hand[store]
        for sku, q in lines:
            stock[int(sku)] += q
        self.stats["moves"] += len(lines)

    def stock_day(self, store: str, day: dt.date, deltas: aggregates.Deltas,
                  out: dict[str, list[tuple]]) -> None:
        """The day's stock documents other than sales: the opening count on the first day,
        the weekly restock (its weekday is the store's), transfers out and in."""
        bd = day.strftime("%Y%m%d")
        if store not in self.on_hand:
            self.on_hand[store] = [0] * SKUS
            opening = [(f"{i:06d}", UNIT * self.rng.randint(self.reorder[i] // UNIT,
                                                            self.top[i] // UNIT))
                       for i in range(SKUS)]
            self._moves(store, self._at(day, 6), "stock.counted", f"{store}-CNT-{bd}", opening,
                        deltas, out)
        elif day.weekday() == self.stores.index(store) % 7:
            stock = self.on_hand[store]
            want = [(f"{i:06d}", -(-(self.top[i] - q) // UNIT) * UNIT)
                    for i, q in enumerate(stock) if q < self.reorder[i]]
            sent_at, got_at = self._at(day, 6), self._at(day, 7)
            for kind, src, lines in (
                    ("delivery", "DC01", [x for x in want if int(x[0]) % 5]),
                    ("purchase", "SUP01", [x for x in want if not int(x[0]) % 5])):
                if not lines:
                    continue
                no = f"{'DLV' if kind == 'delivery' else 'PO'}-{bd}-{store}"
                rno = f"{store}-{'TRI' if kind == 'delivery' else 'RCV'}-{bd}"
                got = self._counted(lines)
                self._moves(store, got_at,
                            "stock.transferred" if kind == "delivery" else "stock.received",
                            rno, got, deltas, out)
                self.transfers.append((
                    no, kind, src, store, sent_at, None,
                    pack([{"sku": sku, "qty": q} for sku, q in lines]), "received", rno,
                    "T01", got_at, *_received(lines, got)))
                self.stats["transfers"] += 1
        for at, kind, ref, lines in self.plan.pop((store, day), []):
            self._moves(store, at, kind, ref, lines, deltas, out)

    def member_rows(self) -> list[tuple]:
        out = []
        for s in self.stores:
            for i in range(self.members_per_store):
                m = f"M{s}{i:06d}"
                reg = self.days[0] - dt.timedelta(days=self.rng.randint(0, 400))
                if self.rng.random() < 0.3:  # some join during the year
                    reg = self.rng.choice(self.days)
                first, last = self.member_days.get(m, (None, None))
                out.append((m, s, self.rng.choice(self.tiers), reg.strftime("%Y%m%d"), first,
                            last))
        return out

    def store_day(self, store: str, day: dt.date, deltas: aggregates.Deltas,
                  out: dict[str, list[tuple]]) -> int:
        """One store's business day: its sales, lines and tenders into `out`, their sums
        into `deltas` exactly as the apply adds them. Returns the lines made."""
        rng, bd = self.rng, day.strftime("%Y%m%d")
        self.stock_day(store, day, deltas, out)
        midnight = dt.datetime.combine(day, dt.time(), aggregates.CHAIN_TZ).timestamp()
        n_sales = max(1, int(self.sales_per_store_day * rng.uniform(0.8, 1.2)))
        made = 0
        sold: list[tuple[str, list[tuple[str, int, int, int]], int, int]] = []
        for n in range(n_sales):
            hour = rng.choice(self.hours)
            at = int((midnight + hour * 3600 + rng.randint(0, 3599)) * 1_000_000)
            sale_id = f"{store}-{bd}-{n:05d}"
            idx = rng.choices(self.sku_ids, cum_weights=self.cum_weights, k=rng.randint(1, 7))
            lines = []
            for i in idx:
                qty = 1000 * rng.randint(1, 3)
                lines.append((f"{i:06d}", qty, self.prices[i] * qty // 1000, self.costs[i]))
            total = sum(a for _, _, a, _ in lines)
            tax = total * 13 // 113
            member = f"M{store}{rng.randrange(self.members_per_store):06d}" if (
                rng.random() < 0.4) else None
            method = rng.choice(self.tenders)
            paid = total if method != "cash" else -(-total // 1000) * 1000
            out["sales"].append((store, sale_id, "T01", "bench", self._next_seq(store), at,
                                 "sale",
                                 f"{store}-T01-{bd}-{n + 1:04d}", bd, None, "1001", None,
                                 total, total, 0, tax, 0, paid, paid - total, member))
            out["lines"].extend((store, sale_id, p, f"{sale_id}-{p}", sku, qty, amount)
                                for p, (sku, qty, amount, _) in enumerate(lines))
            out["tenders"].append((store, sale_id, 0, method, paid, None))
            hour_local = aggregates.local_hour(at)
            deltas.sale(store, bd, hour_local, "sale", total, 0, tax, lines,
                        [(method, total)])
            self._moves(store, at + 1, "stock.sold", sale_id,
                        [(sku, -qty) for sku, qty, _, _ in lines], deltas, out)
            if member:
                deltas.member_sale(store, bd, hour_local, member, "sale", total)
                seen = self.member_days.setdefault(member, [bd, bd])
                seen[1] = bd
            sold.append((sale_id, lines, at, total))
            made += len(lines)
        for sale_id, lines, at, _ in rng.sample(sold, max(0, len(sold) // 50)):
            back = [(sku, -qty, -amount, cost) for sku, qty, amount, cost in lines[:1]]
            money = sum(a for _, _, a, _ in back)
            rid = f"{sale_id}-R"
            out["sales"].append((store, rid, "T01", "bench", self._next_seq(store),
                                 at + 60_000_000, "refund",
                                 f"{rid}", bd, None, "1001", sale_id, money, money, 0, 0, 0,
                                 0, 0, None))
            out["lines"].extend((store, rid, p, f"{rid}-{p}", sku, qty, amount)
                                for p, (sku, qty, amount, _) in enumerate(back))
            out["tenders"].append((store, rid, 0, "cash", money, None))
            deltas.sale(store, bd, aggregates.local_hour(at + 60_000_000), "refund", money, 0,
                        0, back, [("cash", money)])
            self._moves(store, at + 60_000_001, "stock.sold", rid,
                        [(sku, -qty) for sku, qty, _, _ in back], deltas, out)
            made += len(back)
        return made


def _received(sent: list[tuple[str, int]], got: list[tuple[str, int]]) -> tuple:
    """A received transfer's `received`, `confirmations` and `differing` columns, as the
    apply writes them (gatewayd/hq/stock.py `received`)."""
    got_lines = [{"sku": sku, "qty": q} for sku, q in got]
    return (pack(got_lines), 1, pack(hq_stock.differing(
        [{"sku": sku, "qty": q} for sku, q in sent], got_lines)))


def seed(store: HqStore, chain: Chain, progress: Callable[[str], None] = print) -> int:
    """The chain's year into HQ's tables, one transaction per store and month; lines made."""
    made = 0
    t0 = time.monotonic()
    store.write_sync(lambda tx: bulk(tx, "item_costs", ("store", "sku", "cost"), [
        (s, f"{i:06d}", c) for s in chain.stores for i, c in enumerate(chain.costs)]))
    months: dict[str, list[dt.date]] = {}
    for day in chain.days:
        months.setdefault(day.strftime("%Y%m"), []).append(day)
    for si, s in enumerate(chain.stores):
        for days in months.values():
            def month(tx: HqTx, s: str = s, days: list[dt.date] = days) -> int:
                out: dict[str, list[tuple]] = {"sales": [], "lines": [], "tenders": [],
                                               "moves": []}
                deltas = aggregates.deltas(tx)
                n = sum(chain.store_day(s, day, deltas, out) for day in days)
                bulk(tx, "sales", SALE_COLS, out["sales"])
                bulk(tx, "sale_lines", LINE_COLS, out["lines"])
                bulk(tx, "sale_tenders", TENDER_COLS, out["tenders"])
                bulk(tx, "stock_moves", MOVE_COLS, out["moves"])
                return n

            made += store.write_sync(month)
        rate = made / max(1e-9, time.monotonic() - t0)
        progress(f"  seeded {si + 1}/{len(chain.stores)} stores, {made:,} lines, "
                 f"{chain.stats['moves']:,} stock moves ({rate:,.0f} lines/s)")
    store.write_sync(lambda tx: bulk(tx, "transfers", TRANSFER_COLS, chain.transfers))
    members = chain.member_rows()
    store.write_sync(lambda tx: bulk(tx, "hq_members", (
        "member", "store", "tier", "registered", "first_day", "last_day"), members))
    if store.name == "postgresql":
        store.write_sync(lambda tx: tx.execute("ANALYZE"))
    return made


REPORTS: list[tuple[str, Callable[..., Any]]] = [
    *[(f"sales.{by}", lambda tx, a, b, s, by=by: reports.sales(tx, by, a, b, s))
      for by in reports.SALES_BY],
    ("members", lambda tx, a, b, s: reports.members(tx, a, b, s)),
    ("stock", lambda tx, a, b, s: reports.stock(tx, a, b, s)),
    ("transfers", lambda tx, a, b, s: reports.transfer_differences(tx, a, b, s)),
    ("replenish", lambda tx, a, b, s: replenish.report(tx, s, today=dt.date.fromisoformat(b))),
]
PER_STORE = {"replenish"}  # one store's plan by definition: no chain-wide row



def measure(store: HqStore, chain: Chain, backend: str, month_runs: int = 20,
            year_runs: int = 5) -> list[Row]:
    rng = random.Random(7)
    first, last = chain.days[0], chain.days[-1]
    month_starts = sorted({d.replace(day=1) for d in chain.days if d.replace(day=1) >= first})
    rows = []
    for name, fn in REPORTS:
        samples = []
        for _ in range(month_runs):
            m = rng.choice(month_starts)
            end = min(last, (m + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
            s = rng.choice(chain.stores)
            t0 = time.perf_counter()
            store.read_sync(partial(fn, a=m.isoformat(), b=end.isoformat(), s=s))
            samples.append(time.perf_counter() - t0)
        t = Timing.of(samples)
        rows.append(Row(f"hqr.{backend}.month_store.{name}", value=t.p50, value_p99=t.pct(95),
                        unit="s", limit=1.0))
        _progress(rows[-1])
        if name in PER_STORE:
            continue
        samples = []
        for _ in range(year_runs):
            t0 = time.perf_counter()
            store.read_sync(partial(fn, a=first.isoformat(), b=last.isoformat(), s=None))
            samples.append(time.perf_counter() - t0)
        t = Timing.of(samples)
        rows.append(Row(f"hqr.{backend}.year_chain.{name}", value=t.p50, value_p99=t.pct(95),
                        unit="s", limit=3.0))
        _progress(rows[-1])
    rows.append(_items_vs_raw(store, chain, backend, rng))
    return rows


def _progress(row: Row) -> None:
    print(f"  {row.name}: p50 {row.value:.3f} s, p95 {row.value_p99:.3f} s", file=sys.stderr,
          flush=True)


def _items_vs_raw(store: HqStore, chain: Chain, backend: str, rng: random.Random) -> Row:
    """The item ranking of a store-month from the aggregates vs the same sums from the
    lines (the baseline), alternating, the same store-months."""
    on, off, same = [], [], True
    for _ in range(5):
        s = rng.choice(chain.stores)
        m = rng.choice(chain.days).replace(day=1)
        end = (m + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        a, b = m.isoformat(), end.isoformat()
        t0 = time.perf_counter()
        agg = store.read_sync(lambda tx, a=a, b=b, s=s: reports.sales(tx, "item", a, b, s,
                                                                      limit=SKUS))
        on.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        raw = store.read_sync(lambda tx, m=m, end=end, s=s: tx.all(
            "SELECT l.sku, SUM(l.qty) AS qty, SUM(l.amount) AS amount FROM sales x JOIN"
            " sale_lines l ON l.store=x.store AND l.sale_id=x.sale_id WHERE x.store=? AND"
            " x.business_day BETWEEN ? AND ? GROUP BY l.sku",
            (s, m.strftime("%Y%m%d"), end.strftime("%Y%m%d"))))
        off.append(time.perf_counter() - t0)
        by_sku = {r["sku"]: (int(r["qty"]), int(r["amount"])) for r in raw}
        same = same and {r["sku"]: (r["qty"], r["amount"]) for r in agg.rows} == by_sku
    return Row(f"hqr.{backend}.items_vs_raw", subject=Timing.of(on), baseline=Timing.of(off),
               note="the item ranking of a store-month: aggregates vs the sale lines, "
                    + ("equal" if same else "NOT EQUAL: the aggregates are wrong"))


def _open(backend: str, root: Path) -> tuple[HqStore, Callable[[], None]]:
    if backend == "sqlite":
        path = root / "hq"
        if (path / "hq.db").exists():
            (path / "hq.db").unlink()
        store = HqStore(open_backend(path, None))
        return store, store.close
    import psycopg

    name = f"gwbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = HqStore(open_backend(root, urlunsplit(urlsplit(PG)._replace(path="/" + name))))

    def drop() -> None:
        store.close()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return store, drop


def _size(store: HqStore, root: Path) -> int:
    """The database's size on disk, bytes."""
    if store.name == "postgresql":
        return int(store.read_sync(lambda tx: tx.all(
            "SELECT pg_database_size(current_database()) AS n"))[0]["n"])
    return sum(f.stat().st_size for f in (root / "hq").glob("hq.db*"))


def backends() -> Iterator[str]:
    for b in BACKENDS:
        if b == "postgresql":
            try:
                import psycopg

                with psycopg.connect(PG, connect_timeout=3, autocommit=True) as conn:
                    conn.execute("SELECT 1")
            except Exception as exc:
                print(f"  hqreports: PostgreSQL skipped ({type(exc).__name__})", file=sys.stderr)
                continue
        yield b


def run() -> list[Row]:
    rows = []
    keep = os.environ.get("GATEWAYD_BENCH_HQR_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-hqr-") as tmp:
        root = Path(keep) if keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for backend in backends():
            chain = Chain(STORES, DAYS, LINES)
            store, close = _open(backend, root)
            try:
                t0 = time.monotonic()
                made = seed(store, chain, lambda m: print(m, file=sys.stderr, flush=True))
                took = time.monotonic() - t0
                st = chain.stats
                rows.append(Row(f"hqr.{backend}.seed", value=made / took, unit="lines/s",
                                note=f"{made:,} lines, {st['moves']:,} stock moves, "
                                     f"{st['transfers']:,} transfers and deliveries "
                                     f"({st['differences']:,} lines counted differently, "
                                     f"{st['in_transit']} in transit), "
                                     f"{len(chain.stores)} stores, {len(chain.days)} days in "
                                     f"{took:.0f} s, {_size(store, root) / 1e9:.1f} GB; in "
                                     f"the hqr.*_store/_chain rows p50 is the median and the "
                                     f"p99 column is the p95"))
                rows += measure(store, chain, backend)
            finally:
                close()
    return rows
