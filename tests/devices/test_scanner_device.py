"""Scanner drivers over LoopbackTransport against the simulators."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from drivers.base import DeviceInfo, TransportError
from drivers.registry import driver_class
from drivers.scanner.device import HidPosScanner, ScannerDevice, SerialScanner, WedgeScanner
from drivers.sim.base import SimDevice
from drivers.sim.loopback import LoopbackTransport
from drivers.sim.scanner import HidPosScannerSim, SerialScannerSim

from .conftest import Events


def make(cls: type[ScannerDevice], events: Events, **options: Any) -> ScannerDevice:
    info = DeviceInfo(id="scanner", kind="scanner", driver="x", transport="loopback")
    return cls(info, events.emit, options)


class Rig:
    def __init__(self, device: ScannerDevice, sim: SimDevice, transport: LoopbackTransport):
        self.device, self.sim, self.transport = device, sim, transport

    async def scan(self, data: str, symbology: str | None = None) -> None:
        self.sim.scan(data, symbology)  # type: ignore[attr-defined]
        self.transport.flush()
        await trio.testing.wait_all_tasks_blocked()


async def _run(nursery: trio.Nursery, device: ScannerDevice, sim: SimDevice) -> Rig:
    transport = LoopbackTransport(sim)
    nursery.start_soon(device.run, transport)
    await trio.testing.wait_all_tasks_blocked()
    return Rig(device, sim, transport)


def test_registry_names_these_classes() -> None:
    assert driver_class("scanner", "serial") is SerialScanner
    assert driver_class("scanner", "hidpos") is HidPosScanner
    assert driver_class("scanner", "wedge") is WedgeScanner


@pytest.mark.parametrize(
    ("suffix_option", "suffix"), [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n")]
)
async def test_serial_scans_become_events(
    suffix_option: str, suffix: bytes, events: Events
) -> None:
    device = make(SerialScanner, events, suffix=suffix_option)
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, SerialScannerSim(suffix=suffix))
        assert device.info.state == "online"
        await rig.scan("6901234567892")
        await rig.scan("ABC-123")
        nursery.cancel_scope.cancel()
    assert events.of("scanner.data") == [
        {"device": "scanner", "data": "6901234567892", "symbology": None},
        {"device": "scanner", "data": "ABC-123", "symbology": None},
    ]
    assert device.info.counters["scans"] == 2


async def test_aim_identifiers_are_stripped_and_named(events: Events) -> None:
    device = make(SerialScanner, events, suffix="CR", aim=True)
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, SerialScannerSim(aim=True))
        await rig.scan("6901234567892", "ean13")
        await rig.scan("96385074", "ean8")
        await rig.scan("0109501234567890", "gs1_128")
        await rig.scan("https://example.com", "qr")
        nursery.cancel_scope.cancel()
    assert [(e["data"], e["symbology"]) for e in events.of("scanner.data")] == [
        ("6901234567892", "ean13"),
        ("96385074", "ean8"),
        ("0109501234567890", "gs1_128"),
        ("https://example.com", "qr"),
    ]


async def test_prefix_is_dropped(events: Events) -> None:
    device = make(SerialScanner, events, prefix="\x02", suffix="CRLF")
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, SerialScannerSim(prefix=b"\x02", suffix=b"\r\n"))
        await rig.scan("4006381333931")
        nursery.cancel_scope.cancel()
    assert [e["data"] for e in events.of("scanner.data")] == ["4006381333931"]


async def test_disabled_scanner_drops_and_counts(events: Events) -> None:
    device = make(SerialScanner, events)
    sim = SerialScannerSim()
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, sim)
        await device.disable()
        assert device.info.status["enabled"] is False
        assert events.of("devices.status")[-1]["status"]["enabled"] is False
        await rig.scan("1111")
        await rig.scan("2222")
        assert events.of("scanner.data") == []
        assert device.info.counters["dropped_scans"] == 2
        assert device.info.counters["dropped_bytes"] == len(b"1111\r2222\r")
        await device.enable()
        await rig.scan("3333")
        nursery.cancel_scope.cancel()
    assert [e["data"] for e in events.of("scanner.data")] == ["3333"]
    assert device.info.status["enabled"] is True


async def test_wedge_scanner(events: Events) -> None:
    device = make(WedgeScanner, events)
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, SerialScannerSim(suffix=b"\n"))
        await rig.scan("6901234567892")
        nursery.cancel_scope.cancel()
    assert [e["data"] for e in events.of("scanner.data")] == ["6901234567892"]


async def test_hidpos_scanner_reassembles_long_codes(events: Events) -> None:
    device = make(HidPosScanner, events)
    long_code = "https://example.com/" + "x" * 150
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, HidPosScannerSim())
        await rig.scan("6901234567892", "ean13")
        await rig.scan(long_code, "qr")
        nursery.cancel_scope.cancel()
    assert [(e["data"], e["symbology"]) for e in events.of("scanner.data")] == [
        ("6901234567892", "ean13"),
        (long_code, "qr"),
    ]


async def test_garbage_is_counted(events: Events) -> None:
    device = make(SerialScanner, events, prefix="\x02")
    sim = SerialScannerSim(prefix=b"\x02")
    async with trio.open_nursery() as nursery:
        rig = await _run(nursery, device, sim)
        sim.send(b"junk\r")
        await rig.scan("123")
        nursery.cancel_scope.cancel()
    assert device.info.counters["garbage_bytes"] == 4
    assert [e["data"] for e in events.of("scanner.data")] == ["123"]


async def test_unplug_raises_transport_error(events: Events) -> None:
    device = make(SerialScanner, events)
    transport = LoopbackTransport(SerialScannerSim())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _unplug_soon(transport))
        with pytest.raises(TransportError):
            await device.run(transport)
    assert device.transport is None


async def _unplug_soon(transport: LoopbackTransport) -> None:
    await trio.testing.wait_all_tasks_blocked()
    transport.unplug()
