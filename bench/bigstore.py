"""A till store that has sold for years, for the growth benchmarks and tests (issue 18).

    make_store(path, sales=1_600_000, per_day=1500) -> Info

How: a daemon in-process on `path` sells `TEMPLATES` real sales through the protocol (a
cashier client, the real sale service: baskets of 1-8 items, cash and card, a refund now and
then), so every row a sale writes is there as the daemon writes it: the sale, its lines and
tenders, journal events, receipt print job, stock moves. Those sales are then cloned in SQL,
batch by batch, onto consecutive business days ending yesterday (store time), `per_day` a
day spread over opening hours, with their own ids, receipt numbers, journal seqs and times.
1.6M sales is three years of a busy till at 1,500 a day (about 10 GB before retention).

The size knob: `sales` (the tests use a few thousand; `make bench-growth` the full size).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import trio

from bench.harness import open_shift

TEMPLATES = 40
TZ = ZoneInfo("Asia/Shanghai")
ITEMS = [{"sku": f"{100000 + i}", "name": f"商品 {i}", "price": 100 + (i * 37) % 5000,
          "tax_rate_bp": 1300 if i % 3 else 900, "category": f"cat{i % 12}",
          "cost": 60 + (i * 29) % 3000}
         for i in range(400)]
OPERATORS = ("1001", "1002", "1003")


@dataclass(frozen=True)
class Info:
    path: Path
    sales: int
    days: int
    first_day: dt.date
    last_day: dt.date
    journal_seq: int
    seconds: float


def make_store(path: Path | str, sales: int, per_day: int = 1500, *, seed: int = 1,
               progress: bool = False) -> Info:
    started = time.monotonic()
    path = Path(path)
    trio.run(_sell_templates, path, seed)
    days = max(1, -(-sales // per_day))
    last = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # a generated store: nothing to lose on a crash
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    try:
        template_moves = conn.execute("SELECT MAX(id) FROM stock_moves").fetchone()[0]
        _prepare(conn)
        rng = random.Random(seed)
        done = 0
        day = first
        while done < sales:
            batch_days = []
            while day <= last and len(batch_days) < 20:
                batch_days.append(day)
                day += dt.timedelta(days=1)
            n = _clone_days(conn, rng, batch_days, per_day, sales - done)
            done += n
            if progress:
                print(f"\rbigstore: {done}/{sales} sales", end="", file=sys.stderr, flush=True)
        _after_clone(conn, template_moves)
        seq = conn.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
    finally:
        conn.close()
    if progress:
        print(file=sys.stderr)
    return Info(path, sales, days, first, last, seq, time.monotonic() - started)


def _after_clone(conn: sqlite3.Connection, template_moves: int) -> None:
    """The template sales happened today: their journal events go after the clones', so
    seqs and times rise together as on a real till. Then whatever the store derives from
    its sales (the reports' running totals) is rebuilt."""
    from gatewayd.sales import running_totals

    conn.execute("BEGIN")
    clones = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
    conn.execute("INSERT INTO journal(seq, at, kind, data)"
                 " SELECT seq + ?, at, kind, data FROM temp.tpl_journal", (clones,))
    conn.execute("UPDATE stock_moves SET seq = seq + ? WHERE id <= ?",
                 (clones, template_moves))
    conn.execute("UPDATE member_moves SET seq = seq + ?", (clones,))
    running_totals.rebuild(conn, TZ)
    conn.execute("COMMIT")


# -- the real sales ------------------------------------------------------------------------------
async def _sell_templates(path: Path, seed: int) -> None:
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"},
                                 "data_dir": str(path.parent), "store": {"path": str(path)},
                                 "till": {"timezone": str(TZ)},
                                 # a printer nobody listens on: receipts queue as on a till
                                 "devices": {"printer": {"kind": "printer", "driver": "escpos",
                                                         "transport": "tcp:127.0.0.1:9"}}})
    app = App(cfg)
    rng = random.Random(seed)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "gen", "admin"))
            for op in OPERATORS:
                app.store.write_sync(lambda tx, op=op: auth.add_operator(tx, op, op, "manager",
                                                                         "1234"))
            url = f"ws://127.0.0.1:{app.port}/ws"
            async with connect(url, token) as gw:
                await gw.call("catalog.upsert", {"items": ITEMS})
                receipts = []
                for t in range(TEMPLATES):
                    await gw.call("auth.login", {"operator": OPERATORS[t % len(OPERATORS)],
                                                 "pin": "1234"})
                    await open_shift(gw)
                    for _ in range(rng.randint(1, 8)):
                        await gw.call("sale.add", {"sku": rng.choice(ITEMS)["sku"],
                                                   "qty": rng.choice((1000, 1000, 2000))})
                    sale = await gw.call("sale.current")
                    method = "cash" if t % 3 else "card"
                    amount = sale["due"] if method == "card" else sale["due"] + 1000
                    done = await gw.call("sale.tender", {"method": method, "amount": amount})
                    receipts.append(done["receipt_no"])
                    if t % 10 == 9:  # a refund of the previous sale now and then
                        await gw.call("sale.refund", {"receipt_no": receipts[-2]})
            nursery.cancel_scope.cancel()
    finally:
        app.close()


