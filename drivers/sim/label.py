"""TSPL label printer simulator: the device end of the label protocol, sans-I/O.

Written from the TSPL/TSPL2 programming manual (TSC; the Gprinter and Xprinter label printer
manuals describe the same commands), not from drivers/label: it parses what a host sends and
answers as a printer does, so a driver that gets a command or a status bit wrong fails here.

What it models:
- Commands, one a line (CR LF or LF): SIZE, GAP, DIRECTION, CLS, TEXT, BARCODE, QRCODE,
  PRINT m[,n] are executed; SPEED, DENSITY, REFERENCE, OFFSET, SET ..., CODEPAGE and other
  set-up commands are accepted and ignored; anything else counts in `unknown_commands`.
  TEXT in the font "TSS24.BF2" (simplified Chinese) is GB text (decoded as GB18030); the
  bitmap fonts "1".."8" are ASCII. A quoted `\\["]` is a double quote.
- `<ESC>!?` (1B 21 3F) is answered at once with the status byte, wherever it comes and
  whatever the printer is doing, even in error: bit0 head opened, bit1 paper jam, bit2 out
  of paper, bit3 out of ribbon, bit4 pause, bit5 printing, bit6 cover opened.
- The print engine prints `labels_per_s` labels a second (run by `tick()`; None prints at
  once). PRINT m,n queues m x n labels of the image buffer as it is then. Commands after a
  PRINT wait in the receive buffer until the engine has taken the batch (a CLS must not wipe
  the labels still to print), and the receive buffer holds `buffer_size` bytes: what does not
  fit is lost (`overflow_bytes`), as on a serial line without handshake while the printer
  is stopped. `<ESC>!?` is read from the line before the buffer, so it is always answered.
- Paper out (`set_paper(False)`, or `run_out_after(n)` labels) or the head opened stops the
  engine; the label under the head when the paper ends is lost (`lost_labels`). With
  `resume_after_recovery` (the default, as a TSC does once the error is cleared) the rest of
  the batch prints when the paper is back and the head closed; otherwise it is dropped
  (`dropped_labels`).
- What was printed: a ring of the last `history` labels (`labels`), each with its size and
  its elements in reading order; `label_count` counts them all.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from drivers.sim.base import HISTORY, SimDevice, remember

ESC_STATUS = b"\x1b!?"
# Status bits of <ESC>!? (TSPL/TSPL2 manual).
BIT_HEAD, BIT_JAM, BIT_PAPER, BIT_RIBBON, BIT_PAUSE, BIT_PRINTING, BIT_COVER = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40)
IGNORED = {"SPEED", "DENSITY", "REFERENCE", "OFFSET", "SHIFT", "SET", "CODEPAGE", "COUNTRY",
           "HOME", "LIMITFEED", "SELFTEST", "SOUND", "CUT", "FEED", "BACKFEED", "FORMFEED"}
_ARG = re.compile(r'\s*("(?:[^"\\]|\\\["\])*"|[^,]*)\s*(?:,|$)')


def ean13_check(d12: str) -> str:
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d12))
    return str((10 - s % 10) % 10)


def split_args(text: str) -> list[str]:
    """The comma-separated parameters of a command; quoted strings keep their commas."""
    args, pos = [], 0
    while pos < len(text):
        m = _ARG.match(text, pos)
        if m is None or m.end() == pos:
            break
        args.append(m.group(1))
        pos = m.end()
    return args


def unquote(arg: str) -> str:
    if len(arg) >= 2 and arg[0] == arg[-1] == '"':
        return arg[1:-1].replace('\\["]', '"')
    return arg


class TsplLabelPrinterSim(SimDevice):
    kind = "label"
    tick_interval = 0.05

    def __init__(self, *, labels_per_s: float | None = 4.0, buffer_size: int = 16 * 1024,
                 history: int = HISTORY, resume_after_recovery: bool = True):
        super().__init__()
        self.labels_per_s = labels_per_s
        self.buffer_size = buffer_size
        self.history = history
        self.resume_after_recovery = resume_after_recovery
        self.paper = True
        self.head_open = False
        self.paused = False
        self.labels: list[dict[str, Any]] = []
        self.label_count = 0
        self.lost_labels = 0
        self.dropped_labels = 0
        self.overflow_bytes = 0
        self.unknown_commands = 0
        self.status_requests = 0
        self._line = bytearray()  # the line being received, realtime bytes taken out
        self._esc = bytearray()  # a possible <ESC>!? split across feeds
        self._rx: deque[bytes] = deque()  # complete lines waiting behind a batch
        self._rx_bytes = 0
        self._batch: deque[dict[str, Any]] = deque()  # labels the engine still has to print
        self._credit = 0.0
        self._left: int | None = None  # labels left on the roll
        self.size_mm: tuple[str, str] = ("", "")
        self.gap_mm = ""
        self.direction = 0
        self.image: list[dict[str, Any]] = []

    # -- sensors (the test / demo side) ---------------------------------------------------
    def set_paper(self, present: bool) -> None:
        self.paper = present
        if present:
            self._left = None
        self._recovered()

    def set_head(self, open: bool) -> None:
        self.head_open = open
        self._recovered()

    def run_out_after(self, labels: int) -> None:
        self._left = labels

    @property
    def can_print(self) -> bool:
        return self.paper and not self.head_open and not self.paused

    def status_byte(self) -> int:
        b = 0
        if self.head_open:
            b |= BIT_HEAD
        if not self.paper:
            b |= BIT_PAPER
        if self.paused:
            b |= BIT_PAUSE
        if self._batch and self.can_print:
            b |= BIT_PRINTING
        return b

    # -- SimDevice ------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        for byte in data:
            self._esc.append(byte)
            if ESC_STATUS.startswith(bytes(self._esc)):
                if bytes(self._esc) == ESC_STATUS:
                    self._esc.clear()
                    self.status_requests += 1
                    self.send(bytes([self.status_byte()]))
                continue
            pending, self._esc = bytes(self._esc), bytearray()
            for b in pending:
                self._take(b)
        if self.labels_per_s is None:
            self.print_buffered()

    def tick(self) -> None:
        if self.labels_per_s is None:
            return
        per_tick = self.labels_per_s * self.tick_interval
        self._credit = min(self._credit + per_tick, max(per_tick, 1.0))
        while self._batch and self.can_print and self._credit >= 1.0:
            self._credit -= 1.0
            self._print_one()
        self._run_waiting()

    def print_buffered(self) -> None:
        while self._batch and self.can_print:
            self._print_one()
        self._run_waiting()

    def snapshot(self) -> dict[str, Any]:
        return {"paper": self.paper, "head_open": self.head_open, "labels": list(self.labels),
                "label_count": self.label_count, "queued": len(self._batch),
                "lost_labels": self.lost_labels, "dropped_labels": self.dropped_labels,
                "overflow_bytes": self.overflow_bytes,
                "unknown_commands": self.unknown_commands, "buffered_bytes": self._rx_bytes}

    # -- receiving ------------------------------------------------------------------------
    def _take(self, b: int) -> None:
        if self._rx_bytes + len(self._line) >= self.buffer_size and self._busy():
            self.overflow_bytes += 1  # the receive buffer is full: the byte is lost
            return
        if b == 0x0A:
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            if line.strip():
                self._queue_line(line)
        else:
            self._line.append(b)

    def _busy(self) -> bool:
        return bool(self._batch)

    def _queue_line(self, line: bytes) -> None:
        if self._batch or self._rx:
            self._rx.append(line)
            self._rx_bytes += len(line) + 2
            return
        self._execute(line)

    def _run_waiting(self) -> None:
        while self._rx and not self._batch:
            line = self._rx.popleft()
            self._rx_bytes -= len(line) + 2
            self._execute(line)

    def _execute(self, raw: bytes) -> None:
        try:
            line = raw.decode("gb18030")
        except UnicodeDecodeError:
            self.unknown_commands += 1
            return
        name, _, rest = line.strip().partition(" ")
        name = name.upper()
        args = split_args(rest)
        try:
            if name == "SIZE":
                self.size_mm = (args[0].strip(), args[1].strip())
            elif name == "GAP":
                self.gap_mm = args[0].strip()
            elif name == "DIRECTION":
                self.direction = int(args[0])
            elif name == "CLS":
                self.image = []
            elif name == "TEXT":
                self._text(args)
            elif name == "BARCODE":
                self._barcode(args)
            elif name == "QRCODE":
                self.image.append({"x": int(args[0]), "y": int(args[1]), "kind": "qr",
                                   "ecc": args[2], "data": unquote(args[-1])})
            elif name == "PRINT":
                sets = int(args[0])
                copies = int(args[1]) if len(args) > 1 else 1
                for _ in range(sets * copies):
                    self._batch.append(self._render())
            elif name not in IGNORED:
                self.unknown_commands += 1
        except (IndexError, ValueError):
            self.unknown_commands += 1

    def _text(self, args: list[str]) -> None:
        font = unquote(args[2])
        self.image.append({"x": int(args[0]), "y": int(args[1]), "kind": "text", "font": font,
                           "mul": int(args[4]), "text": unquote(args[6])})

    def _barcode(self, args: list[str]) -> None:
        kind = unquote(args[2])
        data = unquote(args[8])
        if kind == "EAN13" and len(data) == 12 and data.isdigit():
            data += ean13_check(data)
        self.image.append({"x": int(args[0]), "y": int(args[1]), "kind": "barcode",
                           "type": kind, "height": int(args[3]),
                           "readable": args[4].strip() != "0", "data": data})

    def _render(self) -> dict[str, Any]:
        elements = sorted(self.image, key=lambda e: (e["y"], e["x"]))
        return {"size": f"{self.size_mm[0]} x {self.size_mm[1]}", "gap": self.gap_mm,
                "direction": self.direction, "elements": [dict(e) for e in elements],
                "lines": [self._line_of(e) for e in elements]}

    @staticmethod
    def _line_of(el: dict[str, Any]) -> str:
        if el["kind"] == "text":
            return el["text"]
        if el["kind"] == "barcode":
            return f"[BARCODE {el['type']}:{el['data']}]"
        return f"[QR:{el['data']}]"

    # -- the engine -----------------------------------------------------------------------
    def _print_one(self) -> None:
        label = self._batch.popleft()
        if self._left is not None:
            if self._left <= 0:
                self.lost_labels += 1  # the roll ended under this label
                self.set_paper(False)
                return
            self._left -= 1
        remember(self.labels, label, self.history)
        self.label_count += 1

    def _recovered(self) -> None:
        if self.can_print or self.resume_after_recovery or not self._batch:
            return
        self.dropped_labels += len(self._batch)
        self._batch.clear()
