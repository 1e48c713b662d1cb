"""`printer.print` and `printer.status`: jobs go through the persistent print queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatewayd.printing import enqueue, lines_document, validate_document
from protocol.errors import ProtocolError
from protocol.methods import OptionalDeviceParams, PrintJobParams, PrintJobsParams, PrintParams

if TYPE_CHECKING:
    from drivers.manager import DeviceManager
    from gatewayd.printing import PrintQueue
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store


def register(reg: Registry, queue: PrintQueue, devices: DeviceManager, store: Store) -> None:
    @reg.method("printer.print")
    async def printer_print(ctx: CallContext, p: PrintParams) -> dict[str, Any]:
        if (p.lines is None) == (p.receipt is None):
            raise ProtocolError("invalid_params", "give exactly one of lines or receipt")
        printer = p.device or queue.default_printer()
        if printer not in {d.info.id for d in devices.of_kind("printer")}:
            raise ProtocolError("not_found", f"no printer {printer!r}")
        if p.lines is not None:
            document, kind = lines_document(p.lines), "lines"
        else:
            assert p.receipt is not None  # exactly one of them, checked above
            document, kind = p.receipt, "receipt"
        if any(isinstance(item, dict) and item.get("type") == "drawer_kick" for item in document):
            await ctx.require_as("drawer.open")  # the same kick bytes as drawer.open sends
        validate_document(document)  # a bad one is refused here, never queued to fail
        job_id, _ = await store.write(
            lambda tx: enqueue(tx, printer, document, kind=kind,
                               ref=f"manual:{ctx.actor}" if ctx.actor else "manual"))
        queue.wake(printer)
        return {"job_id": job_id}

    @reg.method("printer.jobs")
    async def printer_jobs(ctx: CallContext, p: PrintJobsParams) -> dict[str, Any]:
        states = (p.state,) if p.state else ("queued", "printing", "held")
        return {"jobs": await store.read(lambda snap: queue.jobs(p.device, states, p.limit,
                                                                 snap))}

    @reg.method("printer.job_cancel")
    async def printer_job_cancel(ctx: CallContext, p: PrintJobParams) -> dict[str, Any]:
        return await queue.cancel(p.job_id, ctx.actor)

    @reg.method("printer.status")
    async def printer_status(ctx: CallContext, p: OptionalDeviceParams) -> dict[str, Any]:
        printer = p.device or queue.default_printer()
        try:
            dev = devices.get(printer)
        except KeyError:
            raise ProtocolError("not_found", f"no printer {printer!r}") from None
        return {**dev.info.as_wire(), "device": printer, "jobs": queue.pending(printer)}
