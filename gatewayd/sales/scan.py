"""The scan router: `scanner.data` on the bus -> the sale (DESIGN §2).

A small bus subscriber puts scanner.data events into a bounded trio memory channel (the bus
never blocks: a full channel drops the scan and says so with `scanner.error`); one task takes
them in order and gives each code to the first of the routes composed in gatewayd/app.py
that matches it, else to sale.add {barcode}. The till's routes, in order:

    refund mode and a receipt number of this till  -> the returns service
    PAYCODE: a payment code (Alipay/WeChat) while  -> sale.tender (in the background, so
             a sale is due                            a user_paying wait does not hold scans)
    a member QR payload or member card             -> sale.member

Scans act for the sale's operator, else the operator logged in on a connection to this
till; with nobody logged in the scan is refused (`login_required`). Anything that fails
publishes `scanner.error {device, data, reason, message}` (the client beeps) and adds
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from drivers.base import DeviceBusy, DeviceOffline
from gatewayd.sales import paycodes
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.bus import Bus, BusEvent
    from gatewayd.ports import Publish
    from gatewayd.sales.service import SaleService

log = logging.getLogger("gatewayd.scan")
QUEUE = 64


@dataclass(frozen=True)
class ScanRoute:
    """A kind of code a service takes instead of sale.add: handle(code, operator), in the
    router's task, or in the background (not holding the scans after it) when `background`.
    A ProtocolError or ScanRefused it raises is published as `scanner.error`."""

    name: str
    matches: Callable[[str], bool]
    handle: Callable[[str, str], Awaitable[Any]]
    background: bool = False


class ScanRefused(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


def paycode_route(svc: SaleService) -> ScanRoute:
    """An Alipay/WeChat payment code pays the sale that is due."""

    async def pay(code: str, operator: str) -> None:
        row = svc.store.one(
            "SELECT state, due FROM sales WHERE till=? AND state IN ('open','tendering')",
            (svc.till.till,))
        if row is None or row["due"] <= 0:
            raise ScanRefused("no_sale", "a payment code, but no sale is due")
        await svc.tender(operator, paycodes.classify_paycode(code), None, code)

    return ScanRoute("paycode", lambda code: paycodes.classify_paycode(code) is not None,
                     pay, background=True)


class ScanSubscriber:
    """Bus subscriber: scanner.data events into a bounded channel, never blocking."""

    def __init__(self, publish: Publish, size: int = QUEUE):
        self.publish = publish
        self.send, self.recv = trio.open_memory_channel[dict[str, Any]](size)

    def offer(self, event: BusEvent) -> None:
        if event.topic != "scanner.data":
            return
        try:
            self.send.send_nowait(event.data)
        except trio.WouldBlock:
            self.publish("scanner.error", {"device": event.data.get("device"),
                                           "data": event.data.get("data"),
                                           "reason": "busy", "message": "too many scans"})


class ScanRouter:
    def __init__(self, svc: SaleService, bus: Bus, publish: Publish,
                 routes: Sequence[ScanRoute]):
        self.svc = svc
        self.bus = bus
        self.publish = publish
        self.routes = tuple(routes)
        self.sub = ScanSubscriber(publish)
        self.routed = 0

    def error(self, scan: dict[str, Any], reason: str, message: str) -> None:
        self.publish("scanner.error", {"device": scan.get("device"), "data": scan.get("data"),
                                       "reason": reason, "message": message})

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.bus.attach(self.sub)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                async for scan in self.sub.recv:
                    await self.route(scan, nursery)
        finally:
            self.bus.detach(self.sub)

    async def route(self, scan: dict[str, Any], nursery: trio.Nursery | None = None) -> None:
        code = (scan.get("data") or "").strip()
        if not code:
            return
        svc = self.svc
        operator = svc.active_operator()
        if operator is None:
            self.error(scan, "login_required", "log in before scanning")
            return
        self.routed += 1
        for r in self.routes:
            if r.matches(code):
                if r.background and nursery is not None:
                    nursery.start_soon(self._guard, scan, r.handle(code, operator))
                else:
                    await self._guard(scan, r.handle(code, operator))
                return
        await self._guard(scan, svc.add(operator, barcode=code))

    async def _guard(self, scan: dict[str, Any], coro: Any) -> None:
        try:
            await coro
        except ScanRefused as exc:
            self.error(scan, exc.reason, exc.message)
        except ProtocolError as exc:
            reason = "unknown_code" if exc.code == "not_found" else exc.code
            self.error(scan, reason, exc.message)
        except (DeviceOffline, DeviceBusy) as exc:
            self.error(scan, "device_busy" if isinstance(exc, DeviceBusy) else
                       "device_offline", str(exc))
        except Exception:
            log.exception("scan %r failed", scan.get("data"))
            self.error(scan, "internal", "the scan could not be handled; see the log")

