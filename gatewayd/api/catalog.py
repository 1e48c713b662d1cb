"""``catalog.lookup`` (viewer), ``catalog.list`` (supervisor) and ``catalog.upsert`` (manager):
the catalog domain is gatewayd/sales/catalog/."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gatewayd.sales.catalog.repository import upsert_items
from gatewayd.sales.catalog.validation import CatalogError
from protocol.errors import ProtocolError
from protocol.methods import CatalogListParams, CatalogLookupParams, CatalogUpsertParams

if TYPE_CHECKING:
    from gatewayd.sales.catalog.repository import Catalog
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store


def register(reg: Registry, catalog: Catalog, store: Store,
             publish: Callable[[str, dict[str, Any]], None],
             guard_local: Callable[[str, str], None]) -> None:
    @reg.method("catalog.lookup")
    async def catalog_lookup(ctx: CallContext, p: CatalogLookupParams) -> dict[str, Any]:
        if p.query is not None:
            items = catalog.search(p.query, p.limit, p.include_inactive)
            return {"items": [it.as_wire() for it in items]}
        if p.sku is not None:
            item = catalog.get(p.sku)
            if item is None:
                raise ProtocolError("not_found", f"no item with sku {p.sku!r}")
            return {"item": item.as_wire(), "source": "sku", "qty_override": None,
                    "price_override": None}
        assert p.barcode is not None  # CatalogLookupParams: exactly one of barcode, query, sku
        match = catalog.lookup(p.barcode)
        if match is None:
            raise ProtocolError("not_found", f"unknown barcode {p.barcode!r}",
                                {"barcode": p.barcode})
        return {
            "item": match.item.as_wire(),
            "source": match.source,
            "qty_override": match.qty_override,
            "price_override": match.price_override,
        }

    @reg.method("catalog.list")
    async def catalog_list(ctx: CallContext, p: CatalogListParams) -> dict[str, Any]:
        items = catalog.by_skus(p.skus) if p.skus else catalog.page(p.after, p.limit)
        more = not p.skus and len(items) == p.limit
        return {"items": [{**it.as_wire(), "cost": it.cost} for it in items],
                "next": items[-1].sku if more else None}

    @reg.method("catalog.upsert")
    async def catalog_upsert(ctx: CallContext, p: CatalogUpsertParams) -> dict[str, Any]:
        guard_local("item", "the items")  # head office's, once it sent them
        try:
            report = await upsert_items(store, p.items, p.source)
        except CatalogError as err:
            raise ProtocolError("invalid_params", str(err),
                                {"errors": err.errors, "error_count": err.count}) from None
        publish("catalog.updated", {"count": report["count"]})
        return report
