"""Cash drawer drivers.

`PrinterKickDrawer` (driver "printer"): a drawer plugged into a receipt printer's kick-out
connector. Peer wiring (what the manager does): the drawer's `options.printer` names the
printer device id, and the manager calls `drawer.set_peer(printer_device)`. Alternatively
`options["printer_device"]` may hold the printer Device object itself. Opening asks the
printer to pulse the connector; open/closed comes from the printer's status (DLE EOT 1 / ASB
"drawer kick-out connector pin 3"), through `EscposPrinter.add_status_listener`. The drawer's
own transport is not used (it may be None). Its state follows the printer's: online while
the printer is online.

`SerialDrawer` (driver "serial"): a drawer (or trigger box) on its own serial port. Opens on
`options.open_command` (hex string, default the ESC/POS kick ESC p 0 50 100). Status, if it
can report one, per `options.status`:
  "none"   (default) no sensor: `is_open` stays None, only `drawer.kicked` events
  "escpos" answers DLE EOT 1; pin 3 bit with `open_when_high` polarity, polled every poll_s
  "bytes"  `status_command` is polled; the answer `open_response` / `closed_response`
           (hex strings) tells the state

Both: `await open()`, `is_open` (True/False, None = unknown), options `open_when_high`
(default true), `open_alert_s` (default 30), and events
  drawer.status  {device, open}                       on every change of open/closed
  drawer.kicked  {device}                             when an open command was sent
  alerts.raised  {kind: "drawer_open_too_long", device, seconds}
                 once per opening, when it stays open longer than open_alert_s.
"""

from __future__ import annotations

from typing import Any, Literal

import trio
from pydantic import Field

from drivers.base import (
    Device,
    DeviceInfo,
    DeviceOffline,
    DriverOptions,
    Emit,
    Transport,
    run_until_transport_error,
)
from drivers.drawer.codec import is_open as pin_means_open
from drivers.drawer.codec import kick_command, parse_bytes_option
from drivers.printer.device import MAX_MISSED_POLLS
from drivers.printer.status import StatusDecoder

HexBytes = str | list[int]  # "1b 70 00 32 64" or [27, 112, 0, 50, 100]


class DrawerOptions(DriverOptions):
    open_when_high: bool = Field(True, description="the pin-3 sensor reads high when open")
    open_alert_s: float = Field(30.0, gt=0, description="alert when open longer, seconds")
    pin: Literal[2, 5] = Field(2, description="kick-out connector pin the drawer is on")
    on_ms: int = Field(100, ge=0, le=510, description="kick pulse on time, ms")
    off_ms: int = Field(200, ge=0, le=510, description="kick pulse off time, ms")


class PrinterKickDrawerOptions(DrawerOptions):
    printer: str | None = Field(None, description="id of the printer whose DK port it is on")
    printer_device: Any = Field(None, exclude=True, description="(tests) the printer Device")


class SerialDrawerOptions(DrawerOptions):
    open_command: HexBytes | None = Field(None, description="bytes that open it (hex string "
                                          "or list), default the ESC/POS kick ESC p")
    status: Literal["none", "escpos", "bytes"] = Field(
        "none", description="how it reports open/closed: none, escpos (DLE EOT 1), bytes")
    poll_s: float = Field(0.5, gt=0, description="status poll period, seconds")
    status_command: HexBytes | None = Field(None, description="status=bytes: the query")
    open_response: HexBytes | None = Field(None, description="status=bytes: answer when open")
    closed_response: HexBytes | None = Field(None, description="status=bytes: answer when "
                                             "closed")


class _Drawer(Device):
    kind = "drawer"
    options_model: type[DrawerOptions] = DrawerOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        o = self.settings
        self.open_when_high = o.open_when_high
        self.open_alert_s = o.open_alert_s
        self.pin = o.pin
        self.on_ms = o.on_ms
        self.off_ms = o.off_ms
        self._open: bool | None = None
        self._opening = 0  # increments on every transition to open
        self._opened_at = 0.0
        self._alerted = 0  # the opening an alert was raised for
        self._changed = trio.Event()

    @property
    def is_open(self) -> bool | None:
        return self._open

    def _set_open(self, open: bool | None) -> None:
        if open == self._open:
            return
        self._open = open
        if open:
            self._opening += 1
            self._opened_at = trio.current_time()
        self._changed.set()
        self._changed = trio.Event()
        self.update_status(open=open)
        self.emit("drawer.status", {"device": self.info.id, "open": open})

    async def _alert_loop(self) -> None:
        """Raise `drawer_open_too_long` once per opening that outlasts open_alert_s."""
        while True:
            changed = self._changed
            opening = self._opening
            if self._open and self._alerted != opening:
                with trio.move_on_at(self._opened_at + self.open_alert_s) as scope:
                    await changed.wait()
                if scope.cancelled_caught and self._open and self._opening == opening:
                    self._alerted = opening
                    self.emit(
                        "alerts.raised",
                        {
                            "kind": "drawer_open_too_long",
                            "device": self.info.id,
                            "seconds": round(trio.current_time() - self._opened_at),
                        },
                    )
            else:
                await changed.wait()

    def _kicked(self) -> None:
        self.emit("drawer.kicked", {"device": self.info.id})


