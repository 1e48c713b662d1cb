"""Cash drawers: kick through the printer, sensor polarity, open-too-long alert, serial drawer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from drivers.base import DeviceInfo, DeviceOffline
from drivers.drawer.codec import is_open, kick_command, parse_bytes_option, parse_kick
from drivers.drawer.device import PrinterKickDrawer, SerialDrawer
from drivers.printer.device import EscposPrinter
from drivers.sim.base import SimDevice
from drivers.sim.loopback import LoopbackTransport
from drivers.sim.printer import EscposPrinterSim


async def until(pred: Callable[[], bool]) -> None:
    with trio.fail_after(30):
        while not pred():
            await trio.sleep(0.01)


def test_kick_codec() -> None:
    assert kick_command() == b"\x1bp\x00\x32\x64"  # pin 2, 100 ms on, 200 ms off
    assert kick_command(5, 50, 500) == b"\x1bp\x01\x19\xfa"
    assert kick_command(2, 1000, 1000) == b"\x1bp\x00\xff\xff"  # clamped to one byte
    assert parse_kick(kick_command(5, 40, 80)) == (5, 40, 80)
    with pytest.raises(ValueError):
        kick_command(3)
    assert is_open(True) and not is_open(False)
    assert is_open(False, open_when_high=False) and not is_open(True, open_when_high=False)
    assert parse_bytes_option("1b 70 00", b"") == b"\x1bp\x00"
    assert parse_bytes_option([7], b"") == b"\x07" and parse_bytes_option(None, b"x") == b"x"


async def _printer_and_drawer(nursery, events, sim, **drawer_opts):
    transport = LoopbackTransport(sim)
    printer = EscposPrinter(DeviceInfo("printer", "printer", "escpos", "loopback"),
                            events.emit, {"width": 32})
    drawer = PrinterKickDrawer(DeviceInfo("drawer", "drawer", "printer", "printer:printer"),
                               events.emit, {"printer": "printer", **drawer_opts})
    drawer.set_peer(printer)
    nursery.start_soon(printer.run, transport)
    nursery.start_soon(drawer.run, None)
    await until(lambda: drawer.info.state == "online" and drawer.is_open is not None)
    return printer, drawer, transport


async def test_open_through_printer_and_status_events(events) -> None:
    sim = EscposPrinterSim(width=32)
    async with trio.open_nursery() as nursery:
        _printer, drawer, transport = await _printer_and_drawer(nursery, events, sim, pin=5)
        assert drawer.is_open is False
        await drawer.open()
        await until(lambda: sim.kicks)  # ESC p runs when the print engine reaches it
        assert sim.kicks == [{"pin": 5, "on_ms": 100, "off_ms": 200}]
        await until(lambda: drawer.is_open is True)  # the sim's drawer sprang open (ASB)
        sim.set_drawer(False)
        transport.flush()
        await until(lambda: drawer.is_open is False)
        nursery.cancel_scope.cancel()
    assert events.of("drawer.status") == [
        {"device": "drawer", "open": False},
        {"device": "drawer", "open": True},
        {"device": "drawer", "open": False},
    ]
    assert events.of("drawer.kicked") == [{"device": "drawer"}]


@pytest.mark.parametrize("open_when_high", [True, False])
async def test_sensor_polarity(events, open_when_high: bool) -> None:
    # The drawer's switch pulls pin 3 high when open (True) or low when open (False).
    sim = EscposPrinterSim(drawer_open_when_high=open_when_high, kick_opens_drawer=False)
    async with trio.open_nursery() as nursery:
        _, drawer, transport = await _printer_and_drawer(
            nursery, events, sim, open_when_high=open_when_high
        )
        assert drawer.is_open is False
        sim.set_drawer(True)
        transport.flush()
        await until(lambda: drawer.is_open is True)
        nursery.cancel_scope.cancel()


async def test_wrong_polarity_reads_inverted(events) -> None:
    sim = EscposPrinterSim(drawer_open_when_high=False, kick_opens_drawer=False)
    async with trio.open_nursery() as nursery:
        _, drawer, _ = await _printer_and_drawer(nursery, events, sim)  # default: high = open
        assert drawer.is_open is True  # a closed drawer reads open: the option matters
        nursery.cancel_scope.cancel()


async def test_open_too_long_alert_once_per_opening(events, autojump_clock) -> None:
    sim = EscposPrinterSim()
    async with trio.open_nursery() as nursery:
        _, drawer, transport = await _printer_and_drawer(nursery, events, sim, open_alert_s=30)
        await drawer.open()
        await until(lambda: drawer.is_open)
        await trio.sleep(29)
        assert events.of("alerts.raised") == []
        await trio.sleep(2)
        assert events.of("alerts.raised") == [
            {"kind": "drawer_open_too_long", "device": "drawer", "seconds": 30}
        ]
        await trio.sleep(300)
        assert len(events.of("alerts.raised")) == 1  # once per opening
        # Closed within the limit: no alert.
        sim.set_drawer(False)
        transport.flush()
        await until(lambda: drawer.is_open is False)
        await drawer.open()
        await until(lambda: drawer.is_open)
        await trio.sleep(10)
        sim.set_drawer(False)
        transport.flush()
        await trio.sleep(60)
        assert len(events.of("alerts.raised")) == 1
        # A new opening left open alerts again.
        await drawer.open()
        await trio.sleep(31)
        assert len(events.of("alerts.raised")) == 2
        nursery.cancel_scope.cancel()


async def test_drawer_follows_printer_state(events) -> None:
    sim = EscposPrinterSim()
    async with trio.open_nursery() as nursery:
        printer, drawer, _ = await _printer_and_drawer(nursery, events, sim)
        printer.set_state("offline", "unplugged")  # what the manager does on a link failure
        assert drawer.info.state == "offline"
        with pytest.raises(DeviceOffline):
            await drawer.open()
        nursery.cancel_scope.cancel()


async def test_printer_drawer_needs_a_peer(events) -> None:
    drawer = PrinterKickDrawer(DeviceInfo("drawer", "drawer", "printer", "x"), events.emit, {})
    with pytest.raises(ValueError):
        await drawer.run(None)
    with pytest.raises(TypeError):
        drawer.set_peer(object())
    with pytest.raises(DeviceOffline):
        await drawer.open()


async def test_peer_from_options(events) -> None:
    printer = EscposPrinter(DeviceInfo("p", "printer", "escpos", "x"), events.emit, {})
    drawer = PrinterKickDrawer(DeviceInfo("d", "drawer", "printer", "x"), events.emit,
                               {"printer_device": printer})
    assert drawer.printer is printer


class ByteDrawerSim(SimDevice):
    """A trigger box: opens on 0x07, answers 'S' with 'O' (open) or 'C' (closed)."""

    def __init__(self) -> None:
        super().__init__()
        self.open = False
        self.opened = 0

    def feed(self, data: bytes) -> None:
        for b in data:
            if b == 0x07:
                self.opened += 1
                self.open = True
            elif b == ord("S"):
                self.send(b"xO" if self.open else b"C")  # 'x': line noise


async def test_serial_drawer_with_byte_status(events, autojump_clock) -> None:
    sim = ByteDrawerSim()
    transport = LoopbackTransport(sim)
    drawer = SerialDrawer(DeviceInfo("drawer", "drawer", "serial", "loopback"), events.emit,
                          {"open_command": "07", "status": "bytes", "status_command": "53",
                           "open_response": "4f", "closed_response": "43", "poll_s": 0.5,
                           "open_alert_s": 5})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drawer.run, transport)
        await until(lambda: drawer.is_open is False)
        assert drawer.info.state == "online"
        await drawer.open()
        assert sim.opened == 1
        await until(lambda: drawer.is_open is True)
        await trio.sleep(6)
        assert events.of("alerts.raised")[0]["kind"] == "drawer_open_too_long"
        assert drawer.info.counters["garbage_bytes"] > 0
        nursery.cancel_scope.cancel()


async def test_serial_drawer_escpos_status_and_silence(events, autojump_clock) -> None:
    class Muted(EscposPrinterSim):
        muted = False

        def send(self, data: bytes) -> None:
            if not self.muted:
                super().send(data)

    sim = Muted()
    transport = LoopbackTransport(sim)
    drawer = SerialDrawer(DeviceInfo("drawer", "drawer", "serial", "loopback"), events.emit,
                          {"status": "escpos", "poll_s": 1})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drawer.run, transport)
        await until(lambda: drawer.is_open is False)
        await drawer.open()  # default command: the ESC/POS kick
        await until(lambda: sim.kicks)  # ESC p runs when the print engine reaches it
        assert sim.kicks == [{"pin": 2, "on_ms": 100, "off_ms": 200}]
        await until(lambda: drawer.is_open is True)
        sim.muted = True
        await trio.sleep(6)
        assert drawer.info.state == "error"
        nursery.cancel_scope.cancel()


async def test_serial_drawer_without_sensor(events) -> None:
    sim = ByteDrawerSim()
    drawer = SerialDrawer(DeviceInfo("drawer", "drawer", "serial", "loopback"), events.emit,
                          {"open_command": [7]})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drawer.run, LoopbackTransport(sim))
        await until(lambda: drawer.info.state == "online")
        await drawer.open()
        assert sim.opened == 1 and drawer.is_open is None
        assert events.of("drawer.status") == []
        nursery.cancel_scope.cancel()
