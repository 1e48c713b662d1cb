"""What leaves the live store, where it goes, and how the till still finds it (issue 18 item 3).

Nothing was ever deleted: 6.5 KB per sale, 10 GB after three years of a busy till, 40 % of
it journal and 1.2 KB a receipt document kept in `print_jobs` for ever. Retention moves old
rows to monthly archive files beside the store and out of it:

- journal events: once head office has acknowledged them (`hq_acked_seq`) and they are
  older than `[retention] journal_days`; a till without head office keeps them
  `keep_days`. The newest event always stays (the next seq follows it).
- completed and voided sales and refunds, with their lines, tenders, payment attempts,
  refund plans and stock moves: older than `keep_days`, and never one still returnable
  (within `return_window_days`), never one whose journal events head office has not
  acknowledged; a sale and its refunds leave together.
- finished print jobs (done, sent to a printer without status, cancelled; their receipt
  documents): older than `print_days`. A held (poison) job stays until someone looks.

When the live store is still over `max_store_mb`, the oldest sales past the return window
go too, month by month (the same "never" rules hold).

An archive is a SQLite file per month, `archive-YYYY-MM.db`, in `[retention] archive_dir`:
one row per sale (its rows as zlib-compressed msgpack, keyed by receipt number and id), the
journal in compressed chunks of `CHUNK` events keyed by seq, print jobs likewise. A receipt
number names its business day, so a return or a reprint of an archived sale opens one file
and reads one row (`find_sale`), and `restore_sale` puts the sale's rows back into the live
store inside the caller's transaction. The archive is written and fsync'd before the live
rows are deleted, in short transactions (`BATCH` sales each), so a crash in between leaves
the rows in both places (the next run deletes them) and never in neither. Freed pages are
returned with `PRAGMA incremental_vacuum` in small steps.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.store.db import private_file
from protocol.codec import pack, unpack

log = logging.getLogger("gatewayd.retention")

BATCH = 200  # sales per delete transaction: a few ms of the writer each
CHUNK = 256  # journal events per compressed archive row
# Pages freed per incremental_vacuum transaction: adapted so one step holds the writer for
# about VACUUM_STEP_S. Freeing a page at the end of the file is cheap; moving a page still in
# use into a hole is not, and a store of years after its first run is all holes: 2000 pages
# a step took about 9 s on the 1.6M-sale bench store (docs/bench.md), a sale's busy timeout.
VACUUM_PAGES = (16, 256, 4000)  # least, first, most
VACUUM_STEP_S = 0.05
VACUUM_PAUSE_S = 0.02  # between steps: a waiting sale takes the writer
# A run's vacuum stops after this; the next run goes on. A store of years after its first run
# is mostly holes that come back under 1 MB/s here (16-page steps of about 70 ms): hours,
# into opening time; `gatewayd vacuum` rewrites it in seconds (gatewayd/store/vacuum.py).
VACUUM_BUDGET_S = 1800.0
DAY_US = 86_400_000_000

# The tables of a sale, and how to find its rows (sales themselves by id).
SALE_TABLES = (
    ("sale_lines", "sale_id"),
    ("sale_tenders", "sale_id"),
    ("payment_attempts", "sale_id"),
    ("pending_refunds", "id"),  # a refund's own plan (its id is the refund's sales.id)
    ("stock_moves", "ref"),
)

ARCHIVE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sales (id TEXT PRIMARY KEY, receipt_no TEXT UNIQUE,"
    " kind TEXT NOT NULL, refund_of TEXT, business_day TEXT, data BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sales_refund_of ON sales(refund_of)",
    "CREATE TABLE IF NOT EXISTS journal (first_seq INTEGER PRIMARY KEY,"
    " last_seq INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS print_jobs (id TEXT PRIMARY KEY, ref TEXT, data BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS print_jobs_ref ON print_jobs(ref)",
)


@dataclass(frozen=True)
class Policy:
    keep_days: int = 400
    journal_days: int = 7
    print_days: int = 7
    return_window_days: int = 90
    max_store_bytes: int = 1 << 30


@dataclass
class Outcome:
    """What a run archived and freed; counted as it goes, so a run's progress is this read
    from another thread (`system.health` while it runs)."""
    sales: int = 0
    journal: int = 0
    print_jobs: int = 0
    freed_bytes: int = 0  # given back to the file system by the vacuum
    free_bytes: int = 0  # still free in the file when the run ended (the vacuum's budget)
    phase: str = ""  # journal | print_jobs | sales | vacuum | done
    live_bytes: int = 0
    files: set[str] = field(default_factory=set)


# -- head office's cursor --------------------------------------------------------------------------
def hq_acked_seq(store: Any) -> int | None:
    """The highest journal seq head office has acknowledged, or None when the till has no
    head office (not enrolled). The one place retention asks; the replication link owns the
    cursor (gatewayd/replication/link.py `prune_floor`, when it is there)."""
    try:
        from gatewayd.replication.link import prune_floor
    except ImportError:
        return None
    try:
        return prune_floor(store)
    except sqlite3.OperationalError:  # a store from before the replication table
        return None


# -- archive files ---------------------------------------------------------------------------------
def archive_path(directory: Path, month: str) -> Path:
    return directory / f"archive-{month}.db"


def _month_of_day(business_day: str) -> str:
    return f"{business_day[:4]}-{business_day[4:6]}"


def _month_of_us(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).strftime("%Y-%m")


def _pack(obj: Any) -> bytes:
    return zlib.compress(pack(obj), 6)


def _unpack(blob: bytes) -> Any:
    return unpack(zlib.decompress(blob))


class _Archives:
    """Open monthly archive files, written in one transaction each, fsync'd on commit."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.open: dict[str, sqlite3.Connection] = {}

    def __call__(self, month: str) -> sqlite3.Connection:
        conn = self.open.get(month)
        if conn is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            private_file(archive_path(self.directory, month))  # sales: the till user's only
            conn = sqlite3.connect(str(archive_path(self.directory, month)),
                                   isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")
            for sql in ARCHIVE_SCHEMA:
                conn.execute(sql)
            conn.execute("BEGIN IMMEDIATE")
            self.open[month] = conn
        return conn

    def commit(self) -> set[str]:
        done = set()
        for month, conn in self.open.items():
            conn.execute("COMMIT")
            conn.close()
            done.add(month)
        self.open.clear()
        return done

    def rollback(self) -> None:
        for conn in self.open.values():
            conn.execute("ROLLBACK")
            conn.close()
        self.open.clear()


def _rows(conn: Any, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, tuple(params)).fetchall()]


