"""A big catalog import that never blocks a sale (issue 18 item 5).

Written in one transaction, a 200,000-item import held the store's write lock for about 8 s:
a `sale.add` meanwhile waited out the 5 s busy timeout and failed with "database is locked".
Here the import is built beside the catalog and switched in:

1. stage: `items_next` and `barcodes_next`, created with the live tables' own definitions,
   receive a copy of the catalog and then the imported rows, `CHUNK` rows per transaction:
   each one holds the write lock for milliseconds, then lets go of it for `YIELD_S`, and
   the till sells in between (the daemon's writer gets the lock between two chunks).
2. switch, in one short transaction: the live tables are renamed away, the staged ones take
   their names (SQLite rewrites the barcodes' foreign key to the new `items`), the catalog
   version is bumped (caches empty) and the one `catalog.upserted` event is journaled. A
   reader sees the whole old catalog or the whole new one, as with one transaction.
3. the old tables are emptied in chunks and dropped.

All or none still holds: every row is validated, and checked against the catalog, before
anything is staged; a catalog write committed by someone else during the staging (the
catalog version moved) makes the import start over from a fresh copy (`ATTEMPTS` times).
Index names carry a generation (`items_pinyin_g3`): the staged tables' indexes cannot have
the live ones' names while both exist.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from gatewayd.sales.catalog.repository import _store_checks, journal_upsert, write_rows
from gatewayd.sales.catalog.validation import CatalogError, ItemIn
from gatewayd.sales.catalog.validation import row_error as _error
from gatewayd.store.db import now_us

CHUNK = 2000
ATTEMPTS = 3
# After each chunk the import lets go of the write lock for this long. A writer in another
# process (the daemon's, with a sale) waits in SQLite's busy handler, which retries every
# 100 ms once it has waited a while: released for less, back-to-back chunks could starve it
# until its busy timeout.
YIELD_S = 0.1
LIVE = ("items", "barcodes")


class CatalogChanged(Exception):
    """Someone else wrote the catalog while this import was staged."""


def _ddl(store: Any, table: str, gen: int) -> list[str]:
    """The live table's CREATE TABLE and CREATE INDEX statements for its staged copy."""
    rows = store.one("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                     (table,))
    create = re.sub(rf'^CREATE TABLE "?{table}"?(?=\s*\()', f"CREATE TABLE {table}_next",
                    rows[0])
    # the staged barcodes point at the staged items; the switch's renames repoint them
    create = re.sub(r'REFERENCES "?items"?(?=\s*\()', "REFERENCES items_next", create)
    out = [create]
    for (sql,) in store.all("SELECT sql FROM sqlite_schema WHERE type = 'index' AND"
                            " tbl_name = ? AND sql IS NOT NULL", (table,)):
        m = re.match(r"CREATE (UNIQUE )?INDEX \"?(\w+?)(?:_g\d+)?\"? ON \"?\w+\"?(.*)$", sql,
                     re.S)
        if m is None:
            raise RuntimeError(f"cannot stage index {sql!r}")
        out.append(f"CREATE {m.group(1) or ''}INDEX {m.group(2)}_g{gen} ON {table}_next"
                   f"{m.group(3)}")
    return out


def _chunk(store: Any, fn: Callable[[Any], Any]) -> Any:
    """One chunk's transaction, then a pause in which others write (see YIELD_S)."""
    out = store.write_sync(fn)
    time.sleep(YIELD_S)
    return out


def _prepare(store: Any) -> int:
    """Drop what an interrupted import left, create the staged tables; returns the catalog
    version they start from."""
    gen = store.one("SELECT n FROM catalog_version")[0] + 1

    def fn(tx: Any) -> int:
        for table in ("barcodes_next", "items_next"):
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        for table in LIVE:
            for sql in _ddl(store, table, gen):
                tx.execute(sql)
        return tx.one("SELECT n FROM catalog_version")[0]

    version, _ = store.write_sync(fn)
    return version


def _copy(store: Any, table: str, key: str, version: int,
          progress: Callable[[str], None] | None) -> None:
    last = ""
    while True:
        def fn(tx: Any, last: str = last) -> str | None:
            if tx.one("SELECT n FROM catalog_version")[0] != version:
                raise CatalogChanged
            row = tx.one(f"SELECT MAX({key}) FROM (SELECT {key} FROM {table} WHERE {key} > ?"
                         f" ORDER BY {key} LIMIT ?)", (last, CHUNK))
            if row[0] is None:
                return None
            tx.execute(f"INSERT INTO {table}_next SELECT * FROM {table} WHERE {key} > ? AND"
                       f" {key} <= ?", (last, row[0]))
            return row[0]

        got, _ = _chunk(store, fn)
        if got is None:
            return
        last = got


def _stage(store: Any, items: Sequence[ItemIn], version: int, at: int,
           progress: Callable[[str], None] | None) -> tuple[int, list[dict[str, str]]]:
    moved_count, moved = 0, list[dict[str, str]]()
    for i in range(0, len(items), CHUNK):
        part = items[i:i + CHUNK]

        def fn(tx: Any, part: Sequence[ItemIn] = part) -> tuple[int, list[dict[str, str]]]:
            if tx.one("SELECT n FROM catalog_version")[0] != version:
                raise CatalogChanged
            return write_rows(tx, part, at, "items_next", "barcodes_next")

        (n, some), _ = _chunk(store, fn)
        moved_count += n
        moved += some[:100 - len(moved)]
        if progress and len(items) >= 10 * CHUNK and (i // CHUNK) % 10 == 9:
            progress(f"staged {i + len(part)} of {len(items)} items")
    return moved_count, moved


def _switch(store: Any, report: dict[str, Any], skus: Sequence[str], version: int,
            also: Callable[[Any], None] | None) -> int:
    def fn(tx: Any) -> int:
        if tx.one("SELECT n FROM catalog_version")[0] != version:
            raise CatalogChanged
        tx.execute("ALTER TABLE barcodes RENAME TO barcodes_old")
        tx.execute("ALTER TABLE items RENAME TO items_old")
        tx.execute("ALTER TABLE items_next RENAME TO items")
        tx.execute("ALTER TABLE barcodes_next RENAME TO barcodes")
        seq = journal_upsert(tx, report, skus)
        if also is not None:
            also(tx)
        return seq

    seq, _ = store.write_sync(fn)
    return seq


def _drop_old(store: Any) -> None:
    """The replaced tables, emptied in chunks (each a short transaction) and dropped."""
    for table, key in (("barcodes_old", "code"), ("items_old", "sku")):
        while True:
            def delete(tx: Any, t: str = table, k: str = key) -> int:
                return tx.execute(f"DELETE FROM {t} WHERE {k} IN (SELECT {k} FROM {t} LIMIT ?)",
                                  (CHUNK * 5,)).rowcount

            (n, _) = _chunk(store, delete)
            if n == 0:
                break
        store.write_sync(lambda tx, t=table: tx.execute(f"DROP TABLE {t}"))


def import_items(store: Any, items: Sequence[ItemIn], rows: Sequence[int], source: str,
                 progress: Callable[[str], None] | None = None,
                 also: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Stage `items` (validated) beside the catalog and switch them in (see above). `also`
    runs in the switch's transaction: what must change with the catalog (a master version
    from head office: its other changes and its journal event)."""
    errors = store.readers.run_sync(lambda snap: _store_checks(snap, items, rows))
    if errors:
        raise CatalogError(errors)
    skus = [it.sku for it in items]
    for _attempt in range(ATTEMPTS):
        try:
            version = _prepare(store)
            for table, key in (("items", "sku"), ("barcodes", "code")):
                _copy(store, table, key, version, progress)
            new = _count_new(store, skus)
            moved_count, moved = _stage(store, items, version, now_us(), progress)
            report = {"count": len(items), "inserted": new, "updated": len(items) - new,
                      "barcodes_moved": moved_count, "moved": moved, "source": source}
            report["seq"] = _switch(store, report, skus, version, also)
            break
        except CatalogChanged:
            if progress:
                progress("the catalog changed meanwhile: staging again")
        except Exception as exc:
            if "UNIQUE constraint failed: items_next.plu" in str(exc):
                raise CatalogError([_error(0, None, "plu", "a PLU of this import belongs to"
                                           " an item it does not change")]) from None
            raise
    else:
        raise CatalogError([_error(0, None, "sku", "the catalog kept changing during the "
                                   f"import ({ATTEMPTS} attempts); try again")])
    _drop_old(store)
    return report


def _count_new(store: Any, skus: Sequence[str]) -> int:
    known = 0
    for i in range(0, len(skus), 500):
        part = skus[i:i + 500]
        known += store.one(f"SELECT COUNT(*) FROM items WHERE sku IN"
                           f" ({', '.join('?' * len(part))})", tuple(part))[0]
    return len(set(skus)) - known
