"""An in-memory transport wired straight to a simulator, for driver tests without a pty.

While the host waits in `receive`, the simulator's clock runs: `sim.tick()` every
`sim.tick_interval` (a printer's engine printing its buffer, a scale streaming), as the pty
and TCP runners do.
"""

from __future__ import annotations

import trio

from drivers.base import Transport, TransportError
from drivers.sim.base import SimDevice


class LoopbackTransport(Transport):
    def __init__(self, sim: SimDevice):
        self.sim = sim
        self._data = bytearray()
        self._wake = trio.Event()
        self.closed = False

    def flush(self) -> None:
        """Move whatever the simulator queued to the host side (call after a sim action)."""
        out = self.sim.read_output()
        if out:
            self._data += out
            self._wake.set()

    def unplug(self) -> None:
        self.closed = True
        self._wake.set()

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise TransportError("loopback closed")
        self.sim.feed(data)
        self.flush()
        await trio.lowlevel.checkpoint()

    async def receive(self, max_bytes: int = 4096) -> bytes:
        while not self._data:
            if self.closed:
                raise TransportError("loopback closed")
            self._wake = trio.Event()
            interval = self.sim.tick_interval
            if interval is None:
                await self._wake.wait()
                continue
            with trio.move_on_after(interval) as waited:
                await self._wake.wait()
            if waited.cancelled_caught:
                self.sim.tick()
                self.flush()
        out = bytes(self._data[:max_bytes])
        del self._data[:max_bytes]
        return out

    async def aclose(self) -> None:
        self.closed = True
        self._wake.set()
