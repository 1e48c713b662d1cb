"""Barcode scanner drivers: the trio shell around drivers.scanner.codec.

Options (``[devices.scanner.options]``):
  prefix    text the scanner sends before each code (dropped), default ""
  suffix    "CR" | "LF" | "CRLF", default "CR" (serial); the wedge always ends codes in LF
  aim       true when the scanner prepends AIM identifiers ("]E0..."): they are stripped
            and reported as `symbology`
  encoding  text encoding of the data, default "utf-8"
  enabled   start enabled, default true

Event: ``scanner.data {device, data, symbology}``. While disabled, bytes are still read (so
framing stays in step) but scans are dropped: counters ``dropped_bytes`` / ``dropped_scans``.
Status: ``{enabled}``. Counters: ``scans``, ``garbage_bytes``.
"""

from __future__ import annotations

from typing import Any

from drivers.base import Device, DeviceInfo, Emit, Transport
from drivers.scanner.codec import HidPosDecoder, Scan, TextScanDecoder, parse_suffix


class ScannerDevice(Device):
    kind = "scanner"

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.encoding = str(self.options.get("encoding", "utf-8"))
        self.decoder = self.make_decoder()
        self.enabled = bool(self.options.get("enabled", True))
        self.info.status["enabled"] = self.enabled
        self._garbage_seen = 0

    def make_decoder(self) -> Any:
        raise NotImplementedError

    async def run(self, transport: Transport) -> None:
        self.transport = transport
        # a scanner says nothing until something is scanned: an open link is "online"
        self.set_state("online")
        try:
            while True:
                data = await transport.receive()
                self.feed(data)
        finally:
            self.transport = None

    def feed(self, data: bytes) -> list[Scan]:
        """Bytes from the scanner -> events. Returns the scans that were published."""
        if not self.enabled:
            self.count("dropped_bytes", len(data))
        scans = self.decoder.feed(data)
        garbage = self.decoder.garbage_bytes - self._garbage_seen
        if garbage:
            self._garbage_seen = self.decoder.garbage_bytes
            self.count("garbage_bytes", garbage)
        if not self.enabled:
            if scans:
                self.count("dropped_scans", len(scans))
            return []
        for scan in scans:
            self.count("scans")
            self.emit("scanner.data", {"device": self.info.id, **scan.as_wire()})
        return scans

    async def enable(self) -> None:
        self.enabled = True
        self.update_status(enabled=True)

    async def disable(self) -> None:
        self.enabled = False
        self.update_status(enabled=False)


def _text_option(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value or b"")


class SerialScanner(ScannerDevice):
    def make_decoder(self) -> TextScanDecoder:
        return TextScanDecoder(
            prefix=_text_option(self.options.get("prefix", "")),
            suffix=parse_suffix(self.options.get("suffix", "CR")),
            aim=bool(self.options.get("aim", False)),
            encoding=self.encoding,
        )


class WedgeScanner(ScannerDevice):
    """Keyboard wedge: the evdev transport yields decoded text, each code ending in LF."""

    def make_decoder(self) -> TextScanDecoder:
        return TextScanDecoder(
            prefix=_text_option(self.options.get("prefix", "")),
            suffix=b"\n",
            aim=bool(self.options.get("aim", False)),
            encoding=self.encoding,
        )


class HidPosScanner(ScannerDevice):
    """USB HID POS (usage page 0x8C): the symbology comes in every report, no AIM option."""

    def make_decoder(self) -> HidPosDecoder:
        return HidPosDecoder(
            report_id=int(self.options.get("report_id", 0x02)),
            report_size=int(self.options.get("report_size", 64)),
            encoding=self.encoding,
        )
