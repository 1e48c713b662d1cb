"""Finding a device of the till by kind: the named one, or the first of that kind, and the
typed view of it the caller uses (a scale reads, a drawer opens, ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from drivers.base import Device, DeviceInfo
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from drivers.scale.reading import Reading
    from gatewayd.ports import Devices


# What the daemon calls on each kind of device: the ports the drivers of that kind implement
# (and the tests' fakes, as far as they are used).
class Scale(Protocol):
    info: DeviceInfo
    latest: Reading | None

    async def read(self, timeout: float = ...) -> Reading: ...

    async def zero(self) -> None: ...

    async def tare(self) -> None: ...


class Drawer(Protocol):
    info: DeviceInfo

    @property
    def is_open(self) -> bool | None: ...

    async def open(self) -> None: ...


class Display(Protocol):
    info: DeviceInfo

    async def show(self, lines: list[str]) -> list[str]: ...


class Printer(Protocol):
    info: DeviceInfo

    def add_status_listener(self, callback: Callable[[], None]) -> None: ...

    def require_ready(self) -> None: ...


def pick(devices: Devices, kind: str, device_id: str | None) -> Device:
    """The named device, or the first one of that kind."""
    if device_id is not None:
        try:
            dev = devices.get(device_id)
        except KeyError:
            raise ProtocolError("not_found", f"no device {device_id!r}") from None
        if dev.info.kind != kind:
            raise ProtocolError("invalid_params", f"{device_id} is a {dev.info.kind}, not a {kind}")
        return dev
    found = devices.of_kind(kind)
    if not found:
        raise ProtocolError("not_found", f"no {kind} is configured")
    return found[0]


def as_scale(dev: Device) -> Scale:
    return cast("Scale", _of_kind(dev, "scale"))


def as_drawer(dev: Device) -> Drawer:
    return cast("Drawer", _of_kind(dev, "drawer"))


def as_display(dev: Device) -> Display:
    return cast("Display", _of_kind(dev, "display"))


def as_printer(dev: Device) -> Printer:
    return cast("Printer", _of_kind(dev, "printer"))


def _of_kind(dev: Device, kind: str) -> Device:
    """The drivers of a kind implement its port (drivers/<kind>/device.py); the kind is what
    is checked here, the shape by the tests that drive each driver."""
    if dev.info.kind != kind:
        raise ProtocolError("invalid_params", f"{dev.info.id} is a {dev.info.kind}, not a {kind}")
    return dev
