"""Run simulators behind a real pty or TCP socket, so the daemon's real transport reaches them.

`PtySim` makes a pty, puts the slave in raw mode and symlinks `link` -> /dev/pts/N: a
device configured as `serial:{link}` then goes through the real SerialTransport and driver.
`TcpSim` does the same over a TCP listener (network printers). Both feed what the host
writes into `sim.feed`, write whatever the sim queued, and call `sim.tick()` every
`sim.tick_interval`. After acting on the sim from outside (a scan, a weight, paper out) call
`poke()` to flush what it queued. `unplug()` closes the device end (the daemon's reads fail
at once, so it goes offline) and `plug()` brings it back (the daemon reconnects by itself).

Every method here must be called from the trio thread that runs the sim.
"""

from __future__ import annotations

import contextlib
import errno
import os
import termios
import tty
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from drivers.sim.base import SimDevice

# Output the host does not read (nobody connected, or a full pty buffer) is kept up to this
# size and then dropped oldest first, like bytes on a serial line nobody listens to.
MAX_PENDING = 64 * 1024
# What the host wrote is kept for tests and `sim.*` views: the last MAX_RECEIVED bytes.
MAX_RECEIVED = 64 * 1024

_BAUDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
}


class _SimRunner:
    def __init__(self, sim: SimDevice):
        self.sim = sim
        self._pending = bytearray()
        self._wake_writer = trio.Event()
        self._plugged_changed = trio.Event()
        self.plugged = True
        self.received = bytearray()  # the last MAX_RECEIVED bytes the host wrote
        self.received_total = 0

    def _queue(self, data: bytes) -> None:
        if not data:
            return
        self._pending += data
        if len(self._pending) > MAX_PENDING:
            del self._pending[: len(self._pending) - MAX_PENDING]
        self._wake_writer.set()

    def poke(self) -> None:
        """Flush what the simulator queued (call after any action on the sim)."""
        out = self.sim.read_output()
        if self.plugged and self._connected():
            self._queue(out)

    def _feed(self, data: bytes) -> None:
        self.received += data
        self.received_total += len(data)
        if len(self.received) > MAX_RECEIVED:
            del self.received[: len(self.received) - MAX_RECEIVED]
        self.sim.feed(data)
        self.poke()

    def _connected(self) -> bool:
        raise NotImplementedError

    def _notify_plug(self) -> None:
        self._plugged_changed.set()
        self._plugged_changed = trio.Event()

    async def _ticker(self) -> None:
        interval = self.sim.tick_interval
        if not interval:
            await trio.sleep_forever()
        while True:
            await trio.sleep(interval)
            self.sim.tick()
            self.poke()


