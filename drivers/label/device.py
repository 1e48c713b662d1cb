"""TSPL label printer driver: the trio shell around drivers.label.codec.

Options (``[devices.<id>.options]``, the model `TsplOptions`; docs/devices.md lists them).

Over any transport (USB printer class, serial, network port 9100) the driver polls
`<ESC>!?` every `poll_s`; the printer is `online` once it answers and `error` when it stops
answering for more than MAX_MISSED_POLLS polls (the link is up but nothing answers: a
printer switched off behind a network adapter). Head open, paper out, ribbon out, paper jam
and pause keep the state `online` and show in the status (`label.status` and
`devices.status` when anything changes), UnifiedPOS style.

A batch (`print_labels`) is refused before anything is sent when the printer is not ready
(`LabelPrinterNotReady`, a DeviceBusy: nothing printed, nothing to undo). TSPL has no
command answered only once the labels are out, so a batch counts as printed when a status
asked after it says the printer is idle with no error, having seen it printing or waited
`settle_s` (a printer that prints one label faster than a poll). An error seen meanwhile
(paper out, head opened) ends it unconfirmed: LabelPrinterNotReady after the batch, and the
caller knows the labels may be partly printed. A printer that answers no status at all
(`status = "none"`: a one-way USB adapter) gets its batch sent and reported "sent".
"""

from __future__ import annotations

from typing import Any, Literal

import trio
from pydantic import Field

from drivers.base import (
    Device,
    DeviceBusy,
    DeviceInfo,
    DriverOptions,
    Emit,
    Encoding,
    Transport,
    run_until_transport_error,
)
from drivers.label.codec import Label, LabelStatus, StatusDecoder, encode_label

MAX_MISSED_POLLS = 3
JobResult = Literal["printed", "sent"]


class TsplOptions(DriverOptions):
    """`[devices.<id>.options]` of a TSPL label printer."""

    width_mm: int = Field(40, ge=10, le=120, description="label width, mm")
    height_mm: int = Field(30, ge=10, le=300, description="label height, mm")
    gap_mm: int = Field(2, ge=0, le=20, description="gap between labels, mm")
    encoding: Encoding = Field("gb18030", description="text encoding of the Chinese font")
    status: Literal["full", "none"] = Field(
        "full", description="full: poll `<ESC>!?` and confirm batches; none: a printer that "
        "answers nothing (batches are sent, not confirmed)")
    poll_s: float = Field(0.5, gt=0, description="status poll period, seconds")
    label_s: float = Field(1.0, gt=0, description="the longest one label may take to "
                           "print, seconds (a batch is waited for this per label plus 5 s)")
    settle_s: float = Field(0.3, ge=0, description="an idle answer this long after a batch "
                            "confirms it even if the printer was never seen printing")
    chunk_size: int = Field(1024, ge=1, description="bytes per transport write")


class LabelPrinterNotReady(DeviceBusy):
    """`reason`: head_open | cover_open | paper_empty | paper_jam | ribbon_out | paused |
    error | offline. Raised before a batch: nothing was sent. After: the batch was not
    confirmed (some labels may have printed)."""

    def __init__(self, reason: str, message: str | None = None, *, sent: bool = False):
        super().__init__(message or f"label printer not ready: {reason}")
        self.reason = reason
        self.sent = sent


class TsplLabelPrinter(Device):
    kind = "label"
    options_model = TsplOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        o: TsplOptions = self.settings
        self.codec = StatusDecoder()
        self.status: LabelStatus | None = None
        self._lock = trio.Lock()  # one writer: a poll never lands inside a batch's bytes
        self._job_lock = trio.Lock()
        self._answered = trio.Event()
        self._answers = 0
        self._missed = 0
        self.no_status = o.status == "none"

    @property
    def label_size(self) -> tuple[int, int, int]:
        o: TsplOptions = self.settings
        return o.width_mm, o.height_mm, o.gap_mm

    # -- run --------------------------------------------------------------------------------
    async def run(self, transport: Transport) -> None:
        self.transport = transport
        self.codec = StatusDecoder()
        self._missed = 0
        if self.no_status:
            self.update_status(status_channel="none")
            self.set_state("online")
            await trio.sleep_forever()
        await run_until_transport_error(lambda: self._read_loop(transport),
                                        lambda: self._poll_loop(transport))

    async def _read_loop(self, transport: Transport) -> None:
        while True:
            data = await transport.receive()
            for status in self.codec.feed(data):
                self._on_status(status)
            self.info.counters["garbage_bytes"] = self.codec.garbage_bytes

    def _on_status(self, status: LabelStatus) -> None:
        self._answers += 1
        self._missed = 0
        if self.info.state != "online":
            self.set_state("online")
        changed = self.status is None or status != self.status
        self.status = status
        if changed:
            data = status.as_dict()
            self.update_status(**data)
            self.emit("label.status", {"device": self.info.id, **data})
        self._answered.set()
        self._answered = trio.Event()

    async def _poll_loop(self, transport: Transport) -> None:
        while True:
            before = self._answers
            async with self._lock:
                await transport.send(self.codec.request())
            await trio.sleep(self.settings.poll_s)
            if self._answers == before:
                self._missed += 1
                self.codec.drop_pending()
                if self._missed > MAX_MISSED_POLLS and self.info.state != "error":
                    self.set_state("error", f"no status answer for {self._missed} polls")

    # -- commands ---------------------------------------------------------------------------
    def _check_ready(self, *, sent: bool = False) -> None:
        if self.no_status:
            return
        status = self.status
        if self.info.state != "online" or status is None:
            raise LabelPrinterNotReady("offline", f"{self.info.id}: the label printer is not "
                                       "answering", sent=sent)
        reason = status.not_ready_reason
        if reason is not None:
            raise LabelPrinterNotReady(reason, sent=sent)

    def render(self, label: Label) -> bytes:
        return encode_label(label, self.settings.encoding)

    async def print_labels(self, labels: list[Label]) -> JobResult:
        """Send a batch and wait until the printer is idle again ("printed"), or, without a
        status channel, until it is sent ("sent"). LabelPrinterNotReady before (nothing
        sent) or after (an error while printing, or no confirmation)."""
        data = b"".join(self.render(label) for label in labels)
        count = sum(label.copies for label in labels)
        self.require_online()
        async with self._job_lock:
            self._check_ready()
            async with self._lock:
                transport = self.require_online()
                size = self.settings.chunk_size
                for i in range(0, len(data), size):
                    await transport.send(data[i:i + size])
            if self.no_status:
                return "sent"
            await self._confirm(count)
        return "printed"

    async def _confirm(self, count: int) -> None:
        started = trio.current_time()
        seen_printing = False
        asked_after = self._answers + 1  # the first answer to a poll sent after the batch
        with trio.move_on_after(5 + count * self.settings.label_s):
            while True:
                await self._answered.wait()
                if self._answers <= asked_after:
                    continue
                status = self.status
                assert status is not None
                if status.not_ready_reason is not None:
                    raise LabelPrinterNotReady(status.not_ready_reason, sent=True)
                if status.printing:
                    seen_printing = True
                elif seen_printing or trio.current_time() - started >= self.settings.settle_s:
                    return
        raise LabelPrinterNotReady("offline", f"{self.info.id}: the batch was not confirmed",
                                   sent=True)
