"""Stock methods: stock.get|low|moves|doc|threshold and the documents stock.receive|
transfer|writeoff|count (gatewayd/inventory/service.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import ProtocolError
from protocol.methods import (
    NoParams,
    StockCountParams,
    StockDocParams,
    StockMovesParams,
    StockReceiveParams,
    StockSkuParams,
    StockThresholdParams,
    StockTransferParams,
    StockWriteoffParams,
)

if TYPE_CHECKING:
    from gatewayd.inventory.service import InventoryService
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, inv: InventoryService) -> None:
    def need_item(sku: str) -> dict[str, Any]:
        row = inv.stock_row(sku)
        if row is None:
            raise ProtocolError("not_found", f"no item with sku {sku!r}", {"sku": sku})
        return row

    def dump(lines: list[Any]) -> list[dict[str, Any]]:
        return [ln.model_dump(exclude_none=True) for ln in lines]

    @reg.method("stock.get")
    async def stock_get(ctx: CallContext, p: StockSkuParams) -> dict[str, Any]:
        item = need_item(p.sku)
        store = await inv.store_view(p.sku)
        if store is not None:
            item["store"] = store
        return item

    @reg.method("stock.incoming")
    async def stock_incoming(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"transfers": await inv.incoming()}

    @reg.method("stock.low")
    async def stock_low(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {"items": await inv.store.read(inv.low)}

    @reg.method("stock.moves")
    async def stock_moves(ctx: CallContext, p: StockMovesParams) -> dict[str, Any]:
        need_item(p.sku)
        moves = await inv.store.read(lambda snap: inv.moves(p.sku, p.limit, p.before, snap))
        return {"sku": p.sku, "moves": moves}

    @reg.method("stock.doc")
    async def stock_doc(ctx: CallContext, p: StockDocParams) -> dict[str, Any]:
        doc = inv.doc(p.no)
        if doc is None:
            raise ProtocolError("not_found", f"no stock document {p.no}", {"no": p.no})
        return doc

    @reg.method("stock.threshold")
    async def stock_threshold(ctx: CallContext, p: StockThresholdParams) -> dict[str, Any]:
        need_item(p.sku)
        return await inv.write(lambda tx: inv.threshold(tx, p.sku, p.threshold))

    @reg.method("stock.receive")
    async def stock_receive(ctx: CallContext, p: StockReceiveParams) -> dict[str, Any]:
        lines = dump(p.lines)
        if p.ref:  # against a purchase order of head office's, when it is one
            await inv.check_receipt(p.ref, "receive")
        return await inv.write(lambda tx: inv.receive(
            tx, lines, supplier=p.supplier, ref=p.ref, note=p.note, operator=ctx.actor))

    @reg.method("stock.transfer")
    async def stock_transfer(ctx: CallContext, p: StockTransferParams) -> dict[str, Any]:
        lines = dump(p.lines)
        if p.direction == "in" and p.ref:
            await inv.check_receipt(p.ref, "transfer_in")
        return await inv.write(lambda tx: inv.transfer(
            tx, p.direction, p.peer.strip(), lines, ref=p.ref, note=p.note,
            operator=ctx.actor))

    @reg.method("stock.writeoff")
    async def stock_writeoff(ctx: CallContext, p: StockWriteoffParams) -> dict[str, Any]:
        lines = dump(p.lines)
        return await inv.write(lambda tx: inv.writeoff(
            tx, lines, p.reason.strip(), note=p.note, operator=ctx.actor))

    @reg.method("stock.count")
    async def stock_count(ctx: CallContext, p: StockCountParams) -> dict[str, Any]:
        lines = dump(p.lines)
        if p.post:
            if p.no is not None:  # a clear answer before asking for approval
                doc = inv.doc(p.no)
                if doc is None or doc["kind"] != "count":
                    raise ProtocolError("not_found", f"no count sheet {p.no}", {"no": p.no})
                if doc["state"] == "posted":
                    raise ProtocolError("conflict", f"count sheet {p.no} is already posted; "
                                        "nothing was changed", {"no": p.no, "state": "posted"})
            await ctx.require("manager", "stock.count.post")
        store = None
        if p.post:  # the store's figures, on an enrolled till: the count is the store's
            draft = inv.doc(p.no) if p.no is not None else None
            skus = {ln["sku"] for ln in lines} | {ln["sku"] for ln in (draft or {}).get(
                "lines", [])}
            store = await inv.store_figures(sorted(skus))
        approver = ctx.approver.id if ctx.approver else ctx.actor
        return await inv.write(lambda tx: inv.count(
            tx, p.no, lines, post=p.post, note=p.note, operator=ctx.actor,
            approver=approver if p.post else None, store=store))
