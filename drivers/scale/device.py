"""Scale drivers: the trio shell around the sans-I/O codecs in this package.

Options (``[devices.scale.options]``, the models below; docs/devices.md lists them): poll_hz,
fresh_s, silence_s; Toledo `unit`; Aclas `mode` (passive: ENQ/DC1 polls, 15-byte frames;
active: the scale streams 16-byte frames with Flag2 after "<PB>").

Events: ``scale.reading {device, grams, stable, zero, over, under, tare_grams, net}`` only when
the reading differs from the previous one; ``devices.status`` with status
``{stable, zero, over, under, grams}`` (UnifiedPOS meanings) when any of them changes.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import trio
from pydantic import Field

from drivers.base import (
    Device,
    DeviceBusy,
    DeviceInfo,
    DeviceOffline,
    DriverOptions,
    Emit,
    Transport,
    run_until_transport_error,
)
from drivers.scale.aclas import AclasCodec
from drivers.scale.cas import CasCodec
from drivers.scale.reading import Reading
from drivers.scale.toledo8217 import Toledo8217Codec


class ScaleOptions(DriverOptions):
    poll_hz: float = Field(5.0, gt=0, description="polls a second (Toledo 8217, Aclas passive)")
    fresh_s: float | None = Field(
        None, gt=0, description="how old the latest reading may be and still count as now; "
        "default max(1, 3/poll_hz)")
    silence_s: float | None = Field(
        None, gt=0, description="no valid frame for this long: offline \"no answer\"; "
        "default max(2, 10/poll_hz)")


class Toledo8217Options(ScaleOptions):
    unit: Literal["kg", "lb"] = Field("kg", description="the unit the scale is set to")


class AclasOptions(ScaleOptions):
    mode: Literal["passive", "active"] = Field(
        "passive", description="passive: polled with ENQ/DC1, 15-byte frames; active: the "
        "scale streams 16-byte frames with Flag2 (tare mode, out of range)")


class ScaleDevice(Device):
    kind = "scale"
    polled = False
    options_model: type[ScaleOptions] = ScaleOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.codec = self.make_codec()
        o = self.settings
        self.poll_hz = o.poll_hz
        self.fresh_s = o.fresh_s if o.fresh_s is not None else max(1.0, 3 / self.poll_hz)
        self.silence_s = o.silence_s if o.silence_s is not None else max(2.0, 10 / self.poll_hz)
        self.latest: Reading | None = None
        self._latest_at = -math.inf
        self._last_answer = -math.inf
        self._new_reading = trio.Event()
        self._send_lock = trio.Lock()
        self._garbage_seen = 0
        self._frames_seen = 0

    def make_codec(self) -> Any:
        raise NotImplementedError

    # -- manager side --------------------------------------------------------------------
    async def run(self, transport: Transport) -> None:
        self.transport = transport
        self._last_answer = trio.current_time()  # grace period before "no answer"
        tasks: list[Callable[[], Awaitable[None]]] = [self._reader, self._watchdog]
        if self.polled:
            tasks.append(self._poller)
        try:
            await self.on_open()
            await run_until_transport_error(*tasks)
        finally:
            self.transport = None
            self._latest_at = -math.inf

    async def on_open(self) -> None:
        """Protocol greeting after the transport opens (Aclas: ENQ)."""

    async def _reader(self) -> None:
        assert self.transport is not None
        while True:
            data = await self.transport.receive()
            self.feed(data)

    async def _poller(self) -> None:
        while True:
            await self._send(self.codec.request_weight())
            await trio.sleep(1 / self.poll_hz)

    async def _watchdog(self) -> None:
        while True:
            await trio.sleep(self.silence_s / 4)
            silent = trio.current_time() - self._last_answer > self.silence_s
            if silent and self.info.state == "online":
                self.set_state("offline", "no answer")

    async def _send(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            raise DeviceOffline(f"{self.info.id} is not connected")
        async with self._send_lock:
            await transport.send(data)

    # -- decoding --------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Bytes from the scale: decode, count garbage, publish changes."""
        readings = self.codec.feed(data)
        garbage = self.codec.garbage_bytes - self._garbage_seen
        if garbage:
            self._garbage_seen = self.codec.garbage_bytes
            self.count("garbage_bytes", garbage)
        if self.codec.frames != self._frames_seen:
            self._frames_seen = self.codec.frames
            self._last_answer = trio.current_time()
            if self.info.state != "online":
                self.set_state("online")
        for reading in readings:
            self._accept(reading)

    def _accept(self, reading: Reading) -> None:
        previous = self.latest
        self.latest = reading
        self._latest_at = trio.current_time()
        if reading != previous:
            self.emit("scale.reading", {"device": self.info.id, **reading.as_wire()})
            self.update_status(
                stable=reading.stable,
                zero=reading.zero,
                over=reading.over,
                under=reading.under,
                grams=reading.grams,
            )
        event, self._new_reading = self._new_reading, trio.Event()
        event.set()

    def _fresh(self) -> bool:
        return trio.current_time() - self._latest_at <= self.fresh_s

    # -- commands ------------------------------------------------------------------------
    async def read(self, timeout: float = 3.0) -> Reading:
        """The current stable weight.

        Returns at once when the latest reading is fresh and stable (an item already on the
        scale, or the same weight read twice); otherwise waits up to `timeout` for one.
        Raises DeviceOffline at once when the driver is not connected, and after `timeout` when
        the scale does not answer (a connected scale still getting its first answer is waited
        for); DeviceBusy when it answers but the weight stays unstable, over capacity or
        under zero.
        """
        if self.transport is None:
            raise DeviceOffline(f"{self.info.id} is {self.info.state}")
        deadline = trio.current_time() + timeout
        while True:
            reading = self.latest
            online = self.info.state == "online"
            if online and reading is not None and reading.valid and self._fresh():
                return reading
            if trio.current_time() >= deadline:
                break
            waiting = self._new_reading
            with trio.move_on_at(deadline):
                await waiting.wait()
        reading = self.latest
        if self.info.state != "online" or reading is None or not self._fresh():
            raise DeviceOffline(f"{self.info.id}: no answer within {timeout}s")
        if reading.over:
            raise DeviceBusy(f"{self.info.id}: over capacity")
        if reading.under:
            raise DeviceBusy(f"{self.info.id}: under zero")
        raise DeviceBusy(f"{self.info.id}: weight not stable")

    async def zero(self) -> None:
        await self._command("zero")

    async def tare(self) -> None:
        await self._command("tare")

    async def _command(self, name: str, *args: Any) -> None:
        build = getattr(self.codec, name, None)
        if build is None:
            raise DeviceBusy(f"{self.info.id}: the {self.info.driver} protocol cannot {name}")
        self.require_online()
        await self._send(build(*args))
        # whatever we read before the command no longer describes the platter
        self._latest_at = -math.inf


class Toledo8217Scale(ScaleDevice):
    polled = True
    options_model = Toledo8217Options

    def make_codec(self) -> Toledo8217Codec:
        return Toledo8217Codec(unit=self.settings.unit)

    async def clear_tare(self) -> None:
        await self._command("clear_tare")

    async def preset_tare(self, grams: int) -> None:
        """Tare a known container weight, given in grams and sent in the unit the scale is
        set to (option `unit`: a pound scale reads the five digits as 0.001 lb). ValueError
        over 99.999 of that unit."""
        await self._command("preset_tare", grams)


class CasScale(ScaleDevice):
    """Continuous stream: nothing to send, and no zero/tare from the host (DeviceBusy)."""

    polled = False

    def make_codec(self) -> CasCodec:
        return CasCodec()


class AclasScale(ScaleDevice):
    options_model = AclasOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.polled = self.settings.mode == "passive"

    def make_codec(self) -> AclasCodec:
        return AclasCodec(active=self.settings.mode == "active")

    async def on_open(self) -> None:
        if self.polled:
            await self._send(self.codec.handshake())
        else:
            await self._send(self.codec.active_mode())
