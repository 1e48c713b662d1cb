"""Barcode scanner codecs, sans-I/O: suffix framing, AIM symbology identifiers, HID POS reports.

AIM identifiers ("]" code modifier) follow ISO/IEC 15424 as summarised in the GS1 General
Specifications fig. 5.1.2-2 (E0 EAN-13/UPC-A/UPC-E, E4 EAN-8, C1 GS1-128, e0 GS1 DataBar,
d2 GS1 DataMatrix, Q3 GS1 QR, ...).

HID POS (usage page 0x8C, "HID Point of Sale Usage Tables" 1.02, Scanned Data Report) input
reports, 64 bytes as Honeywell / Zebra / Datalogic send them (layout checked against
HenkVanAsselt/python_hon_usbhid captures and NielsLeenheer/WebHidBarcodeScanner):

    [0] report id 0x02   [1] data length in this report (<= 56)
    [2..4] AIM symbology identifier, e.g. "]E0"
    [5..60] data, zero padded        [61..62] vendor bytes (Honeywell code id, reserved)
    [63] flags: bit0 set = more data follows in the next report
"""

from __future__ import annotations

from dataclasses import dataclass

# (code, modifier) -> name; (code, None) is the fallback for any modifier of that code
_AIM: dict[tuple[str, str | None], str] = {
    ("A", None): "code39",
    ("C", "1"): "gs1_128",
    ("C", None): "code128",
    ("E", "4"): "ean8",
    ("E", "1"): "ean_addon2",
    ("E", "2"): "ean_addon5",
    ("E", "3"): "ean13_addon",
    ("E", None): "ean13",
    ("F", None): "codabar",
    ("G", None): "code93",
    ("H", None): "code11",
    ("I", None): "itf",
    ("L", None): "pdf417",
    ("M", None): "msi",
    ("Q", "3"): "gs1_qr",
    ("Q", "5"): "gs1_qr",
    ("Q", None): "qr",
    ("d", "2"): "gs1_datamatrix",
    ("d", "5"): "gs1_datamatrix",
    ("d", None): "datamatrix",
    ("e", None): "gs1_databar",
    ("z", None): "aztec",
    ("X", None): "other",
}

# name -> the identifier a simulator sends for it
SYMBOLOGY_AIM: dict[str, str] = {
    "code39": "]A0",
    "code128": "]C0",
    "gs1_128": "]C1",
    "ean13": "]E0",
    "upca": "]E0",
    "upce": "]E0",
    "ean8": "]E4",
    "codabar": "]F0",
    "code93": "]G0",
    "itf": "]I0",
    "pdf417": "]L0",
    "qr": "]Q1",
    "gs1_qr": "]Q3",
    "datamatrix": "]d1",
    "gs1_datamatrix": "]d2",
    "gs1_databar": "]e0",
    "aztec": "]z0",
}


def aim_symbology(aim: str, data: str = "") -> str | None:
    """']E0' -> 'ean13' (or 'upca' / 'upce' by length of the data); None if not an AIM id."""
    if len(aim) != 3 or aim[0] != "]":
        return None
    code, modifier = aim[1], aim[2]
    name = _AIM.get((code, modifier)) or _AIM.get((code, None))
    if name == "ean13" and modifier == "0":
        # E0 covers EAN-13, UPC-A and UPC-E; the length tells which one
        name = {12: "upca", 8: "upce"}.get(len(data), "ean13")
    return name


def symbology_aim(symbology: str) -> str:
    """'ean13' or ']E0' -> ']E0'."""
    if symbology.startswith("]") and len(symbology) == 3:
        return symbology
    try:
        return SYMBOLOGY_AIM[symbology]
    except KeyError:
        raise ValueError(f"no AIM identifier known for {symbology!r}") from None


@dataclass(frozen=True)
class Scan:
    data: str
    symbology: str | None = None
    aim: str | None = None

    def as_wire(self) -> dict[str, str | None]:
        return {"data": self.data, "symbology": self.symbology}


SUFFIXES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}