# -- reading the archive ---------------------------------------------------------------------------
def find_sale(directory: Path, *, receipt_no: str | None = None,
              sale_id: str | None = None, month: str | None = None) -> dict[str, Any] | None:
    """An archived sale's rows `{sales: row, sale_lines: [...], ...}` by receipt number
    (its day names the file) or by id (`month` if known, else every file, newest first)."""
    key: str | None
    if receipt_no is not None:
        parts = receipt_no.split("-")
        days = [p for p in parts if len(p) == 8 and p.isdigit()]
        if not days:
            return None
        months = [_month_of_day(days[-1])]
        where, key = "receipt_no = ?", receipt_no
    else:
        months = [month] if month else sorted(
            (p.stem.removeprefix("archive-") for p in directory.glob("archive-*.db")),
            reverse=True)
        where, key = "id = ?", sale_id
    for m in months:
        path = archive_path(directory, m)
        if not path.exists():
            continue
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(f"SELECT data FROM sales WHERE {where}", (key,)).fetchone()
        finally:
            conn.close()
        if row is not None:
            return _unpack(row[0])
    return None


def find_refunds(directory: Path, sale_id: str, business_day: str) -> list[dict[str, Any]]:
    """The archived refunds of an archived sale (in its month's file or a later one)."""
    month = _month_of_day(business_day)
    out = []
    for path in sorted(directory.glob("archive-*.db")):
        if path.stem.removeprefix("archive-") < month:
            continue
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            out += [_unpack(r[0]) for r in conn.execute(
                "SELECT data FROM sales WHERE refund_of = ?", (sale_id,))]
        finally:
            conn.close()
    return out