# -- the clones ----------------------------------------------------------------------------------
def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE print_jobs SET state = 'done'")  # printed long ago
    conn.execute("CREATE TEMP TABLE tpl(t INTEGER PRIMARY KEY, sale_id TEXT, kind TEXT,"
                 " first_seq INTEGER, last_seq INTEGER, opened_at INTEGER, completed_at INTEGER)")
    rows = conn.execute("SELECT id, kind, opened_at, completed_at FROM sales"
                        " WHERE state='completed' ORDER BY completed_at").fetchall()
    prev_last = 0
    for t, (sale_id, kind, opened, completed) in enumerate(rows):
        # the events of a sale: from its opening (not the catalog upsert before the first
        # one) to its completion
        first_seq, last_seq = conn.execute(
            "SELECT MIN(seq) FILTER (WHERE at >= ?), MAX(seq) FROM journal WHERE at <= ?",
            (opened, completed)).fetchone()
        first_seq = max(first_seq, prev_last + 1)
        conn.execute("INSERT INTO tpl VALUES (?,?,?,?,?,?,?)",
                     (t, sale_id, kind, first_seq, last_seq, opened, completed))
        prev_last = last_seq
    conn.execute("CREATE TEMP TABLE tpl_events AS SELECT t.t, j.seq - t.first_seq AS k, j.kind,"
                 " j.data FROM tpl t JOIN journal j ON j.seq BETWEEN t.first_seq AND t.last_seq")
    conn.execute("CREATE INDEX temp.tpl_events_t ON tpl_events(t, k)")
    # the clones are older than the template sales: their seqs come first (_after_clone)
    conn.execute("CREATE TEMP TABLE tpl_journal AS SELECT * FROM journal")
    conn.execute("DELETE FROM journal")
    conn.execute("CREATE TEMP TABLE gen(i INTEGER PRIMARY KEY, t INTEGER, day TEXT, n INTEGER,"
                 " at INTEGER, sale_id TEXT, receipt_no TEXT, seq0 INTEGER)")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _clone(conn: sqlite3.Connection, table: str, alias: str, overrides: dict[str, str],
           source: str) -> None:
    cols = _columns(conn, table)
    exprs = [overrides.get(c, f"{alias}.{c}") for c in cols]
    conn.execute(f"INSERT INTO {table}({', '.join(cols)}) SELECT {', '.join(exprs)} {source}")


