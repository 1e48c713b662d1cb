"""Price labels on the label printer: label.print (gatewayd/sales/price_labels.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.methods import LabelPrintParams

if TYPE_CHECKING:
    from gatewayd.sales.price_labels import LabelService
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, svc: LabelService) -> None:
    @reg.method("label.print")
    async def label_print(ctx: CallContext, p: LabelPrintParams) -> dict[str, Any]:
        return await svc.print(p.skus, p.copies, p.device)
