"""PtySim / TcpSim: a simulator reached through the real Serial/Tcp transports."""

from __future__ import annotations

import pytest
import trio

from drivers.base import TransportError
from drivers.sim.base import SimDevice
from drivers.sim.runner import PtySim, TcpSim, run_sims
from drivers.transports.serial import SerialTransport
from drivers.transports.tcp import TcpTransport


class UpperEcho(SimDevice):
    kind = "test"

    def __init__(self) -> None:
        super().__init__()
        self.fed = bytearray()

    def feed(self, data: bytes) -> None:
        self.fed += data
        self.send(data.upper())


class Ticker(SimDevice):
    kind = "test"
    tick_interval = 0.02

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def tick(self) -> None:
        self.n += 1
        self.send(b"T%d\n" % self.n)


async def read_until(t, end: bytes, limit: float = 2.0) -> bytes:
    got = b""
    with trio.fail_after(limit):
        while end not in got:
            got += await t.receive()
    return got


async def test_pty_sim_echo_through_serial_transport(nursery, tmp_path):
    sim = UpperEcho()
    pty = await nursery.start(PtySim(sim, tmp_path / "pos" / "echo").run)
    assert pty.link.is_symlink() and pty.transport_spec == f"serial:{pty.link}"
    t = await SerialTransport.open(pty.link)
    await t.send(b"hello\n")
    assert await read_until(t, b"\n") == b"HELLO\n"
    # an action from outside, then poke(): unsolicited output reaches the host
    sim.send(b"scan-1\r")
    pty.poke()
    assert await read_until(t, b"\r") == b"scan-1\r"
    assert bytes(pty.received) == b"hello\n"
    await t.aclose()


async def test_pty_sim_binary_bytes_pass_unchanged(nursery, tmp_path):
    sim = UpperEcho()
    pty = await nursery.start(PtySim(sim, tmp_path / "bin").run)
    t = await SerialTransport.open(pty.link)
    raw = bytes(range(0, 0x60)) + b"\r\n\x7f"  # lowercase-free so upper() keeps them
    await t.send(raw)
    got = await read_until(t, b"\x7f")
    assert got == raw
    await t.aclose()


async def test_pty_sim_ticks_stream(nursery, tmp_path):
    sim = Ticker()
    pty = await nursery.start(PtySim(sim, tmp_path / "cas").run)
    t = await SerialTransport.open(pty.link)
    got = await read_until(t, b"\n", 2.0)
    assert got.startswith(b"T")
    await t.aclose()


async def test_pty_unplug_fails_reader_and_plug_reconnects(nursery, tmp_path):
    sim = UpperEcho()
    pty = await nursery.start(PtySim(sim, tmp_path / "dev").run)
    t = await SerialTransport.open(pty.link)
    first = pty.slave_path

    async def pull():
        await trio.sleep(0.05)
        pty.unplug()

    nursery.start_soon(pull)
    with trio.fail_after(2), pytest.raises(TransportError):
        await t.receive()
    await t.aclose()
    assert not pty.link.exists() and not pty.plugged
    with pytest.raises(TransportError, match="cannot open"):
        await SerialTransport.open(pty.link)

    pty.plug()
    assert pty.link.is_symlink() and pty.plugged
    t2 = await SerialTransport.open(pty.link)
    await t2.send(b"again\n")
    assert await read_until(t2, b"\n") == b"AGAIN\n"
    assert pty.slave_path is not None and first is not None
    await t2.aclose()


async def test_pty_link_removed_when_sim_stops(tmp_path):
    async with trio.open_nursery() as nursery:
        pty = await nursery.start(PtySim(UpperEcho(), tmp_path / "gone").run)
        assert pty.link.exists()
        nursery.cancel_scope.cancel()
    assert not pty.link.exists() and not pty.link.is_symlink()


async def test_tcp_sim_echo_unplug_plug(nursery):
    sim = UpperEcho()
    tcp = await nursery.start(TcpSim(sim).run)
    assert tcp.port != 0
    t = await TcpTransport.open("127.0.0.1", tcp.port)
    await t.send(b"print\n")
    assert await read_until(t, b"\n") == b"PRINT\n"
    tcp.unplug()
    with trio.fail_after(2), pytest.raises(TransportError):
        while True:
            await t.receive()
    await t.aclose()
    with pytest.raises(TransportError):
        await TcpTransport.open("127.0.0.1", tcp.port, timeout=1)
    tcp.plug()
    with trio.fail_after(2):
        while True:
            try:
                t = await TcpTransport.open("127.0.0.1", tcp.port, timeout=1)
                break
            except TransportError:
                await trio.sleep(0.02)
    await t.send(b"x\n")
    assert await read_until(t, b"\n") == b"X\n"
    await t.aclose()


async def test_run_sims_starts_all(nursery, tmp_path):
    sims = {"a": PtySim(UpperEcho(), tmp_path / "a"), "b": TcpSim(UpperEcho())}
    await nursery.start(run_sims, sims)
    assert sims["a"].link.exists() and sims["b"].port
    t = await SerialTransport.open(sims["a"].link)
    u = await TcpTransport.open("127.0.0.1", sims["b"].port)
    await t.send(b"a\n")
    await u.send(b"b\n")
    assert await read_until(t, b"\n") == b"A\n"
    assert await read_until(u, b"\n") == b"B\n"
    await t.aclose()
    await u.aclose()
