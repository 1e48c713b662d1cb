"""What every device driver shares: identity, state, status, and how it reports.

A driver couples a sans-I/O codec (in its own folder) to a transport. The manager
(`drivers.manager`) owns the task that runs it: open the transport, call `run`, and on
`TransportError` mark the device offline, back off and reopen. Drivers never catch
`TransportError` themselves except to clean up; they let it reach the manager.
"""

from __future__ import annotations

import codecs
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import trio
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

DeviceState = Literal["offline", "online", "error"]

# emit(topic, data): publish an event on the daemon's bus. Topic is the dotted event
# name ("scanner.data", "scale.reading", "devices.status", "printer.status", ...);
# subscribers match on its first segment. Must not block: the bus never awaits.
Emit = Callable[[str, dict[str, Any]], None]


class TransportError(Exception):
    """The one error a transport raises when the device is gone or the link broke."""


class DeviceOffline(Exception):
    """A command was sent to a device that is not online (maps to `device_offline`)."""


class DeviceBusy(Exception):
    """The device cannot take this command now (maps to `device_busy`)."""


async def run_until_transport_error(*tasks: Callable[[], Awaitable[None]]) -> None:
    """Run a driver's tasks (reader, poller, ...) side by side; the first TransportError
    cancels the others and is re-raised bare, not in an ExceptionGroup, which is what the
    manager expects from `Device.run`."""
    failure: list[TransportError] = []
    async with trio.open_nursery() as nursery:

        async def guard(task: Callable[[], Awaitable[None]]) -> None:
            try:
                await task()
            except TransportError as exc:
                failure.append(exc)
                nursery.cancel_scope.cancel()

        for task in tasks:
            nursery.start_soon(guard, task)
    if failure:
        raise failure[0]


class Transport:
    """A byte stream to a device. Implementations live in drivers/transports/."""

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def receive(self, max_bytes: int = 4096) -> bytes:
        """Return at least one byte; raise TransportError on disconnect (never return b'')."""
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


@dataclass
class DeviceInfo:
    id: str
    kind: str  # scanner | scale | printer | drawer | display | label
    driver: str  # codec name, e.g. "toledo8217", "escpos", "cd5220"
    transport: str  # "serial:/dev/pos/scale", "tcp:10.0.0.9:9100", "usb:04b8:0202", ...
    state: DeviceState = "offline"
    status: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)  # e.g. garbage_bytes

    def as_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "driver": self.driver,
            "transport": self.transport,
            "state": self.state,
            "status": dict(self.status),
            "error": self.error,
            "counters": dict(self.counters),
        }


def _codec_name(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r}") from None
    return name


Encoding = Annotated[str, AfterValidator(_codec_name)]


class DriverOptions(BaseModel):
    """Base of every driver's options model: unknown keys refused, no coercion; plus the
    options the transport reads from the same table."""

    model_config = ConfigDict(extra="forbid", strict=True)
    connect_timeout: float = Field(5.0, gt=0, description="tcp transport: seconds to connect")


def validate_options(model: type[BaseModel], options: dict[str, Any],
                     where: str = "options") -> BaseModel:
    """A driver's options checked against its model; ValueError naming the first bad key
    (`options.widht: unknown option`), which config check and start-up report."""
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in (where, *err["loc"]))
            text = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {text}")
        raise ValueError("; ".join(problems)) from None


class Device:
    """Base of every driver. Subclasses implement `run` and their kind's commands.

    `options_model`: the pydantic model of the driver's `options` table (unknown keys and bad
    values are refused at construction, naming the key); `self.settings` is the validated
    model, `self.options` the raw table."""

    kind: str = ""
    options_model: type[BaseModel] | None = None

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        self.info = info
        self.emit = emit
        self.options = options or {}
        self.settings: Any = None
        if self.options_model is not None:
            self.settings = validate_options(self.options_model, self.options)
        self.transport: Transport | None = None
        self.online = trio.Event()

    # -- called by the manager -------------------------------------------------
    async def run(self, transport: Transport) -> None:
        """Drive the device until the transport fails (raise TransportError)."""
        raise NotImplementedError

    def set_state(self, state: DeviceState, error: str | None = None) -> None:
        if state == self.info.state and error == self.info.error:
            return
        self.info.state = state
        self.info.error = error
        if state == "online":
            self.online.set()
        elif self.online.is_set():
            self.online = trio.Event()
        self.emit("devices.status", self.info.as_wire())

    def update_status(self, **status: Any) -> bool:
        """Merge kind-specific status; emit `devices.status` when anything changed."""
        changed = {k: v for k, v in status.items() if self.info.status.get(k) != v}
        if not changed:
            return False
        self.info.status.update(changed)
        self.emit("devices.status", self.info.as_wire())
        return True

    def count(self, counter: str, n: int = 1) -> None:
        self.info.counters[counter] = self.info.counters.get(counter, 0) + n

    def require_online(self) -> Transport:
        if self.info.state != "online" or self.transport is None:
            raise DeviceOffline(f"{self.info.id} is {self.info.state}")
        return self.transport
