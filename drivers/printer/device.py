"""ESC/POS receipt printer driver: the trio shell around drivers.printer.status.

Options (``[devices.printer.options]``, the model `EscposOptions`; docs/devices.md lists them).

"Printed" means printed. DLE EOT is a real-time command: the printer answers it as soon as it
receives it, ahead of the receipt still in its buffer, so its answer after a job says nothing
about the job. A job therefore ends with a request the printer answers only once everything
before it has been printed (`completion`):
  "gs_r"        GS r 1, processed in order (the default: every ESC/POS printer with a status
                channel has it, the GP/Xprinter/HPRT models included);
  "process_id"  GS ( H fn=48 with a fresh 4-digit ID, answered `37 22 id 00` after printing
                (Epson TM-T88IV and later; the strongest guarantee).
The job counts as printed when that answer comes; paper out, cover open or an error seen
while waiting (polls keep running, ASB too) ends it unconfirmed: PrinterNotReady, and the
queue prints the whole job again. Paper out / cover open during a job also sends DLE DC4 fn=8
(clear the buffers, real-time, so executed while offline): an Epson TM keeps the job's
unprinted tail in its buffer and prints it once the paper is replaced, which with the whole
reprint after it would print the tail twice.

Status channel (`status`): "auto" (default) polls DLE EOT 1..4; a printer that has answered
nothing after `no_status_after` polls since its port opened has no status channel (a usblp
node without read-back, a USB printer without a bulk IN endpoint, many cheap serial printers):
the driver switches to "none" and raises the alert `printer_no_status`. With "none" (also
settable) jobs are sent without confirmation (`print_bytes` returns "sent", not "printed"),
the drawer kick works, and a rare poll notices a status channel that appears. "full" never
falls back: a printer that stops answering is `error`.

No polling into a full buffer: while the printer is not ready (paper out, cover open) or not
answering, it is polled every `offline_poll_s` with DLE EOT 2 only, doubling up to 60 s while
unanswered; with ASB (the printer reports by itself) it is not polled at all while offline.
Some clones keep real-time commands in their receive buffer while offline, so a poll every
second would fill a 4 KB buffer in minutes and leave no room for the drawer kick.

States: `online` once the printer answers a status request or sends ASB (or with status
"none"); `error` when a printer that answered stops answering for more than
MAX_MISSED_POLLS polls; back to `online` when it answers again. Paper out / cover open keep
the state `online` (the device is there) and are reported in the status, UnifiedPOS style.

Events: ``printer.status {device, online, paper, cover_open, drawer_pin3_high, cutter_error,
mechanical_error, unrecoverable_error, recoverable_error, error, feed_button}`` whenever any of
them changes (and ``devices.status`` through `update_status`); ``alerts.raised
{kind: "printer_no_status", device, message}``.

Writes share one transport: every write holds `self._lock`, so a status request never lands
in the middle of a command's parameters; `self._job_lock` keeps jobs one at a time while the
wait for a job's completion leaves the transport free for polls and the drawer kick.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import trio
from pydantic import Field

from drivers.base import (
    Device,
    DeviceBusy,
    DeviceInfo,
    DeviceOffline,
    DeviceState,
    DriverOptions,
    Emit,
    Encoding,
    Transport,
    run_until_transport_error,
)
from drivers.drawer.codec import kick_command
from drivers.printer.receipt import WIDTHS, Item, Receipt, render
from drivers.printer.status import (
    CLEAR_BUFFERS,
    PrinterStatus,
    StatusDecoder,
    StatusReport,
    asb_enable_bytes,
    process_id_request,
)

MAX_MISSED_POLLS = 3
POLL_SET = (1, 2, 3, 4)
OFFLINE_POLL_MAX_S = 60.0
JobResult = Literal["printed", "sent"]


class EscposOptions(DriverOptions):
    """`[devices.<id>.options]` of an ESC/POS printer."""

    width: Literal[32, 35, 42, 48, 56] = Field(
        48, description="paper width in columns of the 12x24 font: 32 (58 mm), 35, 42 "
        "(TM-T88 80 mm, 512 dots), 48 (80 mm, 576 dots), 56")
    encoding: Encoding = Field("gb18030", description="GB codec for Chinese text")
    asb: bool = Field(True, description="enable Automatic Status Back (GS a)")
    completion: Literal["gs_r", "process_id"] = Field(
        "gs_r", description="how a job is confirmed printed: GS r 1 (in order; every model) "
        "or GS ( H process ID (TM-T88IV and later)")
    status: Literal["auto", "full", "none"] = Field(
        "auto", description="status channel: auto (fall back to none when nothing answers), "
        "full (never fall back), none (no read-back: jobs are sent, not confirmed)")
    no_status_after: int = Field(
        5, ge=1, description="status auto: unanswered polls before falling back to none")
    paper_sensor: Literal["strict", "tolerant"] = Field(
        "strict", description="tolerant: either bit of a near-end/end pair counts (clones "
        "that set one); strict: both, as Epson specifies")
    poll_s: float = Field(1.0, gt=0, description="DLE EOT poll period while ready, seconds")
    offline_poll_s: float = Field(
        5.0, gt=0, description="poll period while not ready or not answering (doubles up to "
        "60 s while unanswered; no polls with ASB)")
    chunk_size: int = Field(512, ge=1, description="bytes per transport write of a job")
    confirm_s: float | None = Field(
        None, gt=0, description="wait for a job's completion answer: this plus 0.1 s a line; "
        "default max(5, 2 x poll_s)")


class PrinterNotReady(DeviceBusy):
    """The printer cannot print (or did not finish) this job. `reason`: paper_empty |
    cover_open | offline | error. Raised after a job means: reprint the whole job."""

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or f"printer not ready: {reason}")
        self.reason = reason


class EscposPrinter(Device):
    kind = "printer"
    options_model = EscposOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        o: EscposOptions = self.settings
        assert o.width in WIDTHS
        self.width = o.width
        self.encoding = o.encoding
        self.asb = o.asb
        self.poll_s = o.poll_s
        self.offline_poll_s = o.offline_poll_s
        self.chunk_size = o.chunk_size
        self.confirm_s = o.confirm_s if o.confirm_s is not None else max(5.0, 2 * o.poll_s)
        self.completion = o.completion
        self.status_mode = o.status
        self.tolerant_paper = o.paper_sensor == "tolerant"
        self.codec = StatusDecoder(self.tolerant_paper)
        self.printer_status: PrinterStatus | None = None
        self.no_status = o.status == "none"  # printing without a status channel
        self._lock = trio.Lock()
        self._job_lock = trio.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._published: dict[str, Any] | None = None
        self._answers = 0  # DLE EOT / ASB replies received on this connection
        self._answered = trio.Event()
        self._changed = trio.Event()  # set when the published status changes
        self._missed = 0
        self._asb_seen = False
        self._in_job = False
        self._job_fault: str | None = None
        self._process_ids = (f"{n:04d}" for n in itertools.cycle(range(10_000)))
        self._awaiting: str | None = None  # "paper" or a process ID
        self._completed = False

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
        self.codec = StatusDecoder(self.tolerant_paper)
        self._missed = 0
        self._answers = 0
        self._asb_seen = False
        self._answered = trio.Event()
        self.no_status = self.status_mode == "none"
        if self.no_status:
            self._go_without_status(alert=False)
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
        if report.source in ("paper", "process_id"):
            self._on_completion(report)
        if report.source.startswith("eot") or report.source == "asb":
            self._answers += 1
            self._missed = 0
            self._asb_seen = self._asb_seen or report.source == "asb"
            self._answered.set()
            self._answered = trio.Event()
        if self.no_status and self.status_mode != "none":
            # A status channel after all (e.g. the printer was off when the port opened).
            self.no_status = False
            self.update_status(status_channel="full")
        if self.info.state != "online":
            self.set_state("online")
        if report.settled:
            # DLE EOT replies are published per complete round (1..4), so a change that
            # spans several replies (paper out: offline, then paper end) is one event.
            self._publish(report.status)

    def _on_completion(self, report: StatusReport) -> None:
        if self._awaiting == "paper" and report.source == "paper":
            self._completed = True
        elif report.source == "process_id" and report.raw[2:6].decode() == self._awaiting:
            self._completed = True  # an older job's late answer carries another ID
        self._answered.set()
        self._answered = trio.Event()

    def _publish(self, status: PrinterStatus) -> None:
        self.printer_status = status
        reason = status.not_ready_reason
        if self._in_job and reason is not None and reason != "offline":
            self._job_fault = reason
        data = status.as_dict()
        if data == self._published:
            return
        self._published = data
        self._changed.set()
        self._changed = trio.Event()
        self.update_status(**data)
        self.emit("printer.status", {"device": self.info.id, **data})
        self._notify()

    def _ready(self) -> bool:
        status = self.printer_status
        return (self.info.state == "online" and status is not None
                and status.not_ready_reason is None)

    async def _poll_loop(self, transport: Transport) -> None:
        answers_before = self._answers
        first = True
        offline_wait = self.offline_poll_s
        while True:
            async with self._lock:
                ready = self._ready()
                if self.codec.pending:
                    self._publish(self.codec.status)  # a round left partly unanswered
                unanswered = not first and self._answers == answers_before
                if unanswered:
                    self._missed += 1
                    # Requests nobody answers must not eat the replies to the next round.
                    self.codec.drop_pending()
                    self._on_missed()
                first = False
                answers_before = self._answers
                # With ASB the printer says by itself when it is back: no polls meanwhile.
                quiet = (not ready and self._asb_seen and self.info.state == "online"
                         and self.printer_status is not None)
                if not quiet:
                    # While not ready: DLE EOT 1 (online) and 2 (why not) say when it is back.
                    polls = POLL_SET if ready or self.printer_status is None else (1, 2)
                    await transport.send(b"".join(self.codec.request(n) for n in polls))
            if ready or (self._answers == 0 and not self.no_status):
                # Ready, or still finding out whether it answers at all.
                offline_wait = self.offline_poll_s
                await trio.sleep(self.poll_s)
                continue
            # Not ready, not answering or no status channel: poll rarely (module docstring).
            if unanswered:
                offline_wait = min(OFFLINE_POLL_MAX_S, offline_wait * 2)
            wait = OFFLINE_POLL_MAX_S if self.no_status else offline_wait
            changed = self._changed
            with trio.move_on_after(wait):
                await changed.wait()  # an ASB, or replies a clone held: look again at once

    def _on_missed(self) -> None:
        if self._answers == 0 and self.status_mode == "auto" and not self.no_status:
            if self._missed >= self.settings.no_status_after:
                self._go_without_status(alert=True)
            return
        if self._missed > MAX_MISSED_POLLS and not self.no_status:
            reason = f"no status answer for {self._missed} polls"
            if self.info.state != "error" or self.info.error != reason:
                self.set_state("error", reason)
            self._publish(replace(self.printer_status or PrinterStatus(), online=False))

    def _go_without_status(self, alert: bool) -> None:
        self.no_status = True
        self.printer_status = None
        self.update_status(status_channel="none")
        self.set_state("online")
        if alert:
            self.emit("alerts.raised", {
                "kind": "printer_no_status", "device": self.info.id,
                "message": f"printer {self.info.id} answers no status: receipts are sent "
                           "without confirmation that they printed"})

    # -- commands ---------------------------------------------------------------------------
    def require_ready(self) -> None:
        """DeviceOffline or PrinterNotReady (paper out, cover open, not answering) when a job
        sent now would not print: what `print_bytes` checks first, for a caller that has work
        to do before it (the print queue renders and journals the attempt)."""
        self.require_online()
        self._check_ready()

    def _check_ready(self) -> None:
        if self.no_status:
            return
        status = self.printer_status
        if self.info.state == "error" or status is None:
            raise PrinterNotReady("offline", f"{self.info.id}: printer is not answering")
        reason = status.not_ready_reason
        if reason is not None:
            raise PrinterNotReady(reason)

    async def print_bytes(self, data: bytes) -> JobResult:
        """Send one job and wait until the printer says it is printed ("printed"), or, on a
        printer without a status channel, until it is sent ("sent").

        Raises DeviceOffline when the device is offline, PrinterNotReady before the job
        (nothing sent) or after it (paper out / cover open / error seen while printing, or no
        completion answer): then the whole job must be printed again."""
        self.require_online()
        self._check_ready()
        async with self._job_lock:
            self._check_ready()
            await self._settle_completion()
            self._job_fault = None
            self._completed = False
            self._in_job = True
            try:
                async with self._lock:
                    transport = self.require_online()
                    for i in range(0, len(data), self.chunk_size):
                        await transport.send(data[i : i + self.chunk_size])
                        if self._job_fault is not None:
                            raise PrinterNotReady(self._job_fault)
                    if self.no_status:
                        return "sent"
                    await transport.send(self._completion_request())
                await self._await_completion(data.count(b"\n"))
            except PrinterNotReady as exc:
                if exc.reason in ("paper_empty", "cover_open"):
                    await self._clear_buffers()
                raise
            finally:
                self._in_job = False
        self._check_ready()
        return "printed"

    def _completion_request(self) -> bytes:
        if self.completion == "process_id":
            self._awaiting = next(self._process_ids)
            return process_id_request(self._awaiting)
        self._awaiting = "paper"
        return self.codec.request_paper_status()

    async def _await_completion(self, lines: int) -> None:
        with trio.move_on_after(self.confirm_s + lines * 0.1):
            while not self._completed and self._job_fault is None:
                await self._answered.wait()
        self._awaiting = None
        if self._job_fault is not None:
            raise PrinterNotReady(self._job_fault)
        if not self._completed:
            raise PrinterNotReady("offline", f"{self.info.id}: the job was not confirmed")

    async def _clear_buffers(self) -> None:
        """Drop the torn job's unprinted tail (and its GS r 1, never answered now) from the
        printer's buffers, so only the whole reprint comes out after recovery."""
        async with self._lock:
            transport = self.transport
            if transport is None:
                return
            await transport.send(CLEAR_BUFFERS)
        self.codec.paper_requests = 0

    async def _settle_completion(self) -> None:
        """A GS r 1 of an unconfirmed job may still be answered (a printer that resumes its
        buffer after paper out): let it come before the next job asks, so it cannot confirm
        a job the printer has not printed."""
        if not self.codec.paper_requests:
            return
        with trio.move_on_after(self.confirm_s):
            while self.codec.paper_requests:
                await self._answered.wait()
        self.codec.paper_requests = 0

    async def print_receipt(self, doc: Receipt | list[Item]) -> JobResult:
        return await self.print_bytes(render(doc, self.width, self.encoding))

    async def kick_drawer(self, pin: int = 2, on_ms: int = 100, off_ms: int = 200) -> None:
        """Pulse the drawer kick-out connector, whenever the port is open. ESC p normally;
        when the printer is offline (paper out, cover open) or not answering it does not
        process buffered commands, so the real-time DLE DC4 1 m t pulse (t in 100 ms units,
        1..8) is sent instead: no paper must not mean no change for the customer."""
        cmd = kick_command(pin, on_ms, off_ms)
        async with self._lock:
            transport = self.transport
            if transport is None or self.info.state == "offline":
                raise DeviceOffline(f"{self.info.id} is {self.info.state}")
            if not self.no_status and not self._ready():
                t = min(8, max(1, math.ceil(on_ms / 100)))
                cmd = bytes([0x10, 0x14, 0x01, 0 if pin == 2 else 1, t])
            await transport.send(cmd)
