"""ESC/POS printer status codec (sans-I/O): DLE EOT real-time status and GS a ASB frames.

Bit layouts follow the Epson ESC/POS command reference (DLE EOT, GS a), as also printed in
the TM-L60II technical reference and Chinese 58/80 mm printer programmer manuals:

DLE EOT n (10 04 n) answers ONE byte; bits 0 and 7 are 0, bits 1 and 4 are 1 (0x12 pattern):
  n=1 printer:       bit2 drawer kick-out connector pin 3 HIGH, bit3 offline,
                     bit5 waiting for online recovery, bit6 feed button pressed
  n=2 offline cause: bit2 cover open, bit3 paper being fed by the feed button,
                     bit5 printing stopped by paper end, bit6 error occurred
  n=3 error cause:   bit2 mechanical error, bit3 autocutter error,
                     bit5 unrecoverable error, bit6 automatically recoverable error
  n=4 paper sensor:  bits2+3 roll paper near end, bits5+6 roll paper end (not present)
GS a n (1D 61 n) enables Automatic Status Back: 4-byte frames sent on every status change
(and once when enabled). Byte 1 has bits 0,1,7 = 0 and bit 4 = 1 (0x10 pattern); bytes 2-4
have bits 4 and 7 = 0:
  byte1: bit2 drawer pin 3 HIGH, bit3 offline, bit5 cover open, bit6 feed button
  byte2: bit2 mechanical error, bit3 autocutter error, bit5 unrecoverable error,
         bit6 automatically recoverable error
  byte3: bits0+1 roll paper near end, bits2+3 roll paper end
  byte4: reserved

A DLE EOT reply byte (bit 1 set) and an ASB header (bit 1 clear) are told apart by bit 1; the
three following ASB bytes can never look like either (bit 4 clear). A DLE EOT reply does not
say which n it answers: the decoder matches replies to the requests it issued, in order
(`request(n)` records the request). Anything that fits nowhere is counted as garbage.

Job completion (the requests a printer answers only once the data before them is printed;
DLE EOT is real-time and answered at once, so it cannot confirm a job):
  GS r 1 (1D 72 01)  paper sensor status, processed in order: one byte, bits 4 and 7 = 0,
                     bits0+1 roll paper near end, bits2+3 roll paper end. Told apart from a
                     DLE EOT reply by bit 4 and from an ASB body by coming outside a frame.
  GS ( H fn=48       1D 28 48 06 00 30 30 d1 d2 d3 d4 (d = "0".."9"): process ID response
                     37 22 d1 d2 d3 d4 00 once everything before it is printed (TM-T88IV
                     and later). 37 25 00 answers DLE DC4 fn=8 (clear buffers).

Paper sensors report near-end and end each on two bits. `tolerant_paper=True` takes either
bit of a pair as set, for clones that set only one; the default (strict) wants both, as the
Epson reference specifies, so a clone with a stuck bit does not stop the till.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

DLE, EOT = 0x10, 0x04
Paper = Literal["ok", "near_end", "empty"]

# ASB items for GS a n: drawer, online/offline, error, paper roll sensor.
ASB_ALL = 0x01 | 0x02 | 0x04 | 0x08


def request_bytes(n: int) -> bytes:
    if n not in (1, 2, 3, 4):
        raise ValueError("DLE EOT n must be 1..4")
    return bytes([DLE, EOT, n])


def asb_enable_bytes(mask: int = ASB_ALL) -> bytes:
    return bytes([0x1D, ord("a"), mask & 0xFF])


PAPER_STATUS_REQUEST = b"\x1dr\x01"  # GS r 1

# DLE DC4 fn=8 d1..d7 (fixed 1 3 20 1 6 2 8): a real-time command, executed while offline,
# that clears the receive and print buffers; the printer answers the clear response 37 25 00.
CLEAR_BUFFERS = bytes([DLE, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08])


def process_id_request(pid: str) -> bytes:
    """GS ( H fn=48: the printer answers `37 22 pid 00` once the data before it is printed."""
    if len(pid) != 4 or not pid.isascii() or not pid.isdigit():
        raise ValueError("a process ID is four ASCII digits")
    return b"\x1d(H\x06\x0000" + pid.encode()


def encode_paper_status(paper: str) -> int:
    """The GS r 1 reply byte for a paper state (device side)."""
    return (0x03 if paper in ("near_end", "empty") else 0) | (0x0C if paper == "empty" else 0)


def _is_eot_reply(b: int) -> bool:
    return b & 0x93 == 0x12


def _is_asb_head(b: int) -> bool:
    return b & 0x93 == 0x10


def _is_asb_body(b: int) -> bool:
    return b & 0x90 == 0x00


@dataclass(frozen=True)
class PrinterStatus:
    online: bool = True
    paper: Paper = "ok"
    cover_open: bool = False
    drawer_pin3_high: bool = False
    cutter_error: bool = False
    mechanical_error: bool = False
    unrecoverable_error: bool = False
    recoverable_error: bool = False
    error: bool = False  # any error condition (DLE EOT 2 bit 6, or any error bit)
    feed_button: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def not_ready_reason(self) -> str | None:
        """Why a job cannot print now (paper_empty|cover_open|error|offline), or None."""
        if self.paper == "empty":
            return "paper_empty"
        if self.cover_open:
            return "cover_open"
        if self.error or self.cutter_error or self.mechanical_error or self.unrecoverable_error:
            return "error"
        if not self.online:
            return "offline"
        return None


@dataclass(frozen=True)
class StatusReport:
    """One decoded reply: `source` is "eot1".."eot4" or "asb"; `status` the merged status."""

    source: str
    raw: bytes
    status: PrinterStatus
    # False for a DLE EOT reply while more replies to requests are still due: the status
    # is then mid-round (e.g. "offline" known, its cause not yet).
    settled: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "raw": self.raw.hex(), **self.status.as_dict()}


def _paper(near_end: bool, end: bool) -> Paper:
    return "empty" if end else "near_end" if near_end else "ok"


def _pair(b: int, mask: int, tolerant: bool) -> bool:
    """A sensor reported on two bits: both set (strict), or either (tolerant)."""
    return bool(b & mask) if tolerant else b & mask == mask


def _any_error(s: PrinterStatus) -> bool:
    return s.cutter_error or s.mechanical_error or s.unrecoverable_error or s.recoverable_error


def apply_eot(status: PrinterStatus, n: int, b: int, tolerant: bool = False) -> PrinterStatus:
    """Merge the reply byte `b` to DLE EOT `n` into `status`."""
    if n == 1:
        return replace(status, drawer_pin3_high=bool(b & 0x04), online=not b & 0x08,
                       feed_button=bool(b & 0x40))
    if n == 2:
        s = replace(status, cover_open=bool(b & 0x04), feed_button=bool(b & 0x08))
        # "Error occurred"; the causes (DLE EOT 3) may still be set from the last poll.
        s = replace(s, error=bool(b & 0x40) or _any_error(s))
        if b & 0x20:
            s = replace(s, paper="empty")
        elif s.paper == "empty":
            # Not stopped by paper end any more; DLE EOT 4 tells near-end apart.
            s = replace(s, paper="ok")
        return s
    if n == 3:
        s = replace(status, mechanical_error=bool(b & 0x04), cutter_error=bool(b & 0x08),
                    unrecoverable_error=bool(b & 0x20), recoverable_error=bool(b & 0x40))
        return replace(s, error=_any_error(s))
    if n == 4:
        return replace(status, paper=_paper(_pair(b, 0x0C, tolerant), _pair(b, 0x60, tolerant)))
    raise ValueError(n)


def apply_paper_status(status: PrinterStatus, b: int, tolerant: bool = False) -> PrinterStatus:
    """Merge a GS r 1 reply byte into `status`."""
    return replace(status, paper=_paper(_pair(b, 0x03, tolerant), _pair(b, 0x0C, tolerant)))


def apply_asb(status: PrinterStatus, frame: bytes, tolerant: bool = False) -> PrinterStatus:
    b1, b2, b3, _b4 = frame
    s = replace(status, drawer_pin3_high=bool(b1 & 0x04), online=not b1 & 0x08,
                cover_open=bool(b1 & 0x20), feed_button=bool(b1 & 0x40),
                mechanical_error=bool(b2 & 0x04), cutter_error=bool(b2 & 0x08),
                unrecoverable_error=bool(b2 & 0x20), recoverable_error=bool(b2 & 0x40),
                paper=_paper(_pair(b3, 0x03, tolerant), _pair(b3, 0x0C, tolerant)))
    return replace(s, error=_any_error(s))


# -- encoding the device side (used by the simulator and by tests) ---------------------------
def encode_eot(n: int, s: PrinterStatus) -> int:
    b = 0x12
    if n == 1:
        b |= (0x04 if s.drawer_pin3_high else 0) | (0 if s.online else 0x08)
        b |= 0x40 if s.feed_button else 0
    elif n == 2:
        b |= 0x04 if s.cover_open else 0
        b |= 0x08 if s.feed_button else 0
        b |= 0x20 if s.paper == "empty" else 0
        b |= 0x40 if s.error else 0
    elif n == 3:
        b |= (0x04 if s.mechanical_error else 0) | (0x08 if s.cutter_error else 0)
        b |= (0x20 if s.unrecoverable_error else 0) | (0x40 if s.recoverable_error else 0)
    elif n == 4:
        b |= 0x0C if s.paper in ("near_end", "empty") else 0
        b |= 0x60 if s.paper == "empty" else 0
    else:
        raise ValueError(n)
    return b


def encode_asb(s: PrinterStatus) -> bytes:
    b1 = 0x10 | (0x04 if s.drawer_pin3_high else 0) | (0 if s.online else 0x08)
    b1 |= (0x20 if s.cover_open else 0) | (0x40 if s.feed_button else 0)
    b2 = (0x04 if s.mechanical_error else 0) | (0x08 if s.cutter_error else 0)
    b2 |= (0x20 if s.unrecoverable_error else 0) | (0x40 if s.recoverable_error else 0)
    b3 = (0x03 if s.paper in ("near_end", "empty") else 0) | (0x0C if s.paper == "empty" else 0)
    return bytes([b1, b2, b3, 0x00])


class StatusDecoder:
    """Feed it whatever the printer sent; get StatusReports. Tolerates any split of the
    stream and garbage between frames (counted in `garbage_bytes`)."""

    def __init__(self, tolerant_paper: bool = False) -> None:
        self.status = PrinterStatus()
        self.tolerant = tolerant_paper
        self.pending: deque[int] = deque()
        self.paper_requests = 0  # GS r 1 requests not answered yet
        self.garbage_bytes = 0
        self._asb = bytearray()
        self._reply = bytearray()  # a 37 xx ... 00 response begun

    @property
    def pending_bytes(self) -> int:
        """Bytes of an ASB frame or a process ID response begun but not finished."""
        return len(self._asb) + len(self._reply)

    # -- host side ----------------------------------------------------------------------
    def request(self, n: int) -> bytes:
        """Bytes for DLE EOT n; the next reply byte is matched to it."""
        data = request_bytes(n)
        self.pending.append(n)
        return data

    def expect(self, ns: list[int]) -> None:
        """Declare replies to requests sent outside this decoder (e.g. a recorded log)."""
        self.pending.extend(ns)

    def drop_pending(self) -> int:
        """Forget DLE EOT requests that will not be answered (timeout); returns how many."""
        n = len(self.pending)
        self.pending.clear()
        return n

    def request_paper_status(self) -> bytes:
        """GS r 1, answered in order after the data before it (a job's completion)."""
        self.paper_requests += 1
        return PAPER_STATUS_REQUEST

    # -- device side --------------------------------------------------------------------
    def feed(self, data: bytes) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for b in data:
            if self._reply:
                self._reply_byte(b, reports)
                continue
            if self._asb:
                if _is_asb_body(b):
                    self._asb.append(b)
                    if len(self._asb) == 4:
                        frame = bytes(self._asb)
                        self._asb.clear()
                        self.status = apply_asb(self.status, frame, self.tolerant)
                        reports.append(StatusReport("asb", frame, self.status))
                    continue
                # Broken frame: its bytes were garbage; look at b afresh.
                self.garbage_bytes += len(self._asb)
                self._asb.clear()
            if _is_eot_reply(b) and self.pending:
                n = self.pending.popleft()
                self.status = apply_eot(self.status, n, b, self.tolerant)
                reports.append(
                    StatusReport(f"eot{n}", bytes([b]), self.status, settled=not self.pending)
                )
            elif b == 0x37:
                self._reply.append(b)
            elif _is_asb_head(b):
                self._asb.append(b)
            elif b & 0x90 == 0 and self.paper_requests:
                self.paper_requests -= 1
                self.status = apply_paper_status(self.status, b, self.tolerant)
                reports.append(StatusReport("paper", bytes([b]), self.status))
            else:
                self.garbage_bytes += 1
        return reports

    def _reply_byte(self, b: int, reports: list[StatusReport]) -> None:
        """Inside `37 22 d1..d4 00` (process ID) or `37 25 00` (buffers cleared)."""
        reply = self._reply
        reply.append(b)
        if len(reply) == 2 and b not in (0x22, 0x25):
            self.garbage_bytes += 2
            reply.clear()
        elif (reply[1] == 0x25 and len(reply) == 3) or (reply[1] == 0x22 and len(reply) == 7):
            frame = bytes(reply)
            reply.clear()
            if b != 0x00 or (frame[1] == 0x22 and not frame[2:6].isdigit()):
                self.garbage_bytes += len(frame)
                return
            source = "process_id" if frame[1] == 0x22 else "cleared"
            reports.append(StatusReport(source, frame, self.status))
