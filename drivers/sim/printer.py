"""ESC/POS receipt printer simulator: the device end of the printer protocol, sans-I/O.

Feed it the bytes a host sends; it parses the ESC/POS stream into receipts (rendered text
lines plus raw bytes), answers DLE EOT 1..4, GS r and GS ( H, sends GS a ASB frames, executes
drawer kicks and models paper / cover / drawer sensors.

Timing, as the Epson command reference describes a TM printer: received bytes go into a
receive buffer and are printed from it by the print engine (`lines_per_s`, run by `tick()`);
real-time commands (DLE EOT, DLE DC4, DLE ENQ) are executed as soon as they are received,
ahead of whatever is still buffered, so a DLE EOT reply after a job says nothing about that
job. The requests that are processed in order - GS r n (status after the data before it) and
GS ( H fn=48 (process ID response `37 22 d1..d4 00`, TM-T88IV and later, sent once the data
before it is printed) - are answered only when the engine reaches them. `lines_per_s=None`
prints as it receives (byte-log replays); `print_buffered()` runs the engine to the end.

Rendering: each printed line is a string `width` columns wide (alignment applied, CJK two
columns, double-width characters count double when aligning but are shown once); QR codes,
barcodes and bit images (GS v 0, ESC *, GS ( L / GS 8 L) become marker lines `[QR:data]`,
`[BARCODE CODE128:data]`, `[IMAGE 384x80]`. A cut ends a receipt; commands that print nothing
(a drawer kick after the cut) do not start the next one. In Kanji mode (FS &) double-byte
GB18030 is decoded; outside it, bytes >= 0x80 are shown through the code page chosen with
ESC t n (Epson's table: 0 PC437 ... 16 WPC1252, 17 PC866, 19 PC858, 45..52 WPC125x).

Offline (paper empty or cover open) the engine stops and the receipt being printed is closed
as incomplete (torn). What happens to the rest of the job (`resume_after_recovery`):
True (the default, an Epson TM): the receive buffer keeps the unprinted data, and data
received while offline is buffered too; once the paper is replaced / the cover closed the
engine resumes and prints it, so the torn receipt's tail comes out on the new roll, unless
the host cleared the buffers meanwhile with the real-time DLE DC4 fn=8 (`CLEAR_BUFFERS`,
answered `37 25 00`; executed while offline). False: a printer that clears its buffer on
recovery: the print data still buffered or received while offline is NOT printed (counted
in `dropped_bytes`); a pending GS r / GS ( H request goes with it, unanswered. Clone models:
`realtime_when_offline=False` keeps real-time commands in the receive buffer while offline
(executed in order after recovery) and `buffer_size` bounds that buffer (bytes that do not
fit are lost, `overflow_bytes`, as on a serial line without handshake);
`status_channel=False` is a printer that never sends anything back (a usblp node without
read-back); `process_id=False` a model without GS ( H (most GP/Xprinter).

Bounded history: the last `history` receipts and kicks are kept (a ring), so a simulator
that runs for days stays flat; `receipt_count` counts them all.

Simplifications: real-time commands are recognised between commands only (a real printer
also finds them inside other commands' parameters; the driver never interleaves them); GS a
is applied when received; page mode, user-defined characters and macros are not modelled
(their bytes count as garbage).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from drivers.printer.cjk import char_width
from drivers.printer.status import PrinterStatus, encode_asb, encode_eot, encode_paper_status
from drivers.sim.base import HISTORY, SimDevice, remember

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

# Fixed parameter counts of the ESC/POS commands the simulator skips or uses.
_ESC_FIXED = {
    "@": 0, "E": 1, "G": 1, "a": 1, "!": 1, "-": 1, "M": 1, "t": 1, "R": 1, "d": 1, "J": 1,
    "e": 1, "2": 0, "3": 1, " ": 1, "{": 1, "V": 1, "p": 3, "$": 2, "\\": 2, "=": 1, "i": 0,
    "m": 0, "r": 1, "U": 1, "L": 0, "S": 0, "T": 1, "W": 8, "%": 1, "?": 1, "c": 2, "K": 1,
}
_GS_FIXED = {
    "!": 1, "B": 1, "H": 1, "h": 1, "w": 1, "f": 1, "L": 2, "W": 2, "a": 1, "r": 1, "I": 1,
    "P": 2, "$": 2, "\\": 2, "b": 1, "T": 1, "/": 1, ":": 0, "^": 3, "E": 1, "C": 0,
}
_FS_FIXED = {"&": 0, ".": 0, "!": 1, "-": 1, "C": 1, "p": 2, "W": 1, "S": 2, "r": 1, "?": 1}
_BARCODE_FORM2 = {65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF",
                  71: "CODABAR", 72: "CODE93", 73: "CODE128"}
_BARCODE_FORM1 = {0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF",
                  6: "CODABAR"}
# ESC t n -> the code page bytes >= 0x80 print with outside Kanji mode (Epson's table; the
# same numbers python-escpos's printer profiles use).
CODE_PAGES = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 13: "cp857", 14: "cp737",
    15: "iso8859_7", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858", 21: "cp874",
    32: "cp720", 33: "cp775", 34: "cp855", 35: "cp861", 36: "cp862", 37: "cp864", 38: "cp869",
    39: "iso8859_2", 40: "iso8859_15", 44: "cp1125", 45: "cp1250", 46: "cp1251",
    47: "cp1253", 48: "cp1254", 49: "cp1255", 50: "cp1256", 51: "cp1257", 52: "cp1258",
    53: "kz1048",
}
# DLE DC4 fn=8 d1..d7: clear the receive and print buffers (TM-T88V and later).
CLEAR_BUFFERS = bytes([0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08])


@dataclass
class SimLine:
    text: str  # the rendered line, `width` columns, trailing spaces stripped
    bold: bool = False
    size: tuple[int, int] = (1, 1)  # width, height multipliers

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text}
        if self.bold:
            d["bold"] = True
        if self.size != (1, 1):
            d["size"] = f"{self.size[0]}x{self.size[1]}"
        return d


@dataclass
class SimReceipt:
    raw: bytearray = field(default_factory=bytearray)
    lines: list[SimLine] = field(default_factory=list)
    cut: str | None = None  # "full" | "partial" once cut
    complete: bool = False  # ended by a cut (not by paper running out)

    def text(self) -> list[str]:
        return [ln.text for ln in self.lines]

    def as_dict(self) -> dict[str, Any]:
        return {"lines": [ln.as_dict() for ln in self.lines], "cut": self.cut,
                "complete": self.complete, "raw": bytes(self.raw).hex()}


def _code128_text(data: bytes) -> str:
    """Human-readable content of ESC/POS CODE128 data ({A/{B/{C code sets, {{ = '{')."""
    out: list[str] = []
    i, cset = 0, "B"
    while i < len(data):
        b = data[i]
        if b == 0x7B and i + 1 < len(data):  # '{'
            nxt = chr(data[i + 1])
            i += 2
            if nxt in "ABC":
                cset = nxt
            elif nxt == "{":
                out.append("{")
            continue  # {S shift, {1..{4 FNC: not shown
        out.append(f"{b:02d}" if cset == "C" else chr(b) if 0x20 <= b < 0x7F else "?")
        i += 1
    return "".join(out)


def _ean13_full(d: str) -> str:
    if len(d) == 12 and d.isdigit():
        s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d))
        return d + str((10 - s % 10) % 10)
    return d


class EscposPrinterSim(SimDevice):
    kind = "printer"
    tick_interval = 0.05

    def __init__(self, width: int = 48, encoding: str = "gb18030",
                 drawer_open_when_high: bool = True, kick_opens_drawer: bool = True, *,
                 lines_per_s: float | None = 40.0, history: int = HISTORY,
                 buffer_size: int | None = None, realtime_when_offline: bool = True,
                 status_channel: bool = True, process_id: bool = True,
                 resume_after_recovery: bool = True):
        super().__init__()
        self.width = width
        self.encoding = encoding
        self.drawer_open_when_high = drawer_open_when_high
        self.kick_opens_drawer = kick_opens_drawer
        # 40 lines/s: a 150 mm/s thermal printer at 3.75 mm a line (24-dot font + spacing).
        self.lines_per_s = lines_per_s
        self.buffer_size = buffer_size
        self.realtime_when_offline = realtime_when_offline
        self.status_channel = status_channel
        self.process_id = process_id
        self.resume_after_recovery = resume_after_recovery
        self.paper = "ok"
        self.cover_open = False
        self.drawer_open = False
        self.asb_mask = 0
        self.history = history
        self.receipts: list[SimReceipt] = []
        self.receipt_count = 0
        self.current: SimReceipt | None = None
        self.kicks: list[dict[str, int]] = []
        self.kick_count = 0
        self.dropped_bytes = 0
        self.overflow_bytes = 0
        self.garbage_bytes = 0
        self.status_requests = 0
        self.silenced_bytes = 0  # what a printer without a status channel did not send
        self._rx = bytearray()  # bytes of a command not complete yet
        self._rx_kanji = False
        self._queue: deque[bytes] = deque()  # complete commands waiting for the engine
        self._buffered = 0
        self._credit = 0.0
        self._raw = bytearray()  # printed commands not yet part of a receipt
        self._lines_left: int | None = None
        self._reset_modes()

    # -- sensor actions (the test / demo side) -----------------------------------------
    def set_paper(self, state: str) -> None:
        if state not in ("ok", "near_end", "empty"):
            raise ValueError(state)
        if state == self.paper:
            return
        was_ready = self.can_print
        self.paper = state
        if state == "empty":
            self._lines_left = None
            self._paper_ran_out()
        self._status_changed(was_ready)

    def set_cover(self, open: bool) -> None:
        if open == self.cover_open:
            return
        was_ready = self.can_print
        self.cover_open = open
        if open:
            self._paper_ran_out()
        self._status_changed(was_ready)

    def set_drawer(self, open: bool) -> None:
        if open == self.drawer_open:
            return
        self.drawer_open = open
        self._status_changed(self.can_print)

    def run_out_after(self, lines: int) -> None:
        """The roll ends after `lines` more printed lines (paper out in the middle of a job)."""
        self._lines_left = lines

    @property
    def can_print(self) -> bool:
        return self.paper != "empty" and not self.cover_open

    def status(self) -> PrinterStatus:
        return PrinterStatus(
            online=self.can_print, paper=self.paper, cover_open=self.cover_open,  # type: ignore[arg-type]
            drawer_pin3_high=self.drawer_open == self.drawer_open_when_high,
        )

    # -- SimDevice ------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.status_channel:
            super().send(data)
        else:
            self.silenced_bytes += len(data)

    def feed(self, data: bytes) -> None:
        self._rx += data
        while self._rx:
            n = self._command_length(self._rx)
            if n == 0:
                break
            cmd = bytes(self._rx[:n])
            del self._rx[:n]
            self._track_kanji(cmd)
            self._receive(cmd)
        if self.lines_per_s is None:
            self.print_buffered()

    def tick(self) -> None:
        """The print engine's share of time: `lines_per_s * tick_interval` lines."""
        if self.lines_per_s is None:
            return
        per_tick = self.lines_per_s * self.tick_interval
        self._credit = min(self._credit + per_tick, per_tick)
        while self._queue and self.can_print and self._credit > 0:
            self._execute_next()

    def print_buffered(self) -> None:
        """Print everything in the receive buffer (as long as the printer can)."""
        while self._queue and self.can_print:
            self._execute_next()

    def snapshot(self) -> dict[str, Any]:
        return {
            "paper": self.paper, "cover_open": self.cover_open, "drawer_open": self.drawer_open,
            "asb": self.asb_mask, "receipts": [r.as_dict() for r in self.receipts],
            "receipt_count": self.receipt_count,
            "current": [ln.as_dict() for ln in self.current.lines] if self.current else [],
            "kicks": list(self.kicks), "kick_count": self.kick_count,
            "dropped_bytes": self.dropped_bytes, "garbage_bytes": self.garbage_bytes,
            "buffered_bytes": self._buffered,
            "overflow_bytes": self.overflow_bytes,
        }

    @property
    def pending_bytes(self) -> int:
        """Bytes of a command not complete yet."""
        return len(self._rx)

    @property
    def buffered_bytes(self) -> int:
        """Bytes received and waiting in the receive buffer for the print engine."""
        return self._buffered

    # -- internals ------------------------------------------------------------------------
    def _reset_modes(self) -> None:
        self.kanji = False
        self.align = 0
        self.bold = False
        self.wmul = 1
        self.hmul = 1
        self.code_page = 0
        self._qr_data = b""
        self._graphics: tuple[int, int] | None = None  # GS ( L stored raster (w, h)
        self._line: list[tuple[str, int]] = []
        self._line_align = 0
        self._line_bold = False
        self._line_size = (1, 1)

    def _status_changed(self, was_ready: bool) -> None:
        if not was_ready and self.can_print:
            # Recovered: real-time commands a clone held while offline run now, in order;
            # a resuming printer keeps its print data for the engine.
            held = [cmd for cmd in self._queue if cmd[0] == DLE]
            kept = [cmd for cmd in self._queue if cmd[0] != DLE]
            self._queue = deque(kept if self.resume_after_recovery else [])
            self._buffered = sum(len(cmd) for cmd in self._queue)
            for cmd in held:
                self._realtime(cmd)
        if self.asb_mask:
            self.send(encode_asb(self.status()))

    def _paper_ran_out(self) -> None:
        """Printing stops: the receipt being printed is torn off incomplete. A resuming
        printer keeps its buffer; otherwise the print data still buffered is cleared
        (real-time commands a clone holds stay)."""
        self._line = []
        if self.current is not None:
            self._close_receipt(self.current)
        if self.resume_after_recovery:
            return
        held = deque(cmd for cmd in self._queue if cmd[0] == DLE)
        self.dropped_bytes += self._buffered - sum(len(cmd) for cmd in held)
        self._queue = held
        self._buffered = sum(len(cmd) for cmd in held)

    def _close_receipt(self, receipt: SimReceipt) -> None:
        remember(self.receipts, receipt, self.history)
        self.receipt_count += 1
        self.current = None

    def _receipt(self) -> SimReceipt:
        if self.current is None:
            self.current = SimReceipt()
            self.current.raw += self._raw
            self._raw.clear()
        return self.current

    # -- receiving ----------------------------------------------------------------------
    def _receive(self, cmd: bytes) -> None:
        if cmd[0] == DLE and len(cmd) == 1:
            self.garbage_bytes += 1
            return
        if cmd[0] == DLE and (self.realtime_when_offline or self.can_print):
            self._realtime(cmd)
            return
        if cmd[0] == GS and cmd[1:2] == b"a":
            self.asb_mask = cmd[2]
            self._status_changed(self.can_print)
            return
        if self.buffer_size is not None and self._buffered + len(cmd) > self.buffer_size:
            self.overflow_bytes += len(cmd)
            return
        if not self.can_print and cmd[0] != DLE and not self.resume_after_recovery:
            self.dropped_bytes += len(cmd)
            return
        self._queue.append(cmd)
        self._buffered += len(cmd)

    def _realtime(self, cmd: bytes) -> None:
        if cmd[1] == 0x04:  # DLE EOT n
            n = cmd[2]
            if 1 <= n <= 4:
                self.status_requests += 1
                self.send(bytes([encode_eot(n, self.status())]))
            else:
                self.garbage_bytes += 3
        elif cmd[1] == 0x14:  # DLE DC4 fn ...
            if cmd[2] == 1:  # real-time pulse: DLE DC4 1 m t
                self._kick(cmd[3], cmd[4] * 100, cmd[4] * 100)
            elif cmd == CLEAR_BUFFERS:
                self.dropped_bytes += self._buffered
                self._queue.clear()
                self._buffered = 0
                self._line = []
                self.send(b"\x37\x25\x00")  # clear response
        elif cmd[1] != 0x05:  # DLE ENQ n: nothing to recover in this model
            self.garbage_bytes += len(cmd)

    def _execute_next(self) -> None:
        cmd = self._queue.popleft()
        self._buffered -= len(cmd)
        if cmd[0] == DLE:  # a real-time command a clone kept in its buffer
            self._realtime(cmd)
            return
        self._raw_append(cmd)
        self._execute(cmd)

    def _raw_append(self, cmd: bytes) -> None:
        if self.current is not None:
            self.current.raw += cmd
        else:
            self._raw += cmd

    def _emit(self, text: str, bold: bool = False, size: tuple[int, int] = (1, 1)) -> None:
        self._receipt().lines.append(SimLine(text.rstrip(" "), bold, size))
        self._credit -= 1
        if self._lines_left is not None:
            self._lines_left -= 1
            if self._lines_left <= 0:
                self.set_paper("empty")

    def _aligned(self, body: str, used: int, align: int) -> str:
        pad = max(0, self.width - used)
        left = pad // 2 if align == 1 else pad if align == 2 else 0
        return " " * left + body

    def _flush_line(self, force: bool) -> None:
        if not self._line and not force:
            return
        if not self._line:
            self._emit("")  # a blank line (LF with an empty buffer)
            return
        body = "".join(ch for ch, _ in self._line)
        used = sum(w for _, w in self._line)
        self._emit(self._aligned(body, used, self._line_align), self._line_bold, self._line_size)
        self._line = []

    def _marker(self, text: str) -> None:
        self._flush_line(force=False)
        self._emit(self._aligned(text, len(text), self.align))

    def _put_char(self, ch: str) -> None:
        w = char_width(ch) * self.wmul
        if sum(cw for _, cw in self._line) + w > self.width:
            self._flush_line(force=True)
        if not self._line:
            self._line_align = self.align
            self._line_bold = self.bold
            self._line_size = (self.wmul, self.hmul)
        else:
            self._line_bold = self._line_bold or self.bold
            self._line_size = (max(self._line_size[0], self.wmul),
                               max(self._line_size[1], self.hmul))
        self._line.append((ch, w))

    def _command_length(self, buf: bytearray) -> int:
        """Length of the complete command/character at buf[0], 0 if incomplete.
        Unknown commands are consumed as their 2-byte prefix (and counted in _execute)."""
        b = buf[0]
        if b == DLE:
            if len(buf) < 3:
                return 0
            if buf[1] == 0x14:  # DLE DC4 fn: fn=8 clear buffers has 7 bytes after fn
                return self._need(buf, 10 if buf[2] == 8 else 5)
            if buf[1] in (0x04, 0x05):
                return 3
            return 1
        if b in (ESC, GS, FS):
            if len(buf) < 2:
                return 0
            c = chr(buf[1])
            table = {ESC: _ESC_FIXED, GS: _GS_FIXED, FS: _FS_FIXED}[b]
            if b == ESC and c == "*":
                if len(buf) < 5:
                    return 0
                k = (buf[3] + buf[4] * 256) * (1 if buf[2] in (0, 1) else 3)
                return self._need(buf, 5 + k)
            if b == ESC and c == "D":  # tab positions, NUL terminated
                end = buf.find(0, 2)
                return end + 1 if end >= 0 else 0
            if b == GS and c == "V":
                if len(buf) < 3:
                    return 0
                return 3 if buf[2] in (0, 1, 48, 49) else 4 if len(buf) >= 4 else 0
            if b == GS and c == "k":
                if len(buf) < 3:
                    return 0
                if buf[2] <= 6:  # form 1: NUL terminated
                    end = buf.find(0, 3)
                    return end + 1 if end >= 0 else 0
                return self._need(buf, 4 + buf[3]) if len(buf) >= 4 else 0
            if b == GS and c == "(":
                if len(buf) < 5:
                    return 0
                return self._need(buf, 5 + buf[3] + buf[4] * 256)
            if b == GS and c == "v":
                if len(buf) < 8:
                    return 0
                return self._need(buf, 8 + (buf[4] + buf[5] * 256) * (buf[6] + buf[7] * 256))
            if b == GS and c == "8":  # GS 8 L p1 p2 p3 p4 ...
                if len(buf) < 7:
                    return 0
                return self._need(buf, 7 + int.from_bytes(buf[3:7], "little"))
            if b == GS and c == "*":
                if len(buf) < 4:
                    return 0
                return self._need(buf, 4 + buf[2] * buf[3] * 8)
            if c in table:
                return self._need(buf, 2 + table[c])
            return 2
        if b >= 0x80 and self._kanji_at_receipt():
            if len(buf) < 2:
                return 0
            if 0x30 <= buf[1] <= 0x39:  # GB18030 four-byte sequence
                return self._need(buf, 4)
            return 2
        return 1

    def _kanji_at_receipt(self) -> bool:
        """Whether Kanji mode will be on when the engine reaches the byte being parsed:
        set by the last FS & / FS . / ESC @ received (the buffer is executed in order)."""
        return self._rx_kanji

    def _track_kanji(self, cmd: bytes) -> None:
        if cmd in (b"\x1c&", b"\x1c.", b"\x1b@"):
            self._rx_kanji = cmd == b"\x1c&"

    @staticmethod
    def _need(buf: bytearray, n: int) -> int:
        return n if len(buf) >= n else 0

    def _execute(self, cmd: bytes) -> None:
        b = cmd[0]
        if b == ESC:
            self._esc(chr(cmd[1]), cmd[2:])
        elif b == GS:
            self._gs(chr(cmd[1]), cmd[2:])
        elif b == FS:
            c = chr(cmd[1])
            if c == "&":
                self.kanji = True
            elif c == ".":
                self.kanji = False
            elif c not in _FS_FIXED:
                self.garbage_bytes += 2
        elif b == 0x0A:
            self._flush_line(force=True)
        elif b == 0x09:
            used = sum(w for _, w in self._line)
            for _ in range(8 - used % 8):
                self._put_char(" ")
        elif b < 0x20 or b == 0x7F:
            if b not in (0x0D, 0x0C, 0x18, 0x00):
                self.garbage_bytes += 1
        elif b < 0x80:
            self._put_char(chr(b))
        elif len(cmd) > 1:  # Kanji mode double/four-byte character
            self._put_char(cmd.decode(self.encoding, errors="replace")[:1])
        else:
            page = CODE_PAGES.get(self.code_page)
            self._put_char(cmd.decode(page, errors="replace") if page else "?")

    def _esc(self, c: str, p: bytes) -> None:
        if c == "@":
            self._flush_line(force=False)
            self._reset_modes()
        elif c == "E":
            self.bold = bool(p[0] & 1)
        elif c == "G":
            self.bold = bool(p[0] & 1)
        elif c == "a":
            self.align = {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}.get(p[0], self.align)
        elif c == "!":
            self.bold = bool(p[0] & 0x08)
            self.hmul = 2 if p[0] & 0x10 else 1
            self.wmul = 2 if p[0] & 0x20 else 1
        elif c == "t":
            self.code_page = p[0]
        elif c == "d":
            if self._line:
                self._flush_line(force=True)
                n = p[0] - 1
            else:
                n = p[0]
            for _ in range(max(0, n)):
                self._emit("")
        elif c == "p":
            self._kick(p[0], p[1] * 2, p[2] * 2)
        elif c == "*":  # ESC * m nL nH d...: one band of a bit image, 8 or 24 dots high
            dots = p[1] + p[2] * 256
            self._marker(f"[IMAGE {dots}x{8 if p[0] in (0, 1) else 24}]")
        elif c not in _ESC_FIXED and c != "D":
            self.garbage_bytes += 2

    def _gs(self, c: str, p: bytes) -> None:
        if c == "!":
            self.wmul = ((p[0] >> 4) & 7) + 1
            self.hmul = (p[0] & 7) + 1
        elif c == "V":
            self._flush_line(force=False)
            partial = p[0] in (1, 49, 66, 98, 104)
            r = self._receipt()
            r.cut = "partial" if partial else "full"
            r.complete = True
            self._close_receipt(r)
        elif c == "(":
            self._gs_paren(chr(p[0]), p[3:])
        elif c == "8" and p[:1] == b"L":
            self._graphics_fn(p[5:])
        elif c == "k":
            m = p[0]
            if m <= 6:
                kind, data = _BARCODE_FORM1.get(m, "?"), bytes(p[1:-1])
            else:
                kind, data = _BARCODE_FORM2.get(m, f"m{m}"), bytes(p[2:])
            text = _code128_text(data) if kind == "CODE128" else data.decode("ascii", "replace")
            if kind == "EAN13":
                text = _ean13_full(text)
            self._marker(f"[BARCODE {kind}:{text}]")
        elif c == "v":
            w, h = (p[2] + p[3] * 256) * 8, p[4] + p[5] * 256
            self._marker(f"[IMAGE {w}x{h}]")
        elif c == "r":
            # Transmit status, in order: n=1/49 paper sensors, n=2/50 drawer connector.
            if p[0] in (1, 49):
                self.send(bytes([encode_paper_status(self.paper)]))
            elif p[0] in (2, 50):
                self.send(bytes([int(self.status().drawer_pin3_high)]))
        elif c not in _GS_FIXED and c != "*":
            self.garbage_bytes += 2

    def _gs_paren(self, fn: str, body: bytes) -> None:
        if fn == "k" and len(body) >= 2 and body[0] == 49:  # QR code
            if body[1] == 80:  # store
                self._qr_data = bytes(body[3:])
            elif body[1] == 81:  # print
                self._marker(f"[QR:{self._qr_data.decode('utf-8', errors='replace')}]")
        elif fn == "H" and body[:2] == b"00" and len(body) == 6 and self.process_id:
            # Process ID response: sent once everything before it has been printed.
            self.send(b"\x37\x22" + bytes(body[2:6]) + b"\x00")
        elif fn == "L":
            self._graphics_fn(body)

    def _graphics_fn(self, body: bytes) -> None:
        """GS ( L / GS 8 L: m fn ...; fn=112 stores a raster, fn=50 prints it."""
        if len(body) < 2 or body[0] != 48:
            return
        if body[1] == 112 and len(body) >= 10:  # store: a bx by c xL xH yL yH d...
            self._graphics = (body[6] + body[7] * 256, body[8] + body[9] * 256)
        elif body[1] in (50, 2) and self._graphics is not None:
            self._marker(f"[IMAGE {self._graphics[0]}x{self._graphics[1]}]")

    def _kick(self, m: int, on_ms: int, off_ms: int) -> None:
        pin = 5 if m in (1, 49) else 2
        remember(self.kicks, {"pin": pin, "on_ms": on_ms, "off_ms": off_ms}, self.history)
        self.kick_count += 1
        if self.kick_opens_drawer:
            self.set_drawer(True)
