"""The replication settings row in the till's store (migration 0009): identity (epoch),
enrollment (URL, credential, CA), and the acknowledged cursor."""

from __future__ import annotations

import secrets
import sqlite3
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewayd.store.db import Tx, now_us
from protocol import repl


@dataclass(frozen=True)
class LinkSettings:
    epoch: str
    base_seq: int
    previous_epoch: str | None
    previous_seq: int | None
    url: str | None
    credential: str | None
    ca_file: str | None
    acked_seq: int
    acked_at: int | None

    @property
    def enrolled(self) -> bool:
        return bool(self.url and self.credential)


def read(src: Any) -> LinkSettings:
    """From a Store, a Tx or a sqlite3 connection."""
    row = src.execute("SELECT * FROM replication WHERE id=1").fetchone() if isinstance(
        src, sqlite3.Connection) else src.one("SELECT * FROM replication WHERE id=1")
    return LinkSettings(row["epoch"], row["base_seq"], row["previous_epoch"],
                        row["previous_seq"], row["url"], row["credential"], row["ca_file"],
                        row["acked_seq"], row["acked_at"])


def save_enrollment(tx: Tx, url: str, credential: str, ca_file: str | None, store: str,
                    till: str) -> None:
    tx.execute("UPDATE replication SET url=?, credential=?, ca_file=?, store=?, till=?,"
               " enrolled_at=? WHERE id=1", (url, credential, ca_file, store, till, now_us()))
    tx.append("hq.enrolled", {"url": url, "store": store, "till": till})


def save_ack(tx: Tx, seq: int) -> None:
    tx.execute("UPDATE replication SET acked_seq=?, acked_at=? WHERE id=1 AND acked_seq<?",
               (seq, now_us(), seq))


def new_epoch(path: Path) -> str:
    """After a restore: a new epoch, so the rewound journal never collides with what head
    office holds. Seqs up to the restored acked cursor went under the old epoch (base_seq);
    `previous` tells head office which of the old epoch's events the till no longer has."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("BEGIN IMMEDIATE")
        head = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
        epoch = secrets.token_hex(16)
        conn.execute("UPDATE replication SET previous_epoch=epoch, previous_seq=?, epoch=?,"
                     " base_seq=acked_seq WHERE id=1", (head, epoch))
        conn.execute("COMMIT")
        return epoch
    finally:
        conn.close()


def prune_floor(src: Any) -> int | None:
    """The highest journal seq that may be pruned: what head office acknowledged, when the
    till is enrolled (None: not enrolled, nothing holds the journal back for HQ)."""
    s = read(src)
    return s.acked_seq if s.enrolled else None


def ssl_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=ca_file) if ca_file else (
        ssl.create_default_context())


def repl_url(base: str) -> str:
    if not base.startswith(("ws://", "wss://")):
        raise ValueError(f"head office URL must be ws://HOST:PORT or wss://HOST:PORT, not {base}")
    return base.rstrip("/") + "/repl"


def hello(settings: LinkSettings, store: str, till: str, credential: str, head_seq: int,
          master_version: int, staged: repl.StagedMaster | None = None) -> repl.Hello:
    previous = None
    if settings.previous_epoch:
        previous = repl.PreviousEpoch(epoch=settings.previous_epoch,
                                      seq=settings.previous_seq or 0)
    return repl.Hello(store=store, till=till, epoch=settings.epoch, credential=credential,
                      head_seq=head_seq, master_version=master_version,
                      base_seq=settings.base_seq, previous=previous, clock=now_us(),
                      staged=staged)
