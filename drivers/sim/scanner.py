"""Scanner simulators: a serial (or wedge) scanner and a USB HID POS scanner.

`scan(data, symbology=None)` queues the bytes a real scanner sends for one code.
`symbology` is a name ("ean13", "qr", ...) or an AIM identifier ("]E0").
"""

from __future__ import annotations

from typing import Any

from drivers.scanner.codec import hidpos_reports, symbology_aim
from drivers.sim.base import SimDevice, remember


class SerialScannerSim(SimDevice):
    """prefix + [AIM identifier] + data + suffix.

    aim: None/False sends no identifiers; True sends the identifier of each scan's symbology
    (none when a scan has no symbology); a string such as "]E0" is the identifier used for
    scans given without a symbology.
    """

    kind = "scanner"

    def __init__(self, suffix: bytes = b"\r", prefix: bytes = b"", aim: bool | str | None = None,
                 encoding: str = "utf-8"):
        super().__init__()
        self.suffix = suffix
        self.prefix = prefix
        self.aim = aim
        self.encoding = encoding
        self.scans: list[str] = []

    def frame(self, data: str, symbology: str | None = None) -> bytes:
        ident = ""
        if self.aim:
            if symbology is not None:
                ident = symbology_aim(symbology)
            elif isinstance(self.aim, str):
                ident = self.aim
        return self.prefix + (ident + data).encode(self.encoding) + self.suffix

    def scan(self, data: str, symbology: str | None = None) -> None:
        remember(self.scans, data)
        self.send(self.frame(data, symbology))

    def snapshot(self) -> dict[str, Any]:
        return {"scans": list(self.scans)}


class HidPosScannerSim(SimDevice):
    """Sends each scan as 64-byte HID POS input reports (several when longer than 56 bytes)."""

    kind = "scanner"

    def __init__(self, report_size: int = 64, encoding: str = "utf-8"):
        super().__init__()
        self.report_size = report_size
        self.encoding = encoding
        self.scans: list[str] = []

    def scan(self, data: str, symbology: str | None = None) -> None:
        remember(self.scans, data)
        aim = symbology_aim(symbology) if symbology else None
        for report in hidpos_reports(data.encode(self.encoding), aim, report_size=self.report_size):
            self.send(report)

    def snapshot(self) -> dict[str, Any]:
        return {"scans": list(self.scans)}