class PtySim(_SimRunner):
    def __init__(self, sim: SimDevice, link: str | os.PathLike[str]):
        super().__init__(sim)
        self.link = Path(link)
        self.master: int | None = None
        self._slave: int | None = None
        self.slave_path: str | None = None

    @property
    def transport_spec(self) -> str:
        return f"serial:{self.link}"

    # -- pty lifecycle -----------------------------------------------------------------
    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass unchanged
        os.set_blocking(master, False)
        self.master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        # We keep our own slave fd open, so the master never reads EIO while the daemon
        # has the port closed (between reconnects).
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.slave_path)
        os.replace(tmp, self.link)  # atomic: the link is either old or new, never half made

    def _close_pty(self) -> None:
        if self.master is not None:
            with contextlib.suppress(Exception):
                trio.lowlevel.notify_closing(self.master)
            os.close(self.master)
            self.master = None
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        with contextlib.suppress(FileNotFoundError):
            if self.link.is_symlink() and os.readlink(self.link) == self.slave_path:
                self.link.unlink()
        self._pending.clear()

    def _connected(self) -> bool:
        return self.master is not None

    def line_settings(self) -> dict[str, Any] | None:
        """The line settings the host last applied to the port (baud, data bits, parity),
        read back from the pty, so a simulator can ignore a host talking at the wrong ones."""
        if self._slave is None:
            return None
        _i, _o, cflag, _l, ispeed, _os, _cc = termios.tcgetattr(self._slave)
        sizes = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}
        parity = "N" if not cflag & termios.PARENB else ("O" if cflag & termios.PARODD else "E")
        return {
            "baudrate": _BAUDS.get(ispeed, ispeed),
            "bytesize": sizes[cflag & termios.CSIZE],
            "parity": parity,
        }

    def unplug(self) -> None:
        """Pull the cable: the daemon's reads fail with EIO; the link disappears."""
        if not self.plugged:
            return
        self.plugged = False
        self._close_pty()
        self.sim.read_output()  # whatever the device had queued is lost with the cable
        self._notify_plug()

    def plug(self) -> None:
        """Plug it back: a fresh pty behind the same link."""
        if self.plugged:
            return
        self._open_pty()
        self.plugged = True
        self._notify_plug()

    # -- the loop ------------------------------------------------------------------------
    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        if self.plugged and self.master is None:
            self._open_pty()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._ticker)
                nursery.start_soon(self._writer)
                task_status.started(self)
                await self._reader()
        finally:
            self._close_pty()

    async def _reader(self) -> None:
        while True:
            fd = self.master
            if fd is None:
                await self._plugged_changed.wait()
                continue
            try:
                await trio.lowlevel.wait_readable(fd)
            except (trio.ClosedResourceError, OSError):
                continue  # unplugged while waiting
            if fd != self.master:
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                await trio.sleep(0.05)  # no slave open (cannot happen while we hold one)
                continue
            if data:
                self._feed(data)

    async def _writer(self) -> None:
        while True:
            fd = self.master
            if not self._pending or fd is None:
                if fd is None:
                    self._pending.clear()
                self._wake_writer = trio.Event()
                await self._wake_writer.wait()
                continue
            try:
                n = os.write(fd, self._pending)
            except BlockingIOError:
                with contextlib.suppress(trio.ClosedResourceError, OSError):
                    await trio.lowlevel.wait_writable(fd)
                continue
            except OSError:
                self._pending.clear()  # master closed under us (unplug)
                continue
            del self._pending[:n]
            await trio.lowlevel.checkpoint()


class TcpSim(_SimRunner):
    """One client at a time, like a network printer on port 9100; others wait in backlog."""

    def __init__(self, sim: SimDevice, host: str = "127.0.0.1", port: int = 0):
        super().__init__(sim)
        self.host = host
        self.port = port
        self._client: trio.SocketStream | None = None
        self._scope: trio.CancelScope | None = None

    @property
    def transport_spec(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    def _connected(self) -> bool:
        return self._client is not None

    def unplug(self) -> None:
        """Drop the current connection and stop listening until `plug()`."""
        if not self.plugged:
            return
        self.plugged = False
        if self._scope is not None:
            self._scope.cancel()
        self.sim.read_output()
        self._notify_plug()

    def plug(self) -> None:
        if self.plugged:
            return
        self.plugged = True
        self._notify_plug()

    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        started = False
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ticker)
            while True:
                if not self.plugged:
                    await self._plugged_changed.wait()
                    continue
                with trio.CancelScope() as scope:
                    self._scope = scope
                    listeners = await trio.open_tcp_listeners(self.port, host=self.host)
                    async with listeners[0] as listener:
                        self.port = listener.socket.getsockname()[1]
                        if not started:
                            started = True
                            task_status.started(self)
                        while True:
                            stream = await listener.accept()
                            await self._serve(stream)
                self._scope = None

    async def _serve(self, stream: trio.SocketStream) -> None:
        self._client = stream
        self._pending.clear()
        try:
            async with stream, trio.open_nursery() as nursery:
                nursery.start_soon(self._tcp_writer, stream)
                while True:
                    try:
                        data = await stream.receive_some(4096)
                    except (trio.BrokenResourceError, OSError):
                        data = b""
                    if not data:
                        nursery.cancel_scope.cancel()
                        break
                    self._feed(data)
        finally:
            self._client = None
            self._pending.clear()

    async def _tcp_writer(self, stream: trio.SocketStream) -> None:
        while True:
            if not self._pending:
                self._wake_writer = trio.Event()
                await self._wake_writer.wait()
                continue
            data = bytes(self._pending)
            self._pending.clear()
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return


async def run_sims(
    sims: Mapping[str, PtySim | TcpSim], task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """Run several simulators in one nursery; started once every pty link / port exists."""
    async with trio.open_nursery() as nursery:
        for sim in sims.values():
            await nursery.start(sim.run)
        task_status.started(sims)
