"""What a service is given instead of the daemon: the ports of DESIGN §1.

A domain service receives its store, its config section, a publish callback and the ports
below; the till's composition root (gatewayd/app.py) passes the device manager and the print
queue, and head office or a test can pass anything with the same shape (no devices at all:
`NO_DEVICES`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from drivers.base import Device

# publish(topic, data): an event for the subscribed clients (gatewayd.bus.Bus.publish)
Publish = Callable[[str, dict[str, Any]], None]


class Devices(Protocol):
    """The till's devices by id and kind (drivers.manager.DeviceManager)."""

    def get(self, dev_id: str) -> Device: ...

    def of_kind(self, kind: str) -> list[Device]: ...


class PrintWaker(Protocol):
    """The print queue, told that jobs were queued in a committed transaction
    (gatewayd.printing.PrintQueue)."""

    def wake(self, printer: str | None = None) -> None: ...


class _NoDevices:
    def get(self, dev_id: str) -> Device:
        raise KeyError(dev_id)

    def of_kind(self, kind: str) -> list[Device]:
        return []


NO_DEVICES: Devices = _NoDevices()

