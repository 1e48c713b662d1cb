"""A store from before incremental vacuum, converted once (issue 18 item 3).

Retention gives freed pages back to the file system with `PRAGMA incremental_vacuum`, which
works only on a store whose `auto_vacuum` is INCREMENTAL. That can be set before the first
table exists (every store created since is so) or by rewriting the whole file: a store from
before keeps every page it ever had and only reuses them.

`convert` rewrites it: `VACUUM INTO` a copy beside it with auto_vacuum=INCREMENTAL (its
progress is the copy's size against the store's pages in use), checks the copy, fsyncs it and
puts it in the store's place. It needs the store to itself: the caller holds the store lock
(gatewayd/store/lock.py), so no daemon has it open. When:

- at start-up, before the daemon opens the store, when the store is small (under
  `SMALL_BYTES`: a few seconds at most; gatewayd/cli/daemon.py);
- otherwise by hand at a quiet moment, the daemon stopped: `gatewayd vacuum`, which shows its
  progress. It needs free disk for one more copy of the store's pages in use.

The same rewrite compacts a store that is mostly free pages (`COMPACT_SHARE`): after the
first retention run of a store of years, whose holes retention's incremental vacuum gives
back under 1 MB a second (each page it moves is a random read and write), `gatewayd vacuum`
rewrites the pages in use in one sequential pass instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatewayd.store.db import put_in_place

SMALL_BYTES = 64 << 20  # converted at start-up below this
COMPACT_SHARE = 0.25  # `gatewayd vacuum` rewrites an incremental store this much free
INCREMENTAL = 2  # PRAGMA auto_vacuum's value
Progress = Callable[[int, int], None]  # (bytes written, bytes to write)


class VacuumError(Exception):
    pass


@dataclass(frozen=True)
class Converted:
    path: Path
    bytes_before: int  # the file before
    bytes_after: int  # the file after (its free pages are gone)
    seconds: float


def needs_conversion(path: Path | str) -> bool:
    """A store with tables whose auto_vacuum is not INCREMENTAL."""
    if not Path(path).exists():
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()[0]
        return bool(tables) and conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL
    finally:
        conn.close()


def worth_compacting(free: float) -> bool:
    """`free` (the share of the store's pages that are free) is COMPACT_SHARE or more:
    `gatewayd vacuum` gives them back at once, not retention's incremental vacuum over its
    next runs."""
    return free > 0 and free >= COMPACT_SHARE


def free_share(path: Path | str) -> float:
    """The share of the store's pages that are free (0 for an empty or missing file)."""
    if not Path(path).exists():
        return 0.0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return conn.execute("PRAGMA freelist_count").fetchone()[0] / pages if pages else 0.0
    finally:
        conn.close()


def convert(path: Path | str, progress: Progress | None = None) -> Converted:
    """Rewrite the store at `path` with auto_vacuum=INCREMENTAL (see above). The caller holds
    the store lock. On any failure the store is left as it was and the copy removed."""
    path = Path(path)
    started = time.monotonic()
    before = path.stat().st_size
    copy = path.with_name(path.name + ".vacuum")
    copy.unlink(missing_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        # everything in the WAL goes into the file first: the copy is made from it, and no
        # WAL may be left beside the file the copy replaces
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy or frames != copied:
            raise VacuumError(f"{path} is in use (its WAL could not be checkpointed)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        in_use = page * (conn.execute("PRAGMA page_count").fetchone()[0]
                         - conn.execute("PRAGMA freelist_count").fetchone()[0])
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # what VACUUM INTO gives the copy
        failed: list[BaseException] = []

        def work() -> None:
            try:
                conn.execute("VACUUM INTO ?", (str(copy),))
            except BaseException as exc:  # raised in the caller's thread below
                failed.append(exc)

        worker = threading.Thread(target=work, name="gatewayd-vacuum")
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            if progress is not None and copy.exists():
                progress(min(copy.stat().st_size, in_use), in_use)
        if failed:
            raise VacuumError(f"the copy failed: {failed[0]}") from failed[0]
        _check(copy)
        if progress is not None:
            progress(in_use, in_use)
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    os.chmod(copy, 0o600)  # the store's data: the till user's only
    for suffix in ("-wal", "-shm"):  # empty after the TRUNCATE checkpoint and the close
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    put_in_place(copy, path)
    return Converted(path, before, path.stat().st_size, time.monotonic() - started)


def _check(copy: Path) -> None:
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
    finally:
        conn.close()
    if mode != INCREMENTAL:
        raise VacuumError(f"the copy has auto_vacuum {mode}, not incremental")
    if problems:
        raise VacuumError(f"the copy failed its check: {'; '.join(problems[:5])}")
