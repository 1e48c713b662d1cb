"""The scan router: `scanner.data` on the bus -> the sale (DESIGN §2).

A small bus subscriber puts scanner.data events into a bounded trio memory channel (the bus
never blocks: a full channel drops the scan and says so with `scanner.error`); one task takes
them in order and routes each code:

    refund mode and a receipt number of this till  -> service.on_receipt_scan (returns)
    a payment code (Alipay/WeChat) while a sale is due -> sale.tender (in the background, so
                                                     a user_paying wait does not hold scans)
    anything else                                     -> sale.add {barcode}

Scans act for the sale's operator, else the operator logged in on a connection to this
till; with nobody logged in the scan is refused (`login_required`). Anything that fails
publishes `scanner.error {device, data, reason, message}` (the client beeps) and adds
nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from drivers.base import DeviceBusy, DeviceOffline
from gatewayd.sales import paycodes
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.app import App
    from gatewayd.bus import BusEvent
    from gatewayd.sales.service import SaleService

log = logging.getLogger("gatewayd.scan")
QUEUE = 64


class ScanSubscriber:
    """Bus subscriber: scanner.data events into a bounded channel, never blocking."""

    def __init__(self, app: App, size: int = QUEUE):
        self.app = app
        self.send, self.recv = trio.open_memory_channel[dict[str, Any]](size)

    def offer(self, event: BusEvent) -> None:
        if event.topic != "scanner.data":
            return
        try:
            self.send.send_nowait(event.data)
        except trio.WouldBlock:
            self.app.emit("scanner.error", {"device": event.data.get("device"),
                                            "data": event.data.get("data"),
                                            "reason": "busy", "message": "too many scans"})


class ScanRouter:
    def __init__(self, app: App, svc: SaleService):
        self.app = app
        self.svc = svc
        self.sub = ScanSubscriber(app)
        self.routed = 0

    def error(self, scan: dict[str, Any], reason: str, message: str) -> None:
        self.app.emit("scanner.error", {"device": scan.get("device"), "data": scan.get("data"),
                                        "reason": reason, "message": message})

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.app.bus.attach(self.sub)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                async for scan in self.sub.recv:
                    await self.route(scan, nursery)
        finally:
            self.app.bus.detach(self.sub)

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
        if svc.refund_mode and svc.is_receipt_no(code):
            if svc.on_receipt_scan is None:
                self.error(scan, "refund_unavailable", "returns are not available")
                return
            await self._guard(scan, svc.on_receipt_scan(code, operator))
            return
        method = paycodes.classify_paycode(code)
        if method is not None:
            row = self.app.store.one(
                "SELECT state, due FROM sales WHERE till=? AND state IN ('open','tendering')",
                (svc.till.till,))
            if row is None or row["due"] <= 0:
                self.error(scan, "no_sale", "a payment code, but no sale is due")
                return
            coro = self._guard(scan, svc.tender(operator, method, None, code))
            if nursery is not None:
                nursery.start_soon(lambda: coro)
            else:
                await coro
            return
        if svc.member_scan is not None and svc.is_member_code(code):
            await self._guard(scan, svc.member_scan(code, operator))
            return
        await self._guard(scan, svc.add(operator, barcode=code))

    async def _guard(self, scan: dict[str, Any], coro: Any) -> None:
        try:
            await coro
        except ProtocolError as exc:
            reason = "unknown_code" if exc.code == "not_found" else exc.code
            self.error(scan, reason, exc.message)
        except (DeviceOffline, DeviceBusy) as exc:
            self.error(scan, "device_busy" if isinstance(exc, DeviceBusy) else
                       "device_offline", str(exc))
        except Exception:
            log.exception("scan %r failed", scan.get("data"))
            self.error(scan, "internal", "the scan could not be handled; see the log")


def bind(app: App, svc: SaleService) -> ScanRouter:
    router = ScanRouter(app, svc)
    svc.scan_router = router  # type: ignore[attr-defined]
    app.tasks.append(("scan-router", router.run))
    return router
