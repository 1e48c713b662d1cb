"""Head office: ingest against a raw batched insert, replication lag under steady load, and a
till's sale latency while it catches up a backlog (issue 14's targets).

- hq.ingest.{sqlite,postgresql}: a push of 250 events of a realistic mix (a sale's events:
  opened, three lines, tendered, completed, stock moved) from 50 tills, applied by
  `ingest.apply_push` (checks, events stored once, projections, one transaction) vs a raw
  batched insert of the same rows (the events, sales, lines, tenders and stock moves, about
  530) with the same driver into a database of the same schema, one transaction per push
  (`RawInsert`, `push_rows`).
  Target: ingest at >= 0.7x the raw rate, i.e. time per push <= 1.43x.
- hq.lag: 50 tills (a real till store and the real replicator each, sales appended straight
  to the store: one transaction of a sale's events) at 2 sales/s each for LAG_S seconds,
  against `gatewayd hq` in the same process; lag = from the till's commit to the till
  seeing HQ's ack for it (HQ acks only after its commit). Target p99 < 1 s.
- hq.catchup.sale: sale latency (sale.add + sale.tender through the protocol, 10 ms between
  sales) on a till (the daemon's App, with its client, in this process) with a 100k-event
  backlog while its replicator catches up to `gatewayd hq serve` in a process of its own,
  pinned to a CPU of its own (head office is another machine; the till keeps the others),
  vs the same till idle (not enrolled). Target <= 1.1x.
- hq.catchup.floor: the same till's sales, not enrolled, while head office ingests the same
  backlog from another till (`gatewayd run` in a process of its own, pinned with head office
  to its CPU): what the machine's sharing costs the till, our replicator apart. The sale
  row's note gives "ours": its ratio over the floor's. GATEWAYD_BENCH_HQ_ROUNDS rounds (3)
  of idle, floor, busy, each on a fresh head office and fresh copies of the backlog stores.

GATEWAYD_BENCH_HQ_ONLY=ingest runs the ingest rows alone, =catchup the catch-up rows.

PostgreSQL rows need a server (GATEWAYD_TEST_PG or 127.0.0.1:5432); they are skipped with a
note otherwise. Every database is made for the run and dropped after.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from bench.harness import Row, Timing, open_shift

N_TILLS = 50
BATCH = 250
BATCHES = int(os.environ.get("GATEWAYD_BENCH_HQ_BATCHES", "120"))
LAG_S = float(os.environ.get("GATEWAYD_BENCH_HQ_LAG_S", "20"))
BACKLOG = int(os.environ.get("GATEWAYD_BENCH_HQ_BACKLOG", "100000"))
ROUNDS = int(os.environ.get("GATEWAYD_BENCH_HQ_ROUNDS", "3"))  # hq.catchup: idle, floor, busy
ONLY = os.environ.get("GATEWAYD_BENCH_HQ_ONLY", "")  # "ingest" | "catchup": those rows alone
PG = os.environ.get("GATEWAYD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def enroll_store(hq, store, till) -> None:
    """A till store enrolled at `hq` (running) as `gatewayd hq enroll` would."""
    from gatewayd.hq import ingest
    from gatewayd.replication import link
    from protocol import repl

    code = hq.store.write_sync(lambda tx: ingest.add_till(tx, till.store, till.till))
    cred = hq.store.write_sync(lambda tx: ingest.enroll(tx, repl.Enroll(
        code=code, store=till.store, till=till.till, epoch=link.read(store).epoch)))
    store.write_sync(lambda tx: link.save_enrollment(
        tx, f"ws://127.0.0.1:{hq.port}", cred, None, till.store, till.till))


async def timed_sale(gw):
    """A cashier's sale through the protocol, timed: item 1001 into the till's catalog,
    operator 1001 (PIN 1234) logged in and the shift open, then `sale()` sells one and
    returns its seconds."""
    await gw.call("catalog.upsert", {"items": [{"sku": "1001", "name": "可乐", "price": 350}]})
    await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
    await open_shift(gw)

    async def sale() -> float:
        t0 = time.perf_counter()
        await gw.call("sale.add", {"sku": "1001", "qty": 1000})
        await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        return time.perf_counter() - t0

    return sale


async def paced_sale(sale: Callable[[], Awaitable[float]]) -> float:
    """`sale()` then 10 ms: the till's sales beside a catch-up or a download, and idle."""
    took = await sale()
    await trio.sleep(0.01)
    return took


