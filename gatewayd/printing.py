"""The persistent print queue.

A job is queued in the same transaction as the fact it prints (a completed sale and its
receipt are one commit). One task per printer prints the oldest job when the printer is
ready. A job is marked `printing` (journaled) before its bytes go out and `done` only after
the printer answered the job's completion request (it has printed it; see
drivers/printer/device.py), or `sent` on a printer without a status channel, which cannot
say; a job found `printing` after a failure or a restart was
interrupted, so it is printed again whole, headed 重打印 REPRINT — never lost, never
silently doubled.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from drivers.base import DeviceOffline, TransportError
from drivers.printer.device import PrinterNotReady
from drivers.printer.receipt import Cut, Feed, Text, receipt_from_dicts, render
from gatewayd.devices import as_printer
from gatewayd.store.db import Tx, now_us
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.ports import Devices, Publish
    from gatewayd.store.db import Store

log = logging.getLogger("gatewayd.printing")
REPRINT_MARK = "*** 重打印 REPRINT ***"
RETRY_S = 2.0


def enqueue(tx: Tx, printer: str, document: list[dict[str, Any]], *, kind: str = "receipt",
            ref: str | None = None) -> str:
    """Queue a job inside the caller's transaction. Validates the document first."""
    try:
        receipt_from_dicts(document)
    except (TypeError, ValueError) as exc:
        raise ProtocolError("invalid_params", f"bad receipt document: {exc}") from None
    job_id = str(uuid.uuid4())
    now = now_us()
    tx.execute(
        "INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at, updated_at)"
        " VALUES (?,?,?,?,?, 'queued', ?, ?)",
        (job_id, printer, kind, ref, pack(document), now, now),
    )
    tx.append("print.queued", {"job_id": job_id, "printer": printer, "kind": kind, "ref": ref})
    return job_id


def lines_document(lines: list[str]) -> list[dict[str, Any]]:
    return [*({"type": "text", "text": line} for line in lines), {"type": "feed", "n": 3},
            {"type": "cut"}]


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
            except Exception:
                log.exception("print job %s failed unexpectedly", job["id"])
                await self._failed(job, "error")
                await self._sleep(pid, RETRY_S * 5)

    async def _sleep(self, pid: str, timeout: float | None) -> None:
        event = self._wake[pid] = trio.Event()
        with trio.move_on_after(timeout if timeout is not None else float("inf")):
            await event.wait()

    async def _print(self, dev, job) -> None:
        document = unpack(job["document"])
        reprint = job["attempts"] > 0  # an earlier attempt may have printed part of it
        items = receipt_from_dicts(document)
        if reprint:
            items.items[:0] = [Text(REPRINT_MARK, align="center", bold=True), Feed(1)]
        if not any(isinstance(i, Cut) for i in items.items):
            items.add(Feed(3), Cut())
        data = render(items, dev.width, dev.encoding)
        dev.require_online()
        attempt = job["attempts"] + 1

        def started(tx: Tx) -> None:
            tx.execute("UPDATE print_jobs SET state='printing', attempts=?, updated_at=? "
                       "WHERE id=?", (attempt, now_us(), job["id"]))
            tx.append("print.started", {"job_id": job["id"], "attempt": attempt,
                                        "reprint": reprint})

        await self.store.write(started)
        self._event(job, "printing", attempt)
        result = await dev.print_bytes(data)
        state = "done" if result == "printed" else "sent"

        def done(tx: Tx) -> None:
            tx.execute("UPDATE print_jobs SET state=?, last_error=NULL, updated_at=? "
                       "WHERE id=?", (state, now_us(), job["id"]))
            tx.append("print.done", {"job_id": job["id"], "attempt": attempt,
                                     "confirmed": state == "done"})

        await self.store.write(done)
        self._event(job, state, attempt)

    async def _failed(self, job, reason: str) -> None:
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