def restore_sale(tx: Any, bundle: dict[str, Any]) -> None:
    """Put an archived sale's rows back into the live store (inside the caller's write
    transaction, e.g. the refund or the reprint of a sale that had been archived), its
    archived refunds with it (what they took back decides what may still be refunded).
    The archive keeps its copy; the next retention run archives the sale again when it is
    old enough and nothing newer refers to it."""
    def insert(table: str, row: dict[str, Any]) -> None:
        cols = list(row)
        tx.execute(f"INSERT OR IGNORE INTO {table}({', '.join(cols)}) VALUES"
                   f" ({', '.join('?' * len(cols))})", [row[c] for c in cols])

    insert("sales", bundle["sales"])
    for table, _ in SALE_TABLES:
        for row in bundle.get(table, ()):
            if table == "stock_moves":
                row = {k: v for k, v in row.items() if k != "id"}  # a fresh rowid
            insert(table, row)


def bring_back(tx: Any, directory: Path | None, receipt_no: str) -> bool:
    """If the sale with `receipt_no` is archived and not in the live store, put it (and its
    refunds) back in, inside the caller's transaction. Returns True when it did."""
    if directory is None or tx.one("SELECT 1 FROM sales WHERE receipt_no = ?",
                                   (receipt_no,)) is not None:
        return False
    bundle = find_sale(directory, receipt_no=receipt_no)
    if bundle is None:
        return False
    restore_sale(tx, bundle)
    sale = bundle["sales"]
    if sale["kind"] == "sale" and sale["business_day"]:
        for refund in find_refunds(directory, sale["id"], sale["business_day"]):
            restore_sale(tx, refund)
    return True