def sale_events(first_seq: int, at: int, n: int) -> list[dict]:
    """`n` events of whole sales, valid journal events: the mix a till's journal carries."""
    out, seq = [], first_seq
    while len(out) < n:
        sid = str(uuid.uuid4())
        lines = [{"line_id": f"{sid[:8]}-{i}", "sku": f"69012345678{i}", "qty": 1000,
                  "net": 350 + i, "name": "可口可乐 330ml", "unit": "件"} for i in range(3)]
        item = {"name": "可口可乐 330ml", "unit": "件", "list_price": 350, "member_price": None,
                "tax_rate_bp": 1300, "category": "饮料"}
        for kind, data in [
            ("sale.opened", {"sale_id": sid, "till": "T01", "operator": "1001"}),
            *[("sale.line_added", {"sale_id": sid, "line_id": ln["line_id"], "sku": ln["sku"],
                                   "qty": 1000, "unit_price": None, "source": "barcode",
                                   "barcode": ln["sku"], "operator": "1001", "version": i + 1,
                                   "item": item}) for i, ln in enumerate(lines)],
            ("sale.tendered", {"sale_id": sid, "tender_id": f"{sid[:8]}-t", "method": "cash",
                               "amount": 2000, "ref": None, "attempt_id": None,
                               "operator": "1001", "version": 4}),
            ("sale.completed", {"sale_id": sid, "receipt_no": f"S-T-20260512-{seq}",
                                "business_day": "20260512", "shift_id": None,
                                "operator": "1001", "total": 1053, "subtotal": 1053,
                                "discount": 0, "tax": [{"rate_bp": 1300, "net": 932,
                                                        "tax": 121, "base": 932}],
                                "rounding": 0, "paid": 2000, "change": 947,
                                "tenders": [{"method": "cash", "amount": 2000}],
                                "lines": lines}),
            ("stock.sold", {"kind": "sale", "sale_id": sid, "receipt_no": f"S-T-{seq}",
                            "moves": [{"sku": ln["sku"], "qty": -1000, "on_hand": 5}
                                      for ln in lines]}),
        ]:
            out.append({"seq": seq, "at": at + seq, "kind": kind, "data": data})
            seq += 1
    return out[:n]


