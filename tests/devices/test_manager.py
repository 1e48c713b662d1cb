"""DeviceManager: supervision, offline/online through a real pty, isolation, backoff."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio

from drivers.base import Device, TransportError
from drivers.config import DeviceConfig
from drivers.manager import DeviceManager
from drivers.sim.base import SimDevice
from drivers.sim.runner import PtySim


class UpperEcho(SimDevice):
    def feed(self, data: bytes) -> None:
        self.send(data.upper())


class EchoDevice(Device):
    """Online once the far end echoes the greeting in upper case; then emits what it reads."""

    kind = "scanner"

    async def run(self, transport):
        self.transport = transport
        await transport.send(b"hello\n")
        buf = b""
        while b"\n" not in buf:
            buf += await transport.receive()
        if buf.startswith(b"HELLO"):
            self.set_state("online")
        while True:
            self.emit("test.data", {"data": (await transport.receive()).decode()})


class BuggyDevice(Device):
    kind = "scanner"

    async def run(self, transport):
        raise RuntimeError("boom")


class GroupFailDevice(Device):
    """Reader and writer tasks in a nursery: a broken link arrives as an ExceptionGroup."""

    kind = "scanner"

    async def run(self, transport):
        self.set_state("online")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(transport.receive)
            await trio.sleep_forever()


class ReturnsDevice(Device):
    kind = "scanner"

    async def run(self, transport):
        return None


class PeerDevice(Device):
    kind = "drawer"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.peer = None
        self.ran_with: list = []

    def set_peer(self, peer):
        self.peer = peer

    async def run(self, transport):
        self.ran_with.append(transport)
        self.set_state("online")
        await trio.sleep_forever()


CLASSES: dict[str, type[Device]] = {
    "echo": EchoDevice,
    "buggy": BuggyDevice,
    "group": GroupFailDevice,
    "returns": ReturnsDevice,
    "peer": PeerDevice,
}


def classes(kind: str, driver: str) -> type[Device]:
    return CLASSES[driver]


def cfg(transport: str, driver: str = "echo", kind: str = "scanner", **kw: Any) -> DeviceConfig:
    return DeviceConfig(kind=kind, driver=driver, transport=transport, **kw)


async def wait_state(device: Device, state: str, limit: float) -> None:
    with trio.fail_after(limit):
        while device.info.state != state:
            await trio.sleep(0.01)


async def test_online_unplug_offline_plug_online_through_pty(nursery, tmp_path, events):
    pty = await nursery.start(PtySim(UpperEcho(), tmp_path / "pos" / "scanner").run)
    manager = DeviceManager({"scanner": cfg(pty.transport_spec)}, events.emit, classes=classes)
    await nursery.start(manager.run)
    dev = manager.get("scanner")
    with trio.fail_after(2):
        await dev.online.wait()

    pty.unplug()
    await wait_state(dev, "offline", 1.0)  # functional bound from the spec: offline within 1 s
    assert str(pty.link) in dev.info.error  # the reason names the port
    assert dev.transport is None

    await trio.sleep(0.6)  # stays unplugged a while: the manager keeps polling the path
    assert dev.info.state == "offline"
    pty.plug()
    with trio.fail_after(2):  # functional bound: online within 2 s of a plug
        await dev.online.wait()

    states = [e["state"] for e in events.of("devices.status") if e["id"] == "scanner"]
    assert states == ["online", "offline", "online"]
    assert dev.info.counters["disconnects"] == 1
    assert manager.list()[0]["state"] == "online"


async def test_device_plugged_after_start_comes_online(nursery, tmp_path, events):
    link = tmp_path / "late"
    manager = DeviceManager({"late": cfg(f"serial:{link}")}, events.emit, classes=classes)
    await nursery.start(manager.run)
    dev = manager.get("late")
    with trio.fail_after(1):
        while dev.info.error is None:  # starts offline; the failed open adds the reason
            await trio.sleep(0.01)
    assert dev.info.state == "offline" and "cannot open" in dev.info.error
    await trio.sleep(0.5)
    await nursery.start(PtySim(UpperEcho(), link).run)
    with trio.fail_after(2):
        await dev.online.wait()


async def test_driver_exception_does_not_kill_others(nursery, tmp_path, events, caplog):
    pty = await nursery.start(PtySim(UpperEcho(), tmp_path / "good").run)
    pty2 = await nursery.start(PtySim(UpperEcho(), tmp_path / "bad").run)
    manager = DeviceManager(
        {"good": cfg(pty.transport_spec), "bad": cfg(pty2.transport_spec, driver="buggy")},
        events.emit,
        classes=classes,
    )
    await nursery.start(manager.run)
    bad, good = manager.get("bad"), manager.get("good")
    await wait_state(bad, "error", 2.0)
    assert bad.info.error == "RuntimeError: boom"
    with trio.fail_after(2):
        await good.online.wait()
    assert any("bad driver failed" in r.getMessage() for r in caplog.records)
    # The buggy one keeps being retried (with backoff) and the good one keeps working.
    pty.sim.send(b"data\n")
    pty.poke()
    with trio.fail_after(2):
        while not events.of("test.data"):
            await trio.sleep(0.01)
    assert bad.info.state == "error"


async def test_exception_group_of_link_errors_is_offline_not_error(nursery, tmp_path, events):
    pty = await nursery.start(PtySim(UpperEcho(), tmp_path / "grp").run)
    manager = DeviceManager(
        {"g": cfg(pty.transport_spec, driver="group")}, events.emit, classes=classes
    )
    await nursery.start(manager.run)
    dev = manager.get("g")
    with trio.fail_after(2):
        await dev.online.wait()
    pty.unplug()
    await wait_state(dev, "offline", 1.0)


async def test_backoff_doubles_and_caps(autojump_clock, events):
    attempts: list[float] = []

    async def refuse(config):
        attempts.append(trio.current_time())
        raise TransportError("connection refused")

    manager = DeviceManager(
        {"printer": cfg("tcp:10.0.0.9:9100")}, events.emit, open_transport=refuse, classes=classes
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(attempts)]
    assert gaps[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert all(g == 10.0 for g in gaps[5:])
    assert manager.backoff_history("printer")[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    dev = manager.get("printer")
    assert (dev.info.state, dev.info.error) == ("offline", "connection refused")
    # one status event for the first failure; identical repeats are not re-emitted
    assert len(events.of("devices.status")) == 1


async def test_backoff_resets_after_being_online(autojump_clock, events):
    attempts: list[float] = []

    class FlakyTransport:
        async def send(self, data):
            pass

        async def receive(self, max_bytes=4096):
            await trio.sleep(3)
            raise TransportError("link dropped")

        async def aclose(self):
            pass

    class OnlineThenDrop(Device):
        async def run(self, transport):
            self.set_state("online")
            await transport.receive()

    async def opener(config):
        attempts.append(trio.current_time())
        if len(attempts) <= 3:
            raise TransportError("not yet")
        return FlakyTransport()

    manager = DeviceManager(
        {"d": cfg("tcp:h:1")},
        events.emit,
        open_transport=opener,
        classes=lambda k, d: OnlineThenDrop,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.sleep(20)
        nursery.cancel_scope.cancel()
    # 3 failures: waits 0.5, 1, 2; then online for 3 s, drop, wait is back to 0.5
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(attempts)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 3.5]


async def test_absent_path_polled_quickly_not_backed_off(autojump_clock, tmp_path, events):
    node = tmp_path / "ttyUSB9"
    attempts: list[float] = []

    async def opener(config):
        attempts.append(trio.current_time())
        if not node.exists():
            raise TransportError("cannot open: ENOENT")
        raise TransportError("permission denied")

    manager = DeviceManager(
        {"s": cfg(f"serial:{node}")}, events.emit, open_transport=opener, classes=classes
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.sleep(30)  # absent all this time: one attempt, then cheap stat polling
        assert len(attempts) == 1
        node.write_text("")
        t_plug = trio.current_time()
        await trio.sleep(0.3)
        assert len(attempts) == 2 and attempts[1] - t_plug <= 0.25 + 1e-6
        await trio.sleep(1.0)  # present but failing: ordinary backoff from 0.5 s
        assert len(attempts) == 3 and round(attempts[2] - attempts[1], 6) == 0.5
        nursery.cancel_scope.cancel()


async def test_restart_reopens_now(autojump_clock, events):
    attempts: list[float] = []

    async def refuse(config):
        attempts.append(trio.current_time())
        raise TransportError("refused")

    manager = DeviceManager(
        {"p": cfg("tcp:h:9100")}, events.emit, open_transport=refuse, classes=classes
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.sleep(20)  # backoff has grown to 10 s
        n = len(attempts)
        await manager.restart("p")
        await trio.sleep(0.01)
        assert len(attempts) == n + 1 and attempts[-1] - trio.current_time() > -0.02
        await trio.sleep(0.6)  # and the backoff starts again from 0.5 s
        assert len(attempts) == n + 2
        nursery.cancel_scope.cancel()


async def test_driver_that_returns_is_retried_with_backoff(autojump_clock, events, nursery):
    opened: list[float] = []

    class Null:
        async def aclose(self):
            pass

    async def opener(config):
        opened.append(trio.current_time())
        return Null()

    manager = DeviceManager(
        {"r": cfg("tcp:h:1", driver="returns")},
        events.emit,
        open_transport=opener,
        classes=classes,
    )
    await nursery.start(manager.run)
    await trio.sleep(2)
    assert len(opened) == 3  # t=0, 0.5, 1.5
    assert manager.get("r").info.error == "driver stopped"


def test_lookups_disabled_and_peers(events):
    manager = DeviceManager(
        {
            "printer": cfg("tcp:10.0.0.9:9100", kind="printer"),
            "drawer": cfg(
                "tcp:10.0.0.9:9100", driver="peer", kind="drawer", options={"printer": "printer"}
            ),
            "old": cfg("serial:/dev/ttyS0", enabled=False),
        },
        events.emit,
        classes=classes,
    )
    assert manager.get("drawer").peer is manager.get("printer")
    with pytest.raises(KeyError):
        manager.get("old")
    assert [d.info.id for d in manager.of_kind("drawer")] == ["drawer"]
    assert manager.of_kind("scale") == []
    wire = manager.list()
    assert [d["id"] for d in wire] == ["printer", "drawer"]
    assert wire[0] == {
        "id": "printer",
        "kind": "printer",
        "driver": "echo",
        "transport": "tcp:10.0.0.9:9100",
        "state": "offline",
        "status": {},
        "error": None,
        "counters": {},
    }


def test_bad_peer_and_bad_transport_fail_at_build(events):
    with pytest.raises(ValueError, match=r"options\.printer='nope'"):
        DeviceManager(
            {"drawer": cfg("tcp:h:1", driver="peer", kind="drawer", options={"printer": "nope"})},
            events.emit,
            classes=classes,
        )
    with pytest.raises(ValueError, match="bad transport 'serial:ttyS0'"):
        DeviceManager({"x": cfg("serial:ttyS0")}, events.emit, classes=classes)


def test_real_registry_is_the_default(events):
    manager = DeviceManager(
        {"scale": cfg("serial:/dev/pos/scale", kind="scale", driver="toledo8217")}, events.emit
    )
    assert type(manager.get("scale")).__name__ == "Toledo8217Scale"
    with pytest.raises(ValueError, match="unknown scale driver"):
        DeviceManager({"s": cfg("serial:/dev/x", kind="scale", driver="nope")}, events.emit)


async def test_peer_device_opens_no_transport(nursery, events):
    opened: list[str] = []

    class Null:
        async def receive(self, max_bytes=4096):
            await trio.sleep_forever()

        async def send(self, data):
            pass

        async def aclose(self):
            pass

    async def opener(config):
        opened.append(config.transport)
        return Null()

    class Printer(Device):
        async def run(self, transport):
            self.set_state("online")
            await transport.receive()

    CLASSES["printer-test"] = Printer
    manager = DeviceManager(
        {
            "printer": cfg("serial:/dev/pos/printer", driver="printer-test", kind="printer"),
            "drawer": cfg("peer:printer", driver="peer", kind="drawer"),
            "drawer2": cfg(
                "serial:/dev/pos/printer",
                driver="peer",
                kind="drawer",
                options={"printer": "printer"},
            ),
        },
        events.emit,
        open_transport=opener,
        classes=classes,
    )
    await nursery.start(manager.run)
    for dev_id in ("printer", "drawer", "drawer2"):
        with trio.fail_after(2):
            await manager.get(dev_id).online.wait()
    assert opened == ["serial:/dev/pos/printer"]  # only the printer's own port
    for dev_id in ("drawer", "drawer2"):
        assert manager.get(dev_id).peer is manager.get("printer")
        assert manager.get(dev_id).ran_with == [None]


def test_peer_transport_needs_a_peer_capable_driver(events):
    with pytest.raises(ValueError, match="cannot work through a peer"):
        DeviceManager(
            {"p": cfg("tcp:h:1", kind="printer"), "d": cfg("peer:p", kind="drawer")},
            events.emit,
            classes=classes,
        )
