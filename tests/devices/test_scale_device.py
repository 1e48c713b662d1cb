"""Scale drivers over LoopbackTransport against the simulators (virtual time: autojump_clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from drivers.base import DeviceBusy, DeviceInfo, DeviceOffline, TransportError
from drivers.registry import driver_class
from drivers.scale.device import AclasScale, CasScale, ScaleDevice, Toledo8217Scale
from drivers.sim.loopback import LoopbackTransport
from drivers.sim.scale import AclasSim, CasSim, ScaleSim, Toledo8217Sim

from .conftest import Events

KINDS = {
    "toledo8217": (Toledo8217Scale, Toledo8217Sim),
    "cas": (CasScale, CasSim),
    "aclas": (AclasScale, AclasSim),
}


def make(driver: str, events: Events, **options: Any) -> tuple[ScaleDevice, ScaleSim]:
    device_cls, sim_cls = KINDS[driver]
    info = DeviceInfo(id="scale", kind="scale", driver=driver, transport="loopback")
    return device_cls(info, events.emit, options), sim_cls()


async def _ticker(sim: ScaleSim, transport: LoopbackTransport) -> None:
    assert sim.tick_interval is not None
    while True:
        sim.tick()
        transport.flush()
        await trio.sleep(sim.tick_interval)


@asynccontextmanager
async def running(device: ScaleDevice, sim: ScaleSim) -> AsyncIterator[LoopbackTransport]:
    """Run the driver against the simulator, ticking it the way drivers.sim.runner would."""
    transport = LoopbackTransport(sim)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(device.run, transport)
        if sim.tick_interval is not None:
            nursery.start_soon(_ticker, sim, transport)
        await trio.testing.wait_all_tasks_blocked()  # run() has connected
        yield transport
        nursery.cancel_scope.cancel()


def test_registry_names_these_classes() -> None:
    for driver, (cls, _) in KINDS.items():
        assert driver_class("scale", driver) is cls


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_read_returns_the_stable_weight(driver: str, events: Events, autojump_clock) -> None:
    device, sim = make(driver, events)
    sim.set_weight(1234)
    async with running(device, sim):
        reading = await device.read()
        assert reading.grams == 1234 and reading.stable
        assert device.info.state == "online"
        assert device.info.status["grams"] == 1234


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_same_weight_twice_and_item_already_on_scale(
    driver: str, events: Events, autojump_clock
) -> None:
    device, sim = make(driver, events)
    sim.set_weight(750)  # lying there before the driver even starts
    async with running(device, sim):
        await device.online.wait()
        await trio.sleep(1)  # the readings have settled long before anyone asks
        before = trio.current_time()
        first = await device.read()
        second = await device.read()
        # neither read waited for a change: both answered at the same virtual instant
        assert trio.current_time() == before
        assert first.grams == second.grams == 750


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_unstable_then_stable(driver: str, events: Events, autojump_clock) -> None:
    device, sim = make(driver, events)
    sim.set_weight(800, stable=False)
    got: list[int] = []

    async def reader() -> None:
        got.append((await device.read(timeout=5)).grams)

    async with running(device, sim):
        await device.online.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1)
            assert got == []  # still wobbling: read keeps waiting
            sim.set_weight(810, stable=True)
        assert got == [810]


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_unstable_for_the_whole_timeout_is_busy(
    driver: str, events: Events, autojump_clock
) -> None:
    device, sim = make(driver, events)
    sim.set_weight(800, stable=False)
    async with running(device, sim):
        await device.online.wait()
        with pytest.raises(DeviceBusy, match="not stable"):
            await device.read(timeout=1)


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_overload(driver: str, events: Events, autojump_clock) -> None:
    device, sim = make(driver, events)
    sim.set_weight(500)
    async with running(device, sim):
        assert (await device.read()).grams == 500
        sim.set_overload()
        await trio.sleep(0.5)  # the next poll / frame reports it
        with pytest.raises(DeviceBusy, match="over capacity"):
            await device.read(timeout=1)
        assert device.info.status["over"] is True
        assert events.of("scale.reading")[-1]["over"] is True


async def test_never_answering_scale_is_offline(events: Events, autojump_clock) -> None:
    device, sim = make("toledo8217", events)
    sim.set_silent()
    async with running(device, sim):
        await trio.sleep(5)
        assert device.info.state == "offline"
        assert sim.commands.count("W") >= 10  # it was asked, again and again
        with pytest.raises(DeviceOffline):
            await device.read(timeout=1)


async def test_scale_that_stops_answering_goes_offline(events: Events, autojump_clock) -> None:
    device, sim = make("toledo8217", events)
    sim.set_weight(100)
    async with running(device, sim):
        assert (await device.read()).grams == 100
        sim.set_silent()
        await trio.sleep(1.5)  # latest reading is stale, the watchdog has not fired yet
        start = trio.current_time()
        with pytest.raises(DeviceOffline):
            await device.read(timeout=0.3)
        assert trio.current_time() - start == pytest.approx(0.3)  # waited, but no longer
        await trio.sleep(2)
        assert device.info.state == "offline" and device.info.error == "no answer"
        sim.set_silent(False)
        assert (await device.read(timeout=1)).grams == 100  # back when it answers again
        assert device.info.state == "online"


async def test_read_on_a_device_that_is_not_running(events: Events) -> None:
    device, _ = make("cas", events)
    with pytest.raises(DeviceOffline):
        await device.read()


@pytest.mark.parametrize("driver", sorted(KINDS))
async def test_reading_event_only_on_change(driver: str, events: Events, autojump_clock) -> None:
    device, sim = make(driver, events)
    sim.set_weight(1000)
    async with running(device, sim):
        await trio.sleep(3)  # 15 polls or 30 frames of the same weight
        assert device.codec.frames >= 10
        readings = events.of("scale.reading")
        assert [(r["grams"], r["stable"]) for r in readings] == [(1000, True)]
        assert readings[0]["device"] == "scale"
        sim.set_weight(1000, stable=False)
        await trio.sleep(1)
        sim.set_weight(1500)
        await trio.sleep(1)
        # Toledo reports motion as a status byte (no weight); the others keep the weight
        moving = 0 if driver == "toledo8217" else 1000
        assert [(r["grams"], r["stable"]) for r in events.of("scale.reading")] == [
            (1000, True),
            (moving, False),
            (1500, True),
        ]


@pytest.mark.parametrize("driver", ["toledo8217", "aclas"])
async def test_tare_and_zero(driver: str, events: Events, autojump_clock) -> None:
    device, sim = make(driver, events)
    sim.set_weight(300)  # the empty box
    async with running(device, sim):
        assert (await device.read()).grams == 300
        await device.tare()
        assert sim.tare_grams == 300
        r = await device.read()
        assert (r.grams, r.zero) == (0, True)
        sim.set_weight(1300)  # box + goods
        await trio.sleep(0.5)
        assert (await device.read()).grams == 1000
        sim.tare_grams = 0
        sim.set_weight(20)  # a crumb: within the zero capture range
        await trio.sleep(0.5)
        assert (await device.read()).grams == 20
        await device.zero()
        assert (await device.read()).grams == 0
        assert sim.gross == 0


async def test_toledo_clear_tare(events: Events, autojump_clock) -> None:
    device, sim = make("toledo8217", events)
    sim.set_weight(300)
    async with running(device, sim):
        await device.read()
        await device.tare()
        assert (await device.read()).net is True
        await device.clear_tare()
        r = await device.read()
        assert (r.grams, r.net) == (300, False)


@pytest.mark.parametrize(("unit", "sent"), [("kg", "T00500"), ("lb", "T01102")])
async def test_toledo_preset_tare_in_the_scales_unit(unit: str, sent: str, events: Events,
                                                     autojump_clock) -> None:
    """A 500 g box as a preset tare: 00.500 kg on a kilogram scale, 01.102 lb on a scale set
    to pounds (8217: the five digits are thousandths of the scale's unit), end to end."""
    device, _ = make("toledo8217", events, unit=unit)
    sim = Toledo8217Sim(unit=unit)
    sim.set_weight(1500)  # the box with 1 kg of goods
    async with running(device, sim):
        await device.read()
        await device.preset_tare(500)
        assert sim.commands[-1] == sent
        assert sim.tare_grams == 500
        r = await device.read()
        assert (r.grams, r.net) == (1000, True)
        with pytest.raises(ValueError, match=unit):
            await device.preset_tare(50_000 if unit == "lb" else 100_000)


async def test_toledo_pound_scale_answers_in_pounds(events: Events, autojump_clock) -> None:
    device, _ = make("toledo8217", events, unit="lb")
    sim = Toledo8217Sim(unit="lb")
    sim.set_weight(1000)
    sim.feed(b"W")
    assert sim.read_output() == b"\x0202.205\r"  # 1 kg = 2.2046 lb
    async with running(device, sim):
        assert (await device.read()).grams == 1000


async def test_cas_cannot_zero_or_tare(events: Events, autojump_clock) -> None:
    device, sim = make("cas", events)
    async with running(device, sim):
        await device.online.wait()
        with pytest.raises(DeviceBusy):
            await device.zero()
        with pytest.raises(DeviceBusy):
            await device.tare()


async def test_aclas_greets_then_polls(events: Events, autojump_clock) -> None:
    device, sim = make("aclas", events, poll_hz=10)
    async with running(device, sim):
        await trio.sleep(1)
    assert sim.commands[0] == "ENQ"
    assert 8 <= sim.commands.count("DC1") <= 12


async def test_aclas_in_active_mode_streams_without_polls(events: Events, autojump_clock) -> None:
    device, sim = make("aclas", events)
    sim.active = True
    sim.set_weight(250)
    transport = LoopbackTransport(sim)
    device.feed(b"")  # nothing yet
    sim.tick()
    transport.flush()
    device.feed(await transport.receive())
    assert device.latest is not None and device.latest.grams == 250


async def test_garbage_is_counted(events: Events, autojump_clock) -> None:
    device, sim = make("cas", events)
    async with running(device, sim) as transport:
        await device.online.wait()
        sim.send(b"\x00\xffnoise\r\n")
        transport.flush()
        await trio.sleep(0.5)
        assert device.info.counters["garbage_bytes"] == 9


async def test_unplug_raises_transport_error_not_a_group(events: Events, autojump_clock) -> None:
    device, sim = make("toledo8217", events)
    transport = LoopbackTransport(sim)

    async def unplug_later() -> None:
        await trio.sleep(1)
        transport.unplug()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(unplug_later)
        with pytest.raises(TransportError):
            await device.run(transport)
    assert device.transport is None
    with pytest.raises(DeviceOffline):
        await device.read()


async def test_read_after_tare_does_not_return_the_pre_tare_weight(
    events: Events, autojump_clock
) -> None:
    device, sim = make("toledo8217", events)
    sim.set_weight(400)
    async with running(device, sim):
        assert (await device.read()).grams == 400
        await device.tare()
        assert (await device.read()).grams == 0