class PrinterKickDrawer(_Drawer):
    options_model = PrinterKickDrawerOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        self.printer: Any = None
        self._running = False
        peer = self.settings.printer_device
        if peer is not None:
            self.set_peer(peer)

    def set_peer(self, printer: Any) -> None:
        """Attach to the EscposPrinter whose kick-out connector drives this drawer."""
        if not hasattr(printer, "kick_drawer") or not hasattr(printer, "add_status_listener"):
            raise TypeError(f"{self.info.id}: peer {printer!r} cannot kick a drawer")
        self.printer = printer
        printer.add_status_listener(self._on_printer)

    def _on_printer(self) -> None:
        p = self.printer
        if p is None or not self._running:
            return
        if p.info.state == "online":
            self.set_state("online")
        else:
            self.set_state("offline", f"printer {p.info.id} is {p.info.state}")
        status = p.printer_status
        if status is not None and p.info.state == "online":
            self._set_open(pin_means_open(status.drawer_pin3_high, self.open_when_high))

    async def run(self, transport: Transport | None) -> None:
        self.transport = transport
        if self.printer is None:
            raise ValueError(f"{self.info.id}: no printer attached (options.printer)")
        self._running = True
        try:
            self._on_printer()
            await self._alert_loop()
        finally:
            self._running = False

    async def open(self) -> None:
        # Whenever the printer's port is open, even while it does not answer status: the
        # printer sends the kick as a real-time pulse then (no receipt, still change).
        printer = self.printer
        if printer is None or printer.transport is None or printer.info.state == "offline":
            raise DeviceOffline(f"{self.info.id} is {self.info.state}")
        await self.printer.kick_drawer(self.pin, self.on_ms, self.off_ms)
        self._kicked()


class SerialDrawer(_Drawer):
    options_model = SerialDrawerOptions

    def __init__(self, info: DeviceInfo, emit: Emit, options: dict[str, Any] | None = None):
        super().__init__(info, emit, options)
        o = self.settings
        self.open_command = parse_bytes_option(
            o.open_command, kick_command(self.pin, self.on_ms, self.off_ms)
        )
        self.status_mode = o.status
        self.poll_s = o.poll_s
        self.status_command = parse_bytes_option(o.status_command, b"")
        self.open_response = parse_bytes_option(o.open_response, b"")
        self.closed_response = parse_bytes_option(o.closed_response, b"")
        if self.status_mode == "bytes" and not (
            self.status_command and self.open_response and self.closed_response
        ):
            raise ValueError("status=bytes needs status_command, open_response, closed_response")
        self._lock = trio.Lock()
        self._codec = StatusDecoder()
        self._buf = bytearray()
        self._answers = 0

    async def run(self, transport: Transport) -> None:
        self.transport = transport
        self._codec = StatusDecoder()
        self._buf.clear()
        if self.status_mode == "none":
            self.set_state("online")
        await run_until_transport_error(
            lambda: self._read_loop(transport),
            lambda: self._poll_loop(transport),
            self._alert_loop,
        )

    async def _read_loop(self, transport: Transport) -> None:
        while True:
            data = await transport.receive()
            if self.status_mode == "escpos":
                for report in self._codec.feed(data):
                    self._answered()
                    self._set_open(
                        pin_means_open(report.status.drawer_pin3_high, self.open_when_high)
                    )
                self.info.counters["garbage_bytes"] = self._codec.garbage_bytes
            elif self.status_mode == "bytes":
                self._buf += data
                self._match_bytes()
            else:
                self.count("garbage_bytes", len(data))

    def _match_bytes(self) -> None:
        while True:
            hits = [
                (i, resp, state)
                for resp, state in ((self.open_response, True), (self.closed_response, False))
                if (i := self._buf.find(resp)) >= 0
            ]
            if not hits:
                keep = max(len(self.open_response), len(self.closed_response)) - 1
                if len(self._buf) > keep:
                    self.count("garbage_bytes", len(self._buf) - keep)
                    del self._buf[: len(self._buf) - keep]
                return
            i, resp, state = min(hits, key=lambda h: h[0])
            if i:
                self.count("garbage_bytes", i)
            del self._buf[: i + len(resp)]
            self._answered()
            self._set_open(state)

    def _answered(self) -> None:
        self._answers += 1
        if self.info.state != "online":
            self.set_state("online")

    async def _poll_loop(self, transport: Transport) -> None:
        if self.status_mode == "none":
            await trio.sleep_forever()
        missed, before = 0, self._answers
        first = True
        while True:
            async with self._lock:
                if not first and self._answers == before:
                    missed += 1
                    self._codec.drop_pending()
                    if missed > MAX_MISSED_POLLS and self.info.state != "error":
                        self.set_state("error", f"no status answer for {missed} polls")
                elif not first:
                    missed = 0
                first = False
                before = self._answers
                if self.status_mode == "escpos":
                    await transport.send(self._codec.request(1))
                else:
                    await transport.send(self.status_command)
            await trio.sleep(self.poll_s)

    async def open(self) -> None:
        transport = self.require_online()
        async with self._lock:
            await transport.send(self.open_command)
        self._kicked()
