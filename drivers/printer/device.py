"""ESC/POS receipt printer driver: the trio shell around drivers.printer.status.

Options (``[devices.printer.options]``):
  width        paper width in columns: 32 (58 mm) or 48 (80 mm), default 48
  encoding     GB codec for Chinese text, default "gb18030"
  asb          enable Automatic Status Back (GS a), default true
  poll_s       DLE EOT 1..4 poll period, default 1.0 s
  chunk_size   bytes per transport write of a print job, default 512
  confirm_s    how long to wait for the status replies that confirm a job, default max(2, 2*poll_s)

States: `online` once the printer answers a status request or sends ASB; `error` when it has
stopped answering status for more than 3 polls (MAX_MISSED_POLLS); back to `online` when it
answers again. Paper out / cover open keep the state `online` (the device is there) and are
reported in the status, UnifiedPOS style.

Events: ``printer.status {device, online, paper, cover_open, drawer_pin3_high, cutter_error,
mechanical_error, unrecoverable_error, recoverable_error, error, feed_button}`` whenever any of
them changes (and ``devices.status`` through `update_status`).

Status requests and print jobs share one transport: every write holds `self._lock`, and a
job holds it from its first chunk to its confirmation, so a status request never lands in
the middle of a command's parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import trio

from drivers.base import (
    Device,
    DeviceBusy,
    DeviceInfo,
    DeviceState,
    Emit,
    Transport,
    run_until_transport_error,
)
from drivers.drawer.codec import kick_command
from drivers.printer.receipt import Item, Receipt, render
from drivers.printer.status import (
    PrinterStatus,
    StatusDecoder,
    StatusReport,
    asb_enable_bytes,
)

MAX_MISSED_POLLS = 3
POLL_SET = (1, 2, 3, 4)


class PrinterNotReady(DeviceBusy):
    """The printer cannot print (or did not finish) this job. `reason`: paper_empty |
    cover_open | offline | error. Raised after a job means: reprint the whole job."""

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or f"printer not ready: {reason}")
        self.reason = reason


class EscposPrinter(Device):
    kind = "printer"

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.width = int(self.options.get("width", 48))
        if self.width not in (32, 48):
            raise ValueError(f"printer width must be 32 or 48 columns, not {self.width}")
        self.encoding = str(self.options.get("encoding", "gb18030"))
        self.asb = bool(self.options.get("asb", True))
        self.poll_s = float(self.options.get("poll_s", 1.0))
        if self.poll_s <= 0:
            raise ValueError("poll_s must be > 0")
        self.chunk_size = max(1, int(self.options.get("chunk_size", 512)))
        self.confirm_s = float(self.options.get("confirm_s", max(2.0, 2 * self.poll_s)))
        self.codec = StatusDecoder()
        self.printer_status: PrinterStatus | None = None
        self._lock = trio.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._published: dict[str, Any] | None = None
        self._answers = 0  # DLE EOT replies received on this connection
        self._answered = trio.Event()
        self._missed = 0
        self._in_job = False
        self._job_fault: str | None = None

    # -- peers (the drawer) -----------------------------------------------------------------
    def add_status_listener(self, callback: Callable[[], None]) -> None:
        """`callback()` runs (synchronously, must not block) after every change of the
        printer's status or state; read `printer_status` / `info.state` from it."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for cb in list(self._listeners):
            cb()

    def set_state(self, state: DeviceState, error: str | None = None) -> None:
        before = (self.info.state, self.info.error)
        super().set_state(state, error)
        if (self.info.state, self.info.error) != before:
            self._notify()

    # -- run --------------------------------------------------------------------------------
    async def run(self, transport: Transport) -> None:
        self.transport = transport
        self.codec = StatusDecoder()
        self._missed = 0
        self._answers = 0
        self._answered = trio.Event()
        if self.asb:
            await transport.send(asb_enable_bytes())
        await run_until_transport_error(
            lambda: self._read_loop(transport), lambda: self._poll_loop(transport)
        )

    async def _read_loop(self, transport: Transport) -> None:
        while True:
            data = await transport.receive()
            reports = self.codec.feed(data)
            self.info.counters["garbage_bytes"] = self.codec.garbage_bytes
            for report in reports:
                self._on_report(report)

    def _on_report(self, report: StatusReport) -> None:
        if report.source.startswith("eot"):
            self._answers += 1
            self._missed = 0
            self._answered.set()
            self._answered = trio.Event()
        if self.info.state != "online":
            self.set_state("online")
        if report.settled:
            # DLE EOT replies are published per complete round (1..4), so a change that
            # spans several replies (paper out: offline, then paper end) is one event.
            self._publish(report.status)

    def _publish(self, status: PrinterStatus) -> None:
        self.printer_status = status
        reason = status.not_ready_reason
        if self._in_job and reason is not None and reason != "offline":
            self._job_fault = reason
        data = status.as_dict()
        if data == self._published:
            return
        self._published = data
        self.update_status(**data)
        self.emit("printer.status", {"device": self.info.id, **data})
        self._notify()

    async def _poll_loop(self, transport: Transport) -> None:
        answers_before = self._answers
        first = True
        while True:
            async with self._lock:
                if self.codec.pending:
                    self._publish(self.codec.status)  # a round left partly unanswered
                if not first and self._answers == answers_before:
                    self._missed += 1
                    # Requests nobody answers must not eat the replies to the next round.
                    self.codec.drop_pending()
                    if self._missed > MAX_MISSED_POLLS:
                        self._lost()
                first = False
                answers_before = self._answers
                await transport.send(b"".join(self.codec.request(n) for n in POLL_SET))
            await trio.sleep(self.poll_s)

    def _lost(self) -> None:
        reason = f"no status answer for {self._missed} polls"
        if self.info.state != "error" or self.info.error != reason:
            self.set_state("error", reason)
        self._publish(replace(self.printer_status or PrinterStatus(), online=False))

    # -- commands ---------------------------------------------------------------------------
    def _check_ready(self) -> None:
        status = self.printer_status
        if self.info.state == "error" or status is None:
            raise PrinterNotReady("offline", f"{self.info.id}: printer is not answering")
        reason = status.not_ready_reason
        if reason is not None:
            raise PrinterNotReady(reason)

    async def print_bytes(self, data: bytes) -> None:
        """Send one job. Raises DeviceOffline when the device is offline, PrinterNotReady
        before the job (nothing sent) or after it (paper out / cover open / error seen while
        printing, or no status confirmation): then the whole job must be printed again."""
        self.require_online()
        self._check_ready()
        async with self._lock:
            transport = self.require_online()
            self._check_ready()
            await self._settle_pending()
            self._job_fault = None
            self._in_job = True
            try:
                for i in range(0, len(data), self.chunk_size):
                    await transport.send(data[i : i + self.chunk_size])
                    if self._job_fault is not None:
                        raise PrinterNotReady(self._job_fault)
                await self._confirm(transport)
                if self._job_fault is not None:
                    raise PrinterNotReady(self._job_fault)
            finally:
                self._in_job = False
        self._check_ready()

    async def _settle_pending(self) -> None:
        """Let the replies to earlier status polls arrive before a job starts, so the
        confirmation after the job counts only replies to its own requests (a late poll
        reply must not confirm a job the printer has not printed)."""
        with trio.move_on_after(self.confirm_s):
            while self.codec.pending:
                await self._answered.wait()
        if self.codec.pending:
            self.codec.drop_pending()

    async def _confirm(self, transport: Transport) -> None:
        """Ask DLE EOT 1..4 after the job and wait for the four replies."""
        target = self._answers + len(POLL_SET)
        await transport.send(b"".join(self.codec.request(n) for n in POLL_SET))
        with trio.move_on_after(self.confirm_s):
            while self._answers < target:
                await self._answered.wait()
        if self._answers < target:
            self.codec.drop_pending()
            raise PrinterNotReady("offline", f"{self.info.id}: no status after the job")

    async def print_receipt(self, doc: Receipt | list[Item]) -> None:
        await self.print_bytes(render(doc, self.width, self.encoding))

    async def kick_drawer(self, pin: int = 2, on_ms: int = 100, off_ms: int = 200) -> None:
        """Pulse the drawer kick-out connector. ESC p normally; when the printer is offline
        (paper out, cover open) it does not process buffered commands, so the real-time
        DLE DC4 1 m t pulse (t in 100 ms units, 1..8) is sent instead: no paper must not mean
        no change for the customer."""
        cmd = kick_command(pin, on_ms, off_ms)
        async with self._lock:
            transport = self.require_online()
            status = self.printer_status
            if status is not None and status.not_ready_reason is not None:
                t = min(8, max(1, math.ceil(on_ms / 100)))
                cmd = bytes([0x10, 0x14, 0x01, 0 if pin == 2 else 1, t])
            await transport.send(cmd)
