"""Journal append: single-event transactions through `Store.write` (BEGIN IMMEDIATE, gap-free
seq, committed from the writer thread, awaited from trio) vs raw `sqlite3` inserts of the same
row with the same pragmas (WAL, synchronous=FULL) in the same run (target <= 1.5x).

Both files live in one temporary directory on the same file system (override with
GATEWAYD_BENCH_DIR to measure the disk the store really uses). Rounds alternate.

Also printed: the floor of any writer thread on this machine, a bare round trip between two
Python threads over a pipe (no SQLite, no trio): a commit cannot come back to the event
loop faster than that. On a VM whose idle vCPUs halt at once, each wake is an interrupt to a
halted vCPU, and this floor is a large share of a fast fsync.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
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


def _thread_round_trip(n: int) -> Timing:
    """Pipe ping-pong with a second thread: each way one blocking read that releases the
    GIL, as the writer thread and the event loop do."""
    to_r, to_w = os.pipe()
    back_r, back_w = os.pipe()

    def echo() -> None:
        while os.read(to_r, 1) == b".":
            os.write(back_w, b".")

    peer = threading.Thread(target=echo, daemon=True)
    peer.start()

    def once() -> None:
        os.write(to_w, b".")
        os.read(back_r, 1)

    try:
        return time_sync(once, n, warmup=50)
    finally:
        os.write(to_w, b"x")
        peer.join()
        for fd in (to_r, to_w, back_r, back_w):
            os.close(fd)


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
    hop = _thread_round_trip(N)
    over = (merge(subject).p50 - merge(baseline).p50) * 1e6
    return [
        Row("journal.append", merge(subject), merge(baseline), target=1.5, note=note),
        Row("journal.append_sync", merge(direct), merge(baseline), target=1.5,
            note="Store.write_sync in the calling thread: the store without the trio hop"),
        Row("thread.round_trip_floor", value=hop.p50, value_p99=hop.p99, unit="s",
            note=f"two threads, a pipe each way; journal.append is {over:.0f} us over raw at "
                 "p50, of which this much any writer thread pays here"),
    ]


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-", dir=base) as tmp:
        return trio.run(_measure, Path(tmp))
