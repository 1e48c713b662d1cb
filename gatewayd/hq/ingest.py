"""The head-office end of a till's link, as functions over one transaction: who the till is
(`hello`), enrollment (`enroll`), and applying a push exactly once (`apply_push`).

Every event is stored once under (store, till, epoch, seq) and projected in the same
transaction; the caller acknowledges only after the commit. A push is written as one
statement per table (the events, then each projection's rows), not one per event. The
decisions (what is new, what is a duplicate, where the gap is) are protocol/repl.py's pure
`plan_push`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass, field

from gatewayd.hq.db import HqTx, now_us
from gatewayd.hq.projections import Projection
from protocol import repl
from protocol.codec import pack
from protocol.repl import ReplProtocolError

log = logging.getLogger("gatewayd.hq.ingest")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed by hand
CODE_HOURS = 72
CLOCK_SKEW_ALERT_US = 5 * 60 * 1_000_000


def digest(secret: str) -> bytes:
    # Codes and credentials are random and long: a fast hash is enough, no salt needed.
    return hashlib.sha256(secret.encode()).digest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def normalise_code(code: str) -> str:
    raw = code.strip().upper().replace("-", "").replace(" ", "")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


@dataclass
class Alert:
    kind: str
    store: str | None
    till: str | None
    message: str


@dataclass
class Link:
    """What a hello established: the till, its epoch and the credential it proved."""

    store: str
    till: str
    epoch: str
    credential_hash: bytes
    acked: int
    alerts: list[Alert] = field(default_factory=list)


def raise_alert(tx: HqTx, alert: Alert) -> None:
    """Store `alert`; the transaction's caller publishes `tx.alerts` after the commit."""
    tx.alerts.append(alert)
    tx.execute("INSERT INTO alerts(id, at, kind, store, till, message) VALUES (?,?,?,?,?,?)",
               (uuid.uuid4().hex, now_us(), alert.kind, alert.store, alert.till, alert.message))


# -- enrollment --------------------------------------------------------------------------------
def add_till(tx: HqTx, store: str, till: str) -> str:
    """Register (store, till) if new and make a one-time enrollment code for it."""
    now = now_us()
    row = tx.one("SELECT revoked_at FROM tills WHERE store=? AND till=?", (store, till))
    if row is None:
        tx.execute("INSERT INTO tills(store, till, added_at) VALUES (?,?,?)", (store, till, now))
    elif row["revoked_at"] is not None:  # re-admitted: only a new enrollment gets it back in
        tx.execute("UPDATE tills SET revoked_at=NULL, credential_hash=NULL, enrolled_at=NULL"
                   " WHERE store=? AND till=?", (store, till))
    code = new_code()
    tx.execute(
        "INSERT INTO enrollments(code_hash, store, till, created_at, expires_at)"
        " VALUES (?,?,?,?,?)",
        (digest(code), store, till, now, now + CODE_HOURS * 3600 * 1_000_000),
    )
    return code


def enroll(tx: HqTx, frame: repl.Enroll) -> str:
    """Exchange a code for a credential. The code is used up only when a hello first proves
    that credential, so an enrollment that fails on the way back can simply be retried."""
    row = tx.lock_for_update(
        "SELECT store, till, expires_at, used_at, purpose FROM enrollments WHERE code_hash=?",
        (digest(normalise_code(frame.code)),))
    if row is None or row["purpose"] != "enroll":
        raise ReplProtocolError("unauthenticated", "unknown enrollment code")
    return claim_code(tx, row, frame.code, frame.store, frame.till, now_us())


def claim_code(tx: HqTx, row: dict, code: str, store: str, till: str, now: int) -> str:
    """A new credential for the till a one-time code (`row`) was made for, kept pending until
    a hello proves it (enrollment and restore alike)."""
    if (row["store"], row["till"]) != (store, till):
        raise ReplProtocolError(
            "forbidden",
            f"this code {row['purpose']}s till {row['store']}/{row['till']}, and this till is "
            f"{store}/{till} (its [till] store and till in the config)")
    revoked = tx.one("SELECT revoked_at FROM tills WHERE store=? AND till=?", (store, till))
    if revoked is None or revoked["revoked_at"] is not None:
        raise ReplProtocolError("unauthenticated", f"till {store}/{till} is revoked")
    if row["used_at"] is not None:
        raise ReplProtocolError("unauthenticated", f"this {row['purpose']} code was used already")
    if row["expires_at"] < now:
        raise ReplProtocolError("unauthenticated",
                                f"this {row['purpose']} code has expired; make a new one")
    credential = "gwt_" + secrets.token_urlsafe(32)
    tx.execute("UPDATE enrollments SET pending_hash=? WHERE code_hash=?",
               (digest(credential), digest(normalise_code(code))))
    return credential