def read_journal(directory: Path, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Archived journal events with seq > after, in order (an audit, or head office asking
    for more than the live store holds)."""
    out: list[dict[str, Any]] = []
    for path in sorted(directory.glob("archive-*.db")):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (data,) in conn.execute("SELECT data FROM journal WHERE last_seq > ?"
                                        " ORDER BY first_seq", (after,)):
                out += [e for e in _unpack(data) if e["seq"] > after]
        finally:
            conn.close()
        if len(out) >= limit:
            break
    return sorted(out, key=lambda e: e["seq"])[:limit]


# -- the run ---------------------------------------------------------------------------------------
def live_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the store in use (the file less its free pages)."""
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    count = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (count - free) * page


def _business_day(tz: ZoneInfo, now_us: int, days_ago: int) -> str:
    day = dt.datetime.fromtimestamp(now_us / 1e6, tz).date() - dt.timedelta(days=days_ago)
    return day.strftime("%Y%m%d")


def _at_of_seq(read: sqlite3.Connection, directory: Path, seq: int) -> int:
    """The time of journal event `seq` (live, else archived); -1 if it is nowhere."""
    row = read.execute("SELECT at FROM journal WHERE seq = ?", (seq,)).fetchone()
    if row is not None:
        return row[0]
    for path in sorted(directory.glob("archive-*.db"), reverse=True):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            got = conn.execute("SELECT data FROM journal WHERE first_seq <= ? AND"
                               " last_seq >= ?", (seq, seq)).fetchone()
        finally:
            conn.close()
        if got is not None:
            return next((e["at"] for e in _unpack(got[0]) if e["seq"] == seq), -1)
    return -1


def _sale_batches(read: sqlite3.Connection, before_day: str, ack_us: int | None,
                  ) -> Iterable[list[str]]:
    """Ids of archivable documents, oldest day first, in batches: finished, from before
    `before_day`, refunded by nothing that stays, every journal event of theirs
    acknowledged (when there is head office). A sale's refunds come in its batch, so no
    batch leaves a key pointing at a deleted row. Each page is its own short read: no
    snapshot is held across the run (it would keep the WAL from being checkpointed)."""
    # walked in sales_day's own order (business_day, state, rowid): no sort of a day's sales
    sql = ("SELECT s.business_day, s.state, s.rowid, s.id FROM sales s"
           " WHERE s.business_day < ? AND s.state IN ('completed', 'voided')"
           " AND (s.business_day, s.state, s.rowid) > (?, ?, ?)"
           " AND NOT EXISTS (SELECT 1 FROM pending_refunds p WHERE p.sale_id = s.id"
           "                 AND p.state = 'pending')"
           " AND NOT EXISTS (SELECT 1 FROM sales r WHERE r.refund_of = s.id"
           "                 AND (r.business_day IS NULL OR r.business_day >= ?"
           "                      OR r.state NOT IN ('completed', 'voided')"
           + ("                   OR r.updated_at >= ?" if ack_us is not None else "")
           + "))"
           + (" AND s.updated_at < ?" if ack_us is not None else "")
           + " ORDER BY s.business_day, s.state, s.rowid LIMIT ?")
    last: tuple[str, str, int] = ("", "", 0)
    while True:
        params: list[Any] = [before_day, *last, before_day]
        if ack_us is not None:
            params += [ack_us, ack_us]
        rows = read.execute(sql, [*params, BATCH]).fetchall()
        if not rows:
            return
        last = (rows[-1][0], rows[-1][1], rows[-1][2])
        ids = [r[3] for r in rows]
        marks = ", ".join("?" * len(ids))
        refunds = [r[0] for r in read.execute(
            f"SELECT id FROM sales WHERE refund_of IN ({marks})", ids)]
        yield list(dict.fromkeys(ids + refunds))


def _bundle(conn: Any, sale_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {"sales": _rows(conn, "SELECT * FROM sales WHERE id = ?",
                                          (sale_id,))[0]}
    for table, key in SALE_TABLES:
        out[table] = _rows(conn, f"SELECT * FROM {table} WHERE {key} = ?", (sale_id,))
    # a sale's abandoned refund plans (a refund's own plan is keyed by the refund's id)
    out["pending_refunds"] += _rows(conn, "SELECT * FROM pending_refunds WHERE sale_id = ?"
                                    " AND id != ?", (sale_id, sale_id))
    return out


def _delete_sales(tx: Any, ids: list[str]) -> int:
    """A batch's rows, children first. A refund's lines point at its sale's lines and the
    refund at the sale: both are in the batch, and each DELETE removes both ends at once."""
    marks = ", ".join("?" * len(ids))
    for table, key in SALE_TABLES:
        if table != "sale_lines":
            tx.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", ids)
    tx.execute(f"DELETE FROM pending_refunds WHERE sale_id IN ({marks})", ids)
    tx.execute(f"DELETE FROM sale_lines WHERE sale_id IN ({marks})", ids)
    return tx.execute(f"DELETE FROM sales WHERE id IN ({marks})", ids).rowcount


def archive_sales(store: Any, read: sqlite3.Connection, directory: Path, before_day: str,
                  ack_us: int | None, out: Outcome,
                  should_stop: Callable[[], bool] = lambda: False) -> None:
    """Documents from before `before_day` whose journal events are all acknowledged
    (older than `ack_us`, the time of head office's acknowledged event; None: no HQ)."""
    for ids in _sale_batches(read, before_day, ack_us):
        if should_stop():
            return
        archives = _Archives(directory)
        try:
            for sale_id in ids:
                b = _bundle(read, sale_id)
                s = b["sales"]
                day = s["business_day"] or dt.datetime.fromtimestamp(
                    s["updated_at"] / 1e6, dt.UTC).strftime("%Y%m%d")
                archives(_month_of_day(day)).execute(
                    "INSERT OR REPLACE INTO sales(id, receipt_no, kind, refund_of,"
                    " business_day, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (sale_id, s["receipt_no"], s["kind"], s["refund_of"], day, _pack(b)))
            out.files |= archives.commit()
        except BaseException:
            archives.rollback()
            raise
        deleted, _ = store.write_sync(lambda tx, ids=ids: _delete_sales(tx, ids))
        out.sales += deleted


def archive_journal(store: Any, read: sqlite3.Connection, directory: Path, before_us: int,
                    max_seq: int | None, out: Outcome,
                    should_stop: Callable[[], bool] = lambda: False) -> None:
    """Events older than `before_us`, up to `max_seq` (acknowledged), never the newest."""
    newest = read.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
    limit = newest - 1 if max_seq is None else min(max_seq, newest - 1)
    while not should_stop():
        rows = _rows(read, "SELECT seq, at, kind, data FROM journal WHERE seq <= ?"
                     " AND at < ? ORDER BY seq LIMIT ?", (limit, before_us, CHUNK))
        if not rows:
            return
        archives = _Archives(directory)
        try:
            by_month: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                by_month.setdefault(_month_of_us(r["at"]), []).append(r)
            for month, events in by_month.items():
                archives(month).execute(
                    "INSERT OR REPLACE INTO journal(first_seq, last_seq, data)"
                    " VALUES (?, ?, ?)",
                    (events[0]["seq"], events[-1]["seq"], _pack(events)))
            out.files |= archives.commit()
        except BaseException:
            archives.rollback()
            raise
        first, last = rows[0]["seq"], rows[-1]["seq"]
        store.write_sync(lambda tx, a=first, b=last: tx.execute(
            "DELETE FROM journal WHERE seq BETWEEN ? AND ?", (a, b)))
        out.journal += len(rows)


def archive_print_jobs(store: Any, read: sqlite3.Connection, directory: Path, before_us: int,
                       out: Outcome, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Finished jobs last touched before `before_us`, walked in rowid (insertion) order from
    where the last batch stopped: no index on their time, and no scan from the start per
    batch. NOT INDEXED: given the choice, SQLite reads every finished job by
    print_jobs_state and sorts them by rowid, for each batch (8 s a batch at 1.6M jobs)."""
    last = 0
    while not should_stop():
        rows = _rows(read, "SELECT rowid AS rid, * FROM print_jobs NOT INDEXED WHERE rowid > ?"
                     " AND state IN"
                     " ('done', 'sent', 'cancelled') AND updated_at < ? ORDER BY rowid LIMIT ?",
                     (last, before_us, BATCH))
        if not rows:
            return
        last = rows[-1].pop("rid")
        for r in rows[:-1]:
            r.pop("rid")
        archives = _Archives(directory)
        try:
            for r in rows:
                archives(_month_of_us(r["created_at"])).execute(
                    "INSERT OR REPLACE INTO print_jobs(id, ref, data) VALUES (?, ?, ?)",
                    (r["id"], r["ref"], _pack(r)))
            out.files |= archives.commit()
        except BaseException:
            archives.rollback()
            raise
        ids = [r["id"] for r in rows]
        store.write_sync(lambda tx, ids=ids: tx.execute(
            f"DELETE FROM print_jobs WHERE id IN ({', '.join('?' * len(ids))})", ids))
        out.print_jobs += len(rows)


def vacuum(store: Any, read: sqlite3.Connection,
           should_stop: Callable[[], bool] = lambda: False,
           progress: Callable[[int], None] = lambda freed: None) -> int:
    """Give free pages back to the file system in short steps (auto_vacuum=INCREMENTAL
    stores; a store from before it only reuses them until it is converted:
    gatewayd/store/vacuum.py). Each step is sized to hold the writer about VACUUM_STEP_S,
    with a pause between steps, so sales go on meanwhile; `progress` gets the pages freed so
    far after each."""
    freed = 0
    if read.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        return 0
    pages = VACUUM_PAGES[1]
    while not should_stop() and read.execute("PRAGMA freelist_count").fetchone()[0] > 0:
        before = read.execute("PRAGMA freelist_count").fetchone()[0]
        started = time.monotonic()
        store.write_sync(lambda tx, n=pages: _free_pages(tx, n))
        pages = vacuum_step(pages, time.monotonic() - started)
        after = read.execute("PRAGMA freelist_count").fetchone()[0]
        if after >= before:
            break
        freed += before - after
        progress(freed)
        time.sleep(VACUUM_PAUSE_S)
    return freed


def _free_pages(tx: Any, pages: int) -> None:
    """`PRAGMA incremental_vacuum(N)` frees one page per step of its statement, and Python's
    sqlite3 steps a statement without result columns once: N pages take N statements."""
    for _ in range(pages):
        tx.execute("PRAGMA incremental_vacuum(1)")


def vacuum_step(pages: int, seconds: float) -> int:
    """The next step's pages, from how long `pages` took: halved when over VACUUM_STEP_S,
    doubled when well under, within VACUUM_PAGES."""
    least, _, most = VACUUM_PAGES
    if seconds > VACUUM_STEP_S:
        return max(least, pages // 2)
    if seconds < VACUUM_STEP_S / 4:
        return min(most, pages * 2)
    return pages


def run(store: Any, directory: Path, policy: Policy, tz: ZoneInfo, now_us: int,
        acked_seq: int | None, should_stop: Callable[[], bool] = lambda: False,
        out: Outcome | None = None) -> Outcome:
    """One retention pass (blocking: the daemon runs it on a worker thread; every write
    goes through the store's writer in short transactions). `out`, when given, is counted
    into as the pass goes (its progress)."""
    out = out if out is not None else Outcome()
    with_hq = acked_seq is not None
    journal_days = policy.journal_days if with_hq else policy.keep_days
    floor = max(policy.return_window_days, 1)
    sale_days = max(policy.keep_days, floor)
    read = store.readers._connect(store.path, readonly=True)  # this thread's own
    try:
        # journal times rise with seqs: a sale last changed before the acknowledged event
        # has all its events acknowledged
        ack_us = None if acked_seq is None else _at_of_seq(read, directory, acked_seq)
        out.phase = "journal"
        archive_journal(store, read, directory, now_us - journal_days * DAY_US, acked_seq,
                        out, should_stop)
        out.phase = "print_jobs"
        archive_print_jobs(store, read, directory, now_us - policy.print_days * DAY_US, out,
                           should_stop)
        out.phase = "sales"
        archive_sales(store, read, directory, _business_day(tz, now_us, sale_days),
                      ack_us, out, should_stop)
        # over the size bound: older sales past the return window go, a month at a time
        days = sale_days
        while live_bytes(read) > policy.max_store_bytes and days > floor and \
                not should_stop():
            days = max(floor, days - 30)
            archive_sales(store, read, directory, _business_day(tz, now_us, days), ack_us,
                          out, should_stop)
        out.phase = "vacuum"
        page = read.execute("PRAGMA page_size").fetchone()[0]
        until = time.monotonic() + VACUUM_BUDGET_S
        vacuum(store, read, lambda: should_stop() or time.monotonic() > until,
               lambda freed: setattr(out, "freed_bytes", freed * page))
        out.live_bytes = live_bytes(read)
        out.free_bytes = read.execute("PRAGMA freelist_count").fetchone()[0] * page
        out.phase = "done"
    finally:
        read.close()
    for month in out.files:  # the archive is on disk before anyone relies on it
        fd = os.open(archive_path(directory, month), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    log.info("retention: %d sales, %d journal events, %d print jobs archived; live store "
             "%.1f MB", out.sales, out.journal, out.print_jobs, out.live_bytes / 1e6)
    return out
