"""Journal append: single-event transactions through `Store.write` (BEGIN IMMEDIATE, gap-free
seq, committed from the writer thread, awaited from trio) vs raw `sqlite3` inserts of the same
row with the same pragmas (WAL, synchronous=FULL) in the same run (target <= 1.5x).

Both files live in one temporary directory on the same file system (override with
GATEWAYD_BENCH_DIR to measure the disk the store really uses). Rounds alternate.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import trio

from bench.harness import Row, Timing, merge, time_async, time_sync
from protocol.codec import pack

ROUNDS = 8
N = 3000  # transactions per side over all rounds
EVENT = {"sale_id": "6c0e2f5a-0d6b-4b7e-9f55-0a6c1d2e3f40", "line_id": 3, "sku": "6901234567892",
         "qty": 1000, "amount": 350}


def _raw_connection(path: Path) -> sqlite3.Connection:
    from gatewayd.store.db import PRAGMAS

    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:  # the very pragmas of the store: WAL, synchronous=FULL, ...
        conn.execute(pragma)
    conn.execute(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, "
        "kind TEXT NOT NULL, data BLOB NOT NULL)"
    )
    return conn


def _raw_insert(conn: sqlite3.Connection, counter: list[int]):
    def insert() -> None:
        counter[0] += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO journal(seq, at, kind, data) VALUES (?, ?, ?, ?)",
            (counter[0], 0, "sale.line_added", pack(EVENT)),
        )
        conn.execute("COMMIT")

    return insert


def _fs_type(path: Path) -> str:
    best, fstype = "", "?"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) > 2 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                    best, fstype = parts[1], parts[2]
    except OSError:
        pass
    return fstype


async def _measure(root: Path) -> list[Row]:
    from gatewayd.store.db import Store

    store = Store(root / "store.db")
    raw = _raw_connection(root / "raw.db")
    insert = _raw_insert(raw, [0])

    async def append() -> None:
        await store.write(lambda tx: tx.append("sale.line_added", EVENT))

    def append_sync() -> None:
        store.write_sync(lambda tx: tx.append("sale.line_added", EVENT))

    try:
        time_sync(insert, 20)
        await time_async(append, 20)
        subject: list[Timing] = []
        direct: list[Timing] = []
        baseline: list[Timing] = []
        for _ in range(ROUNDS):
            baseline.append(time_sync(insert, N // ROUNDS))
            subject.append(await time_async(append, N // ROUNDS))
            direct.append(time_sync(append_sync, N // ROUNDS))
        seqs = store.journal_seq()
    finally:
        raw.close()
        store.close()
    note = (f"{root} ({_fs_type(root)}); {seqs} journal events; "
            "baseline: BEGIN IMMEDIATE + INSERT + COMMIT on a raw sqlite3 connection")
    return [
        Row("journal.append", merge(subject), merge(baseline), target=1.5, note=note),
        Row("journal.append_sync", merge(direct), merge(baseline), target=1.5,
            note="Store.write_sync in the calling thread: the store without the trio hop"),
    ]


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-", dir=base) as tmp:
        return trio.run(_measure, Path(tmp))
