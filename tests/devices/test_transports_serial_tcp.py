"""SerialTransport against a real pty, TcpTransport against a trio listener, spec parsing."""

from __future__ import annotations

import os
import tty

import pytest
import trio

from drivers.base import TransportError
from drivers.config import DeviceConfig, SerialSettings
from drivers.transports import open_transport, parse_transport
from drivers.transports.serial import SerialTransport
from drivers.transports.tcp import TcpTransport


@pytest.fixture
def pty_pair(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "dev" / "scale"
    link.parent.mkdir()
    link.symlink_to(os.ttyname(slave))
    fds = {"master": master, "slave": slave}
    yield master, link, fds
    for fd in fds.values():
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


async def read_master(master: int, n: int) -> bytes:
    got = b""
    with trio.fail_after(2):
        while len(got) < n:
            await trio.lowlevel.wait_readable(master)
            got += os.read(master, 4096)
    return got


async def test_serial_open_send_receive_through_symlink(pty_pair):
    master, link, _ = pty_pair
    t = await SerialTransport.open(link, SerialSettings(baudrate=9600, bytesize=7, parity="E"))
    try:
        await t.send(b"W")
        assert await read_master(master, 1) == b"W"
        os.write(master, b"\x0201.234\r")
        got = b""
        with trio.fail_after(2):
            while not got.endswith(b"\r"):
                got += await t.receive()
        assert got == b"\x0201.234\r"
    finally:
        await t.aclose()


async def test_serial_is_exclusive(pty_pair):
    _, link, _ = pty_pair
    t = await SerialTransport.open(link)
    try:
        with pytest.raises(TransportError, match="cannot open"):
            await SerialTransport.open(link)
    finally:
        await t.aclose()
    again = await SerialTransport.open(link)  # the lock went with the close
    await again.aclose()


async def test_serial_master_closed_is_transport_error(pty_pair):
    _master, link, fds = pty_pair
    t = await SerialTransport.open(link)
    os.close(fds.pop("slave"))  # only the transport holds the slave now

    async def unplug_soon():
        await trio.sleep(0.05)
        os.close(fds.pop("master"))

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(unplug_soon)
            with (
                trio.fail_after(2),
                pytest.raises(TransportError, match=r"read failed|end of file"),
            ):
                await t.receive()
        with pytest.raises(TransportError):
            await t.send(b"x")
    finally:
        await t.aclose()


async def test_serial_missing_path_is_transport_error(tmp_path):
    with pytest.raises(TransportError, match="cannot open"):
        await SerialTransport.open(tmp_path / "nothing")


async def test_serial_closed_transport_raises_not_empty(pty_pair):
    _, link, _ = pty_pair
    t = await SerialTransport.open(link)
    await t.aclose()
    with pytest.raises(TransportError):
        await t.receive()
    await t.aclose()  # idempotent


async def test_open_transport_serial_uses_config(pty_pair):
    master, link, _ = pty_pair
    cfg = DeviceConfig(kind="scale", driver="toledo8217", transport=f"serial:{link}")
    t = await open_transport(cfg)
    try:
        assert isinstance(t, SerialTransport)
        await t.send(b"abc")
        assert await read_master(master, 3) == b"abc"
    finally:
        await t.aclose()


async def test_tcp_round_trip_and_peer_close():
    got = []
    finish = trio.Event()

    async def handler(stream):
        got.append(await stream.receive_some(100))
        await stream.send_all(b"pong")
        await finish.wait()
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, handler, 0)
        port = listeners[0].socket.getsockname()[1]
        t = await TcpTransport.open("127.0.0.1", port)
        await t.send(b"ping")
        with trio.fail_after(2):
            assert await t.receive() == b"pong"
        finish.set()
        with trio.fail_after(2), pytest.raises(TransportError, match="closed by peer"):
            await t.receive()
        await t.aclose()
        assert got == [b"ping"]
        nursery.cancel_scope.cancel()


async def test_tcp_refused_is_transport_error():
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(TransportError, match="failed"):
        await TcpTransport.open("127.0.0.1", port)


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ("serial:/dev/pos/scale", {"scheme": "serial", "path": "/dev/pos/scale"}),
        ("tcp:10.0.0.9:9100", {"host": "10.0.0.9", "port": 9100}),
        ("tcp:[fe80::1]:9100", {"host": "fe80::1", "port": 9100}),
        ("usb:04b8:0202", {"vid": 0x04B8, "pid": 0x0202, "serial": None}),
        ("usb:04B8:0E15:ABC123", {"vid": 0x04B8, "pid": 0x0E15, "serial": "ABC123"}),
        ("hid:0c2e:0b61", {"scheme": "hid", "vid": 0x0C2E, "pid": 0x0B61}),
        ("evdev:/dev/input/event3", {"scheme": "evdev", "path": "/dev/input/event3"}),
        ("peer:printer", {"scheme": "peer", "peer": "printer", "device_path": None}),
    ],
)
def test_parse_transport(spec, fields):
    parsed = parse_transport(spec)
    for key, value in fields.items():
        assert getattr(parsed, key) == value


@pytest.mark.parametrize(
    "spec",
    [
        "serial",
        "serial:",
        "serial:dev/ttyS0",
        "com1:/dev/ttyS0",
        "tcp:10.0.0.9",
        "tcp:10.0.0.9:99999",
        "tcp::9100",
        "usb:04b8",
        "usb:xyz:0202",
        "usb:104b8:0202",
        "hid:0c2e:0b61:",
        "usb:1:2:3:4",
        "peer:",
    ],
)
def test_bad_spec_names_it(spec):
    with pytest.raises(ValueError, match="bad transport") as info:
        parse_transport(spec)
    assert repr(spec) in str(info.value)