# -- ingest vs raw ---------------------------------------------------------------------------
class RawInsert:
    """The baseline: the rows one push writes (its events and every projection row), inserted
    as they are into a database of the same schema (same keys and indexes) by the same driver,
    batched, one transaction per push. No checks, no decoding, no ON CONFLICT: the rows are
    made before the clock starts. SQLite: one executemany per table. PostgreSQL: one binary
    COPY per table, the fastest way psycopg loads rows (about 3x a pipelined INSERT ... unnest
    and 6x a pipelined executemany of the same rows here)."""

    def __init__(self, data: Path, dsn: str | None, floor: bool = False):
        from gatewayd.hq.db import HqStore, open_backend

        HqStore(open_backend(data, dsn)).close()  # the schema
        self.pg = dsn is not None
        # the floor (PostgreSQL): the sales as exactly-once needs them, INSERT ... ON CONFLICT
        # DO NOTHING RETURNING (a sale may come under two epochs), the rest by COPY
        self.floor = floor
        self.types: dict[str, dict[str, str]] = {}
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(dsn, autocommit=False)
            for table, column, type_ in self.conn.execute(
                    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
                    " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
                    " AND NOT a.attisdropped").fetchall():
                self.types.setdefault(table, {})[column] = type_
            self.conn.commit()
        else:
            import sqlite3

            self.conn = sqlite3.connect(str(data / "hq.db"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")

    def write(self, tables: list[tuple[str, tuple[str, ...], list[tuple]]]) -> None:
        if self.pg:
            with self.conn.cursor() as cur:
                for table, columns, rows in tables:
                    if self.floor and table == "sales":
                        arrays = ", ".join(f"%b::{self.types[table][c]}[]" for c in columns)
                        cur.execute(f"INSERT INTO sales ({', '.join(columns)}) SELECT * FROM"
                                    f" unnest({arrays}) ON CONFLICT DO NOTHING RETURNING sale_id",
                                    [list(c) for c in zip(*rows, strict=True)])
                        assert len(cur.fetchall()) == len(rows)
                        continue
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                                  " (FORMAT BINARY)") as copy:
                        copy.set_types([self.types[table][c] for c in columns])
                        for row in rows:
                            copy.write_row(row)
            self.conn.commit()
        else:
            self.conn.execute("BEGIN IMMEDIATE")
            for table, columns, rows in tables:
                self.conn.executemany(
                    f"INSERT INTO {table}({', '.join(columns)})"
                    f" VALUES ({', '.join('?' * len(columns))})", rows)
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def push_rows(lk, events: list[dict]) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
    """The rows `apply_push` inserts for `events`, per table, made by the same projections:
    the events, the sales with their lines and tenders, the stock moves. Left out: the few
    upserts of running sums (report aggregates, the till's open sale) that update rows a
    raw insert cannot, which makes the baseline faster and the target harder."""
    from gatewayd.hq.projections import SALE_LINES, SALE_TENDERS, SALES, Projection
    from protocol.codec import pack
    from protocol.journal import JournalRecord

    projection = Projection(lk.store, lk.till, lk.epoch)
    projection.project_push([JournalRecord(**e) for e in events],
                            [pack(e["data"]) for e in events])
    (events_, rows), *others = projection.rows.items()  # the events first, then the sales
    out = [(events_.table, events_.columns, rows), (SALES.table, SALES.columns, projection.sales)]
    out += [(ins.table, ins.columns, rows) for ins, rows in others]
    out += [(ins.table, ins.columns, rows)  # every sale of the bench is new
            for ins, rows in ((SALE_LINES, projection.lines), (SALE_TENDERS, projection.tenders))]
    return out


def _ingest(data: Path, dsn: str | None, raw_dsn: str | None,
            floor_dsn: str | None = None) -> tuple[Timing, Timing, int, Timing | None]:
    from gatewayd.hq import ingest
    from gatewayd.hq.db import HqStore, open_backend
    from protocol import repl
    from protocol.codec import pack

    store = HqStore(open_backend(data / "hq", dsn))
    raw = RawInsert(data / "raw", raw_dsn)
    floor = RawInsert(data / "floor", floor_dsn, floor=True) if floor_dsn else None
    links = []
    for i in range(N_TILLS):
        code = store.write_sync(lambda tx, i=i: ingest.add_till(tx, f"S{i % 10:03d}",
                                                                 f"T{i:02d}"))
        cred = store.write_sync(lambda tx, i=i, c=code: ingest.enroll(tx, repl.Enroll(
            code=c, store=f"S{i % 10:03d}", till=f"T{i:02d}", epoch=f"e{i}")))
        links.append(store.write_sync(lambda tx, i=i, c=cred: ingest.hello(tx, repl.Hello(
            store=f"S{i % 10:03d}", till=f"T{i:02d}", epoch=f"e{i}", credential=c,
            head_seq=0))))
    held = [0] * N_TILLS
    now = time.time_ns() // 1000
    subject, baseline, floors = [], [], []
    n_rows = 0
    clock = time.perf_counter
    for b in range(BATCHES):
        i = b % N_TILLS
        lk = links[i]
        events = sale_events(held[i] + 1, now, BATCH)
        # the push as HQ's link hands it to ingest: the frame as the till sends it (each
        # event's data as its journal holds it) and what it decoded to
        _, frame = repl.take_push(lk.epoch, [(e["seq"], e["at"], e["kind"], pack(e["data"]))
                                             for e in events], BATCH, 1 << 30)
        push = repl.decode(frame, repl.Side.TILL)
        assert isinstance(push, repl.Push)
        rows = push_rows(lk, events)
        n_rows = sum(len(r) for _, _, r in rows)
        t0 = clock()
        raw.write(rows)
        baseline.append(clock() - t0)
        if floor is not None:
            t0 = clock()
            floor.write(rows)
            floors.append(clock() - t0)
        t0 = clock()
        ack = store.write_sync(lambda tx, p=push, lk=lk, f=frame: ingest.apply_push(
            tx, lk, p, f))
        subject.append(clock() - t0)
        assert ack.seq == held[i] + BATCH
        held[i] = ack.seq
    raw.close()
    if floor is not None:
        floor.close()
    store.close()
    return (Timing.of(subject), Timing.of(baseline), n_rows,
            Timing.of(floors) if floors else None)


def _pg_database() -> tuple[str, Callable[[], None]] | None:
    try:
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        name = f"gwbench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return None

    def drop() -> None:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(urlsplit(PG)._replace(path="/" + name)), drop


def ingest_rows(tmp: Path) -> list[Row]:
    rows = []
    subject, baseline, n_rows, _ = _ingest(tmp / "sqlite", None, None)
    rows.append(_ingest_row("hq.ingest.sqlite", subject, baseline, n_rows))
    pg, raw_pg, floor_pg = _pg_database(), _pg_database(), _pg_database()
    if pg is None or raw_pg is None or floor_pg is None:
        rows.append(Row("hq.ingest.postgresql", note=f"skipped: no PostgreSQL at {PG}"))
    else:
        try:
            subject, baseline, n_rows, floor = _ingest(tmp / "pg", pg[0], raw_pg[0],
                                                       floor_pg[0])
        finally:
            pg[1]()
            raw_pg[1]()
            floor_pg[1]()
        rows.append(_ingest_row("hq.ingest.postgresql", subject, baseline, n_rows))
        assert floor is not None
        rows.append(Row("hq.ingest.postgresql.floor", floor, baseline,
                        note=f"what exactly-once must add to the raw insert: the sales by INSERT"
                             f" ... ON CONFLICT DO NOTHING RETURNING (a sale may come under two"
                             f" epochs), the rest by COPY: {BATCH / floor.mean:.0f} events/s = "
                             f"{baseline.mean / floor.mean:.2f}x of raw"))
    return rows


def _ingest_row(name: str, subject: Timing, baseline: Timing, n_rows: int) -> Row:
    rate = BATCH / subject.mean
    raw = BATCH / baseline.mean
    return Row(name, subject, baseline, target=1 / 0.7,
               note=f"{BATCHES} pushes of {BATCH} events ({n_rows} rows with the projections'"
                    f") from {N_TILLS} tills: {rate:.0f} events/s applied vs {raw:.0f}/s for "
                    f"a raw batched insert of the same rows = {rate / raw:.2f}x of raw "
                    f"(target >= 0.7x)")


# -- lag at steady load ---------------------------------------------------------------------------
async def _lag(tmp: Path) -> Timing:
    from gatewayd.config import TillConfig
    from gatewayd.hq.service import HqApp
    from gatewayd.replication.config import LinkConfig
    from gatewayd.replication.master import MasterData
    from gatewayd.replication.replicator import Replicator
    from gatewayd.store.db import Store

    hq = HqApp(tmp / "hq", None, listen="127.0.0.1:0")
    samples: list[float] = []
    stores: list[Store] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(hq.run)
        reps = []
        for i in range(N_TILLS):
            till = TillConfig(store=f"S{i % 10:03d}", till=f"T{i:02d}")
            store = Store(tmp / f"till{i}" / "gatewayd.db")
            stores.append(store)
            enroll_store(hq, store, till)
            rep = Replicator(store, till, LinkConfig(poll_s=0.02), lambda *a: None,
                             MasterData(store, lambda *a: None))
            reps.append(rep)
            nursery.start_soon(rep.run)

        async def till_load(store: Store, rep: Replicator) -> None:
            await trio.sleep(0.5 * (hash(store.path) % 100) / 100)  # spread the tills
            end = trio.current_time() + LAG_S
            while trio.current_time() < end:
                evs = sale_events(1, 0, 7)

                def sale(tx, evs=evs):
                    for e in evs:
                        tx.append(e["kind"], e["data"])

                _, appended = await store.write(sale)
                committed, seq = time.perf_counter(), appended[-1].seq
                nursery.start_soon(wait_ack, rep, seq, committed)
                await trio.sleep(0.5)

        async def wait_ack(rep: Replicator, seq: int, committed: float) -> None:
            while rep.acked < seq:
                await trio.sleep(0.005)
            samples.append(time.perf_counter() - committed)

        with trio.fail_after(LAG_S + 60):
            async with trio.open_nursery() as load:
                for store, rep in zip(stores, reps, strict=True):
                    load.start_soon(till_load, store, rep)
            while any(rep.acked < s.last_seq for rep, s in zip(reps, stores, strict=True)):
                await trio.sleep(0.05)
            await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    for s in stores:
        s.close()
    hq.close()
    return Timing.of(samples)


# -- a till's sales while it catches up ---------------------------------------------------------
class HqServer:
    """`gatewayd hq serve` in a process of its own, as head office is (on another machine):
    its ingest does not share the till's process, nor its GIL."""

    def __init__(self, data: Path):
        import subprocess
        import sys

        self.data = data
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "hq", "serve", "--listen", "127.0.0.1:0",
             "--data", str(data)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    async def base(self) -> str:
        import re

        assert self.proc.stdout is not None
        line = await trio.to_thread.run_sync(self.proc.stdout.readline)
        found = re.search(r"ws://127\.0\.0\.1:\d+", line)
        assert found, f"gatewayd hq serve said {line!r}"
        return found.group(0)

    def add_till(self, store: str, till: str) -> str:
        """`gatewayd hq till add`: the admin commands open the database beside the server."""
        from gatewayd.hq import ingest
        from gatewayd.hq.db import HqStore, open_backend

        admin = HqStore(open_backend(self.data, None))
        try:
            return admin.write_sync(lambda tx: ingest.add_till(tx, store, till))
        finally:
            admin.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


OTHER_TILL = ("S002", "T09")  # the floor's till: another store's, at head office's side


def _till_config(data: Path, store: str, till: str) -> dict:
    return {"server": {"listen": "127.0.0.1:0"}, "data_dir": str(data),
            "till": {"store": store, "till": till}, "hq": {"poll_s": 0.02}}


def _backlog_store(data: Path, store: str, till: str) -> None:
    """A till store holding a backlog of BACKLOG journal events (a week offline), the
    operator 1001 and a client token; closed, to be copied for each round."""
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    app = App(Config.model_validate(_till_config(data, store, till)))
    try:
        evs = sale_events(1, 0, BACKLOG)
        for i in range(0, BACKLOG, 5000):
            app.store.write_sync(lambda tx, chunk=evs[i:i + 5000]: [
                tx.append(e["kind"], e["data"]) for e in chunk])
        del evs
        app.store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
    finally:
        app.close()


class OtherTill:
    """The floor's till: `gatewayd run` on a copy of a backlog store, enrolled at the same
    head office, in a process of its own pinned to head office's CPU (another machine)."""

    def __init__(self, data: Path, cpu: int | None):
        import subprocess
        import sys

        cfg = data / "gatewayd.toml"
        cfg.write_text(_toml(_till_config(data, *OTHER_TILL)))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "--config", str(cfg), "--log-level", "WARNING",
             "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _toml(cfg: dict) -> str:
    out = [f'data_dir = "{cfg["data_dir"]}"']
    for section in ("server", "till", "hq"):
        out.append(f"[{section}]")
        out += [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v!r}"
                for k, v in cfg[section].items()]
    return "\n".join(out) + "\n"


