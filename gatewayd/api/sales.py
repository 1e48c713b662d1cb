"""The sale's methods: sale.*, receipt.reprint, promo.*, voucher.issue and payment.sim, each
a call on the SaleService (gatewayd/sales/service.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gatewayd.sales.config import tenders_taken
from gatewayd.sales.payments import SimulatedProvider
from protocol.errors import ProtocolError
from protocol.methods import (
    NoParams,
    PaymentSimParams,
    PromoUpsertParams,
    ReprintParams,
    SaleAddParams,
    SaleDiscountParams,
    SaleGetParams,
    SaleIdParams,
    SaleLineParams,
    SaleListParams,
    SalePriceParams,
    SaleSetQtyParams,
    SaleTenderParams,
    SaleVoidParams,
    VoucherIssueParams,
)

if TYPE_CHECKING:
    from gatewayd.replication.central import CentralSettings
    from gatewayd.sales.service import SaleService
    from gatewayd.server.registry import CallContext, Registry


def approver_of(ctx: CallContext) -> str | None:
    return ctx.approver.id if ctx.approver else None


def register(reg: Registry, svc: SaleService, guard_local: Callable[[str, str], None],
             central: CentralSettings) -> None:
    @reg.method("sale.current")
    async def sale_current(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return svc.current()

    @reg.method("sale.tenders")
    async def sale_tenders(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        # svc.cfg is central's [sale]: what sale.tender checks, read at each call
        return {"tenders": tenders_taken(svc.cfg), "source": central.source("payment", "tenders")}

    @reg.method("sale.add")
    async def sale_add(ctx: CallContext, p: SaleAddParams) -> dict[str, Any]:
        return await svc.add(ctx.actor, barcode=p.barcode, sku=p.sku, plu=p.plu, qty=p.qty)

    @reg.method("sale.set_qty")
    async def sale_set_qty(ctx: CallContext, p: SaleSetQtyParams) -> dict[str, Any]:
        return await svc.set_qty(ctx.actor, p.line_id, p.qty)

    @reg.method("sale.void_line")
    async def sale_void_line(ctx: CallContext, p: SaleLineParams) -> dict[str, Any]:
        return await svc.void_line(ctx.actor, p.line_id)

    @reg.method("sale.discount")
    async def sale_discount(ctx: CallContext, p: SaleDiscountParams) -> dict[str, Any]:
        if (p.percent is None) == (p.amount is None):
            raise ProtocolError("invalid_params",
                                "give exactly one of percent (basis points) and amount")
        if svc.discount_needs_approval(line_id=p.line_id, percent_bp=p.percent,
                                       amount=p.amount):
            await ctx.require("supervisor", "sale.discount")
        return await svc.discount(ctx.actor, line_id=p.line_id, percent_bp=p.percent,
                                  amount=p.amount, reason=p.reason, approver=approver_of(ctx))

    @reg.method("sale.price")
    async def sale_price(ctx: CallContext, p: SalePriceParams) -> dict[str, Any]:
        return await svc.set_price(ctx.actor, p.line_id, p.unit_price, approver_of(ctx))

    @reg.method("sale.tender")
    async def sale_tender(ctx: CallContext, p: SaleTenderParams) -> dict[str, Any]:
        return await svc.tender(ctx.actor, p.method, p.amount, p.code, p.ref)

    @reg.method("sale.suspend")
    async def sale_suspend(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return await svc.suspend(ctx.actor)

    @reg.method("sale.resume")
    async def sale_resume(ctx: CallContext, p: SaleIdParams) -> dict[str, Any]:
        return await svc.resume(ctx.actor, p.id)

    @reg.method("sale.suspended")
    async def sale_suspended(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"sales": svc.suspended()}

    @reg.method("sale.void")
    async def sale_void(ctx: CallContext, p: SaleVoidParams) -> dict[str, Any]:
        return await svc.void(ctx.actor, p.reason, approver_of(ctx))

    @reg.method("sale.get")
    async def sale_get(ctx: CallContext, p: SaleGetParams) -> dict[str, Any]:
        if (p.receipt_no is None) == (p.id is None):
            raise ProtocolError("invalid_params", "give exactly one of receipt_no and id")
        wire = (svc.by_receipt(p.receipt_no) if p.receipt_no is not None
                else svc.get_wire(p.id) if p.id is not None else None)
        if wire is None:
            raise ProtocolError("not_found", f"no sale {p.receipt_no or p.id}")
        return wire

    @reg.method("sale.list")
    async def sale_list(ctx: CallContext, p: SaleListParams) -> dict[str, Any]:
        day = p.day or datetime.now(svc.tz).strftime("%Y%m%d")
        return await svc.store.read(lambda snap: svc.list_day(day, p.limit, p.offset, snap))

    @reg.method("receipt.reprint")
    async def receipt_reprint(ctx: CallContext, p: ReprintParams) -> dict[str, Any]:
        return await svc.reprint(ctx.actor, p.receipt_no)

    @reg.method("promo.upsert")
    async def promo_upsert(ctx: CallContext, p: PromoUpsertParams) -> dict[str, Any]:
        guard_local("promo", "the promotions")  # head office's, once it sent them
        return await svc.upsert_promotions(ctx.actor, p.promotions)

    @reg.method("promo.list")
    async def promo_list(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"promotions": svc.list_promotions()}

    @reg.method("voucher.issue")
    async def voucher_issue(ctx: CallContext, p: VoucherIssueParams) -> dict[str, Any]:
        return await svc.issue_voucher(ctx.actor, p.code, p.amount)

    @reg.method("payment.sim")
    async def payment_sim(ctx: CallContext, p: PaymentSimParams) -> dict[str, Any]:
        sim = svc.provider
        if not isinstance(sim, SimulatedProvider):
            raise ProtocolError("not_found", "the payment provider is not the simulator")
        if p.outcome is not None or p.polls is not None:
            sim.set(p.outcome, p.polls)
        if p.script:
            sim.script(*p.script)
        return {"outcome": sim.outcome, "polls": sim.polls, "charged": sim.charged(),
                "operations": len(sim.ledger)}
