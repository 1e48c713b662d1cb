"""Protocol methods over the device manager: list, scale, drawer, display.
(Printing goes through the persistent queue: gatewayd/api/printing.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatewayd.devices import as_display, as_drawer, as_scale, pick
from protocol.errors import ProtocolError
from protocol.methods import (
    DeviceIdParams,
    DisplayShowParams,
    NoParams,
    OptionalDeviceParams,
    ScaleReadParams,
)

if TYPE_CHECKING:
    from drivers.manager import DeviceManager
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store


def register(reg: Registry, devices: DeviceManager, store: Store) -> None:
    @reg.method("devices.list")
    async def devices_list(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"devices": devices.list()}

    @reg.method("devices.get")
    async def devices_get(ctx: CallContext, p: DeviceIdParams) -> dict[str, Any]:
        try:
            return devices.get(p.id).info.as_wire()
        except KeyError:
            raise ProtocolError("not_found", f"no device {p.id!r}") from None

    @reg.method("scale.read")
    async def scale_read(ctx: CallContext, p: ScaleReadParams) -> dict[str, Any]:
        dev = as_scale(pick(devices, "scale", p.device))
        reading = await dev.read(timeout=p.timeout_ms / 1000)
        return {"device": dev.info.id, **reading.as_wire()}

    @reg.method("scale.zero")
    async def scale_zero(ctx: CallContext, p: OptionalDeviceParams) -> dict[str, Any]:
        await as_scale(pick(devices, "scale", p.device)).zero()
        return {"ok": True}

    @reg.method("scale.tare")
    async def scale_tare(ctx: CallContext, p: OptionalDeviceParams) -> dict[str, Any]:
        await as_scale(pick(devices, "scale", p.device)).tare()
        return {"ok": True}

    @reg.method("drawer.open")
    async def drawer_open(ctx: CallContext, p: OptionalDeviceParams) -> dict[str, Any]:
        dev = as_drawer(pick(devices, "drawer", p.device))
        await dev.open()
        await store.write(
            lambda tx: tx.append(
                "drawer.opened",
                {
                    "device": dev.info.id,
                    "reason": "no_sale",
                    "operator": ctx.actor,
                    "approver": ctx.approver.id if ctx.approver else None,
                },
            )
        )
        return {"ok": True}

    @reg.method("drawer.status")
    async def drawer_status(ctx: CallContext, p: OptionalDeviceParams) -> dict[str, Any]:
        dev = as_drawer(pick(devices, "drawer", p.device))
        return {"device": dev.info.id, "state": dev.info.state, "open": dev.is_open}

    @reg.method("display.show")
    async def display_show(ctx: CallContext, p: DisplayShowParams) -> dict[str, Any]:
        await as_display(pick(devices, "display", p.device)).show(p.lines)
        return {"ok": True}
