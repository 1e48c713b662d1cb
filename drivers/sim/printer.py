"""ESC/POS receipt printer simulator: the device end of the printer protocol, sans-I/O.

Feed it the bytes a host sends; it parses the ESC/POS stream into receipts (rendered text
lines plus raw bytes), answers DLE EOT 1..4, sends GS a ASB frames, executes drawer kicks and
models paper / cover / drawer sensors.

Rendering: each printed line is a string `width` columns wide (alignment applied, CJK two
columns, double-width characters count double when aligning but are shown once); QR codes,
barcodes and raster images become marker lines `[QR:data]`, `[BARCODE CODE128:data]`,
`[IMAGE 384x80]`. A cut ends a receipt. In Kanji mode (FS &) double-byte GB18030 is decoded;
outside it, bytes >= 0x80 are shown through code page 437 (the default ESC t 0).

Offline behaviour (paper empty or cover open): like a printer whose buffer is cleared on
recovery, print data received while offline is NOT printed (counted in `dropped_bytes`), and
the receipt being printed when the paper ran out is closed as incomplete. Real-time commands
(DLE EOT, DLE DC4) and GS a are still answered while offline.

Simplifications: real-time commands are recognised between commands only (a real printer
also finds them inside other commands' parameters; the driver never interleaves them); page
mode, user-defined characters and macros are not modelled (their bytes count as garbage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.printer.cjk import char_width
from drivers.printer.status import PrinterStatus, encode_asb, encode_eot
from drivers.sim.base import SimDevice

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

    def __init__(self, width: int = 48, encoding: str = "gb18030",
                 drawer_open_when_high: bool = True, kick_opens_drawer: bool = True):
        super().__init__()
        self.width = width
        self.encoding = encoding
        self.drawer_open_when_high = drawer_open_when_high
        self.kick_opens_drawer = kick_opens_drawer
        self.paper = "ok"
        self.cover_open = False
        self.drawer_open = False
        self.asb_mask = 0
        self.receipts: list[SimReceipt] = []
        self.current: SimReceipt | None = None
        self.kicks: list[dict[str, int]] = []
        self.dropped_bytes = 0
        self.garbage_bytes = 0
        self.status_requests = 0
        self._buf = bytearray()
        self._lines_left: int | None = None
        self._reset_modes()

    # -- sensor actions (the test / demo side) -----------------------------------------
    def set_paper(self, state: str) -> None:
        if state not in ("ok", "near_end", "empty"):
            raise ValueError(state)
        if state == self.paper:
            return
        self.paper = state
        if state == "empty":
            self._lines_left = None
            self._paper_ran_out()
        self._status_changed()

    def set_cover(self, open: bool) -> None:
        if open == self.cover_open:
            return
        self.cover_open = open
        if open:
            self._paper_ran_out()
        self._status_changed()

    def set_drawer(self, open: bool) -> None:
        if open == self.drawer_open:
            return
        self.drawer_open = open
        self._status_changed()

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
    def feed(self, data: bytes) -> None:
        self._buf += data
        while self._buf:
            n = self._step()
            if n == 0:
                break
            del self._buf[:n]

    def snapshot(self) -> dict[str, Any]:
        return {
            "paper": self.paper, "cover_open": self.cover_open, "drawer_open": self.drawer_open,
            "asb": self.asb_mask, "receipts": [r.as_dict() for r in self.receipts],
            "current": [ln.as_dict() for ln in self.current.lines] if self.current else [],
            "kicks": list(self.kicks), "dropped_bytes": self.dropped_bytes,
            "garbage_bytes": self.garbage_bytes,
        }

    @property
    def pending_bytes(self) -> int:
        """Bytes of a command not complete yet."""
        return len(self._buf)

    # -- internals ------------------------------------------------------------------------
    def _reset_modes(self) -> None:
        self.kanji = False
        self.align = 0
        self.bold = False
        self.wmul = 1
        self.hmul = 1
        self._qr_data = b""
        self._line: list[tuple[str, int]] = []
        self._line_align = 0
        self._line_bold = False
        self._line_size = (1, 1)

    def _status_changed(self) -> None:
        if self.asb_mask:
            self.send(encode_asb(self.status()))

    def _paper_ran_out(self) -> None:
        self._line = []
        if self.current is not None:
            self.receipts.append(self.current)
            self.current = None

    def _receipt(self) -> SimReceipt:
        if self.current is None:
            self.current = SimReceipt()
        return self.current

    def _emit(self, text: str, bold: bool = False, size: tuple[int, int] = (1, 1)) -> None:
        self._receipt().lines.append(SimLine(text.rstrip(" "), bold, size))
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

    def _step(self) -> int:
        """Parse one command or character at the start of the buffer: bytes consumed,
        0 if more bytes are needed."""
        buf = self._buf
        b = buf[0]
        # Real-time and status machinery: handled whatever the paper state.
        if b == DLE:
            if len(buf) < 2:
                return 0
            if buf[1] == 0x04:  # DLE EOT n
                if len(buf) < 3:
                    return 0
                n = buf[2]
                if 1 <= n <= 4:
                    self.status_requests += 1
                    self.send(bytes([encode_eot(n, self.status())]))
                else:
                    self.garbage_bytes += 3
                return 3
            if buf[1] == 0x05:  # DLE ENQ n
                return 3 if len(buf) >= 3 else 0
            if buf[1] == 0x14:  # DLE DC4 fn ...
                if len(buf) < 5:
                    return 0
                if buf[2] == 1:  # real-time pulse: DLE DC4 1 m t
                    self._kick(buf[3], buf[4] * 100, buf[4] * 100)
                return 5
            self.garbage_bytes += 1
            return 1
        if b == GS and len(buf) >= 2 and buf[1] == ord("a"):
            if len(buf) < 3:
                return 0
            self.asb_mask = buf[2]
            self._status_changed()
            return 3
        n = self._command_length(buf)
        if n == 0:
            return 0
        cmd = bytes(buf[:n])
        if not self.can_print:
            self.dropped_bytes += n
            return n
        self._receipt().raw += cmd
        self._execute(cmd)
        return n

    def _command_length(self, buf: bytearray) -> int:
        """Length of the complete command/character at buf[0], 0 if incomplete.
        Unknown commands are consumed as their 2-byte prefix (and counted in _execute)."""
        b = buf[0]
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
        if b >= 0x80 and self.kanji:
            if len(buf) < 2:
                return 0
            if 0x30 <= buf[1] <= 0x39:  # GB18030 four-byte sequence
                return self._need(buf, 4)
            return 2
        return 1

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
            self._put_char(cmd.decode("cp437"))

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
        elif c not in _ESC_FIXED and c not in "*D":
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
            self.receipts.append(r)
            self.current = None
        elif c == "(":
            fn, body = p[0], p[3:]
            if fn == ord("k") and len(body) >= 2 and body[0] == 49:
                if body[1] == 80:  # store
                    self._qr_data = bytes(body[3:])
                elif body[1] == 81:  # print
                    self._marker(f"[QR:{self._qr_data.decode('utf-8', errors='replace')}]")
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
        elif c not in _GS_FIXED and c not in "8*":
            self.garbage_bytes += 2

    def _kick(self, m: int, on_ms: int, off_ms: int) -> None:
        pin = 5 if m in (1, 49) else 2
        self.kicks.append({"pin": pin, "on_ms": on_ms, "off_ms": off_ms})
        if self.kick_opens_drawer:
            self.set_drawer(True)
