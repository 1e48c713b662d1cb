"""`posctl probe`: find out what is on a serial port, with the daemon stopped.

It only listens and asks: it never sends anything that changes a device's settings or
prints (no zero/tare, no ESC @, no text). In order:

1. listen at 9600 8N1 for a streaming device: a CAS scale (continuous "ST,GS,..." lines),
   an Aclas scale in active mode (SOH STX ... ETX EOT frames), or a serial scanner (text
   lines ending in CR/LF — scan something while the probe listens). A stream ends the probe.
2. ESC/POS printer: DLE EOT 1 (real-time status; harmless to a scale) at 9600, 19200,
   38400 and 115200 8N1. A printer that answers ends the probe, so no scale query is ever
   sent to a printer (it would buffer the query letter as text).
3. Mettler Toledo 8217: "W" (weight query) at 9600 7E1.
4. Aclas passive mode: ENQ (expects ACK), then DC1 (weight query) at 9600 8N1.

Answers are decoded by the drivers' own codecs (drivers.scale, drivers.printer), imported
lazily; without them a minimal byte-pattern match is used.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from drivers.base import Transport
from drivers.config import SerialSettings

OpenSerial = Callable[[str, SerialSettings], Awaitable[Transport]]

S_8N1 = {"bytesize": 8, "parity": "N"}
S_7E1 = {"bytesize": 7, "parity": "E"}
ESCPOS_BAUDS = (9600, 19200, 38400, 115200)


@dataclass
class Finding:
    kind: str  # scale | scanner | printer
    driver: str  # the registry driver name to configure
    settings: SerialSettings
    detail: str  # what answered, in words
    answer: bytes = b""  # the raw bytes that proved it (first 64)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "driver": self.driver,
            "serial": self.settings.model_dump(),
            "detail": self.detail,
            "answer": self.answer.hex(" "),
            **self.extra,
        }

    def config_toml(self, path: str, dev_id: str | None = None) -> str:
        """A `[devices.ID]` table for gatewayd.toml that would drive what was found."""
        s = self.settings
        serial = f'{{baudrate={s.baudrate},bytesize={s.bytesize},parity="{s.parity}"}}'
        return (
            f"[devices.{dev_id or self.kind}]\n"
            f'kind = "{self.kind}"\ndriver = "{self.driver}"\n'
            f'transport = "serial:{path}"\nserial = {serial}\n'
        )


def _settings(baudrate: int, frame: dict[str, Any]) -> SerialSettings:
    return SerialSettings(baudrate=baudrate, **frame)


async def _collect(
    transport: Transport, seconds: float, done: Callable[[bytes], bool] | None = None
) -> bytes:
    """Read what arrives for `seconds` (or until `done(buffer)` says enough)."""
    buf = bytearray()
    with trio.move_on_after(seconds):
        while True:
            buf += await transport.receive(4096)
            if done is not None and done(bytes(buf)):
                break
    return bytes(buf)


# -- decoders: the drivers' codecs when present, a minimal match otherwise ----------------


def _cas_frames(data: bytes) -> int:
    try:
        from drivers.scale.cas import CasCodec
    except ImportError:
        return len(re.findall(rb"(ST|US|OL),(GS|NT),[^\r\n]{6,14}\r?\n", data))
    return len(CasCodec().feed(data))


def _aclas_frames(data: bytes) -> int:
    try:
        from drivers.scale.aclas import AclasCodec
    except ImportError:
        return len(re.findall(rb"\x01\x02[SUF][- ].{8}.\x03\x04", data, re.S))
    return len(AclasCodec().feed(data))


def _toledo_answer(data: bytes) -> str | None:
    try:
        from drivers.scale.toledo8217 import Toledo8217Codec
    except ImportError:
        m = re.search(rb"\x02([^\x02\r]{1,16})\r", bytes(b & 0x7F for b in data))
        return m.group(1).decode("ascii", "replace") if m else None
    codec = Toledo8217Codec()
    readings = codec.feed(data)
    if readings:
        return f"{readings[-1].grams} g, {'stable' if readings[-1].stable else 'moving'}"
    if codec.frames:
        return f"status 0x{codec.status.raw:02x}" if codec.status else "answered"
    return None


def _escpos_answer(data: bytes) -> str | None:
    try:
        from drivers.printer.status import StatusDecoder
    except ImportError:
        return "status byte" if any(b & 0x93 == 0x12 for b in data) else None
    decoder = StatusDecoder()
    decoder.expect([1])
    reports = decoder.feed(data)
    if not reports:
        return None
    status = reports[0].status
    as_dict = getattr(status, "as_dict", None)
    return f"status {as_dict() if as_dict else status}"


def _scanner_lines(data: bytes) -> list[bytes]:
    """Printable lines ended by CR and/or LF: what a serial scanner sends per scan."""
    return [
        line
        for line in re.split(rb"\r\n|\r|\n", data)[:-1]
        if line and all(0x20 <= b < 0x7F or b == 0x1D for b in line)
    ]


# -- the probe ------------------------------------------------------------------------


async def probe(
    path: str,
    *,
    listen: float = 1.5,
    answer_timeout: float = 0.5,
    open_serial: OpenSerial | None = None,
) -> list[Finding]:
    """Try the known protocols on `path`; return what answered (empty: nothing did).

    Raises TransportError if the port cannot be opened at all (absent, permission, or held
    by the running daemon: serial ports are opened exclusively).
    """
    if open_serial is None:
        from drivers.transports.serial import SerialTransport

        open_serial = SerialTransport.open

    async def session(settings: SerialSettings, query: bytes, wait: float, done=None) -> bytes:
        transport = await open_serial(path, settings)
        try:
            if query:
                await transport.send(query)
            return await _collect(transport, wait, done)
        finally:
            await transport.aclose()

    # 1. streams
    s = _settings(9600, S_8N1)
    data = await session(s, b"", listen)
    if data:
        if (n := _cas_frames(data)) > 0:
            return [Finding("scale", "cas", s, f"CAS continuous stream ({n} frames)", data[:64])]
        if (n := _aclas_frames(data)) > 0:
            return [Finding("scale", "aclas", s, f"Aclas active mode ({n} frames)", data[:64])]
        if lines := _scanner_lines(data):
            text = lines[0][:40].decode("ascii", "replace")
            return [Finding("scanner", "serial", s, f"text lines (scanner?): {text!r}", data[:64])]
        what = f"an unrecognised stream of {len(data)} bytes"
        return [Finding("unknown", "", s, what, data[:64])]

    # 2. ESC/POS printer: real-time status only.
    for baud in ESCPOS_BAUDS:
        s = _settings(baud, S_8N1)
        data = await session(s, b"\x10\x04\x01", answer_timeout, lambda b: len(b) >= 1)
        if data and (answer := _escpos_answer(data)):
            detail = f"ESC/POS DLE EOT 1 answered: {answer}"
            return [Finding("printer", "escpos", s, detail, data[:64])]

    # 3. Mettler Toledo 8217.
    s = _settings(9600, S_7E1)
    data = await session(s, b"W", answer_timeout, lambda b: b"\r" in b)
    if data and (answer := _toledo_answer(data)):
        return [Finding("scale", "toledo8217", s, f"Toledo 8217 answered W: {answer}",
                        data[:64])]

    # 4. Aclas passive mode: ENQ -> ACK, then DC1 -> one frame.
    s = _settings(9600, S_8N1)
    data = await session(s, b"\x05", answer_timeout, lambda b: b"\x06" in b)
    if b"\x06" in data:
        frame = await session(s, b"\x11", answer_timeout, lambda b: b.endswith(b"\x03\x04"))
        detail = "Aclas answered ENQ with ACK" + (
            " and DC1 with a weight frame" if _aclas_frames(frame) else ""
        )
        return [Finding("scale", "aclas", s, detail, (data + frame)[:64])]
    return []
