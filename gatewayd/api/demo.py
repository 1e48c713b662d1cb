"""The sim.* methods of `gatewayd demo`: each acts on a simulator's device end; the bytes
then travel the real path (pty -> serial transport -> driver -> bus)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from gatewayd.devices import as_scale
from protocol.errors import ProtocolError
from protocol.methods import (
    NoParams,
    SimDeviceParams,
    SimDrawerParams,
    SimLabelParams,
    SimPrinterParams,
    SimReceiptsParams,
    SimScanParams,
    SimWeighParams,
)

if TYPE_CHECKING:
    from drivers.manager import DeviceManager
    from gatewayd.demo import SimSet
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, sims: SimSet, devices: DeviceManager) -> None:
    def runner(name: str | None, default: str):
        key = name or default
        if key not in sims.runners:
            raise ProtocolError("not_found", f"no simulated device {key!r}; "
                                f"simulated: {', '.join(sims.runners)}")
        return sims.runners[key]

    @reg.method("sim.scan")
    async def sim_scan(ctx: CallContext, p: SimScanParams) -> dict[str, Any]:
        r = runner(p.device, "scanner")
        r.sim.scan(p.data)
        r.poke()
        return {"ok": True}

    @reg.method("sim.weigh")
    async def sim_weigh(ctx: CallContext, p: SimWeighParams) -> dict[str, Any]:
        r = runner(p.device, "scale")
        if p.grams < 0:
            raise ProtocolError("invalid_params", "grams must be >= 0")
        r.sim.set_weight(p.grams, stable=p.stable)
        r.poke()
        # A polled scale sees the new weight at its next poll; answer once the driver has,
        # so a sale.add right after this call weighs what was just put on the scale.
        scale = as_scale(devices.get(p.device or "scale"))
        with trio.move_on_after(2):
            while scale.info.state == "online":
                latest = scale.latest
                if latest and latest.grams == p.grams and latest.stable == p.stable:
                    break
                await trio.sleep(0.02)
        return {"ok": True}

    @reg.method("sim.printer")
    async def sim_printer(ctx: CallContext, p: SimPrinterParams) -> dict[str, Any]:
        r = runner(None, "printer")
        if p.paper is not None:
            r.sim.set_paper(p.paper)
        if p.cover is not None:
            r.sim.set_cover(p.cover == "open")
        r.poke()
        return {"ok": True, **_printer_state(r.sim)}

    @reg.method("sim.drawer")
    async def sim_drawer(ctx: CallContext, p: SimDrawerParams) -> dict[str, Any]:
        r = runner(None, "printer")
        r.sim.set_drawer(p.open)
        r.poke()
        return {"ok": True}

    @reg.method("sim.receipts")
    async def sim_receipts(ctx: CallContext, p: SimReceiptsParams) -> dict[str, Any]:
        sim = runner(None, "printer").sim
        receipts = sim.receipts  # the simulator keeps the last HISTORY of them
        chosen = receipts[-p.last:] if p.last else receipts
        return {"receipts": [{**r.as_dict(), "raw": bytes(r.raw)} for r in chosen],
                "count": sim.receipt_count}

    @reg.method("sim.label")
    async def sim_label(ctx: CallContext, p: SimLabelParams) -> dict[str, Any]:
        r = runner(None, "label")
        if p.paper is not None:
            r.sim.set_paper(p.paper == "ok")
        if p.head is not None:
            r.sim.set_head(p.head == "open")
        r.poke()
        return {"ok": True, "paper": r.sim.paper, "head_open": r.sim.head_open}

    @reg.method("sim.labels")
    async def sim_labels(ctx: CallContext, p: SimReceiptsParams) -> dict[str, Any]:
        sim = runner(None, "label").sim
        chosen = sim.labels[-p.last:] if p.last else sim.labels
        return {"labels": [{"size": lb["size"], "lines": lb["lines"]} for lb in chosen],
                "count": sim.label_count}

    @reg.method("sim.display")
    async def sim_display(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"lines": runner(None, "display").sim.lines()}

    @reg.method("sim.unplug")
    async def sim_unplug(ctx: CallContext, p: SimDeviceParams) -> dict[str, Any]:
        runner(p.device, p.device).unplug()
        return {"ok": True}

    @reg.method("sim.plug")
    async def sim_plug(ctx: CallContext, p: SimDeviceParams) -> dict[str, Any]:
        runner(p.device, p.device).plug()
        return {"ok": True}


def _printer_state(sim: Any) -> dict[str, Any]:
    snap = sim.snapshot()
    return {k: snap[k] for k in ("paper", "cover_open") if k in snap}
