"""The customer display and the cash drawer after a sale: `CustomerDisplay`, the service's own
task (gatewayd/sales/service.py), so after-commit effects never slow the call path."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import trio

from drivers.base import DeviceBusy, DeviceOffline
from gatewayd.ports import Devices
from gatewayd.sales.config import SaleConfig
from gatewayd.sales.money import format_yuan

if TYPE_CHECKING:
    from gatewayd.store.db import Store


log = logging.getLogger("gatewayd.sales")


class CustomerDisplay:
    store: Store
    cfg: SaleConfig
    devices: Devices

    if TYPE_CHECKING:
        # What this mixin uses of its host, SaleService (gatewayd/sales/service.py) and
        # PaymentFlow (gatewayd/sales/payment_flow.py); seen by the type checker only.
        _display_send: trio.MemorySendChannel[tuple[str, Any]]
        _display_recv: trio.MemoryReceiveChannel[tuple[str, Any]]

        async def keep_settling(self) -> None: ...

    def _display(self, item: tuple[str, Any]) -> None:
        if item[0] != "drawer" and self._device("display", self.cfg.display) is None:
            return  # no pole display: nothing to show, so the worker is not woken
        try:
            self._display_send.send_nowait(item)
        except trio.WouldBlock:
            pass  # the display is behind; the next change shows the latest anyway

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """The service's own tasks: settling payment attempts left pending, and the
        customer display and drawer worker (after-commit effects that must not slow the
        call path)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.keep_settling)
            task_status.started()
            await self._display_worker()

    async def _display_worker(self) -> None:
        idle_at = math.inf
        while True:
            with trio.move_on_at(idle_at):
                kind, wire = await self._display_recv.receive()
                try:
                    if kind == "drawer":
                        await self._open_drawer(wire)
                        continue
                    lines = display_lines(kind, wire)
                    await self._show(lines)
                    idle_at = (trio.current_time() + self.cfg.display_idle_s
                               if kind in ("done", "idle") else math.inf)
                    if kind == "idle":
                        idle_at = trio.current_time()
                except Exception:
                    log.debug("display/drawer update failed", exc_info=True)
                continue
            idle_at = math.inf
            dev = self._device("display", self.cfg.display)
            if dev is not None:
                try:
                    await dev.idle()
                except (DeviceOffline, DeviceBusy, OSError):
                    pass
                except Exception:
                    log.debug("display idle failed", exc_info=True)

    def _device(self, kind: str, wanted: str | None) -> Any:
        found = self.devices.of_kind(kind)
        if wanted is not None:
            found = [d for d in found if d.info.id == wanted]
        return found[0] if found else None

    async def _show(self, lines: list[str]) -> None:
        dev = self._device("display", self.cfg.display)
        if dev is None:
            return
        try:
            await dev.show(lines)
        except (DeviceOffline, DeviceBusy, OSError):
            pass

    async def _open_drawer(self, wire: dict[str, Any]) -> None:
        dev = self._device("drawer", self.cfg.drawer)
        if dev is None:
            return
        error = None
        try:
            await dev.open()
        except Exception as exc:  # offline drawer: the sale is done; say so in the journal
            error = str(exc) or type(exc).__name__
        await self.store.write(lambda tx: tx.append("drawer.opened", {
            "device": dev.info.id, "reason": "sale", "receipt_no": wire["receipt_no"],
            "sale_id": wire["id"], "operator": wire["operator"], "error": error}))


def display_lines(kind: str, wire: dict[str, Any] | None) -> list[str]:
    if kind == "idle" or wire is None:
        return ["欢迎光临", "Welcome"]
    if kind == "done":
        return [f"合计 ¥{format_yuan(wire['total'] - wire['rounding'])}",
                f"找零 ¥{format_yuan(wire['change'])}"]
    live = [ln for ln in wire["lines"] if not ln["voided"]]
    added = wire.get("added")
    line = next((ln for ln in wire["lines"] if ln["line_id"] == added), None) or \
        (live[-1] if live else None)
    first = f"{line['name']} ¥{format_yuan(line['net'])}" if line else ""
    second = f"合计 ¥{format_yuan(wire['total'])}"
    if wire["state"] == "tendering":
        first, second = f"已付 ¥{format_yuan(wire['paid'])}", \
            f"应付 ¥{format_yuan(wire['cash_due'] or wire['due'])}"
    return [first, second]
