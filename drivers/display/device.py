"""Customer display drivers (2x20 VFD pole displays): CD5220 and Epson DM-D command sets.

Options (``[devices.display.options]``, `DisplayOptions`; docs/devices.md lists them): the
idle message, the encoding ("ascii" or a GB codec for a Chinese display), the brightness.

A display never answers, so the driver is `online` as soon as its init bytes were written;
it keeps reading the transport only to notice a broken link (bytes read count as garbage).

Events: ``display.shown {device, lines}`` with the two 20-column lines as shown.
"""

from __future__ import annotations

from typing import Annotated, Any

import trio
from pydantic import Field

from drivers.base import Device, DeviceInfo, DriverOptions, Emit, Encoding, Transport
from drivers.display.codec import CD5220Codec, DisplayCodec, EpsonDisplayCodec


class DisplayOptions(DriverOptions):
    idle: str | Annotated[list[str], Field(max_length=2)] = Field(
        ["Welcome", ""], description="the idle message: a string (line 1) or "
        "up to 2 lines; shown at start and by idle()")
    encoding: Encoding = Field("ascii", description="ascii, or gb18030 for a Chinese display")
    brightness: int | None = Field(None, ge=1, le=4, description="1..4; the display's own "
                                   "setting when left out")


class _Display(Device):
    kind = "display"
    codec_class: type[DisplayCodec] = DisplayCodec
    options_model = DisplayOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        o = self.settings
        self.codec = self.codec_class(o.encoding)
        self.idle_lines: list[str] = [o.idle] if isinstance(o.idle, str) else list(o.idle)
        self.brightness = o.brightness
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
