"""Writing many rows into live tables without blocking a sale: stage beside, switch in
(issue 18 item 5). The catalog import and a big `catalog.upsert` use it
(gatewayd/sales/catalog_stage.py), and head office's master-data versions through that;
any other master data whose tables fit the rules below can use it the same way.

Written in one transaction, a 200,000-item import held the store's write lock for about 8 s:
a sale meanwhile waited out the 5 s busy timeout and failed with "database is locked". A
`Staging` of a set of live tables instead:

1. `prepare`: creates `<table>_next` for each, with the live table's own definition and
   indexes (index names get a generation suffix, `_g3`: the staged and the live indexes
   exist side by side);
2. `copy`: copies the live rows in, `rows` keys per transaction (a staging that replaces
   the whole content skips it);
3. `chunk(fn)`: runs the caller's writes into the staged tables, one short transaction
   each (`rows` rows). Every transaction holds the write lock for milliseconds and then
   lets go of it, so the daemon's writer (a sale) gets it in between: chunks of
   `SMALL_CHUNK` rows; in the daemon's own process (a big `catalog.upsert`) each begun only
   when the till is between sales (`Store.make_way`), so a sale waits behind at most one
   chunk of a few milliseconds; in a master download's process likewise, each chunk when the
   daemon lends it the write lock (gatewayd/replication/download.py); from another process
   (`gatewayd catalog import`) each followed by a checkpoint of its pages (by the
   importer, not by the commit of a sale that would find 1,000 of them in the log: 50-250
   ms) and `YIELD_S` without the lock. The staged
   transactions (1.-3., and 5.'s deletes) commit without an fsync (`durable=False`): a
   power cut may take back rows nothing reads and the import has not reported, and a
   sale's commit no longer queues behind an fsync of the import's every 18 ms;
4. `switch(fn)`: in one short transaction, the live tables are renamed away, the staged ones
   take their names, and `fn(tx)` journals the change (and bumps the version, below). A
   reader sees the whole old content or the whole new one, as with one transaction;
5. `drop_old`: the replaced tables are emptied in chunks and dropped (the drop synced: the
   next switch needs the name free).

`version_sql` names one number that every other write of these tables changes (the
catalog's `catalog_version`): each staged transaction checks it and raises `Changed` when it
moved, so the caller starts over from a fresh copy instead of switching in a stale one.

The rules: list the tables parents first; foreign keys between them are carried over (the
staged child points at the staged parent, and the switch's renames repoint it). No table
outside the set may refer to one inside it: the switch's renames would repoint that table at
the replaced copy (SQLite rewrites references on RENAME), so `prepare` refuses such a set.
A crash half-way leaves `_next` tables (dropped by the next `prepare`) or `_old` ones
(dropped by `drop_old`): the live tables are whole at every commit.

Blocking: run it on a worker thread (`trio.to_thread.run_sync`) or in another process; every
write goes through `store.write_sync`, serialised with the daemon's writer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

# more items than this are staged (gatewayd/sales/catalog_stage.py); fewer go in one write
CHUNK = 2000
# rows per staged transaction, from the daemon's process and from another alike: a chunk of
# 2,000 items held the writer about 25 ms (a sale behind it took 10x its time); 200 hold it
# 2-3 ms
SMALL_CHUNK = 200
# After each chunk from another process (`gatewayd catalog import`) the staging lets go of the
# write lock for this long, the daemon's sales' writes in between. (They wait for the lock
# by polling it, Store._begin; SQLite's busy handler, which sleeps 1, 2, 5, 10, 15 ... ms
# between tries, had them sleep up to 50 ms past a 2,000-row chunk: sale p99 6x idle.)
YIELD_S = 0.015


class Changed(Exception):
    """Someone else wrote the staged tables while they were staged (the version moved)."""


class Staging:
    def __init__(self, store: Any, tables: Sequence[tuple[str, str]], version_sql: str,
                 rows: int | None = None):
        self.store = store
        # rows per transaction: see 3. above
        self.rows = rows or SMALL_CHUNK
        self.tables = list(tables)  # (live table, its key column), parents first
        self.version_sql = version_sql
        self.version: int | None = None  # what `prepare` saw

    def staged(self, table: str) -> str:
        return f"{table}_next"

    # -- the steps, in order -------------------------------------------------------------
    def prepare(self) -> int:
        """Drop what an interrupted staging left, create the staged tables; returns the
        version they start from."""
        self._refuse_outside_references()

        def fn(tx: Any) -> int:
            for table, _ in reversed(self.tables):
                tx.execute(f"DROP TABLE IF EXISTS {self.staged(table)}")
            gen = self._generation(tx) + 1
            for table, _ in self.tables:
                for sql in self._ddl(tx, table, gen):
                    tx.execute(sql)
            return tx.one(self.version_sql)[0]

        self.version, _ = self.store.write_sync(fn, durable=False)
        self.pause()
        return self.version

    def copy(self) -> None:
        """The live rows into the staged tables, `rows` keys per transaction."""
        for table, key in self.tables:
            last = ""
            while True:
                def fn(tx: Any, table: str = table, key: str = key, last: str = last
                       ) -> str | None:
                    row = tx.one(f"SELECT MAX({key}) FROM (SELECT {key} FROM {table} WHERE"
                                 f" {key} > ? ORDER BY {key} LIMIT ?)", (last, self.rows))
                    if row[0] is None:
                        return None
                    tx.execute(f"INSERT INTO {self.staged(table)} SELECT * FROM {table}"
                               f" WHERE {key} > ? AND {key} <= ?", (last, row[0]))
                    return row[0]

                got = self.chunk(fn)
                if got is None:
                    break
                last = got

    def chunk(self, fn: Callable[[Any], T]) -> T:
        """`fn(tx)` (writes into the staged tables) in one transaction that first checks
        the version, then way made for others' writes (`pause`)."""
        def checked(tx: Any) -> T:
            self._check(tx)
            return fn(tx)

        out, _ = self.store.write_sync(checked, durable=False)
        self.pause()
        return out

    def pause(self) -> None:
        """Between two staged transactions: in the daemon's process until the till is
        between sales (Store.make_way); from another process, the transaction's pages
        copied back into the database (`Store.checkpoint`), then YIELD_S."""
        if not self.store.make_way():
            self.store.checkpoint()
            time.sleep(YIELD_S)

    def switch(self, fn: Callable[[Any], T]) -> T:
        """In one transaction: the staged tables take the live ones' names, then `fn(tx)`
        (the journal event; it must change the version)."""
        out, _ = self.store.write_sync(partial(self.switch_tx, fn=fn))
        self.pause()
        return out

    def switch_tx(self, tx: Any, fn: Callable[[Any], T]) -> T:
        """`switch`'s transaction, for a caller with a writer of its own (the daemon switches
        in what its download process staged: gatewayd/replication/download.py)."""
        self._check(tx)
        for table, _ in reversed(self.tables):  # children first: they point at _old
            tx.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
        for table, _ in self.tables:  # parents first: the staged children follow them
            tx.execute(f"ALTER TABLE {self.staged(table)} RENAME TO {table}")
        return fn(tx)

    def drop_old(self) -> None:
        """The replaced tables, emptied in chunks (each a short transaction) and dropped."""
        for table, key in reversed(self.tables):
            old = f"{table}_old"
            while True:
                def delete(tx: Any, t: str = old, k: str = key) -> int:
                    return tx.execute(f"DELETE FROM {t} WHERE {k} IN (SELECT {k} FROM {t}"
                                      f" LIMIT ?)", (self.rows * 5,)).rowcount

                n, _ = self.store.write_sync(delete, durable=False)
                self.pause()
                if n == 0:
                    break
            self.store.write_sync(lambda tx, t=old: tx.execute(f"DROP TABLE {t}"))
            self.pause()

    # -- helpers -------------------------------------------------------------------------
    def _check(self, tx: Any) -> None:
        if tx.one(self.version_sql)[0] != self.version:
            raise Changed

    def _refuse_outside_references(self) -> None:
        names = {t for t, _ in self.tables}
        for name, sql in self.store.all("SELECT name, sql FROM sqlite_schema WHERE type ="
                                        " 'table' AND sql IS NOT NULL"):
            if name in names or name.endswith(("_next", "_old")):
                continue
            for parent in names:
                if re.search(rf'REFERENCES\s+"?{parent}"?\s*\(', sql):
                    raise ValueError(f"cannot stage {parent}: table {name} refers to it, "
                                     "and the switch's renames would repoint it")

    def _generation(self, tx: Any) -> int:
        """The highest generation suffix among the live tables' index names."""
        found = [int(m.group(1)) for (name,) in tx.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index'").fetchall()
            if (m := re.search(r"_g(\d+)$", name))]
        return max(found, default=0)

    def _ddl(self, tx: Any, table: str, gen: int) -> list[str]:
        """The live table's CREATE TABLE and CREATE INDEX statements for its staged copy,
        its references to the set's other tables pointing at their staged copies."""
        create = tx.one("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                        (table,))[0]
        create = re.sub(rf'^CREATE TABLE "?{table}"?(?=\s*\()',
                        f"CREATE TABLE {self.staged(table)}", create)
        for parent, _ in self.tables:
            create = re.sub(rf'REFERENCES "?{parent}"?(?=\s*\()',
                            f"REFERENCES {self.staged(parent)}", create)
        out = [create]
        for (sql,) in tx.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND"
                                 " tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall():
            m = re.match(r"CREATE (UNIQUE )?INDEX \"?(\w+?)(?:_g\d+)?\"? ON \"?\w+\"?(.*)$",
                         sql, re.S)
            if m is None:
                raise RuntimeError(f"cannot stage index {sql!r}")
            out.append(f"CREATE {m.group(1) or ''}INDEX {m.group(2)}_g{gen} ON"
                       f" {self.staged(table)}{m.group(3)}")
        return out
