"""Barcode scanner drivers: the trio shell around drivers.scanner.codec.

Options (``[devices.scanner.options]``): the models below (docs/devices.md lists them);
the wedge's `layout`, `grab` and `alt_codepage` are read by its evdev transport.

Event: ``scanner.data {device, data, symbology}``. While disabled, bytes are still read (so
framing stays in step) but scans are dropped: counters ``dropped_bytes`` / ``dropped_scans``.
Status: ``{enabled}``. Counters: ``scans``, ``garbage_bytes``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from drivers.base import Device, DeviceInfo, DriverOptions, Emit, Encoding, Transport
from drivers.scanner.codec import HidPosDecoder, Scan, TextScanDecoder, parse_suffix


class ScannerOptions(DriverOptions):
    encoding: Encoding = Field("utf-8", description="text encoding of the data")
    enabled: bool = Field(True, description="start enabled")


class TextScannerOptions(ScannerOptions):
    prefix: str = Field("", description="text the scanner sends before each code (dropped)")
    aim: bool = Field(False, description="the scanner prepends AIM identifiers (\"]E0...\"): "
                      "they are stripped and reported as `symbology`")


class SerialScannerOptions(TextScannerOptions):
    suffix: Literal["CR", "LF", "CRLF"] = Field("CR", description="what ends each code")


class WedgeOptions(TextScannerOptions):
    layout: str = Field("us", description="keyboard layout the scanner types in (us, de, ...)")
    grab: bool = Field(True, description="take the keyboard device for the daemon alone")
    alt_codepage: Encoding = Field(
        "cp437", description="code page of Alt+nnn keypad codes (the OEM one: cp437, or gbk "
        "for Chinese scanners, which type GBK values in decimal); Alt+0nnn is cp1252")


class HidPosOptions(ScannerOptions):
    report_id: int = Field(0x02, ge=0, le=255, description="input report id of scanned data")
    report_size: int = Field(64, ge=8, le=1024, description="bytes per input report")


class ScannerDevice(Device):
    kind = "scanner"
    options_model: type[ScannerOptions] = ScannerOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.encoding = self.settings.encoding
        self.decoder = self.make_decoder()
        self.enabled = self.settings.enabled
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
    options_model = SerialScannerOptions

    def make_decoder(self) -> TextScanDecoder:
        return TextScanDecoder(
            prefix=_text_option(self.settings.prefix),
            suffix=parse_suffix(self.settings.suffix),
            aim=self.settings.aim,
            encoding=self.encoding,
        )


class WedgeScanner(ScannerDevice):
    """Keyboard wedge: the evdev transport yields decoded text, each code ending in LF."""

    options_model = WedgeOptions

    def make_decoder(self) -> TextScanDecoder:
        return TextScanDecoder(
            prefix=_text_option(self.settings.prefix),
            suffix=b"\n",
            aim=self.settings.aim,
            encoding=self.encoding,
        )


class HidPosScanner(ScannerDevice):
    """USB HID POS (usage page 0x8C): the symbology comes in every report, no AIM option."""

    options_model = HidPosOptions

    def make_decoder(self) -> HidPosDecoder:
        return HidPosDecoder(
            report_id=self.settings.report_id,
            report_size=self.settings.report_size,
            encoding=self.encoding,
        )
