"""Head office serves a lost till's journal back to it (`gatewayd restore --from-hq`).

    gatewayd hq --data DIR till restore-code STORE TILL    -> a one-time restore code
    till: restore {code, store, till}  ->  restoring {epoch, acked_seq, head_seq, credential}
          fetch {after, limit}         ->  page {events}   ... until after == acked_seq

The till's journal is walked back through its restores: its latest epoch holds seqs
base_seq+1..acked_seq, the epoch that one replaced holds the seqs before, and so on to seq 1.
A restore code works like an enrollment code (ingest.py): the credential it hands out is kept
pending, and the code is used up only by the first hello with that credential, so a download
cut half-way is simply run again. The old credential stops working at that hello.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatewayd.hq import ingest, master
from gatewayd.hq.db import HqTx, now_us
from protocol import repl
from protocol.codec import unpack
from protocol.journal import JournalRecord
from protocol.repl import ReplProtocolError

PAGE_BYTES = 512 << 10  # a page's events, at most (the first always goes)


@dataclass(frozen=True)
class Segment:
    """Seqs lo+1..hi of the till's journal, held under `epoch`."""

    epoch: str
    lo: int
    hi: int


@dataclass
class Plan:
    frame: repl.Restoring
    segments: list[Segment]


def restore_code(tx: HqTx, store: str, till: str) -> str:
    """A one-time code that downloads (store, till)'s journal. The till must be enrolled,
    not revoked, and have sent something."""
    row = tx.one("SELECT revoked_at FROM tills WHERE store=? AND till=?", (store, till))
    if row is None:
        raise LookupError(f"till {store}/{till} is not known here")
    if row["revoked_at"] is not None:
        raise LookupError(f"till {store}/{till} is revoked: re-admit it with `till add` and "
                          "enroll it afresh")
    if tx.one("SELECT 1 FROM till_epochs WHERE store=? AND till=?", (store, till)) is None:
        raise LookupError(f"head office holds no journal of till {store}/{till}: enroll it "
                          "instead (`till add`)")
    code = ingest.new_code()
    now = now_us()
    tx.execute(
        "INSERT INTO enrollments(code_hash, store, till, created_at, expires_at, purpose)"
        " VALUES (?,?,?,?,?, 'restore')",
        (ingest.digest(code), store, till, now, now + ingest.CODE_HOURS * 3600 * 1_000_000))
    return code


def segments(tx: HqTx, store: str, till: str) -> tuple[dict, list[Segment]]:
    """The till's latest epoch and where each seq of its journal is held, oldest first."""
    rows = tx.all("SELECT epoch, base_seq, acked_seq, head_seq, previous_epoch FROM till_epochs"
                  " WHERE store=? AND till=? ORDER BY first_contact", (store, till))
    if not rows:
        raise ReplProtocolError("not_found", f"head office holds no journal of {store}/{till}")
    by_epoch = {r["epoch"]: r for r in rows}
    latest = cur = rows[-1]
    hi = cur["acked_seq"]
    out: list[Segment] = []
    while True:
        if hi > cur["base_seq"]:
            out.append(Segment(cur["epoch"], cur["base_seq"], hi))
        if cur["base_seq"] == 0:
            return latest, out[::-1]
        before = by_epoch.get(cur["previous_epoch"] or "")
        if before is None:  # an epoch from before previous_epoch was kept: the one before it
            i = rows.index(cur)
            before = rows[i - 1] if i > 0 else None
        if before is None or before["acked_seq"] < cur["base_seq"]:
            raise ReplProtocolError(
                "conflict", f"head office lacks seqs up to {cur['base_seq']} of {store}/{till} "
                f"(epoch {cur['epoch']} began there): it cannot be restored from here")
        hi, cur = cur["base_seq"], before


def begin(tx: HqTx, frame: repl.Restore) -> Plan:
    """Check the restore code; hand out the restored till's credential (pending until its
    first hello) and say what will be downloaded."""
    row = tx.lock_for_update(
        "SELECT store, till, expires_at, used_at, purpose FROM enrollments WHERE code_hash=?",
        (ingest.digest(ingest.normalise_code(frame.code)),))
    if row is None or row["purpose"] != "restore":
        raise ReplProtocolError("unauthenticated", "unknown restore code (make one with "
                                "`gatewayd hq till restore-code STORE TILL`)")
    credential = ingest.claim_code(tx, row, frame.code, frame.store, frame.till, now_us())
    latest, segs = segments(tx, frame.store, frame.till)
    # the member rules, payment and receipt settings the till had from head office: the
    # journal records that a batch came, not what it set, and the rebuild replays the
    # members' point lots by those rules
    applied = tx.one("SELECT master_version FROM till_epochs WHERE store=? AND till=? AND"
                     " epoch=?", (frame.store, frame.till, latest["epoch"]))
    central = master.settings_at(tx, applied["master_version"] if applied else 0, now_us())
    tx.execute("INSERT INTO audit(id, at, actor, action, detail) VALUES (?,?,?,?,?)",
               (uuid.uuid4().hex, now_us(), f"{frame.store}/{frame.till}", "till.restore",
                f"download of seqs 1..{latest['acked_seq']} of epoch {latest['epoch']}"))
    restoring = repl.Restoring(
        store=frame.store, till=frame.till, epoch=latest["epoch"],
        acked_seq=latest["acked_seq"], head_seq=max(latest["head_seq"], latest["acked_seq"]),
        credential=credential,
        central=[repl.CentralValue(**s) for s in central])
    return Plan(restoring, segs)


def page(tx: HqTx, store: str, till: str, segs: list[Segment], fetch: repl.Fetch) -> repl.Page:
    """The events after `fetch.after`, from the one segment holding the next seq, bounded by
    count and bytes."""
    seg = next((s for s in segs if s.lo <= fetch.after < s.hi), None)
    if seg is None:
        return repl.Page(events=[])
    rows = tx.all("SELECT seq, at, kind, data FROM events WHERE store=? AND till=? AND epoch=?"
                  " AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                  (store, till, seg.epoch, fetch.after, seg.hi, fetch.limit))
    events: list[JournalRecord] = []
    size = 0
    for r in rows:
        data = bytes(r["data"])
        if events and size + len(data) > PAGE_BYTES:
            break
        size += len(data) + 32
        events.append(JournalRecord(seq=r["seq"], at=r["at"], kind=r["kind"],
                                    data=unpack(data)))
    if not events or events[0].seq != fetch.after + 1:
        raise ReplProtocolError(
            "conflict", f"head office lacks seq {fetch.after + 1} of {store}/{till} "
            f"(epoch {seg.epoch})")
    return repl.Page(events=events)
