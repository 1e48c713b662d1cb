"""Customer display drivers (2x20 VFD pole displays): CD5220 and Epson DM-D command sets.

Options (``[devices.display.options]``):
  idle        the idle message: a string (line 1) or a list of up to 2 strings,
              default ["Welcome", ""]; shown at start and by `idle()`
  encoding    "ascii" (default) or "gb18030" for a Chinese display
  brightness  1..4, optional

A display never answers, so the driver is `online` as soon as its init bytes were written;
it keeps reading the transport only to notice a broken link (bytes read count as garbage).

Events: ``display.shown {device, lines}`` with the two 20-column lines as shown.
"""

from __future__ import annotations

from typing import Any

import trio

from drivers.base import Device, DeviceInfo, Emit, Transport
from drivers.display.codec import CD5220Codec, DisplayCodec, EpsonDisplayCodec


class _Display(Device):
    kind = "display"
    codec_class: type[DisplayCodec] = DisplayCodec

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.codec = self.codec_class(self.options.get("encoding"))
        idle = self.options.get("idle", ["Welcome", ""])
        self.idle_lines: list[str] = [idle] if isinstance(idle, str) else list(idle)
        self.brightness = self.options.get("brightness")
        self.lines: list[str] = []
        self._lock = trio.Lock()

    async def run(self, transport: Transport) -> None:
        self.transport = transport
        init = self.codec.init() + self.codec.clear()
        if self.brightness is not None:
            init += self.codec.brightness(int(self.brightness))
        async with self._lock:
            await transport.send(init)
        self.set_state("online")
        await self.idle()
        while True:
            data = await transport.receive()
            self.count("garbage_bytes", len(data))

    async def show(self, lines: list[str]) -> list[str]:
        """Show two lines (padded / truncated to 20 columns, CJK counting 2); returns them."""
        transport = self.require_online()
        fitted = self.codec.fit_lines(list(lines))
        async with self._lock:
            await transport.send(self.codec.frame(fitted))
        self.lines = fitted
        self.emit("display.shown", {"device": self.info.id, "lines": list(fitted)})
        return fitted

    async def idle(self) -> list[str]:
        return await self.show(self.idle_lines)


class CD5220Display(_Display):
    codec_class = CD5220Codec


class EpsonDisplay(_Display):
    codec_class = EpsonDisplayCodec
