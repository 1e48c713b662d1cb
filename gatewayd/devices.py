"""Protocol methods over the device manager: list, scale, drawer, display.
(Printing goes through the persistent queue in gatewayd/printing.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers.base import Device
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.app import App
    from gatewayd.server.registry import CallContext


def pick(app: App, kind: str, device_id: str | None) -> Device:
    """The named device, or the first one of that kind."""
    if device_id is not None:
        try:
            dev = app.devices.get(device_id)
        except KeyError:
            raise ProtocolError("not_found", f"no device {device_id!r}") from None
        if dev.info.kind != kind:
            raise ProtocolError("invalid_params", f"{device_id} is a {dev.info.kind}, not a {kind}")
        return dev
    found = app.devices.of_kind(kind)
    if not found:
        raise ProtocolError("not_found", f"no {kind} is configured")
    return found[0]


def bind(app: App) -> None:
    reg = app.registry

    @reg.method("devices.list")
    async def devices_list(ctx: CallContext, p) -> dict[str, Any]:
        return {"devices": app.devices.list()}

    @reg.method("devices.get")
    async def devices_get(ctx: CallContext, p) -> dict[str, Any]:
        try:
            return app.devices.get(p.id).info.as_wire()
        except KeyError:
            raise ProtocolError("not_found", f"no device {p.id!r}") from None

    @reg.method("scale.read")
    async def scale_read(ctx: CallContext, p) -> dict[str, Any]:
        dev = pick(app, "scale", p.device)
        reading = await dev.read(timeout=p.timeout_ms / 1000)
        return {"device": dev.info.id, **reading.as_wire()}

    @reg.method("scale.zero")
    async def scale_zero(ctx: CallContext, p) -> dict[str, Any]:
        await pick(app, "scale", p.device).zero()
        return {"ok": True}

    @reg.method("scale.tare")
    async def scale_tare(ctx: CallContext, p) -> dict[str, Any]:
        await pick(app, "scale", p.device).tare()
        return {"ok": True}

    @reg.method("drawer.open")
    async def drawer_open(ctx: CallContext, p) -> dict[str, Any]:
        dev = pick(app, "drawer", p.device)
        await dev.open()
        await app.store.write(
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
    async def drawer_status(ctx: CallContext, p) -> dict[str, Any]:
        dev = pick(app, "drawer", p.device)
        return {"device": dev.info.id, "state": dev.info.state, "open": dev.is_open}

    @reg.method("display.show")
    async def display_show(ctx: CallContext, p) -> dict[str, Any]:
        await pick(app, "display", p.device).show(p.lines)
        return {"ok": True}
