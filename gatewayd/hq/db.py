"""Head office's store: one schema on embedded SQLite (the default) or on PostgreSQL.

Everything above this module speaks one dialect: `?` placeholders, `ON CONFLICT`, and a
transaction object `HqTx` whose `lock_for_update` takes a row lock where the database has one
(PostgreSQL's `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` has locked the whole file already).
On PostgreSQL every statement is a round trip to the server, and round trips were most of
what ingest cost. So bulk inserts (`HqTx.insert`) are one statement per table however many
rows (INSERT ... SELECT FROM unnest(arrays); executemany on SQLite, which is in-process), and
from the first of them a write transaction runs in psycopg's pipeline mode: statements
nobody waits on (`insert`, `send`, `upsert_in_order`) go out together with the next read or
the COMMIT, in one round trip.

Writes run on a worker thread, one at a time per process, as the till's store does: the
database waits on fsync, the event loop must not. A write is never abandoned on cancel (the
thread finishes the commit or the rollback first). Several processes may share one
PostgreSQL database: each ingest transaction locks its till's epoch row, so two processes
handed the same till serialize on it and the apply stays exactly-once.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import trio

log = logging.getLogger("gatewayd.hq.db")

T = TypeVar("T")
SQL_DIR = Path(__file__).with_name("sql")
PG_MIGRATION_LOCK = 0x6777_6871  # pg_advisory_xact_lock key: one migrator at a time
# HqTx.insert_fresh: a COPY costs two round trips whatever its size; under this many rows an
# INSERT riding the pipeline costs less (36 stock moves: COPY 0.4 + 0.3 ms of server and
# client CPU, INSERT ... ON CONFLICT from unnest 0.6 + 0.5 ms, measured here), and a till's
# steady trickle (a sale's 7 events a push) keeps its few round trips.
COPY_MIN_ROWS = 32
# PostgresBackend.insert: a few rows (the report aggregates' 1-3 a table a push) go in as
# INSERT ... VALUES with a parameter each, which costs psycopg a third of dumping a column
# array each for `unnest` (18-26 vs 65-84 us of client CPU for 1-3 rows of 13 columns); from
# some dozens of parameters arrays are cheaper (36 sales: VALUES 1.4 ms, unnest 0.5 ms).
VALUES_MAX_PARAMS = 64


def now_us() -> int:
    return time.time_ns() // 1000


@cache
def migrations() -> dict[int, str]:
    found: dict[int, str] = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        match = re.match(r"(\d{4})_\w+\.sql$", path.name)
        if not match:
            raise RuntimeError(f"HQ migration file {path.name} is not NNNN_name.sql")
        found[int(match.group(1))] = path.read_text(encoding="utf-8")
    return found


def statements(sql: str) -> list[str]:
    """A migration file's statements (split on `;` at line ends; comments dropped)."""
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]


@dataclass(frozen=True, eq=False)
class Insert:
    """An INSERT of rows of `columns` into `table`; `conflict` is what follows ON CONFLICT.
    `fresh`: its rows are new by construction when the push that makes them stores its
    events (keyed by an event's (store, till, epoch, seq), or by a sale the push just made):
    `HqTx.insert_fresh` may load them without ON CONFLICT.

    Each is a module's constant: it is a dict key by identity (hashing its fields cost a
    push ~100 hashes of the column tuples), and its SQL is made once."""

    table: str
    columns: tuple[str, ...]
    conflict: str = "DO NOTHING"
    fresh: bool = False
    # columns usually of one value in a push's rows (its till, business day, operator...):
    # `insert_new` on PostgreSQL sends such a column as one value when it is so
    uniform: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sql", (
            f"INSERT INTO {self.table}({', '.join(self.columns)})"
            f" VALUES ({', '.join('?' * len(self.columns))}) ON CONFLICT {self.conflict}"))

    def sql(self) -> str:
        return self._sql  # type: ignore[attr-defined]


