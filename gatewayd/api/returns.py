"""Refunds and exchanges: sale.refund, sale.refundable, sale.refund_mode
(gatewayd/sales/returns.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import ProtocolError
from protocol.methods import ReceiptNoParams, RefundModeParams, SaleRefundParams

if TYPE_CHECKING:
    from gatewayd.sales.returns import ReturnsService
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, svc: ReturnsService) -> None:
    @reg.method("sale.refund")
    async def sale_refund(ctx: CallContext, p: SaleRefundParams) -> dict[str, Any]:
        if p.no_receipt and p.post_void:
            raise ProtocolError("invalid_params", "no_receipt and post_void do not go together")
        if p.no_receipt and p.receipt_no is not None:
            raise ProtocolError("invalid_params", "no_receipt: leave out receipt_no")
        if p.no_receipt and p.exchange:
            raise ProtocolError("invalid_params", "an exchange needs the receipt")
        lines = None
        if p.lines is not None:
            lines = [x.model_dump() for x in p.lines]
            if p.no_receipt:
                if any(x["sku"] is None for x in lines):
                    raise ProtocolError("invalid_params",
                                        "without a receipt each line names a sku")
            elif any(x["line_id"] is None for x in lines):
                raise ProtocolError("invalid_params",
                                    "each line names the line_id of the receipt")
        if p.no_receipt:
            await ctx.require("manager", "sale.refund.no_receipt")
        if p.post_void:
            await ctx.require("manager", "sale.post_void")
        approver = ctx.approver.id if ctx.approver else None
        return await svc.refund(ctx.actor, receipt_no=p.receipt_no, lines=lines,
                                exchange=p.exchange, no_receipt=p.no_receipt,
                                post_void=p.post_void, approver=approver)

    @reg.method("sale.refundable")
    async def sale_refundable(ctx: CallContext, p: ReceiptNoParams) -> dict[str, Any]:
        return svc.refundable(p.receipt_no)

    @reg.method("sale.refund_mode")
    async def sale_refund_mode(ctx: CallContext, p: RefundModeParams) -> dict[str, Any]:
        if p.enabled and p.whole:  # the next receipt scanned is refunded: a sale.refund
            await ctx.require_as("sale.refund")
        approver = ctx.approver.id if ctx.approver else None
        return svc.set_mode(p.enabled, p.whole, ctx.actor, approver)
