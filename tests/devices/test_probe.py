"""The probe against simulators behind a real pty: what answers is found, nothing else is sent."""

from __future__ import annotations

import trio

from drivers.probe import probe
from drivers.sim.base import SimDevice
from drivers.sim.runner import PtySim

FAST = {"listen": 0.3, "answer_timeout": 0.25}
# What the probe may ever send: DLE EOT 1, W, ENQ, DC1. Never Z, T, C, ESC @, text.
ALLOWED = set(b"\x10\x04\x01W\x05\x11")


class LineAware(SimDevice):
    """Answers only when the host talks at the device's baud rate. (Only the baud rate: the
    pty driver of some kernels does not keep CS7/PARENB, so 7E1 cannot be read back.)"""

    baudrate = 0

    def __init__(self) -> None:
        super().__init__()
        self.pty: PtySim | None = None

    def line_ok(self) -> bool:
        assert self.pty is not None
        line = self.pty.line_settings()
        return line is not None and line["baudrate"] == self.baudrate


class WScale(LineAware):
    """A Mettler Toledo 8217 at 9600 7E1 that answers W with 1.234 kg."""

    baudrate = 9600

    def feed(self, data: bytes) -> None:
        if self.line_ok() and b"W" in data:
            self.send(b"\x02" + b"01.234" + b"\r")


class StatusPrinter(LineAware):
    """An ESC/POS printer at 38400 8N1: DLE EOT 1 -> 0x16 (online, drawer pin high)."""

    baudrate = 38400

    def feed(self, data: bytes) -> None:
        if self.line_ok() and b"\x10\x04\x01" in data:
            self.send(b"\x16")


class CasStream(SimDevice):
    tick_interval = 0.05

    def tick(self) -> None:
        self.send(b"ST,GS,+  1.234kg\r\n")


class Silent(SimDevice):
    pass


async def start(nursery, tmp_path, sim):
    pty = await nursery.start(PtySim(sim, tmp_path / "port").run)
    if isinstance(sim, LineAware):
        sim.pty = pty
    return pty


async def test_finds_toledo_w_at_7e1(nursery, tmp_path):
    pty = await start(nursery, tmp_path, WScale())
    with trio.fail_after(10):
        findings = await probe(str(pty.link), **FAST)
    assert [(f.kind, f.driver) for f in findings] == [("scale", "toledo8217")]
    f = findings[0]
    assert (f.settings.baudrate, f.settings.bytesize, f.settings.parity) == (9600, 7, "E")
    assert "1234 g" in f.detail
    assert f.answer == b"\x0201.234\r"
    assert set(pty.received) <= ALLOWED
    toml = f.config_toml(str(pty.link))
    assert 'driver = "toledo8217"' in toml and 'parity="E"' in toml


async def test_finds_escpos_printer_and_stops_before_scale_queries(nursery, tmp_path):
    pty = await start(nursery, tmp_path, StatusPrinter())
    with trio.fail_after(10):
        findings = await probe(str(pty.link), **FAST)
    assert [(f.kind, f.driver, f.settings.baudrate) for f in findings] == [
        ("printer", "escpos", 38400)
    ]
    assert b"W" not in pty.received  # a printer would print it
    assert bytes(pty.received) == b"\x10\x04\x01" * 3  # 9600, 19200, 38400


async def test_finds_cas_stream_without_sending(nursery, tmp_path):
    pty = await start(nursery, tmp_path, CasStream())
    with trio.fail_after(10):
        findings = await probe(str(pty.link), **FAST)
    assert [(f.kind, f.driver) for f in findings] == [("scale", "cas")]
    assert pty.received == b""


async def test_silent_port_finds_nothing_and_sends_only_queries(nursery, tmp_path):
    pty = await start(nursery, tmp_path, Silent())
    with trio.fail_after(10):
        assert await probe(str(pty.link), **FAST) == []
    assert bytes(pty.received) == b"\x10\x04\x01" * 4 + b"W" + b"\x05"
    assert set(pty.received) <= ALLOWED


async def test_missing_port_raises(tmp_path):
    import pytest

    from drivers.base import TransportError

    with pytest.raises(TransportError, match="cannot open"):
        await probe(str(tmp_path / "none"), **FAST)