def parse_suffix(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return SUFFIXES[value.upper()]
    except KeyError:
        raise ValueError(f"scanner suffix must be one of {', '.join(SUFFIXES)}") from None


class SuffixFramer:
    """Split a byte stream into frames ending in `suffix`, dropping `prefix`.

    Empty frames (a stray CR or LF) are ignored. A frame missing its prefix, or longer than
    `max_len`, is counted in `garbage_bytes` and dropped.
    """

    def __init__(self, prefix: bytes = b"", suffix: bytes = b"\r", max_len: int = 4096):
        if not suffix:
            raise ValueError("suffix must not be empty")
        self.prefix = prefix
        self.suffix = suffix
        self.max_len = max_len
        self.garbage_bytes = 0
        self._buf = bytearray()
        self._overflow = False  # the frame being received is too long and will be dropped

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        buf = self._buf
        buf += data
        while True:
            end = buf.find(self.suffix)
            if end < 0:
                keep = len(self.suffix) - 1  # could be the start of a suffix
                if self._overflow or len(buf) > self.max_len + keep:
                    drop = len(buf) - keep
                    if drop > 0:
                        self.garbage_bytes += drop
                        del buf[:drop]
                    self._overflow = True
                return out
            frame = bytes(buf[:end])
            del buf[: end + len(self.suffix)]
            if self._overflow:
                self._overflow = False
                self.garbage_bytes += len(frame)
                continue
            if len(frame) > self.max_len:
                self.garbage_bytes += len(frame)
                continue
            stripped = frame.lstrip(b"\r\n")
            if not stripped:
                continue
            if self.prefix:
                at = stripped.find(self.prefix)
                if at < 0:
                    self.garbage_bytes += len(frame)
                    continue
                self.garbage_bytes += at
                stripped = stripped[at + len(self.prefix) :]
            out.append(stripped)


class TextScanDecoder:
    """Serial / keyboard-wedge scanner: framing, then optional AIM identifier, then text."""

    def __init__(
        self,
        prefix: bytes = b"",
        suffix: bytes = b"\r",
        aim: bool = False,
        encoding: str = "utf-8",
    ):
        self.framer = SuffixFramer(prefix=prefix, suffix=suffix)
        self.aim = aim
        self.encoding = encoding

    @property
    def garbage_bytes(self) -> int:
        return self.framer.garbage_bytes

    @property
    def pending_bytes(self) -> int:
        return self.framer.pending_bytes

    def feed(self, data: bytes) -> list[Scan]:
        scans = []
        for frame in self.framer.feed(data):
            text = frame.decode(self.encoding, errors="replace")
            aim = None
            symbology = None
            if self.aim and len(text) >= 3 and text[0] == "]":
                aim, text = text[:3], text[3:]
                symbology = aim_symbology(aim, text)
            scans.append(Scan(data=text, symbology=symbology, aim=aim))
        return scans


class HidPosDecoder:
    """Reassembles HID POS scanned-data reports (see module doc) from a byte stream.

    The stream is cut into `report_size` reports; a report that does not start with
    `report_id` or claims more data than fits is noise: one byte is dropped (counted) and the
    decoder resynchronises on the next byte.
    """

    DATA_AT = 5

    def __init__(self, report_id: int = 0x02, report_size: int = 64, encoding: str = "utf-8"):
        self.report_id = report_id
        self.report_size = report_size
        self.max_data = report_size - self.DATA_AT - 3
        self.encoding = encoding
        self.garbage_bytes = 0
        self.reports = 0
        self._buf = bytearray()
        self._parts: list[bytes] = []
        self._aim: str | None = None

    @property
    def pending_bytes(self) -> int:
        return len(self._buf) + sum(len(p) for p in self._parts)

    def feed(self, data: bytes) -> list[Scan]:
        out: list[Scan] = []
        buf = self._buf
        buf += data
        while buf:
            if buf[0] != self.report_id or (len(buf) > 1 and buf[1] > self.max_data):
                self.garbage_bytes += 1
                del buf[0]
                continue
            if len(buf) < self.report_size:
                break
            report = bytes(buf[: self.report_size])
            del buf[: self.report_size]
            self.reports += 1
            self._report(report, out)
        return out

    def _report(self, report: bytes, out: list[Scan]) -> None:
        length = report[1]
        if not self._parts:
            aim = report[2:5].decode("latin-1")
            self._aim = aim if aim[0] == "]" else None
        self._parts.append(report[self.DATA_AT : self.DATA_AT + length])
        if report[-1] & 0x01:  # more data follows
            return
        text = b"".join(self._parts).decode(self.encoding, errors="replace")
        prefix, self._parts, self._aim = self._aim, [], None
        out.append(Scan(data=text, symbology=aim_symbology(prefix, text) if prefix else None,
                        aim=prefix))


def hidpos_reports(
    data: bytes, aim: str | None = None, report_id: int = 0x02, report_size: int = 64
) -> list[bytes]:
    """Encode one scan as HID POS reports (the simulator's side, also used by tests)."""
    max_data = report_size - HidPosDecoder.DATA_AT - 3
    chunks = [data[i : i + max_data] for i in range(0, len(data), max_data)] or [b""]
    ident = (aim or "").encode("latin-1")[:3].ljust(3, b"\0")
    reports = []
    for i, chunk in enumerate(chunks):
        more = i < len(chunks) - 1
        body = bytes([report_id, len(chunk)]) + ident + chunk
        body = body.ljust(report_size - 3, b"\0") + b"\0\0" + bytes([1 if more else 0])
        reports.append(body)
    return reports
