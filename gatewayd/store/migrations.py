"""Numbered schema migrations under PRAGMA user_version. Never edit one once released:
append a new one. Other modules add theirs with `register(n, sql)` at import time."""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE journal (
        seq   INTEGER PRIMARY KEY,          -- gap-free, assigned inside BEGIN IMMEDIATE
        at    INTEGER NOT NULL,             -- microseconds since the epoch, UTC
        kind  TEXT    NOT NULL,
        data  BLOB    NOT NULL              -- msgpack map
    );
    CREATE INDEX journal_kind ON journal(kind);
    CREATE TABLE tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL,
        hash       BLOB NOT NULL UNIQUE,    -- sha256 of the token; the token itself is never stored
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE TABLE operators (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL,
        pin_hash     BLOB NOT NULL,         -- scrypt(pin, salt)
        pin_salt     BLOB NOT NULL,
        failures     INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        active       INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE pair_requests (
        id          TEXT PRIMARY KEY,       -- secret, known to the requesting client only
        code        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        status      TEXT NOT NULL,          -- pending|approved|collected|denied
        role        TEXT,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
    );
    """,
}


def register(version: int, sql: str) -> None:
    if version in MIGRATIONS and MIGRATIONS[version] != sql:
        raise RuntimeError(f"migration {version} registered twice")
    MIGRATIONS[version] = sql


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date, one transaction per migration. Returns the version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    latest = max(MIGRATIONS)
    if current > latest:
        raise RuntimeError(f"store schema {current} is newer than this gatewayd ({latest})")
    for version in range(current + 1, latest + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return latest


def _statements(sql: str) -> list[str]:
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
