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
    from protocol.repl import Reply, TillRequest

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



class Foreground(Protocol):
    """What the till is doing for a person now (gatewayd.foreground.Foreground), for
    background work to keep out of its way: the replicator catching up a backlog."""

    @property
    def selling(self) -> bool:
        """A sale is open at this till."""
        ...

    async def quiet(self, settle_s: float, max_wait_s: float) -> None:
        """Return once no client call is in flight and none ended within `settle_s`, or after
        `max_wait_s` whatever the till is doing."""
        ...


class HqUnavailable(Exception):
    """Head office cannot be asked now: the till is not connected, or it did not answer in
    time. The caller applies its offline policy."""


class HeadOffice(Protocol):
    """The till's link to head office, for what must be decided online (DESIGN §8: money
    that can be spent at more than one till): gatewayd.replication.Replicator."""

    @property
    def enrolled(self) -> bool:
        """The till replicates to a head office (else it is a till on its own)."""
        ...

    @property
    def online(self) -> bool:
        """The link is up now."""
        ...

    @property
    def acked(self) -> int:
        """The highest journal seq head office has acknowledged, as this till knows it."""
        ...

    async def request(self, frame: TillRequest) -> Reply:
        """Send a request and wait for its reply (HqUnavailable if it cannot be had)."""
        ...
