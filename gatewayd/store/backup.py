"""Backups that finish while the till sells, their rotation, and the check before a restore.

SQLite's online backup copies pages in steps and starts again from the first page whenever
another connection commits between two steps: on a till selling a sale every two seconds a
big store never finished (issue 18). Here the copying connection first opens a read
transaction and holds it to the end, so every step reads the same WAL snapshot and a commit
elsewhere changes nothing it sees: no restarts, the copy is the store as of that snapshot
(its journal seq is reported), and the writer keeps committing meanwhile (WAL readers never
block the writer). The copy goes to `TARGET.partial` and is renamed when complete, so a
file with the backup's name is always a whole backup.

A backup is bounded in time (`deadline_s`: past it the copy stops and the partial file is
removed) and reports progress in pages.

`check` is the restore's integrity check: `PRAGMA quick_check` (O(pages), not the
O(pages log pages) of `integrity_check` that took two minutes on a 10 GB store), table by
table so it can report progress, stopped at its deadline by SQLite's progress handler.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatewayd.store.check import interrupted_after
from gatewayd.store.db import private_file, put_in_place

PAGES_PER_STEP = 1024  # 4 MB per step with 4 KB pages
Progress = Callable[[int, int], None]  # (done, total)


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    journal_seq: int  # the last journal event in the copy
    pages: int
    seconds: float


def backup(source: Path | str, target: Path | str, progress: Progress | None = None, *,
           deadline_s: float = 3600.0, stop: Callable[[], bool] | None = None,
           pages_per_step: int | None = None) -> BackupResult:
    """Copy the store at `source` to `target` from one read snapshot (see above). `stop`
    is polled between steps: a daemon's cancelled backup task stops the copy with it."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists; refusing to overwrite")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None,
                          timeout=5.0)
    try:
        src.execute("BEGIN")  # the snapshot every step reads: see the module docstring
        seq = src.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
        private_file(partial)  # a copy of the store is as private as the store
        dest = sqlite3.connect(str(partial))
        pages = 0
        try:
            def step(status: int, remaining: int, total: int) -> None:
                nonlocal pages
                pages = total
                if progress:
                    progress(total - remaining, total)
                if time.monotonic() - started > deadline_s:
                    raise BackupError(f"the backup did not finish within {deadline_s:g} s")
                if stop is not None and stop():
                    raise BackupError("the backup was cancelled")

            src.backup(dest, pages=pages_per_step or PAGES_PER_STEP, progress=step, sleep=0)
            dest.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        finally:
            dest.close()
        src.execute("ROLLBACK")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    put_in_place(partial, target)
    return BackupResult(target, seq, pages, time.monotonic() - started)


# -- scheduled backups and their rotation -------------------------------------------------------
NAME = re.compile(r"^gatewayd-(\d{8}-\d{6})\.db$")


def backup_name(at: dt.datetime) -> str:
    return f"gatewayd-{at.strftime('%Y%m%d-%H%M%S')}.db"


def rotate(directory: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest scheduled backups in `directory`; returns the
    removed ones. Files not named like a scheduled backup are never touched."""
    found = sorted((p for p in directory.iterdir() if NAME.match(p.name)),
                   key=lambda p: p.name, reverse=True)
    removed = found[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def next_run(now: dt.datetime, at: dt.time) -> dt.datetime:
    """The next local time `at` after `now` (both in the store's timezone)."""
    candidate = dt.datetime.combine(now.date(), at, now.tzinfo)
    if candidate <= now:
        candidate = dt.datetime.combine(now.date() + dt.timedelta(days=1), at, now.tzinfo)
    return candidate


# -- the restore's check ------------------------------------------------------------------------
def check(path: Path | str, progress: Progress | None = None, *,
          deadline_s: float = 600.0) -> list[str]:
    """`quick_check` of the file at `path`, table by table; returns the problems found
    (empty: ok). Raises BackupError past the deadline, sqlite3.DatabaseError if the file is
    not a database at all."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    deadline = time.monotonic() + deadline_s
    try:
        with interrupted_after(conn, deadline_s):
            return _check_tables(conn, progress, deadline, deadline_s)
    finally:
        conn.close()


def _check_tables(conn: sqlite3.Connection, progress: Progress | None, deadline: float,
                  deadline_s: float) -> list[str]:
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE"
            " 'sqlite_%' ORDER BY name")]
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):  # the deadline passed before the first table
            raise BackupError(f"the check did not finish within {deadline_s:g} s "
                              "(0 tables checked)") from None
        raise
    problems: list[str] = []
    for i, table in enumerate(tables):
        late = BackupError(f"the check did not finish within {deadline_s:g} s "
                           f"({i} of {len(tables)} tables checked)")
        if time.monotonic() > deadline:
            raise late
        try:
            rows = conn.execute(f'PRAGMA quick_check("{table}")').fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise late from None
            rows = [(str(exc),)]
        except sqlite3.DatabaseError as exc:  # a damaged b-tree: a problem found
            rows = [(str(exc),)]
        problems += [f"{table}: {r[0]}" for r in rows if r[0] != "ok"]
        if progress:
            progress(i + 1, len(tables))
    return problems