class HqProgress:
    """How far head office holds a till's journal, and the master version it records the
    till applied, read from its database (read-only)."""

    def __init__(self, data: Path, store: str, till: str):
        import sqlite3

        self.conn = sqlite3.connect(f"file:{data / 'hq.db'}?mode=ro", uri=True)
        self.key = (store, till)

    def acked(self) -> int:
        return self._most("acked_seq")

    def master_applied(self) -> int:
        return self._most("master_version")

    def _most(self, column: str) -> int:
        row = self.conn.execute(f"SELECT MAX({column}) FROM till_epochs WHERE store=? AND"
                                " till=?", self.key).fetchone()
        return row[0] or 0

    def close(self) -> None:
        self.conn.close()


@dataclass
class Catchup:
    """hq.catchup's phases: each a list of the rounds' samples (seconds a sale)."""

    idle: list[list[float]] = field(default_factory=list)
    floor: list[list[float]] = field(default_factory=list)
    busy: list[list[float]] = field(default_factory=list)
    took: list[float] = field(default_factory=list)  # seconds our till's catch-up took
    floor_took: list[float] = field(default_factory=list)  # and the other till's
    caught: list[int] = field(default_factory=list)


async def _catchup(tmp: Path, rounds: int = 1) -> Catchup:
    """`rounds` rounds of three phases, the same till selling (a sale, 10 ms, the next):
    idle (not enrolled); floor (not enrolled, while head office ingests another till's
    backlog from a daemon pinned with it to its CPU); busy (enrolled: our replicator sends
    our backlog). Each round starts afresh: a new head office, fresh copies of the stores."""
    import shutil

    tmp.mkdir(parents=True, exist_ok=True)
    _backlog_store(tmp / "tpl-till", "S001", "T01")
    _backlog_store(tmp / "tpl-other", *OTHER_TILL)
    out = Catchup()
    cpus = os.sched_getaffinity(0)
    hq_cpu = max(cpus) if len(cpus) >= 2 else None
    if hq_cpu is not None:  # head office is another machine: it gets a CPU, the till the others
        os.sched_setaffinity(0, cpus - {hq_cpu})
    try:
        for r in range(rounds):
            rdir = tmp / f"round{r}"
            shutil.copytree(tmp / "tpl-till", rdir / "till")
            shutil.copytree(tmp / "tpl-other", rdir / "other")
            await _catchup_round(rdir, hq_cpu, out)
            shutil.rmtree(rdir, ignore_errors=True)
    finally:
        os.sched_setaffinity(0, cpus)
    return out


