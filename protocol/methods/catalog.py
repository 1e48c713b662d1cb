"""The catalogue: lookup and upsert."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from protocol.methods.base import Fen, Params, Qty, Result, method


class CatalogLookupParams(Params):
    barcode: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    query: StrictStr | None = Field(default=None, min_length=1, max_length=100)
    sku: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    limit: StrictInt = Field(default=20, ge=1, le=200, description="for `query`")
    include_inactive: StrictBool = Field(default=False, description="for `query`")

    @model_validator(mode="after")
    def _one_key(self) -> CatalogLookupParams:
        given = [k for k in ("barcode", "query", "sku") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of barcode, query and sku")
        return self


class CatalogListParams(Params):
    after: StrictStr | None = Field(default=None, max_length=64,
                                    description="the last sku of the previous page")
    limit: StrictInt = Field(default=1000, ge=1, le=5000)
    skus: list[StrictStr] | None = Field(default=None, min_length=1, max_length=1000,
                                         description="only these items (`after` ignored)")


class CatalogUpsertParams(Params):
    items: list[dict[str, Any]] = Field(min_length=1, max_length=5000)
    source: StrictStr = Field(default="api", min_length=1, max_length=40)


_ITEM = {
    "sku": "700001",
    "name": "红富士苹果",
    "unit": "kg",
    "price": 1280,
    "member_price": 1180,
    "tax_rate_bp": 900,
    "category": "水果",
    "active": True,
    "plu": "1001",
    "barcodes": [],
    "image": None,
}
class Item(Result):
    """A catalogue item as the protocol carries it (its cost is back-office data: left out)."""

    sku: StrictStr
    name: StrictStr
    unit: Literal["pc", "kg"]
    price: Fen = Field(description="per piece or per kg")
    member_price: Fen | None
    tax_rate_bp: StrictInt
    category: StrictStr | None
    active: StrictBool = Field(description="false: not for sale")
    plu: StrictStr | None
    barcodes: list[StrictStr]
    image: StrictStr | None


class ListedItem(Item):
    cost: Fen | None = Field(description="the catalog cost, fen per piece or per kg")


class CatalogList(Result):
    items: list[ListedItem]
    next: StrictStr | None = Field(description="`after` for the next page; nil: the last page")


class CatalogLookupResult(Result):
    """`query`: `items` only. `barcode` or `sku`: `item`, `source` and the overrides."""

    items: list[Item] | None = Field(default=None, description="`query` only")
    item: Item | None = Field(default=None, description="`barcode` or `sku`")
    source: Literal["barcode", "scale_label", "plu", "sku"] | None = Field(
        default=None, description="how the barcode was understood")
    qty_override: Qty | None = Field(default=None, description="grams from a weight label")
    price_override: Fen | None = Field(default=None,
                                       description="the pack's price from a price label")


class BarcodeMoved(Result):
    model_config = ConfigDict(populate_by_name=True)
    code: StrictStr
    from_: StrictStr = Field(alias="from", description="the sku it was on")
    to: StrictStr


class CatalogUpsertResult(Result):
    count: StrictInt
    inserted: StrictInt
    updated: StrictInt
    barcodes_moved: StrictInt
    moved: list[BarcodeMoved] = Field(description="the first barcodes moved between items")
    source: StrictStr
    seq: StrictInt = Field(description="the journal seq of `catalog.upserted`")


method(
    "catalog.lookup",
    CatalogLookupParams,
    "viewer",
    "Find items. `barcode`: exact barcode, else an in-store scale label (EAN-13 prefix 20-29, "
    "layouts from `[sale] scale_layouts`), else a PLU, else a sku; the result says which "
    "(`source`) and carries the label's grams (`qty_override`) or price in fen "
    "(`price_override`). `sku`: that item. `query`: up to `limit` active items by sku or "
    "barcode prefix, pinyin initials (`hfsp` finds 红富士苹果) or name substring, as `items`. "
    "Inactive items are returned with `active: false` (not for sale).",
    errors=("not_found", "invalid_params"),
    example={
        "params": {"barcode": "2101001012509"},
        "result": {"item": _ITEM, "source": "scale_label", "qty_override": 1250,
                   "price_override": None},
    },
    result=CatalogLookupResult,
)
method(
    "catalog.list",
    CatalogListParams,
    "supervisor",
    "Every item, inactive ones too, in sku order, a page of `limit` after the sku `after`, "
    "with its `cost` (back-office data): the back office's catalog export and its edit form "
    "(an upsert replaces the cost, so the form sends it back); `skus`: only those items. "
    "`next` is the next page's `after`.",
    example={"params": {"limit": 1},
             "result": {"items": [{**_ITEM, "cost": 820}], "next": "700001"}},
    result=CatalogList,
)
method(
    "catalog.upsert",
    CatalogUpsertParams,
    "manager",
    "Insert or replace items, all rows or none. Each item: `sku`, `name`, `price` (int fen, "
    "at most 100000000), optional `unit` (pc|kg), `member_price`, `cost` (fen), "
    "`tax_rate_bp` (0..10000), `category`, `active`, `plu` (1-8 digits), `image`, and "
    "`barcodes` (EAN/UPC check digits verified; omitted keeps the item's barcodes, a list "
    "replaces them and moves a barcode from any other item). Bad rows: `invalid_params` with "
    "`details.errors` = [{row, sku, field, error}] (row = index in `items`). Journals the "
    "items (`catalog.items`, 500 an event) and one `catalog.upserted` event, and publishes "
    "`catalog.updated {count}`. More than 2,000 items are staged beside the catalog in short "
    "transactions and switched in by one, like `gatewayd catalog import`: sales go on "
    "meanwhile, readers see the old catalog or the new one.",
    errors=("invalid_params",),
    example={
        "params": {"items": [_ITEM]},
        "result": {"count": 1, "inserted": 1, "updated": 0, "barcodes_moved": 0, "moved": [],
                   "source": "api", "seq": 812},
    },
    result=CatalogUpsertResult,
)