def revoke_till(tx: HqTx, store: str, till: str) -> bool:
    n = tx.execute("UPDATE tills SET revoked_at=? WHERE store=? AND till=? AND revoked_at IS NULL",
                   (now_us(), store, till))
    tx.execute("UPDATE enrollments SET used_at=? WHERE store=? AND till=? AND used_at IS NULL",
               (now_us(), store, till))
    return n > 0


# -- hello ---------------------------------------------------------------------------------------
def _prove(tx: HqTx, hello: repl.Hello, cred: bytes, now: int) -> None:
    who = f"{hello.store}/{hello.till}"
    row = tx.lock_for_update(
        "SELECT credential_hash, revoked_at FROM tills WHERE store=? AND till=?",
        (hello.store, hello.till))
    if row is None:
        raise ReplProtocolError("unauthenticated", f"till {who} is not known here")
    if row["revoked_at"] is not None:
        raise ReplProtocolError("unauthenticated", f"till {who} is revoked")
    if row["credential_hash"] is not None and bytes(row["credential_hash"]) == cred:
        return
    pending = tx.one(
        "SELECT code_hash FROM enrollments WHERE store=? AND till=? AND pending_hash=?"
        " AND used_at IS NULL AND expires_at >= ?", (hello.store, hello.till, cred, now))
    if pending is None:
        raise ReplProtocolError("unauthenticated", f"wrong credential for till {who}")
    # First hello with a freshly enrolled credential: it replaces any earlier one.
    tx.execute("UPDATE tills SET credential_hash=?, enrolled_at=? WHERE store=? AND till=?",
               (cred, now, hello.store, hello.till))
    tx.execute("UPDATE enrollments SET used_at=? WHERE code_hash=?",
               (now, pending["code_hash"]))


def hello(tx: HqTx, hello: repl.Hello) -> Link:
    now = now_us()
    cred = digest(hello.credential)
    _prove(tx, hello, cred, now)
    link = Link(hello.store, hello.till, hello.epoch, cred, 0)
    key = (hello.store, hello.till, hello.epoch)
    row = tx.lock_for_update(
        "SELECT acked_seq FROM till_epochs WHERE store=? AND till=? AND epoch=?", key)
    skew = hello.clock - now if hello.clock is not None else None
    if row is None:
        tx.execute(
            "INSERT INTO till_epochs(store, till, epoch, base_seq, acked_seq, head_seq,"
            " first_contact, last_contact, master_version, clock_skew_us, previous_epoch)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (*key, hello.base_seq, hello.base_seq, hello.head_seq, now, now,
             hello.master_version, skew, hello.previous.epoch if hello.previous else None))
        link.acked = hello.base_seq
        if hello.previous is not None:
            link.alerts.extend(_lost_by_restore(tx, hello))
    else:
        link.acked = row["acked_seq"]
        if hello.head_seq < link.acked:
            raise ReplProtocolError(
                "conflict",
                f"till {hello.store}/{hello.till} epoch {hello.epoch} says its journal ends at "
                f"{hello.head_seq} but head office holds it up to {link.acked}: the store was "
                f"rewound without a new epoch; restore it with `gatewayd restore`")
        tx.execute(
            "UPDATE till_epochs SET head_seq=?, last_contact=?, master_version=?,"
            " clock_skew_us=? WHERE store=? AND till=? AND epoch=?",
            (hello.head_seq, now, hello.master_version, skew, *key))
    if skew is not None and abs(skew) > CLOCK_SKEW_ALERT_US:
        link.alerts.append(Alert(
            "clock_skew", hello.store, hello.till,
            f"till {hello.store}/{hello.till}'s clock is {skew / 3.6e9:+.1f} h off head "
            f"office's; its events keep the till's times, business days come from the till"))
    for alert in link.alerts:
        raise_alert(tx, alert)
    return link


