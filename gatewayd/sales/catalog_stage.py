"""A big catalog import that never blocks a sale (issue 18 item 5): the catalog's tables
(`items`, `barcodes`) staged beside the live ones and switched in by one short transaction,
with gatewayd/store/stage.py (how, and why). `gatewayd catalog import`, a `catalog.upsert` of
more than `CHUNK` items and a big master-data version from head office come here.

All or none still holds: every row is validated, and checked against the catalog, before
anything is staged; a catalog write committed by someone else during the staging (the
catalog version moved) makes the import start over from a fresh copy (`ATTEMPTS` times).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from gatewayd.sales.catalog.pinyin import pinyin_initials
from gatewayd.sales.catalog.repository import (
    _store_checks,
    item_events,
    journal_upsert,
    write_rows,
)
from gatewayd.sales.catalog.validation import CatalogError, ItemIn
from gatewayd.sales.catalog.validation import row_error as _error
from gatewayd.store.db import now_us
from gatewayd.store.stage import CHUNK, Changed, Staging

__all__ = ["ATTEMPTS", "CHUNK", "import_items"]

ATTEMPTS = 3
TABLES = (("items", "sku"), ("barcodes", "code"))  # parents first
VERSION = "SELECT n FROM catalog_version"


def _stage(staging: Staging, items: Sequence[ItemIn], at: int,
           progress: Callable[[str], None] | None) -> tuple[int, list[dict[str, str]]]:
    moved_count, moved = 0, list[dict[str, str]]()
    rows = staging.rows
    for i in range(0, len(items), rows):
        part = items[i:i + rows]
        pinyin = [pinyin_initials(it.name) for it in part]  # before the lock, not under it

        def write(tx: Any, part: Sequence[ItemIn] = part, pinyin: list[str] = pinyin
                  ) -> tuple[int, list[dict[str, str]]]:
            return write_rows(tx, part, at, staging.staged("items"), staging.staged("barcodes"),
                              pinyin)

        n, some = staging.chunk(write)
        moved_count += n
        moved += some[:100 - len(moved)]
        if progress and len(items) >= 10 * CHUNK and (i + len(part)) % (10 * CHUNK) == 0:
            progress(f"staged {i + len(part)} of {len(items)} items")
    return moved_count, moved


def import_items(store: Any, items: Sequence[ItemIn], rows: Sequence[int], source: str,
                 progress: Callable[[str], None] | None = None,
                 also: Callable[[Any], None] | None = None,
                 journal: bool = True,
                 switch: Callable[[Staging, Callable[[Any], Any]], Any] | None = None
                 ) -> dict[str, Any]:
    """Stage `items` (validated) beside the catalog and switch them in (see above). `also`
    runs in the switch's transaction: what must change with the catalog (a master version
    from head office: its other changes and its journal event). `journal` False: the
    switch journals no catalog events (`also` journals the change: a master version's
    `master.applied`, whose items head office sends a rebuilt till again), only the catalog
    version moves; 200k items' events written in the switch held the writer for seconds.
    `switch(staging, fn)`: who switches in (default `staging.switch(fn)`; a master download's
    process asks the daemon to, which raises Changed to it when the catalog moved)."""
    errors = store.readers.run_sync(lambda snap: _store_checks(snap, items, rows))
    if errors:
        raise CatalogError(errors)
    skus = [it.sku for it in items]
    # dumped and packed now, not while the switch holds the lock
    events = item_events(items) if journal else None
    staging = Staging(store, TABLES, VERSION)
    for _attempt in range(ATTEMPTS):
        try:
            staging.prepare()
            staging.copy()
            new = _count_new(store, skus)
            moved_count, moved = _stage(staging, items, now_us(), progress)
            report = {"count": len(items), "inserted": new, "updated": len(items) - new,
                      "barcodes_moved": moved_count, "moved": moved, "source": source}
            switched = partial(_switched, report=report, items=items, events=events,
                               also=also)
            report["seq"] = (switch(staging, switched) if switch is not None
                             else staging.switch(switched))
            break
        except Changed:
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
    staging.drop_old()
    return report


def _switched(tx: Any, report: dict[str, Any], items: Sequence[ItemIn],
              events: Sequence[tuple[dict[str, Any], bytes]] | None,
              also: Callable[[Any], None] | None) -> int | None:
    """The switch's own writes: the events (and the version bump), and `also`'s. `events`
    None: no catalog events, only the version bump (see import_items' `journal`)."""
    if events is not None:
        seq: int | None = journal_upsert(tx, report, items, events)
    else:
        tx.execute("UPDATE catalog_version SET n = n + 1")  # the scan caches empty
        seq = None
    if also is not None:
        also(tx)
    return seq


def _count_new(store: Any, skus: Sequence[str]) -> int:
    known = 0
    for i in range(0, len(skus), 500):
        part = skus[i:i + 500]
        known += store.one(f"SELECT COUNT(*) FROM items WHERE sku IN"
                           f" ({', '.join('?' * len(part))})", tuple(part))[0]
    return len(set(skus)) - known
