"""TSPL label printer codec (sans-I/O): a label as TSPL commands, and the status byte.

TSPL/TSPL2 is the command language of TSC label printers and of the common Chinese ones
that copy it (Gprinter GP-1324D/2120T, Xprinter XP-365B/DT425B, HPRT). A job is plain text,
one command a line (CR LF), measured in dots (203 dpi: 8 dots a millimetre):

    SIZE 40 mm,30 mm          the label (width, height)
    GAP 2 mm,0 mm             the gap between labels (and its offset)
    DIRECTION 1,0             print direction, mirror
    CLS                       clear the image buffer
    TEXT x,y,"font",rotation,x-mul,y-mul,"content"
                              font "TSS24.BF2": the built-in 24x24 simplified Chinese font,
                              content in GB (sent as GB18030); "0".."8": the bitmap fonts
    BARCODE x,y,"type",height,readable,rotation,narrow,wide,"code"
                              type "EAN13" (12 digits: the printer adds the check digit),
                              "128" (CODE128, code set switched automatically)
    QRCODE x,y,ecc,cell,mode,rotation,"data"     ecc L|M|Q|H, mode A (auto)
    PRINT m,n                 print m label sets, n copies of each

In a quoted string a double quote is written `\\["]`; a line break cannot be written at all,
so control characters are sent as spaces.

Status (`<ESC>!?`, 1B 21 3F): answered at once, even while the printer is in error, with
one byte whose bits say (TSPL/TSPL2 programming manual, "Status polling commands"):

    bit 0 head opened      bit 4 pause
    bit 1 paper jam        bit 5 printing
    bit 2 out of paper     bit 6 cover opened (option)
    bit 3 out of ribbon    bit 7 environment temperature over range (option) / other error

0 is ready. The byte says nothing about which request it answers: the decoder counts the
requests it sent (`request()`) and takes one byte per request; a byte nobody asked for is
garbage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

STATUS_REQUEST = b"\x1b!?"
DOTS_PER_MM = 8  # 203 dpi
CHINESE_FONT = "TSS24.BF2"

HEAD_OPEN, PAPER_JAM, PAPER_OUT, RIBBON_OUT = 0x01, 0x02, 0x04, 0x08
PAUSED, PRINTING, COVER_OPEN, OTHER_ERROR = 0x10, 0x20, 0x40, 0x80

BarcodeType = Literal["EAN13", "128"]
Ecc = Literal["L", "M", "Q", "H"]


# -- the label ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    x: int
    y: int
    text: str
    font: str = CHINESE_FONT
    mul: int = 1  # x and y multiplication (1..10)


@dataclass(frozen=True)
class Barcode:
    x: int
    y: int
    data: str
    type: BarcodeType = "128"
    height: int = 48
    readable: bool = True
    narrow: int = 2


@dataclass(frozen=True)
class QrCode:
    x: int
    y: int
    data: str
    ecc: Ecc = "M"
    cell: int = 4


Element = Text | Barcode | QrCode


@dataclass(frozen=True)
class Label:
    """One label design; `copies` of it are printed."""

    width_mm: int
    height_mm: int
    elements: tuple[Element, ...]
    gap_mm: int = 2
    direction: int = 1
    copies: int = 1


def _quoted(text: str) -> str:
    clean = "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in text)
    return '"' + clean.replace('"', '\\["]') + '"'


def _check(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low}..{high}, got {value}")
    return value


def element_command(el: Element) -> str:
    if isinstance(el, Text):
        _check(el.mul, 1, 10, "text multiplication")
        return f"TEXT {el.x},{el.y},{_quoted(el.font)},0,{el.mul},{el.mul},{_quoted(el.text)}"
    if isinstance(el, Barcode):
        data = el.data
        if el.type == "EAN13":
            if not (data.isascii() and data.isdigit() and len(data) in (12, 13)):
                raise ValueError(f"EAN-13 needs 12 or 13 digits, got {data!r}")
            data = data[:12]  # the printer computes the check digit itself
        elif not data.isascii() or not data.isprintable():
            raise ValueError(f"CODE128 takes printable ASCII, got {data!r}")
        return (f"BARCODE {el.x},{el.y},{_quoted(el.type)},{el.height},"
                f"{1 if el.readable else 0},0,{el.narrow},{el.narrow},{_quoted(data)}")
    _check(el.cell, 1, 10, "QR cell width")
    return f"QRCODE {el.x},{el.y},{el.ecc},{el.cell},A,0,{_quoted(el.data)}"


def encode_label(label: Label, encoding: str = "gb18030") -> bytes:
    """The TSPL job for `label`: set-up, the image, PRINT 1,copies."""
    _check(label.copies, 1, 999, "copies")
    lines = [f"SIZE {label.width_mm} mm,{label.height_mm} mm",
             f"GAP {label.gap_mm} mm,0 mm",
             f"DIRECTION {_check(label.direction, 0, 1, 'direction')},0",
             "CLS",
             *(element_command(el) for el in label.elements),
             f"PRINT 1,{label.copies}"]
    return "".join(line + "\r\n" for line in lines).encode(encoding)


# -- status ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelStatus:
    head_open: bool = False
    paper_jam: bool = False
    paper_out: bool = False
    ribbon_out: bool = False
    paused: bool = False
    printing: bool = False
    cover_open: bool = False
    other_error: bool = False

    @classmethod
    def from_byte(cls, b: int) -> LabelStatus:
        return cls(bool(b & HEAD_OPEN), bool(b & PAPER_JAM), bool(b & PAPER_OUT),
                   bool(b & RIBBON_OUT), bool(b & PAUSED), bool(b & PRINTING),
                   bool(b & COVER_OPEN), bool(b & OTHER_ERROR))

    @property
    def not_ready_reason(self) -> str | None:
        """Why no label can be printed now (None: ready, printing or not)."""
        for reason, flag in (("head_open", self.head_open), ("cover_open", self.cover_open),
                             ("paper_empty", self.paper_out), ("paper_jam", self.paper_jam),
                             ("ribbon_out", self.ribbon_out), ("paused", self.paused),
                             ("error", self.other_error)):
            if flag:
                return reason
        return None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "paper": "empty" if self.paper_out else "ok"}


@dataclass
class StatusDecoder:
    """Status bytes from the printer, one per `<ESC>!?` sent (`request()`)."""

    outstanding: int = 0
    garbage_bytes: int = 0
    last: LabelStatus | None = None

    def request(self) -> bytes:
        self.outstanding += 1
        return STATUS_REQUEST

    def drop_pending(self) -> None:
        """Requests nobody answered must not pair with the answers to the next ones."""
        self.outstanding = 0

    @property
    def pending_bytes(self) -> int:
        return 0  # every answer is one whole byte

    def feed(self, data: bytes) -> list[LabelStatus]:
        out = []
        for b in data:
            if self.outstanding <= 0:
                self.garbage_bytes += 1
                continue
            self.outstanding -= 1
            self.last = LabelStatus.from_byte(b)
            out.append(self.last)
        return out