def _lost_by_restore(tx: HqTx, hello: repl.Hello) -> list[Alert]:
    """What the restore lost: events of the replaced epoch head office holds and the till no
    longer has (restored from an older backup), and events the till had journaled that never
    reached head office (its disk died before it sent them; `restore --from-hq`)."""
    assert hello.previous is not None
    old = tx.one("SELECT acked_seq, head_seq FROM till_epochs WHERE store=? AND till=?"
                 " AND epoch=?", (hello.store, hello.till, hello.previous.epoch))
    if old is None:
        return []
    who, kept = f"{hello.store}/{hello.till}", hello.previous.seq
    alerts = []
    if old["acked_seq"] > kept:
        first, last = kept + 1, old["acked_seq"]
        alerts.append(Alert(
            "events_lost", hello.store, hello.till,
            f"till {who} was restored to seq {kept} of epoch {hello.previous.epoch}: head "
            f"office holds events {first}..{last} of that epoch which the till no longer has "
            f"({last - first + 1} events)"))
    if old["head_seq"] > max(kept, old["acked_seq"]):
        first, last = max(kept, old["acked_seq"]) + 1, old["head_seq"]
        alerts.append(Alert(
            "events_lost", hello.store, hello.till,
            f"till {who} was restored to seq {kept} of epoch {hello.previous.epoch}: it had "
            f"journaled events {first}..{last} of that epoch (at least) which never reached "
            f"head office; they are lost ({last - first + 1} events)"))
    return alerts


# -- push ----------------------------------------------------------------------------------------
def apply_push(tx: HqTx, link: Link, push: repl.Push, raw: bytes | None = None,
               fresh: bool = True) -> repl.Ack | repl.Resend:
    """Store and project what is new in `push`; the ack to send once this commits.

    `raw`: the frame `push` was decoded from; each event's data is stored as the till sent
    it (its journal's bytes) rather than packed again. Exactly once: the epoch row is locked
    and its acked seq read first, and only events above it are new (`plan_push`). No
    transaction stores an event without moving the acked seq past it, so the events and the
    rows keyed by them cannot be there yet: they go in by `HqTx.insert_fresh` (COPY on
    PostgreSQL). Should one be there all the same (`RowsExist`), the caller applies the push
    again with `fresh` False, every insert with its ON CONFLICT, so the link never wedges."""
    key = (link.store, link.till, link.epoch)
    # one statement: the epoch row locked, the till's credential read with it (not locked:
    # a hello locks the till's row, then its epoch's)
    locked = tx.lock_for_update_later(
        "SELECT e.acked_seq, e.head_seq, t.credential_hash, t.revoked_at FROM till_epochs e"
        " LEFT JOIN tills t ON t.store=e.store AND t.till=e.till"
        " WHERE e.store=? AND e.till=? AND e.epoch=?", key, of="e")
    # While the database locks it, the push is projected as if every event were new (a
    # projection reads nothing): they are, but for a replayed push or a resend's overlap.
    sent = repl.push_data(raw) if raw is not None else None
    if sent is None or len(sent) != len(push.events):
        # a push made here (tests), or a frame that is not the push: pack the data
        sent = [pack(ev.data) for ev in push.events]
    projection = Projection(*key)
    projection.project_push(push.events, sent)
    row = locked()
    if row is None or row["revoked_at"] is not None or (  # row: made by hello
            bytes(row["credential_hash"] or b"") != link.credential_hash):
        raise ReplProtocolError("unauthenticated",
                                f"till {link.store}/{link.till} is revoked or re-enrolled")
    held = row["acked_seq"]
    plan = repl.plan_push(held, push)
    if plan.resend_from is not None:
        return repl.Resend(from_seq=plan.resend_from)
    if not plan.new:
        return repl.Ack(seq=held)
    if plan.duplicates:  # only what is new
        projection = Projection(*key)
        projection.project_push(plan.new, sent[plan.duplicates:])
    projection.write(tx, fresh)  # the events with the rows keyed by them
    last = plan.new[-1]
    tx.send_last(  # with the report aggregates: nothing after reads it
        "UPDATE till_epochs SET acked_seq=?, acked_at=?, head_seq=?, last_contact=?"
        " WHERE store=? AND till=? AND epoch=?",
        (last.seq, last.at, max(row["head_seq"], last.seq), now_us(), *key))
    return repl.Ack(seq=last.seq)
