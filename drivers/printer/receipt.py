"""A small receipt document model (pure data) and its ESC/POS rendering.

    doc = [Text("某某超市", align="center", bold=True, double_width=True),
           Columns("可口可乐 330ml", "3.50"), Rule(), QR("https://..."), Cut()]
    data = render(doc, width_cols=32)      # 58 mm paper: 32 cols, 80 mm paper: 48 cols

Command bytes follow the Epson ESC/POS Application Programming Guide / command reference
(the same layout Chinese ESC/POS printers - Xprinter, GPrinter, HPRT - document):
  ESC @            1B 40              initialize
  ESC a n          1B 61 n            justification 0 left, 1 center, 2 right (line start only)
  ESC E n          1B 45 n            emphasized (bold) on/off - ANK and Kanji characters
  GS ! n           1D 21 n            character size, bits 4-6 width-1, bits 0-2 height-1,
                                      applies to ANK and Kanji characters
  FS & / FS .      1C 26 / 1C 2E      enter / leave Kanji (Chinese) mode: in it, a byte
                                      0x81-0xFE starts a GB double-byte character
  LF               0A                 print and feed one line
  GS ( k           1D 28 6B pL pH cn fn ...  QR code (cn=49): fn=65 model, 67 module size,
                                      69 error correction, 80 store data, 81 print
  GS h / GS w / GS H   1D 68 n / 1D 77 n / 1D 48 n   barcode height, module width, HRI position
  GS k m n d1..dn  1D 6B m n ...      barcode, form 2: m=73 CODE128 (data starts "{B"),
                                      m=67 EAN13 (12 digits, the printer adds the check digit)
  GS v 0 m xL xH yL yH d...           raster bit image (1 bit per dot, MSB left)
  GS V m n         1D 56 41|42 n      feed to the cutting position and cut (65 full, 66 partial)
  ESC p m t1 t2    1B 70 m t1 t2      drawer kick (see drivers.drawer.codec)

Chinese is done with our own bytes, not python-escpos's encoder: each run of non-ASCII text is
wrapped in FS & ... FS . and encoded GB18030 (double-byte, GBK range), and all column math
counts wide characters as two columns (drivers.printer.cjk), so rows line up on both widths.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter, ValidationError

from drivers.drawer.codec import kick_command
from drivers.printer.cjk import fit, sanitize, text_width, truncate, wrap

ESC, GS, FS, LF = b"\x1b", b"\x1d", b"\x1c", b"\n"
INIT = ESC + b"@"
KANJI_ON = FS + b"&"
KANJI_OFF = FS + b"."

# Paper widths in columns of the 12x24 font: 58 mm (384 dots) 32; TM-T88 80 mm (512 dots)
# 42; 80 mm (576 dots) 48; and the 35 / 56 column modes some models offer.
WIDTHS = (32, 35, 42, 48, 56)

Align = Literal["left", "center", "right"]
_ALIGN_N = {"left": 0, "center": 1, "right": 2}


# --------------------------------------------------------------------------- document
@dataclass(frozen=True)
class Text:
    text: str
    align: Align = "left"
    bold: bool = False
    double_width: bool = False
    double_height: bool = False


@dataclass(frozen=True)
class Columns:
    """`left` flush left, `right` flush right, one row exactly the paper width.

    A left part too long for the row wraps onto further rows (or is truncated when
    `wrap=False`); the right part stays on the first row.
    """

    left: str
    right: str
    bold: bool = False
    wrap: bool = True


@dataclass(frozen=True)
class Row:
    """A table row. `widths` are relative column widths (scaled to the paper width, the last
    column takes the remainder); None: equal columns. `align`: per cell, default left for
    the first cell and right for the others. Cells are truncated, never wrapped."""

    cells: tuple[str, ...]
    widths: tuple[int, ...] | None = None
    align: tuple[Align, ...] | None = None
    bold: bool = False

    def __init__(self, cells: Sequence[str], widths: Sequence[int] | None = None,
                 align: Sequence[Align] | None = None, bold: bool = False):
        object.__setattr__(self, "cells", tuple(cells))
        object.__setattr__(self, "widths", tuple(widths) if widths is not None else None)
        object.__setattr__(self, "align", tuple(align) if align is not None else None)
        object.__setattr__(self, "bold", bold)


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class QR:
    data: str
    size: int = 6  # module size in dots, 1..16
    ec: Literal["L", "M", "Q", "H"] = "M"


@dataclass(frozen=True)
class Barcode:
    data: str
    kind: Literal["CODE128", "EAN13"] = "CODE128"
    height: int = 80  # dots
    module: int = 2  # module width in dots, 2..6
    hri: bool = True  # human-readable digits below


@dataclass(frozen=True)
class Feed:
    n: int = 1


@dataclass(frozen=True)
class Cut:
    partial: bool = True


@dataclass(frozen=True)
class Logo:
    """A 1-bit raster: `height` rows of ceil(width/8) bytes, MSB = leftmost dot, 1 = black."""

    data: bytes
    width: int
    height: int

    def __post_init__(self) -> None:
        if len(self.data) != (self.width + 7) // 8 * self.height:
            raise ValueError("Logo data length does not match width x height")

    @classmethod
    def from_image(cls, image: Any, max_width: int = 384) -> Logo:
        """From a PIL image, rasterised by python-escpos's EscposImage: it flattens an alpha
        channel onto white (a PNG logo's transparent background prints white, not black)
        and thresholds with PIL in C, not a Python loop over pixels."""
        from escpos.image import EscposImage

        img = image
        if img.width > max_width:
            img = img.resize((max_width, max(1, img.height * max_width // img.width)))
        raster = EscposImage(img)
        return cls(raster.to_raster_format(), raster.width, raster.height)


@dataclass(frozen=True)
class DrawerKick:
    pin: int = 2
    on_ms: int = 100
    off_ms: int = 200


Item = Text | Columns | Row | Rule | QR | Barcode | Feed | Cut | Logo | DrawerKick


@dataclass
class Receipt:
    items: list[Item] = field(default_factory=list)

    def add(self, *items: Item) -> Receipt:
        self.items.extend(items)
        return self


_KINDS: dict[str, type] = {
    "text": Text, "columns": Columns, "row": Row, "rule": Rule, "qr": QR, "barcode": Barcode,
    "feed": Feed, "cut": Cut, "drawer_kick": DrawerKick,
}


_STRICT = ConfigDict(strict=True)


@functools.cache
def _field_adapters(cls: type) -> dict[str, TypeAdapter[Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: TypeAdapter(hints[f.name], config=_STRICT) for f in fields(cls)}


def item_from_dict(d: Any) -> Item:
    """{"type": "text", "text": "...", "align": "center"} -> Text(...), every field checked
    against its declared type (a text that is not a string, an unknown key, a size given as
    "6" are refused here, not when the job prints). Logo is not wire-able."""
    if not isinstance(d, dict):
        raise ValueError(f"a receipt item is a map, not {type(d).__name__}")
    d = dict(d)
    kind = d.pop("type", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown receipt item type {kind!r}")
    adapters = _field_adapters(cls)
    values: dict[str, Any] = {}
    for key, value in d.items():
        adapter = adapters.get(key)
        if adapter is None:
            raise ValueError(f"{kind}: unknown field {key!r}")
        if isinstance(value, list):
            value = tuple(value)  # msgpack arrays; the models hold tuples
        try:
            values[key] = adapter.validate_python(value)
        except ValidationError as exc:
            raise ValueError(f"{kind}.{key}: {exc.errors()[0]['msg']}") from None
    try:
        return cls(**values)
    except TypeError as exc:  # a required field left out
        raise ValueError(f"{kind}: {exc}") from None

def receipt_from_dicts(items: Iterable[dict[str, Any]]) -> Receipt:
    return Receipt([item_from_dict(d) for d in items])


# --------------------------------------------------------------------------- encoding
def encode_text(text: str, encoding: str = "gb18030") -> bytes:
    """Bytes of one already-sanitized line: ASCII as is, each non-ASCII run in Kanji mode."""
    out = bytearray()
    run: list[str] = []

    def flush_run() -> None:
        if run:
            out.extend(KANJI_ON + "".join(run).encode(encoding) + KANJI_OFF)
            run.clear()

    for ch in text:
        if ord(ch) < 0x80:
            flush_run()
            out.append(ord(ch))
        else:
            run.append(ch)
    flush_run()
    return bytes(out)


class _Writer:
    """Emits ESC/POS, sending mode commands only when the mode actually changes."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.buf = bytearray(INIT)
        self.align = "left"
        self.bold = False
        self.size = 0

    def mode(self, align: str = "left", bold: bool = False, dw: bool = False,
             dh: bool = False) -> None:
        if align != self.align:
            self.buf += ESC + b"a" + bytes([_ALIGN_N[align]])
            self.align = align
        if bold != self.bold:
            self.buf += ESC + b"E" + bytes([int(bold)])
            self.bold = bold
        size = (0x10 if dw else 0) | (0x01 if dh else 0)
        if size != self.size:
            self.buf += GS + b"!" + bytes([size])
            self.size = size

    def line(self, text: str) -> None:
        self.buf += encode_text(text, self.encoding) + LF

    def raw(self, data: bytes) -> None:
        self.buf += data


def _scale_widths(widths: Sequence[int], total: int) -> list[int]:
    s = sum(widths)
    if s <= 0:
        raise ValueError("Row widths must be positive")
    cols = [max(1, w * total // s) for w in widths[:-1]]
    cols.append(max(1, total - sum(cols)))
    return cols


def columns_lines(left: str, right: str, width: int, wrap_left: bool = True) -> list[str]:
    """The rows a Columns item prints; each is exactly `width` columns wide."""
    right = truncate(right, max(0, width - 2))
    rw = text_width(right)
    lw = width - rw - (1 if rw else 0)
    parts = wrap(left, lw) if wrap_left else [left]
    lines = [fit(parts[0], lw) + (" " if rw else "") + right]
    lines += [fit(p, width) for p in parts[1:]]
    return lines


def row_line(row: Row, width: int) -> str:
    n = len(row.cells)
    if n == 0:
        return " " * width
    widths = _scale_widths(row.widths or [1] * n, width)
    if len(widths) != n:
        raise ValueError("Row: len(widths) != len(cells)")
    right: tuple[Align, ...] = ("right",)
    aligns = row.align or ("left", *right * (n - 1))
    return "".join(fit(c, w, a) for c, w, a in zip(row.cells, widths, aligns, strict=True))


# Byte-mode capacity of a version 40 QR code per error correction level (ISO/IEC 18004
# table 7): what GS ( k can store and print at most; more and the printer prints nothing.
QR_BYTE_CAPACITY = {"L": 2953, "M": 2331, "Q": 1663, "H": 1273}


def _qr(w: _Writer, qr: QR) -> None:
    data = qr.data.encode("utf-8")
    capacity = QR_BYTE_CAPACITY[qr.ec]
    if len(data) > capacity:
        raise ValueError(f"QR data is {len(data)} bytes; error level {qr.ec} holds at most "
                         f"{capacity} (a lower level holds more)")
    size = min(16, max(1, qr.size))
    ec = {"L": 48, "M": 49, "Q": 50, "H": 51}[qr.ec]
    n = len(data) + 3
    w.mode(align="center")
    w.raw(GS + b"(k" + bytes([4, 0, 49, 65, 50, 0]))  # model 2
    w.raw(GS + b"(k" + bytes([3, 0, 49, 67, size]))
    w.raw(GS + b"(k" + bytes([3, 0, 49, 69, ec]))
    w.raw(GS + b"(k" + bytes([n & 0xFF, n >> 8, 49, 80, 48]) + data)
    w.raw(GS + b"(k" + bytes([3, 0, 49, 81, 48]))
    w.raw(LF)


def ean13_check_digit(digits12: str) -> str:
    s = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str((10 - s % 10) % 10)


def _barcode(w: _Writer, bc: Barcode) -> None:
    if bc.kind == "EAN13":
        d = bc.data
        if not d.isascii() or not d.isdigit() or len(d) not in (12, 13):
            raise ValueError(f"EAN13 needs 12 or 13 digits, got {d!r}")
        if len(d) == 13 and ean13_check_digit(d[:12]) != d[12]:
            raise ValueError(f"EAN13 check digit wrong in {d!r}")
        m, payload = 67, d[:12].encode()
    elif bc.kind == "CODE128":
        if not all(0x20 <= ord(c) < 0x7F for c in bc.data):
            raise ValueError("CODE128 code set B takes printable ASCII only")
        # '{' introduces a code-set/function escape in ESC/POS CODE128 data: double it.
        m, payload = 73, b"{B" + bc.data.replace("{", "{{").encode()
    else:
        raise ValueError(f"unknown barcode kind {bc.kind!r}")
    if len(payload) > 255:
        raise ValueError("barcode data too long")
    w.mode(align="center")
    w.raw(GS + b"h" + bytes([min(255, max(1, bc.height))]))
    w.raw(GS + b"w" + bytes([min(6, max(2, bc.module))]))
    w.raw(GS + b"H" + bytes([2 if bc.hri else 0]))
    w.raw(GS + b"k" + bytes([m, len(payload)]) + payload)
    w.raw(LF)


def render(doc: Receipt | Iterable[Item], width_cols: int = 32, encoding: str = "gb18030") -> bytes:
    """ESC/POS bytes for `doc` on paper `width_cols` columns wide (32 = 58 mm, 48 = 80 mm)."""
    if width_cols < 8:
        raise ValueError("width_cols too small")
    items = doc.items if isinstance(doc, Receipt) else list(doc)
    w = _Writer(encoding)
    for item in items:
        if isinstance(item, Text):
            w.mode(item.align, item.bold, item.double_width, item.double_height)
            cols = width_cols // 2 if item.double_width else width_cols
            for part in item.text.split("\n"):
                for line in wrap(sanitize(part, encoding), cols):
                    w.line(line)
        elif isinstance(item, Columns):
            w.mode(bold=item.bold)
            left, right = sanitize(item.left, encoding), sanitize(item.right, encoding)
            for line in columns_lines(left, right, width_cols, item.wrap):
                w.line(line)
        elif isinstance(item, Row):
            w.mode(bold=item.bold)
            cells = tuple(sanitize(c, encoding) for c in item.cells)
            w.line(row_line(Row(cells, item.widths, item.align), width_cols))
        elif isinstance(item, Rule):
            w.mode()
            ch = sanitize(item.char or "-", encoding)[:1] or "-"
            w.line(fit(ch * width_cols, width_cols))
        elif isinstance(item, QR):
            _qr(w, item)
        elif isinstance(item, Barcode):
            _barcode(w, item)
        elif isinstance(item, Feed):
            w.mode()
            w.raw(LF * max(0, min(255, item.n)))
        elif isinstance(item, Cut):
            w.mode()
            w.raw(GS + b"V" + bytes([66 if item.partial else 65, 0]))
        elif isinstance(item, Logo):
            w.mode(align="center")
            xb = (item.width + 7) // 8
            w.raw(GS + b"v0\x00" + bytes([xb & 0xFF, xb >> 8, item.height & 0xFF,
                                          item.height >> 8]) + item.data)
            w.raw(LF)
        elif isinstance(item, DrawerKick):
            w.raw(kick_command(item.pin, item.on_ms, item.off_ms))
        else:
            raise TypeError(f"not a receipt item: {item!r}")
    w.mode()
    return bytes(w.buf)