def _clone_days(conn: sqlite3.Connection, rng: random.Random, days: list[dt.date],
                per_day: int, left: int) -> int:
    store_till = conn.execute("SELECT receipt_no FROM sales WHERE receipt_no IS NOT NULL"
                              " LIMIT 1").fetchone()[0].rsplit("-", 2)[0]
    n_tpl = conn.execute("SELECT COUNT(*) FROM tpl").fetchone()[0]
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
    sizes = dict(conn.execute("SELECT t, COUNT(*) FROM tpl_events GROUP BY t").fetchall())
    refund = {t for (t,) in conn.execute("SELECT t FROM tpl WHERE kind = 'refund'")}
    rows = []
    i0 = conn.execute("SELECT COALESCE(MAX(i), 0) FROM gen").fetchone()[0]
    for day in days:
        count = min(per_day, left - len(rows))
        if count <= 0:
            break
        bd = day.strftime("%Y%m%d")
        open_us = int(dt.datetime.combine(day, dt.time(8), TZ).timestamp() * 1e6)
        span = 13 * 3600 * 1_000_000  # 08:00-21:00
        times = sorted(rng.randrange(span) for _ in range(count))
        for n, offset in enumerate(times, 1):
            i = i0 + len(rows) + 1
            t = rng.randrange(n_tpl)
            number = f"R{n:04d}" if t in refund else f"{n:04d}"
            rows.append((i, t, bd, n, open_us + offset, f"g{i:012d}-{t:04d}",
                         f"{store_till}-{bd}-{number}", seq + 1))
            seq += sizes.get(t, 0)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM gen")
    conn.executemany("INSERT INTO gen VALUES (?,?,?,?,?,?,?,?)", rows)
    src = "FROM gen g JOIN tpl p ON p.t = g.t JOIN {table} {alias} ON {alias}.{key} = p.sale_id"
    _clone(conn, "sales", "s", {
        "id": "g.sale_id", "receipt_no": "g.receipt_no", "business_day": "g.day",
        "receipt_n": "g.n", "refund_of": "NULL",
        "opened_at": "g.at - (p.completed_at - s.opened_at)",
        "updated_at": "g.at", "completed_at": "g.at", "shift_id": "NULL"},
        src.format(table="sales", alias="s", key="id"))
    _clone(conn, "sale_lines", "l", {
        "id": "g.sale_id || '-' || l.pos", "sale_id": "g.sale_id", "orig_line_id": "NULL"},
        src.format(table="sale_lines", alias="l", key="sale_id"))
    _clone(conn, "sale_tenders", "x", {
        "id": "g.sale_id || '-t' || x.pos", "sale_id": "g.sale_id", "attempt_id": "NULL",
        "business_day": "g.day", "at": "g.at", "shift_id": "NULL"},
        src.format(table="sale_tenders", alias="x", key="sale_id"))
    _clone(conn, "stock_moves", "m", {
        "id": "NULL", "seq": "g.seq0", "at": "g.at", "ref": "g.sale_id",
        "line_id": "g.sale_id || '-' || (SELECT pos FROM sale_lines WHERE id = m.line_id)"},
        src.format(table="stock_moves", alias="m", key="ref"))
    _clone(conn, "print_jobs", "j", {
        "id": "g.sale_id || '-p'", "ref": "g.receipt_no", "created_at": "g.at",
        "updated_at": "g.at", "state": "'done'"},
        "FROM gen g JOIN tpl p ON p.t = g.t JOIN sales o ON o.id = p.sale_id"
        " JOIN print_jobs j ON j.ref = o.receipt_no AND j.kind IN ('receipt', 'refund')")
    conn.execute("INSERT INTO journal(seq, at, kind, data) SELECT g.seq0 + e.k, g.at, e.kind,"
                 " e.data FROM gen g JOIN tpl_events e ON e.t = g.t ORDER BY g.i, e.k")
    conn.execute("INSERT OR REPLACE INTO receipt_counters(business_day, last)"
                 " SELECT day, MAX(n) FROM gen GROUP BY day")
    conn.execute("COMMIT")
    return len(rows)


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.bigstore", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path")
    p.add_argument("--sales", type=int, default=1_600_000)
    p.add_argument("--per-day", type=int, default=1500)
    args = p.parse_args()
    if Path(args.path).exists():
        p.error(f"{args.path} exists")
    info = make_store(args.path, args.sales, args.per_day, progress=True)
    size = Path(args.path).stat().st_size
    print(f"{info.sales} sales over {info.days} days ({info.first_day} .. {info.last_day}), "
          f"journal seq {info.journal_seq}, {size / 1e9:.2f} GB, {info.seconds:.0f} s")


if __name__ == "__main__":
    main()