async def _catchup_round(rdir: Path, hq_cpu: int | None, out: Catchup) -> None:
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config
    from gatewayd.replication.enroll import enroll

    hq = HqServer(rdir / "hq")
    if hq_cpu is not None:
        os.sched_setaffinity(hq.proc.pid, {hq_cpu})
    app = App(Config.model_validate(_till_config(rdir / "till", "S001", "T01")))
    (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
    other: OtherTill | None = None
    progress: HqProgress | None = None
    try:
        base = await hq.base()
        other_cfg = Config.model_validate(_till_config(rdir / "other", *OTHER_TILL))
        other_head = (await enroll(other_cfg, base, hq.add_till(*OTHER_TILL), None)).head_seq
        progress = HqProgress(rdir / "hq", *OTHER_TILL)
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            url = f"ws://127.0.0.1:{app.port}/ws"
            async with connect(url, token, reconnect=False) as gw:
                sale = await timed_sale(gw)
                paced = partial(paced_sale, sale)
                for _ in range(20):
                    await paced()  # warm-up
                out.idle.append([await paced() for _ in range(200)])
                # floor: head office ingests another till's backlog; ours is not enrolled
                other = OtherTill(rdir / "other", hq_cpu)
                floor: list[float] = []
                with trio.fail_after(900):
                    while progress.acked() == 0:
                        await trio.sleep(0.01)
                    started = time.perf_counter()
                    while other_head - progress.acked() > 2000:
                        floor.append(await paced())
                out.floor_took.append(time.perf_counter() - started)
                out.floor.append(floor)
                other.stop()
                other = None
                # busy: our own replicator sends our backlog
                till = app.config.till
                await enroll(app.config, base, hq.add_till(till.store, till.till), None)
                rep = app.replicator
                busy: list[float] = []
                with trio.fail_after(900):
                    while rep.state != "online":
                        await trio.sleep(0.01)
                    started = time.perf_counter()
                    while rep.status()["lag_events"] > 2000:
                        busy.append(await paced())
                out.took.append(time.perf_counter() - started)
                out.busy.append(busy)
                out.caught.append(rep.acked)
            nursery.cancel_scope.cancel()
    finally:
        if progress is not None:
            progress.close()
        if other is not None:
            other.stop()
        app.close()
        hq.stop()


def catchup_rows(tmp: Path, rounds: int) -> list[Row]:
    c = trio.run(_catchup, tmp, rounds)
    idle, floor, busy = (Timing.of(s for r in phase for s in r)
                         for phase in (c.idle, c.floor, c.busy))

    def per_round(phase: list[list[float]]) -> str:
        return ", ".join(f"{Timing.of(s).p50 / Timing.of(i).p50:.2f}/"
                         f"{Timing.of(s).p99 / Timing.of(i).p99:.2f}"
                         for s, i in zip(phase, c.idle, strict=True))

    floor_row = Row("hq.catchup.floor", floor, idle,
                    note=f"the same till's sales, not replicating, while head office ingests "
                         f"a {BACKLOG}-event backlog from another till's daemon pinned with it "
                         f"to its CPU ({floor.n} sales in {sum(c.floor_took):.1f} s; per round "
                         f"p50/p99 x idle: {per_round(c.floor)}): what the VM's sharing costs "
                         f"the till, our replicator apart")
    sale = Row("hq.catchup.sale", busy, idle, target=1.1)
    ours50 = (sale.ratio_p50 or 0) / (floor_row.ratio_p50 or 1)
    ours99 = (sale.ratio_p99 or 0) / (floor_row.ratio_p99 or 1)
    sale.note = (f"sale.add + sale.tender while the replicator sends a {BACKLOG}-event backlog "
                 f"({busy.n} sales in {sum(c.took):.1f} s; HQ held {min(c.caught)}+ at the "
                 f"end; per round {per_round(c.busy)}) vs the same till idle; {rounds} "
                 f"round(s) of idle, floor, busy. Floor {floor_row.ratio_p50:.2f}x / "
                 f"{floor_row.ratio_p99:.2f}x, so ours (subject / floor): {ours50:.2f}x p50, "
                 f"{ours99:.2f}x p99")
    return [floor_row, sale]


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-hq-", dir=base) as tmp:
        root = Path(tmp)
        if ONLY != "catchup":
            rows += ingest_rows(root)
        if ONLY == "ingest":
            return rows
        if ONLY == "catchup":
            return rows + catchup_rows(root / "catchup", ROUNDS)
        lag = trio.run(_lag, root / "lag")
        rows.append(Row("hq.lag", value=lag.p50, value_p99=lag.p99, unit="s", limit=1.0,
                        note=f"{N_TILLS} tills x 2 sales/s for {LAG_S:g} s ({lag.n} sales), "
                             f"till commit -> HQ ack seen at the till (target p99 < 1 s)"))
        rows += catchup_rows(root / "catchup", ROUNDS)
    return rows
