"""One device of each kind, real driver + real simulator, through PtySim/TcpSim and the real
transports, supervised by the DeviceManager with the real driver registry."""

from __future__ import annotations

import trio

from drivers.config import DeviceConfig, SerialSettings
from drivers.manager import DeviceManager
from drivers.sim.display import DisplaySim
from drivers.sim.printer import EscposPrinterSim
from drivers.sim.runner import PtySim, TcpSim
from drivers.sim.scale import Toledo8217Sim
from drivers.sim.scanner import SerialScannerSim


async def wait_for(predicate, limit: float = 3.0) -> None:
    with trio.fail_after(limit):
        while not predicate():
            await trio.sleep(0.01)


async def start_manager(nursery, events, configs):
    manager = DeviceManager(configs, events.emit)
    await nursery.start(manager.run)
    for dev_id in configs:
        with trio.fail_after(3):
            await manager.get(dev_id).online.wait()
    return manager


async def test_serial_scanner_scan_reaches_the_bus(nursery, tmp_path, events):
    sim = SerialScannerSim(suffix=b"\r")
    pty = await nursery.start(PtySim(sim, tmp_path / "scanner").run)
    await start_manager(
        nursery,
        events,
        {"scanner": DeviceConfig(kind="scanner", driver="serial", transport=pty.transport_spec)},
    )
    sim.scan("4006381333931")
    pty.poke()
    await wait_for(lambda: events.of("scanner.data"))
    scan = events.of("scanner.data")[0]
    assert scan["device"] == "scanner" and scan["data"] == "4006381333931"


async def test_toledo_scale_reads_and_survives_unplug(nursery, tmp_path, events):
    sim = Toledo8217Sim()
    pty = await nursery.start(PtySim(sim, tmp_path / "scale").run)
    manager = await start_manager(
        nursery,
        events,
        {
            "scale": DeviceConfig(
                kind="scale",
                driver="toledo8217",
                transport=pty.transport_spec,
                serial=SerialSettings(baudrate=9600, bytesize=7, parity="E"),
                options={"poll_hz": 10},
            )
        },
    )
    scale = manager.get("scale")
    sim.set_weight(1234)
    with trio.fail_after(3):
        while (reading := await scale.read()).grams != 1234:  # until the next poll sees it
            await trio.sleep(0.05)
    assert reading.stable and not reading.zero

    pty.unplug()
    with trio.fail_after(1):
        while scale.info.state != "offline":
            await trio.sleep(0.01)
    pty.plug()
    with trio.fail_after(2):
        await scale.online.wait()
    sim.set_weight(500)
    with trio.fail_after(3):
        while (await scale.read()).grams != 500:
            await trio.sleep(0.05)


async def test_printer_prints_and_drawer_kicks_through_it(nursery, tmp_path, events):
    sim = EscposPrinterSim()
    pty = await nursery.start(PtySim(sim, tmp_path / "printer").run)
    manager = await start_manager(
        nursery,
        events,
        {
            "printer": DeviceConfig(kind="printer", driver="escpos", transport=pty.transport_spec),
            "drawer": DeviceConfig(
                kind="drawer",
                driver="printer",
                transport="peer:printer",
                options={"printer": "printer"},
            ),
        },
    )
    with trio.fail_after(5):
        await manager.get("printer").print_bytes(b"HELLO TILL\n")

    def printed() -> list[str]:
        snap = sim.snapshot()
        lines = [ln for r in snap["receipts"] for ln in r["lines"]] + snap["current"]
        return [ln["text"] for ln in lines]

    await wait_for(lambda: "HELLO TILL" in printed())
    with trio.fail_after(5):
        await manager.get("drawer").open()
    await wait_for(lambda: sim.kicks)


async def test_network_printer_over_tcp(nursery, events):
    sim = EscposPrinterSim()
    tcp = await nursery.start(TcpSim(sim).run)
    manager = await start_manager(
        nursery,
        events,
        {"printer": DeviceConfig(kind="printer", driver="escpos", transport=tcp.transport_spec)},
    )
    tcp.unplug()
    with trio.fail_after(1):
        while manager.get("printer").info.state == "online":
            await trio.sleep(0.01)
    tcp.plug()
    with trio.fail_after(5):  # tcp has no device node: plain backoff (first wait 0.5 s)
        await manager.get("printer").online.wait()


async def test_display_shows_lines(nursery, tmp_path, events):
    sim = DisplaySim("cd5220")
    pty = await nursery.start(PtySim(sim, tmp_path / "display").run)
    manager = await start_manager(
        nursery,
        events,
        {"display": DeviceConfig(kind="display", driver="cd5220", transport=pty.transport_spec)},
    )
    await manager.get("display").show(["TOTAL", "12.34"])
    await wait_for(lambda: sim.lines()[0].strip() == "TOTAL" and "12.34" in sim.lines()[1])
