"""The device manager: builds every configured device and keeps each one connected.

Each device runs in its own supervisor task: open the transport, hand it to the driver's
`run`, and when that fails close the transport, mark the device offline (TransportError,
OSError: the link broke) or error (any other exception: a driver bug — logged, never
allowed to take the daemon or the other devices down), wait, and reopen.

The reconnect rule (documented in docs/devices.md):
- after a failure the wait starts at 0.5 s and doubles on each consecutive failure up to
  10 s; it goes back to 0.5 s once the device has been online;
- for a transport with a device node (serial, evdev), while that node is absent (unplugged,
  udev removed /dev/pos/scale) the manager does not count backoff at all: it checks whether
  the path exists every 0.25 s (a cheap stat, no open) and reopens as soon as it is back, so
  a device plugged in comes online within about a quarter of a second plus its handshake;
- a device whose transport is `peer:ID` (or the same string as its `options.printer` peer's)
  opens nothing itself: its `run(None)` works through the peer set with `set_peer`;
- an unplug is seen at once: the driver's pending read fails (EIO/ENODEV/EOF) and the
  device is marked offline in the same moment, long before any timeout.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from drivers.base import Device, DeviceInfo, Emit, Transport, TransportError
from drivers.config import DeviceConfig
from drivers.registry import driver_class
from drivers.transports import open_transport as default_open_transport
from drivers.transports import parse_transport

log = logging.getLogger("drivers.manager")

OpenTransport = Callable[[DeviceConfig], Awaitable[Transport]]

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 10.0
ABSENT_POLL = 0.25


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _is_link_failure(exc: BaseException) -> bool:
    """True when every leaf is a broken link (TransportError/OSError), not a driver bug."""
    return all(isinstance(e, TransportError | OSError) for e in _leaves(exc))


def _reason(exc: BaseException) -> str:
    leaves = _leaves(exc)
    first = next((e for e in leaves if not isinstance(e, TransportError | OSError)), leaves[0])
    text = str(first)
    if isinstance(first, TransportError) and text:
        return text
    return f"{type(first).__name__}: {text}" if text else type(first).__name__


class _Slot:
    def __init__(self, config: DeviceConfig, device: Device):
        self.config = config
        self.device = device
        spec = parse_transport(config.transport)
        self.path: Path | None = spec.device_path
        # Works through a peer (drawer on the printer's kick-out port): never opens a transport.
        self.peer_only = spec.scheme == "peer"
        self.peer_id: str | None = config.options.get("printer") or spec.peer
        self.delay = BACKOFF_INITIAL
        self.attempt: trio.CancelScope | None = None
        self.wake = trio.Event()
        self.restarting = False
        self.waits: list[float] = []  # the backoff waits taken, newest last (bounded)


class DeviceManager:
    def __init__(
        self,
        configs: dict[str, DeviceConfig],
        emit: Emit,
        open_transport: OpenTransport = default_open_transport,
        *,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        absent_poll: float = ABSENT_POLL,
        classes: Callable[[str, str], type[Device]] = driver_class,
    ):
        self.emit = emit
        self._open_transport = open_transport
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.absent_poll = absent_poll
        self._slots: dict[str, _Slot] = {}
        for dev_id, config in configs.items():
            if not config.enabled:
                continue
            cls = classes(config.kind, config.driver)
            info = DeviceInfo(
                id=dev_id, kind=config.kind, driver=config.driver, transport=config.transport
            )
            device = cls(info, emit, dict(config.options))
            self._slots[dev_id] = _Slot(config, device)
            self._slots[dev_id].delay = backoff_initial
        self._wire_peers()

    def _wire_peers(self) -> None:
        for dev_id, slot in self._slots.items():
            peer_id = slot.peer_id
            if peer_id is None or not (slot.peer_only or hasattr(slot.device, "set_peer")):
                continue
            if peer_id not in self._slots:
                raise ValueError(
                    f"device {dev_id!r}: options.printer={peer_id!r} is not a configured device"
                )
            if not hasattr(slot.device, "set_peer"):
                if slot.peer_only:
                    raise ValueError(f"device {dev_id!r}: driver cannot work through a peer")
                continue
            peer = self._slots[peer_id]
            # Same port as its peer: opening it twice would fail (serial ports are exclusive).
            if slot.config.transport == peer.config.transport:
                slot.peer_only = True
            slot.device.set_peer(peer.device)

    # -- lookups ---------------------------------------------------------------------------
    @property
    def devices(self) -> dict[str, Device]:
        return {dev_id: slot.device for dev_id, slot in self._slots.items()}

    def get(self, dev_id: str) -> Device:
        """The device with that id; KeyError if there is none (maps to `not_found`)."""
        return self._slots[dev_id].device

    def of_kind(self, kind: str) -> list[Device]:
        return [s.device for s in self._slots.values() if s.device.info.kind == kind]

    def list(self) -> list[dict[str, Any]]:
        return [s.device.info.as_wire() for s in self._slots.values()]

    async def restart(self, dev_id: str) -> None:
        """Close the device's transport and reopen it now, with the backoff reset."""
        slot = self._slots[dev_id]
        slot.restarting = True
        slot.delay = self.backoff_initial
        if slot.attempt is not None:
            slot.attempt.cancel()
        slot.wake.set()
        await trio.lowlevel.checkpoint()

    # -- supervision -----------------------------------------------------------------------
    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for dev_id in self._slots:
                nursery.start_soon(self._supervise, dev_id, name=f"device:{dev_id}")
            task_status.started(self)

    async def _supervise(self, dev_id: str) -> None:
        slot = self._slots[dev_id]
        while True:
            slot.wake = trio.Event()
            slot.restarting = False
            try:
                was_online = await self._attempt(slot)
            except Exception as exc:
                # Only reachable when a restart cancelled a driver whose own tasks failed at
                # the same moment: the cancel scope strips its Cancelled and re-raises the rest.
                log.warning("%s: error while restarting: %r", slot.device.info.id, exc)
                was_online = False
            if slot.restarting:
                continue
            if was_online:
                slot.delay = self.backoff_initial
            await self._wait_before_retry(slot)

    async def _attempt(self, slot: _Slot) -> bool:
        """Open and run the device once; return whether it was online when it ended."""
        device = slot.device
        transport: Transport | None = None
        state, reason = "offline", "driver stopped"
        with trio.CancelScope() as scope:
            slot.attempt = scope
            try:
                if not slot.peer_only:
                    transport = await self._open_transport(slot.config)
                device.transport = transport
                await device.run(transport)  # type: ignore[arg-type]  # None for peer_only
            except Exception as exc:
                if _is_link_failure(exc):
                    state, reason = "offline", _reason(exc)
                    log.info("%s offline: %s", device.info.id, reason)
                else:
                    state, reason = "error", _reason(exc)
                    log.error("%s driver failed", device.info.id, exc_info=exc)
            finally:
                slot.attempt = None
                device.transport = None
                if transport is not None:
                    with trio.CancelScope(shield=True):
                        try:
                            await transport.aclose()
                        except Exception as exc:
                            log.debug("%s: closing transport: %r", device.info.id, exc)
        if scope.cancelled_caught:
            state, reason = "offline", "restarting"
        was_online = device.info.state == "online"
        if was_online:
            device.count("disconnects")
        device.set_state(state, reason)  # type: ignore[arg-type]
        return was_online

    async def _wait_before_retry(self, slot: _Slot) -> None:
        path = slot.path
        if path is not None and not path.exists():
            # Unplugged: wait for the node to come back, cheaply, then reopen at once.
            while not path.exists():
                with trio.move_on_after(self.absent_poll):
                    await slot.wake.wait()
                if slot.restarting:
                    return
            slot.delay = self.backoff_initial
            self._record(slot, 0.0)
            return
        delay = slot.delay
        self._record(slot, delay)
        slot.delay = min(delay * 2, self.backoff_max)
        with trio.move_on_after(delay):
            await slot.wake.wait()

    @staticmethod
    def _record(slot: _Slot, delay: float) -> None:
        slot.waits.append(delay)
        del slot.waits[:-32]

    def backoff_history(self, dev_id: str) -> builtins.list[float]:  # `list` is a method here
        """The recent reconnect waits of a device in seconds (0.0: reopened when it appeared)."""
        return list(self._slots[dev_id].waits)
