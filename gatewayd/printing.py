"""The persistent print queue.

A job is queued in the same transaction as the fact it prints (a completed sale and its
receipt are one commit). One task per printer prints the oldest job when the printer is
ready. A job is marked `printing` (journaled) before its bytes go out and `done` only after
the printer answered the job's completion request (it has printed it; see
drivers/printer/device.py), or `sent` on a printer without a status channel, which cannot
say; a job found `printing` after a failure or a restart was
interrupted, so it is printed again whole, headed 重打印 REPRINT — never lost, never
silently doubled.

A printer that is away (offline, out of paper, cover open) is found so before a job is
rendered or attempted; the job waits, retried every RETRY_S and at every wake, and its
`print.failed` is journaled once per cause (when the job first meets it, when the cause
changes, when an attempt fails), never at every retry: the printer's absence is its device's
status and alert, and a day offline must not grow the journal (docs/devices.md).

No poison job: a document a client sends (`printer.print`) is validated completely before it
is queued (every element's fields against their types, then rendered once), so a bad one is
`invalid_params` at the call and nothing is queued. The documents the daemon builds itself
(receipts, refund slips, shift reports) are not rendered in the transaction that queues them:
that would hold the store's write lock for a render on every sale, and a sale must never
fail for its receipt. A job that still cannot be rendered or printed for a reason that is not
the printer's (a document of ours with a fault, queued by an older version, a printer
reconfigured since, a driver fault) is
tried MAX_RENDER_FAILURES times, then moved aside: state `held`, journaled `print.held`, alert
`printer_job_failed`. The jobs behind it print meanwhile; `printer.jobs` lists it and
`printer.job_cancel` (a supervisor) cancels it. Failures are counted in the store, so a
restart does not give a poison job a fresh start.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from drivers.base import DeviceOffline, TransportError
from drivers.printer.device import PrinterNotReady
from drivers.printer.receipt import Cut, Feed, Receipt, Text, receipt_from_dicts, render
from gatewayd.devices import as_printer
from gatewayd.ids import new_id
from gatewayd.store.db import Tx, now_us
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.ports import Devices, Publish
    from gatewayd.store.db import Store
    from gatewayd.store.reader import Reads

log = logging.getLogger("gatewayd.printing")
REPRINT_MARK = "*** 重打印 REPRINT ***"
RETRY_S = 2.0
MAX_RENDER_FAILURES = 3
FAILED_RETRY_S = 1.0
# at start a printer is still being opened: wait this long for it to answer (or to say why
# it cannot print) before its absence counts as a cause, journaled again at every restart
START_GRACE_S = 10.0
JOB_STATES = ("queued", "printing", "held", "done", "sent", "cancelled")


def validate_document(document: Any) -> Receipt:
    """The document as receipt items, or `invalid_params` saying what is wrong with it.
    Rendering it once catches what the field types cannot (an EAN-13 check digit, a QR
    payload over its capacity, a drawer pin that does not exist)."""
    if not isinstance(document, list) or not document:
        raise ProtocolError("invalid_params", "a receipt document is a non-empty list of items")
    try:
        receipt = receipt_from_dicts(document)
        render(receipt, 48)
    except (TypeError, ValueError) as exc:
        raise ProtocolError("invalid_params", f"bad receipt document: {exc}") from None
    return receipt


def enqueue(tx: Tx, printer: str, document: list[dict[str, Any]], *, kind: str = "receipt",
            ref: str | None = None) -> str:
    """Queue a job inside the caller's transaction. A document from a client is checked
    with `validate_document` first, outside the transaction."""
    job_id = new_id()
    now = now_us()
    tx.execute(
        "INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at, updated_at)"
        " VALUES (?,?,?,?,?, 'queued', ?, ?)",
        (job_id, printer, kind, ref, pack(document), now, now),
    )
    # the document travels with the event: a till restored from head office prints it still
    tx.append("print.queued", {"job_id": job_id, "printer": printer, "kind": kind, "ref": ref,
                               "document": document})
    return job_id


def lines_document(lines: list[str]) -> list[dict[str, Any]]:
    return [*({"type": "text", "text": line} for line in lines), {"type": "feed", "n": 3},
            {"type": "cut"}]


def _not_ready(dev) -> str | None:
    """Why `dev` cannot print now (offline, paper_empty, ...), None when it can."""
    try:
        dev.require_ready()
    except (PrinterNotReady, DeviceOffline) as exc:
        return getattr(exc, "reason", "offline")
    return None


class PrintQueue:
    def __init__(self, store: Store, devices: Devices, publish: Publish):
        self.store = store
        self.devices = devices
        self.publish = publish
        self._wake: dict[str, trio.Event] = {}

    def default_printer(self) -> str:
        printers = self.devices.of_kind("printer")
        if not printers:
            raise ProtocolError("not_found", "no printer is configured")
        return printers[0].info.id

    def wake(self, printer: str | None = None) -> None:
        for pid, event in self._wake.items():
            if printer is None or pid == printer:
                event.set()

    def jobs(self, printer: str | None = None, states: tuple[str, ...] = ("queued", "printing",
             "held"), limit: int = 100, reads: Reads | None = None) -> list[dict[str, Any]]:
        """Jobs in `states`, newest first (the queue, what is held aside, what was printed).
        One query a state, each a range of print_jobs_state read newest first and merged
        here: states bound as parameters cannot use the partial print_jobs_pending, and an
        IN list over an index is sorted whole in a temporary b-tree (done jobs grow with
        history). The protocol runs it on a reader thread: a printer's jobs are picked out
        of every printer's of that state."""
        where = "state = ?" + (" AND printer = ?" if printer is not None else "")
        rows: list[Any] = []
        for state in states:
            args = (state, printer) if printer is not None else (state,)
            rows += (reads or self.store).all(
                "SELECT rowid AS pos, id, printer, kind, ref, state, attempts, failures,"
                f" last_error, created_at, updated_at FROM print_jobs WHERE {where}"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit))
        rows.sort(key=lambda r: (r["created_at"], r["pos"]), reverse=True)
        return [{"job_id": r["id"], **{k: r[k] for k in r.keys() if k not in ("id", "pos")}}
                for r in rows[:limit]]

    async def cancel(self, job_id: str, actor: str | None) -> dict[str, Any]:
        """Cancel a job that has not printed (queued, held aside, or interrupted)."""

        def mark(tx: Tx) -> dict[str, Any]:
            row = tx.execute("SELECT printer, state FROM print_jobs WHERE id=?",
                             (job_id,)).fetchone()
            if row is None:
                raise ProtocolError("not_found", f"no print job {job_id!r}")
            if row["state"] not in ("queued", "printing", "held"):
                raise ProtocolError("conflict", f"print job {job_id} is {row['state']}")
            tx.execute("UPDATE print_jobs SET state='cancelled', updated_at=? WHERE id=?",
                       (now_us(), job_id))
            tx.append("print.cancelled", {"job_id": job_id, "by": actor})
            return {"printer": row["printer"]}

        found, _ = await self.store.write(mark)
        self.wake(found["printer"])
        return {"job_id": job_id, "state": "cancelled"}

    def pending(self, printer: str) -> list[dict[str, Any]]:
        rows = self.store.all(
            "SELECT id, kind, ref, state, attempts, last_error, created_at FROM print_jobs "
            "WHERE printer=? AND state IN ('queued','printing') ORDER BY created_at, rowid",
            (printer,))
        return [dict(r) for r in rows]

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM print_jobs WHERE id=?", (job_id,))
        if row is None:
            return None
        out = dict(row)
        out["document"] = unpack(out["document"])
        return out

    # -- the owned tasks ----------------------------------------------------------------
    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for dev in self.devices.of_kind("printer"):
                self._wake[dev.info.id] = trio.Event()
                as_printer(dev).add_status_listener(partial(self.wake, dev.info.id))
                nursery.start_soon(self._printer_loop, dev)
            task_status.started()

    async def _printer_loop(self, dev) -> None:
        pid = dev.info.id
        alerted: str | None = None
        with trio.move_on_after(START_GRACE_S):
            while _not_ready(dev) == "offline":
                await self._sleep(pid, None)  # the printer's status listener wakes it
        while True:
            job = self.store.one(
                "SELECT * FROM print_jobs WHERE printer=? AND state IN ('queued','printing') "
                "ORDER BY created_at, rowid LIMIT 1", (pid,))
            if job is None:
                await self._sleep(pid, None)
                continue
            try:
                await self._print(dev, job)
                if alerted:
                    self.publish("alerts.cleared", {"kind": "printer", "device": pid})
                    alerted = None
            except (PrinterNotReady, DeviceOffline, TransportError) as exc:
                reason = getattr(exc, "reason", "offline")
                await self._failed(job, reason)
                if alerted != reason:
                    alerted = reason
                    self.publish("alerts.raised", {
                        "kind": f"printer_{reason}", "device": pid, "job_id": job["id"],
                        "message": f"printer {pid}: {reason.replace('_', ' ')}; "
                                   f"{len(self.pending(pid))} job(s) waiting"})
                await self._sleep(pid, RETRY_S)
            except sqlite3.Error:
                # The store's trouble (a full disk, say), not the job's: retry, count nothing.
                log.exception("print job %s: store error", job["id"])
                await self._sleep(pid, RETRY_S * 5)
            except Exception as exc:
                # Not the printer's doing: the job itself (or a driver fault) fails. Bounded
                # tries, then it is moved aside so the receipts behind it print.
                log.warning("print job %s failed: %r", job["id"], exc)
                if not await self._job_failed(job, exc):
                    await self._sleep(pid, FAILED_RETRY_S)

    async def _sleep(self, pid: str, timeout: float | None) -> None:
        event = self._wake[pid] = trio.Event()
        with trio.move_on_after(timeout if timeout is not None else float("inf")):
            await event.wait()

    async def _print(self, dev, job) -> None:
        # before the render and the attempt: a printer that is away, out of paper or with its
        # cover open is the device's status, not an attempt of the job's
        dev.require_ready()
        document = unpack(job["document"])
        reprint = job["attempts"] > 0  # an earlier attempt may have printed part of it
        items: Receipt = receipt_from_dicts(document)
        if reprint:
            items.items[:0] = [Text(REPRINT_MARK, align="center", bold=True), Feed(1)]
        if not any(isinstance(i, Cut) for i in items.items):
            items.add(Feed(3), Cut())
        data = render(items, dev.width, dev.encoding)
        attempt = job["attempts"] + 1

        def started(tx: Tx) -> None:
            # last_error is why the job waits since its last attempt: a fault of this one
            # is journaled even when an earlier attempt failed the same way
            tx.execute("UPDATE print_jobs SET state='printing', attempts=?, last_error=NULL,"
                       " updated_at=? WHERE id=? AND state IN ('queued','printing')",
                       (attempt, now_us(), job["id"]))
            tx.append("print.started", {"job_id": job["id"], "attempt": attempt,
                                        "reprint": reprint})

        await self.store.write(started)
        self._event(job, "printing", attempt)
        result = await dev.print_bytes(data)
        state = "done" if result == "printed" else "sent"

        def done(tx: Tx) -> None:
            tx.execute("UPDATE print_jobs SET state=?, last_error=NULL, updated_at=? "
                       "WHERE id=? AND state='printing'", (state, now_us(), job["id"]))
            tx.append("print.done", {"job_id": job["id"], "attempt": attempt,
                                     "confirmed": state == "done"})

        await self.store.write(done)
        self._event(job, state, attempt)

    async def _job_failed(self, job, exc: Exception) -> bool:
        """Count a failure of the job itself; True when it was moved aside (held)."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        failures = job["failures"] + 1
        held = failures >= MAX_RENDER_FAILURES

        def mark(tx: Tx) -> None:
            tx.execute("UPDATE print_jobs SET failures=?, last_error=?, state=?, updated_at=?"
                       " WHERE id=? AND state IN ('queued','printing')",
                       (failures, error, "held" if held else job["state"], now_us(), job["id"]))
            tx.append("print.failed", {"job_id": job["id"], "reason": "job", "error": error})
            if held:
                tx.append("print.held", {"job_id": job["id"], "failures": failures,
                                         "error": error})

        await self.store.write(mark)
        self._event(job, "held" if held else "waiting", job["attempts"], error=error)
        if held:
            self.publish("alerts.raised", {
                "kind": "printer_job_failed", "device": job["printer"], "job_id": job["id"],
                "message": f"print job {job['kind']} {job['ref'] or ''} cannot be printed "
                           f"({error}); set aside after {failures} tries"})
        return held

    async def _failed(self, job, reason: str) -> None:
        """The printer cannot take the job now (away, out of paper, cover open): journaled
        once per cause, when the job first meets it or the cause changes. A retry that finds
        the same cause again writes nothing: the printer being away is the device's status
        (`devices.status`, the printer alert), and the job shows it in `printer.jobs` as its
        last_error; a day offline would otherwise journal a failure every RETRY_S."""
        # read again: an attempt begun since `job` was read cleared it
        now = self.store.one("SELECT last_error FROM print_jobs WHERE id=?", (job["id"],))
        if now is None or now["last_error"] == reason:
            return

        def mark(tx: Tx) -> None:
            tx.execute("UPDATE print_jobs SET last_error=?, updated_at=? WHERE id=?",
                       (reason, now_us(), job["id"]))
            tx.append("print.failed", {"job_id": job["id"], "reason": reason})

        await self.store.write(mark)
        self._event(job, "waiting", job["attempts"], error=reason)

    def _event(self, job, state: str, attempt: int, error: str | None = None) -> None:
        self.publish("printer.job", {"job_id": job["id"], "device": job["printer"],
                                     "kind": job["kind"], "ref": job["ref"], "state": state,
                                     "attempt": attempt, "error": error})

