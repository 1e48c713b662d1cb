"""Row ids and a store of years: the commit of one sale's rows into an id index of
`BENCH_IDS_ROWS` rows (default 2,000,000: three years of lines), with the daemon's ids
(gatewayd/ids.py, version-7 UUIDs, time first) against uuid4's.

    ids.commit   6 rows (a sale's lines) in one commit with the daemon's pragmas and writer
                 cache, ids by new_id() vs by uuid4 (the baseline), rounds alternating

uuid4 puts each insert on a random leaf of the index: on a big store those pages are not in
the writer's cache, each commit reads and dirties six of them, and the WAL that checkpoints
copy back grows six pages a commit. new_id()'s inserts share the index's right edge.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.harness import Row, Timing
from gatewayd.ids import new_id
from gatewayd.store.db import PRAGMAS, WRITER_CACHE_KIB

ROWS = int(os.environ.get("BENCH_IDS_ROWS", "2000000"))
COMMITS = 1000  # a round; two rounds a side
PER_COMMIT = 6


def _uuid4() -> str:
    return str(uuid.uuid4())


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    return conn


def _fill(path: Path, make: Callable[[], str]) -> None:
    conn = _connect(path)
    conn.execute("CREATE TABLE lines(id TEXT PRIMARY KEY, pos INTEGER, sku TEXT)")
    batch = 100_000
    for start in range(0, ROWS, batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO lines VALUES (?,?,?)",
                         ((make(), i, f"sku{i % 5000:05d}") for i in range(min(batch,
                                                                               ROWS - start))))
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _commits(path: Path, make: Callable[[], str]) -> list[float]:
    conn = _connect(path)
    out = []
    try:
        for _ in range(COMMITS):
            t0 = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO lines VALUES (?,?,?)",
                             ((make(), k, "sku00001") for k in range(PER_COMMIT)))
            conn.execute("COMMIT")
            out.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return out


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-ids-") as tmp:
        ours, theirs = Path(tmp) / "v7.db", Path(tmp) / "v4.db"
        print(f"  ids: two indexes of {ROWS} rows ...", file=sys.stderr, flush=True)
        _fill(ours, new_id)
        _fill(theirs, _uuid4)
        v7: list[float] = []
        v4: list[float] = []
        for _ in range(2):
            v4 += _commits(theirs, _uuid4)
            v7 += _commits(ours, new_id)
    return [Row("ids.commit", Timing.of(v7), Timing.of(v4),
                note=f"{PER_COMMIT} rows a commit into a {ROWS}-row id index: new_id() vs "
                     f"uuid4 (baseline); a ratio below 1 is new_id's gain")]
