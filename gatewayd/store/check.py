"""What the daemon checks of its store before it trusts it with a sale.

At start-up, before the store is migrated or written: that the file is an SQLite database,
that its schema version is one this gatewayd knows and it is a gatewayd store, and
`PRAGMA quick_check` (stopped after `store.check_seconds` on a very large store: then the
store is used, and the log says it was not checked to the end). Any failure keeps the
daemon up in safe mode (gatewayd/app.py), which refuses sales and says why.

`identify` answers what `gatewayd restore` needs to know of a file before it replaces the
store with it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gatewayd.store.migrations import migrations

log = logging.getLogger("gatewayd.store")
SQLITE_MAGIC = b"SQLite format 3\x00"
GATEWAYD_TABLES = {"journal", "tokens", "operators"}


class StoreRefused(Exception):
    """The file is not a store this gatewayd may use; the message says why, in one line."""


@dataclass(frozen=True)
class StoreIdentity:
    schema: int
    journal_seq: int
    last_receipt: str | None
    till: tuple[str, str] | None  # (store, till) of its receipts, None before the first sale


def _open(path: Path) -> sqlite3.Connection:
    with open(path, "rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise StoreRefused(f"{path} is not an SQLite database")
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA query_only=ON")
    return conn


def _schema(conn: sqlite3.Connection, path: Path) -> int:
    latest = max(migrations())
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > latest:
        raise StoreRefused(
            f"{path} has schema version {version}, newer than this gatewayd knows ({latest})"
        )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version == 0 or not GATEWAYD_TABLES <= tables:
        raise StoreRefused(f"{path} is not a gatewayd store (no journal, tokens, operators)")
    return version


@contextmanager
def interrupted_after(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt what `conn` runs once `seconds` have passed, from a thread of its own: an
    integrity check runs inside one VDBE step, where SQLite never calls a progress handler.
    The interrupt is repeated until the block ends, because one that lands between two
    statements (or before the first has started) is lost."""
    done = threading.Event()

    def interrupt() -> None:
        if done.wait(seconds):
            return
        while True:
            conn.interrupt()
            if done.wait(0.01):
                return

    thread = threading.Thread(target=interrupt, name="store-check-deadline")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()  # before the connection closes under it


def check_store(path: Path, seconds: float) -> str | None:
    """None when the store may be used (or does not exist yet); else why not."""
    if not path.exists():
        return None
    try:
        conn = _open(path)
    except (StoreRefused, OSError, sqlite3.Error) as exc:
        return str(exc)
    try:
        _schema(conn, path)
        try:
            # 3 years of sales: 8 minutes of start-up, unless stopped at the deadline
            with interrupted_after(conn, seconds):
                rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.OperationalError as exc:
            if "interrupted" not in str(exc):
                raise
            log.warning("%s: quick_check stopped after %g s; the store was not checked to the "
                        "end (store.check_seconds)", path, seconds)
            return None
        if rows != ["ok"]:
            return f"{path} failed its integrity check: {'; '.join(rows[:3])}"
        return None
    except StoreRefused as exc:
        return str(exc)
    except sqlite3.Error as exc:
        return f"{path} cannot be read: {exc}"
    finally:
        conn.close()


def identify(path: Path) -> StoreIdentity:
    """What a store file holds, for restore (after its bounded quick_check in
    gatewayd/store/backup.py); StoreRefused when it is not one of ours."""
    try:
        conn = _open(path)
    except OSError as exc:
        raise StoreRefused(f"{path}: {exc.strerror}") from None
    try:
        schema = _schema(conn, path)
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
        last = None
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='sales'").fetchone():
            row = conn.execute("SELECT receipt_no FROM sales WHERE receipt_no IS NOT NULL "
                               "ORDER BY completed_at DESC, rowid DESC LIMIT 1").fetchone()
            last = row[0] if row else None
        till = tuple(last.split("-")[:2]) if last and last.count("-") >= 3 else None
        return StoreIdentity(schema, seq, last, till)
    except sqlite3.Error as exc:
        raise StoreRefused(f"{path} cannot be read: {exc}") from None
    finally:
        conn.close()
