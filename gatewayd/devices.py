"""Finding a device of the till by kind: the named one, or the first of that kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.base import Device
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from drivers.manager import DeviceManager


def pick(devices: DeviceManager, kind: str, device_id: str | None) -> Device:
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
