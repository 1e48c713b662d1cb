"""Numbered schema migrations under PRAGMA user_version: `sql/NNNN_name.sql`, applied in
order, one transaction each. Never edit a file once released: add the next number.
Numbers are unique; a gap is allowed (work that lands out of order), a duplicate is not."""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")


@cache
def migrations() -> dict[int, str]:
    found: dict[int, str] = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        match = re.match(r"(\d{4})_\w+\.sql$", path.name)
        if not match:
            raise RuntimeError(f"migration file {path.name} is not NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations numbered {version}")
        found[version] = path.read_text(encoding="utf-8")
    return found


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> int:
    """Bring the schema up to date (or up to `upto`), one transaction per migration.
    Returns the version."""
    steps = migrations()
    latest = max(steps) if upto is None else upto
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > latest:
        raise RuntimeError(f"store schema {current} is newer than this gatewayd ({latest})")
    for version in sorted(v for v in steps if current < v <= latest):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(steps[version]):
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
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip()
                               for ln in buf.splitlines()):
        out.append(buf.strip())
    return out