class HqTx:
    """One open write transaction (or a read); rows come back as dicts."""

    def __init__(self, backend: Backend, conn: Any):
        self.backend = backend
        self.conn = conn
        # run just before the commit, in the transaction (aggregates write their sums once
        # per transaction, not once per event)
        self.before_commit: list[Callable[[HqTx], None]] = []
        # alerts raised in this transaction (ingest.raise_alert), for the caller to publish
        # on `hq.alert` once it has committed
        self.alerts: list[Any] = []
        # writes for the transaction's last statement (`send_last`), and the aggregates'
        self.closing: list[tuple[Insert | str, Sequence[Any]]] = []
        self.queue = ExitStack()  # the pipeline, from the first statement that may wait
        self._queueing = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self.backend.execute(self.conn, sql, params)

    def send(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement whose count nobody needs: in a PostgreSQL write it waits in the
        pipeline and goes to the server with the next read or the commit."""
        self._queue()
        self.backend.send(self.conn, sql, params)

    def _queue(self) -> None:
        if not self._queueing:
            self.queue.enter_context(self.backend.pipeline(self.conn))
            self._queueing = True

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.backend.executemany(self.conn, sql, rows)

    def insert(self, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `rows` in one statement. Rows must not conflict with each other on a key
        that `insert.conflict` updates (one statement cannot update a row twice)."""
        if rows:
            self._queue()
            self.backend.insert(self.conn, insert, rows)

    def insert_all(self, inserts: Sequence[tuple[Insert, Sequence[tuple[Any, ...]]]]) -> None:
        """`insert` into several tables (each insert's rows as there), with the transaction's
        last statement (`send_last`)."""
        for insert, rows in inserts:
            if rows:
                self.closing.append((insert, rows))

    def send_last(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A write that nothing later in the transaction reads, and that changes no row
        another `send_last` or `insert_all` of it does: sent just before the commit, on
        PostgreSQL in one statement with the others (a data-modifying WITH query each). A
        push's report aggregates (a few rows in six tables), its epoch's acked seq and the
        till's open sale cost psycopg and the server more per statement than per row."""
        self.closing.append((sql, params))

    def send_closing(self) -> None:
        """What `send_last` and `insert_all` gathered (`HqStore.write_sync`, after the
        `before_commit` hooks)."""
        if self.closing:
            self._queue()
            self.backend.insert_all(self.conn, self.closing)
            self.closing = []

    def insert_fresh(self, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows that no earlier transaction can have written: keyed by events this one
        stores for the first time (above the acked seq read under the epoch row's lock), or
        by sales `insert_new` just said are new. On PostgreSQL a binary COPY, which costs
        the server about a third of an INSERT ... ON CONFLICT; COPY cannot ride the
        pipeline, so what is queued goes first. A row that is there all the same (the
        invariant broken by hand) is `RowsExist`, and the transaction is lost: the caller
        runs it again with `insert`. Elsewhere, or for fewer than COPY_MIN_ROWS rows, it is
        `insert`."""
        if not rows:
            return
        if not self.backend.copies or len(rows) < COPY_MIN_ROWS:
            self.insert(insert, rows)
            return
        if self._queueing:
            self.queue.close()  # sends the queue and leaves the pipeline
            self._queueing = False
        self.backend.copy(self.conn, insert, rows)

    def insert_new(self, insert: Insert, rows: Sequence[tuple[Any, ...]], key: str) -> set[Any]:
        """`insert` the rows (ON CONFLICT DO NOTHING); the `key` column's values of those that
        were new. One statement on PostgreSQL (RETURNING), which waits for its answer."""
        if not rows:
            return set()
        if self._queueing and self.backend.copies:
            # leave the pipeline with it: the one sync brings its answer and what was queued
            # (one round trip less than a sync to ask, then another to leave for the COPYs
            # that follow; statements after it enter a pipeline again)
            new = self.backend.insert_new_later(self.conn, insert, rows, key)
            self.queue.close()
            self._queueing = False
            return new()
        return self.backend.insert_new(self.conn, insert, rows, key)

    def upsert_in_order(self, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run `insert` once per row, in order: later rows may update what earlier ones made."""
        if len(rows) == 1:  # the usual one (a till's open sale): a plain statement is cheaper
            self.send(insert.sql(), rows[0])
        elif rows:
            self._queue()
            self.backend.executemany(self.conn, insert.sql(), rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.backend.all(self.conn, sql, params)

    def all_later(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[dict[str, Any]]]:
        """Ask now, read the rows when called: in a PostgreSQL write the query waits in the
        pipeline and goes to the server with the next statement that waits (several reads,
        one round trip). Elsewhere it runs now."""
        if self.backend.for_update:  # PostgreSQL
            self._queue()
        return self.backend.all_later(self.conn, sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def lock_for_update(self, sql: str, params: Sequence[Any] = (),
                        of: str | None = None) -> dict[str, Any] | None:
        """`sql` with its rows locked; `of`: lock only that table's (or alias's) rows of a
        join, the others are read as they are."""
        return self.one(self._for_update(sql, of), params)

    def lock_for_update_later(self, sql: str, params: Sequence[Any] = (), of: str | None = None,
                              ) -> Callable[[], dict[str, Any] | None]:
        """`lock_for_update` in a write, asked now and read when called: on PostgreSQL the
        server runs it while the caller goes on (`all_later`)."""
        rows = self.all_later(self._for_update(sql, of), params)
        return lambda: next(iter(rows()), None)

    def _for_update(self, sql: str, of: str | None) -> str:
        suffix = self.backend.for_update
        if suffix and of:
            suffix += f" OF {of}"
        return sql + suffix


class RowsExist(Exception):
    """`HqTx.insert_fresh` met a row already there: its transaction is lost."""


class Backend:
    name = "?"
    for_update = ""
    copies = False  # HqTx.insert_fresh loads rows by COPY
    unreachable: tuple[type[BaseException], ...] = ()  # connect() failed: try again later

    def connect(self) -> Any:
        raise NotImplementedError

    def writer(self, conn: Any) -> Any:
        """`conn`, a new connection after its migration, set up as the write connection."""
        return conn

    def begin(self, conn: Any) -> None:
        raise NotImplementedError

    def commit(self, conn: Any) -> None:
        conn.commit()

    def pipeline(self, conn: Any) -> AbstractContextManager[Any]:
        """Around a write transaction: where statements may queue until the commit."""
        return nullcontext()

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    def execute(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    def send(self, conn: Any, sql: str, params: Sequence[Any]) -> None:
        self.execute(conn, sql, params)

    def executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def insert(self, conn: Any, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        self.executemany(conn, insert.sql(), rows)

    def insert_all(self, conn: Any, inserts: Sequence[tuple[Insert | str, Sequence[Any]]],
                   ) -> None:
        """Each insert's rows, or each statement (`HqTx.send_last`) with its parameters."""
        for what, rows in inserts:
            if isinstance(what, Insert):
                self.insert(conn, what, rows)
            else:
                self.send(conn, what, rows)

    def copy(self, conn: Any, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def all_later(self, conn: Any, sql: str,
                  params: Sequence[Any]) -> Callable[[], list[dict[str, Any]]]:
        rows = self.all(conn, sql, params)
        return lambda: rows

    def insert_new(self, conn: Any, insert: Insert, rows: Sequence[tuple[Any, ...]],
                   key: str) -> set[Any]:
        at = insert.columns.index(key)
        sql = insert.sql()
        return {row[at] for row in rows if self.execute(conn, sql, row)}

    def insert_new_later(self, conn: Any, insert: Insert, rows: Sequence[tuple[Any, ...]],
                         key: str) -> Callable[[], set[Any]]:
        new = self.insert_new(conn, insert, rows, key)
        return lambda: new

    def all(self, conn: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def migrate(self, conn: Any) -> int:
        raise NotImplementedError

    def broken(self, conn: Any) -> bool:
        """The connection is lost (the server restarted): make a new one."""
        return False

    def describe(self) -> str:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                               timeout=10.0)
        conn.row_factory = _dict_row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def writer(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        # A push's sales go in under a savepoint (`insert_new`), whose journal of the pages
        # they change spills to a temporary file past 64 KiB: kept in memory, that insert
        # takes 0.25 ms of CPU, not 0.39 (250 events). Not on the reader, nor during the
        # migration, whose sorts (an index made on a big table) may be big.
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    def begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def commit(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def execute(self, conn, sql, params) -> int:
        return conn.execute(sql, params).rowcount

    def executemany(self, conn, sql, rows) -> None:
        conn.executemany(sql, rows)

    def all(self, conn, sql, params):
        return conn.execute(sql, params).fetchall()

    def insert_new(self, conn, insert: Insert, rows: Sequence[tuple[Any, ...]],
                   key: str) -> set[Any]:
        # Usually every row is new: one executemany (a compiled statement run per row, about
        # half the CPU of a VALUES ... RETURNING of the same rows) and the change count say
        # so. Should one be there (a sale resent under a new epoch), that is undone and the
        # rows go in again by VALUES ... RETURNING, which names the new ones.
        before = conn.total_changes
        conn.execute("SAVEPOINT insert_new")
        conn.executemany(insert.sql(), rows)
        if conn.total_changes - before == len(rows):
            conn.execute("RELEASE insert_new")
            return {row[insert.columns.index(key)] for row in rows}
        conn.execute("ROLLBACK TO insert_new")
        conn.execute("RELEASE insert_new")
        marks = f"({', '.join('?' * len(insert.columns))})"
        new: set[Any] = set()
        for i in range(0, len(rows), 100):
            chunk = rows[i:i + 100]
            new.update(r[key] for r in conn.execute(
                f"INSERT INTO {insert.table}({', '.join(insert.columns)})"
                f" VALUES {', '.join([marks] * len(chunk))} ON CONFLICT {insert.conflict}"
                f" RETURNING {key}", [v for row in chunk for v in row]).fetchall())
        return new

    def migrate(self, conn: sqlite3.Connection) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()["user_version"]
            latest = _apply(current, lambda s: conn.execute(s))
            conn.execute(f"PRAGMA user_version = {latest}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return latest

    def describe(self) -> str:
        return f"sqlite:{self.path}"


class PostgresBackend(Backend):
    name = "postgresql"
    for_update = " FOR UPDATE"
    copies = True

    def __init__(self, dsn: str):
        import psycopg  # only a chain on PostgreSQL needs it

        self.psycopg = psycopg
        self.unreachable = (psycopg.OperationalError,)
        self.dsn = dsn
        # insert_new's INSERT ... unnest() text of an Insert and its columns of one value
        self._unnest: dict[tuple[Insert, tuple[bool, ...]], str] = {}
        # insert_all's statement for a shape: ((insert, rows or None for unnest), ...), a
        # statement's (sql, -1)
        self._all: dict[tuple[tuple[Insert | str, int | None], ...], str] = {}
        self._types: dict[str, dict[str, str]] = {}  # table -> column -> its SQL type

    def connect(self) -> Any:
        from psycopg.rows import dict_row
        from psycopg.types.array import ListBinaryDumper

        conn = self.psycopg.connect(self.dsn, row_factory=dict_row, autocommit=False)
        conn.adapters.register_dumper(_Column, ListBinaryDumper)  # insert_all's arrays
        return conn

    def begin(self, conn) -> None:
        pass  # psycopg opens a transaction with the first statement

    def pipeline(self, conn) -> AbstractContextManager[Any]:
        return conn.pipeline()

    def execute(self, conn, sql, params) -> int:
        with _synced(conn):  # the count is wanted
            cur = conn.execute(_pg(sql), params)
        return cur.rowcount

    def send(self, conn, sql, params) -> None:
        conn.execute(_pg(sql), params)

    def executemany(self, conn, sql, rows) -> None:
        with conn.cursor() as cur:
            cur.executemany(_pg(sql), rows)

    def insert(self, conn, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        self.insert_all(conn, [(insert, rows)])

    def insert_all(self, conn, inserts: Sequence[tuple[Insert | str, Sequence[Any]]]) -> None:
        # one statement: each insert or statement but the last a data-modifying WITH query
        # (HqTx.send_last: no row is changed twice). Its text is made once for its shape, with
        # PostgreSQL's own $n placeholders, and sent by a raw cursor: psycopg parses a
        # statement of over 50 parameters for its %s anew each time (0.38 ms for the
        # aggregates' 87 here, a sixth of a push's client CPU).
        shape = tuple((what, -1 if not isinstance(what, Insert)  # a statement: its parameters
                       else len(rows) if len(rows) * len(what.columns) <= VALUES_MAX_PARAMS
                       else None) for what, rows in inserts)
        sql = self._all.get(shape)
        if sql is None:
            sql = self._all_sql(conn, shape)
            if len(self._all) < 10_000:  # the shapes a chain's pushes have
                self._all[shape] = sql
        params: list[Any] = []
        for (_, rows), (_, n) in zip(inserts, shape, strict=True):
            if n == -1:
                params += rows
            elif n is not None:
                params += [v for row in rows for v in row]
            else:
                params += [_Column(c) for c in zip(*rows, strict=True)]
        self.psycopg.RawCursor(conn).execute(sql, params)

    def _all_sql(self, conn, shape: tuple[tuple[Insert | str, int | None], ...]) -> str:
        texts: list[str] = []
        at = 0  # the parameters so far
        for insert, n in shape:
            if not isinstance(insert, Insert):  # a statement: its ? become $n
                parts = insert.split("?")
                texts.append(parts[0] + "".join(f"${at + i + 1}{p}"
                                                for i, p in enumerate(parts[1:])))
                at += len(parts) - 1
                continue
            types = self._column_types(conn, insert.table)
            head = f"INSERT INTO {insert.table}({', '.join(insert.columns)})"
            if n is None:  # a binary array a column (_Column)
                arrays = ", ".join(f"${at + i + 1}::{types[c]}[]"
                                   for i, c in enumerate(insert.columns))
                texts.append(f"{head} SELECT * FROM unnest({arrays})"
                             f" ON CONFLICT {insert.conflict}")
                at += len(insert.columns)
                continue
            rows = []
            for _ in range(n):  # typed: a None
                rows.append("(" + ", ".join(f"${at + i + 1}::{types[c]}"
                                            for i, c in enumerate(insert.columns)) + ")")
                at += len(insert.columns)
            texts.append(f"{head} VALUES {', '.join(rows)} ON CONFLICT {insert.conflict}")
        if len(texts) == 1:
            return texts[0]
        return ("WITH " + ", ".join(f"q{i} AS ({t})" for i, t in enumerate(texts[:-1]))
                + " " + texts[-1])

    def all_later(self, conn, sql, params) -> Callable[[], list[dict[str, Any]]]:
        cur = conn.execute(_pg(sql), params)  # queued: fetched with the next sync
        return cur.fetchall

    def insert_new(self, conn, insert: Insert, rows: Sequence[tuple[Any, ...]],
                   key: str) -> set[Any]:
        with _synced(conn):  # the caller goes on with the answer
            new = self.insert_new_later(conn, insert, rows, key)
        return new()

    def insert_new_later(self, conn, insert: Insert, rows: Sequence[tuple[Any, ...]],
                         key: str) -> Callable[[], set[Any]]:
        columns = list(zip(*rows, strict=True))
        # a uniform column of one value (a push's sales: its store, till, epoch, day...) goes
        # as that value, not an array: psycopg dumps an array element by element in Python
        same = tuple(len(rows) > 1 and name in insert.uniform and c.count(c[0]) == len(c)
                     for name, c in zip(insert.columns, columns, strict=True))
        cur = conn.execute(  # the values first, as the statement has them, then the arrays
            f"{self._unnest_sql(conn, insert, same)} RETURNING {key}",
            [c[0] for c, one in zip(columns, same, strict=True) if one]
            + [list(c) for c, one in zip(columns, same, strict=True) if not one])
        return lambda: {r[key] for r in cur.fetchall()}

    def copy(self, conn, insert: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        types = self._column_types(conn, insert.table)
        try:
            with conn.cursor() as cur, cur.copy(
                    f"COPY {insert.table} ({', '.join(insert.columns)}) FROM STDIN"
                    " (FORMAT BINARY)") as copy:
                copy.set_types([types[c] for c in insert.columns])
                for row in rows:
                    copy.write_row(row)
        except self.psycopg.errors.UniqueViolation as exc:
            raise RowsExist(f"{insert.table}: {exc}") from exc

    def _column_types(self, conn, table: str) -> dict[str, str]:
        types = self._types.get(table)
        if types is None:
            with _synced(conn):
                cur = conn.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
                    " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                    (table,))
            types = self._types[table] = {r["attname"]: r["type"] for r in cur.fetchall()}
        return types

    def _unnest_sql(self, conn, insert: Insert, same: tuple[bool, ...]) -> str:
        """INSERT ... SELECT FROM unnest(an array a column), but a column `same` says is one
        value: that as a parameter of its own."""
        sql = self._unnest.get((insert, same))
        if sql is None:
            types = self._column_types(conn, insert.table)
            cols = [(c, f"%b::{types[c]}") for c in insert.columns]  # binary: cheaper
            kept = list(zip(cols, same, strict=True))
            arrays = ", ".join(f"{p}[]" for (_, p), one in kept if not one)
            names = ", ".join(c for (c, _), one in kept if not one)
            values = ", ".join(p if one else f"u.{c}" for (c, p), one in kept)
            sql = (f"INSERT INTO {insert.table}({', '.join(insert.columns)}) SELECT {values}"
                   f" FROM unnest({arrays}) AS u({names}) ON CONFLICT {insert.conflict}")
            if len(self._unnest) < 10_000:
                self._unnest[(insert, same)] = sql
        return sql

    def all(self, conn, sql, params):
        with _synced(conn):  # the rows are wanted
            cur = conn.execute(_pg(sql), params)
        return cur.fetchall() if cur.description else []

    def migrate(self, conn) -> int:
        with conn.transaction():
            conn.execute(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
            conn.execute("CREATE TABLE IF NOT EXISTS hq_schema (version BIGINT NOT NULL)")
            row = conn.execute("SELECT version FROM hq_schema").fetchone()
            if row is None:
                conn.execute("INSERT INTO hq_schema VALUES (0)")
            current = row["version"] if row else 0
            latest = _apply(current, lambda s: conn.execute(s.replace(" BLOB", " BYTEA")))
            conn.execute("UPDATE hq_schema SET version = %s", (latest,))
        return latest

    def broken(self, conn) -> bool:
        return conn.closed or conn.broken

    def describe(self) -> str:
        return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", self.dsn)


def _apply(current: int, run: Callable[[str], Any]) -> int:
    steps = migrations()
    latest = max(steps)
    if current > latest:
        raise RuntimeError(f"HQ schema {current} is newer than this gatewayd ({latest})")
    for version in sorted(v for v in steps if v > current):
        for statement in statements(steps[version]):
            run(statement)
    return latest


class _Column(list[Any]):
    """A column's values as one PostgreSQL array parameter, dumped binary by a raw cursor
    (as `%b` has it; its automatic format for a list is text, which costs more)."""


def _synced(conn: Any) -> AbstractContextManager[Any]:
    """In a write's pipeline, a nested one: what was queued and this statement go to the
    server on leaving it, and their answers come back. Outside a pipeline, nothing."""
    if conn.pgconn.pipeline_status:
        return conn.pipeline()
    return nullcontext()


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def open_backend(data_dir: Path, dsn: str | None) -> Backend:
    if dsn:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"--db must be a postgresql:// URL, got {dsn.split(':', 1)[0]}:")
        return PostgresBackend(dsn)
    return SqliteBackend(data_dir / "hq.db")


def _first_connection(backend: Backend, wait_s: float) -> Any:
    """A connection, waiting up to `wait_s` for a database that is not up yet (both were
    started at boot, or the database is restarting): the service waits, loudly, rather than
    exit and leave every till's link down until someone restarts it."""
    deadline = time.monotonic() + wait_s
    delay = 0.25
    while True:
        try:
            return backend.connect()
        except backend.unreachable as e:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("head office's database %s is not reachable, trying again in %.1f s: "
                        "%s", backend.describe(), delay, str(e).strip() or type(e).__name__)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class HqStore:
    """The store of one HQ process: a write connection used by one worker thread at a time,
    a read connection likewise, both off the event loop."""

    def __init__(self, backend: Backend, *, wait_s: float = 0.0):
        self.backend = backend
        self._w = _first_connection(backend, wait_s)
        self.schema_version = backend.migrate(self._w)
        self._w = backend.writer(self._w)
        self._r = backend.connect()
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._write_limit = trio.CapacityLimiter(1)
        self._read_limit = trio.CapacityLimiter(1)
        self.closed = False

    @property
    def name(self) -> str:
        return self.backend.name

    def write_sync(self, fn: Callable[[HqTx], T]) -> T:
        """Run `fn` in one transaction in the calling thread; commit, or roll back on error."""
        backend = self.backend
        with self._wlock:
            conn = self._w = self._alive(self._w, writer=True)
            try:
                tx = HqTx(backend, conn)
                with tx.queue:  # left after the commit, which goes with what was queued
                    backend.begin(conn)
                    result = fn(tx)
                    for hook in tx.before_commit:
                        hook(tx)
                    tx.send_closing()
                    backend.commit(conn)
            except BaseException:
                if not backend.broken(conn):
                    backend.rollback(conn)
                raise
            return result

    def read_sync(self, fn: Callable[[HqTx], T]) -> T:
        backend = self.backend
        with self._rlock:
            conn = self._r = self._alive(self._r)
            try:
                return fn(HqTx(backend, conn))
            finally:  # end the snapshot: the next read sees what others committed since
                if not backend.broken(conn):
                    backend.rollback(conn)

    def _alive(self, conn: Any, writer: bool = False) -> Any:
        """`conn`, or a new connection when the database dropped it (a restart): the failed
        transaction was not acknowledged to anyone, so the work is simply done again."""
        if not self.backend.broken(conn):
            return conn
        try:
            conn.close()
        except Exception:  # already gone
            pass
        conn = self.backend.connect()
        return self.backend.writer(conn) if writer else conn

    async def write(self, fn: Callable[[HqTx], T]) -> T:
        await trio.lowlevel.checkpoint_if_cancelled()
        with trio.CancelScope(shield=True):  # a commit is never abandoned half-way
            result = await trio.to_thread.run_sync(self.write_sync, fn,
                                                   limiter=self._write_limit)
        return result

    async def read(self, fn: Callable[[HqTx], T]) -> T:
        return await trio.to_thread.run_sync(self.read_sync, fn, limiter=self._read_limit)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self._wlock, self._rlock:
            self._w.close()
            self._r.close()
