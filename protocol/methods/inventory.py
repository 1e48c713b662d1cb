"""Inventory and reports (gatewayd/inventory/, gatewayd/reports.py)."""

from __future__ import annotations

from datetime import datetime as _Datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import Fen, NoParams, Params, Result, method

Sku = Annotated[StrictStr, Field(min_length=1, max_length=64)]
StockQty = Annotated[StrictInt, Field(gt=0, le=1_000_000_000,
                                      description="qty units (thousandths; grams for kg)")]
UnitCost = Annotated[StrictInt, Field(ge=0, le=100_000_000,
                                      description="fen per piece or per kg")]
BusinessDay = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}$",
                                         description="business day YYYY-MM-DD, store time")]


class StockSkuParams(Params):
    sku: Sku


class StockMovesParams(Params):
    sku: Sku
    limit: StrictInt = Field(default=100, ge=1, le=1000)
    before: StrictInt | None = Field(default=None,
                                     description="move id: the moves older than it, in journal"
                                                 " order")


class ReceiveLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sku: Sku
    qty: StockQty
    cost: UnitCost


class StockReceiveParams(Params):
    lines: list[ReceiveLine] = Field(min_length=1, max_length=1000)
    supplier: StrictStr | None = Field(default=None, max_length=200)
    ref: StrictStr | None = Field(default=None, max_length=100)
    note: StrictStr | None = Field(default=None, max_length=500)


class CountLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sku: Sku
    counted: StrictInt = Field(ge=0, le=1_000_000_000)


class StockCountParams(Params):
    no: StrictStr | None = Field(default=None, description="the sheet; omitted: a new sheet")
    lines: list[CountLine] = Field(default_factory=list, max_length=5000)
    post: StrictBool = False
    note: StrictStr | None = Field(default=None, max_length=500)


class TransferLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sku: Sku
    qty: StockQty
    cost: UnitCost | None = None


class StockTransferParams(Params):
    direction: Literal["out", "in"]
    peer: StrictStr = Field(min_length=1, max_length=64, pattern=r"\S",
                            description="the other store's id")
    lines: list[TransferLine] = Field(min_length=1, max_length=1000)
    ref: StrictStr | None = Field(default=None, max_length=100)
    note: StrictStr | None = Field(default=None, max_length=500)


class WriteoffLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sku: Sku
    qty: StockQty


class StockWriteoffParams(Params):
    lines: list[WriteoffLine] = Field(min_length=1, max_length=1000)
    reason: StrictStr = Field(min_length=1, max_length=200, pattern=r"\S",
                              description="why (报废: expired, damaged, ...)")
    note: StrictStr | None = Field(default=None, max_length=500)


class StockThresholdParams(Params):
    sku: Sku
    threshold: StrictInt | None = Field(ge=0, le=1_000_000_000)


class StockDocParams(Params):
    no: StrictStr = Field(min_length=1, max_length=64)


class ReportRange(Params):
    from_: BusinessDay | None = Field(default=None, alias="from")
    to: BusinessDay | None = None
    limit: StrictInt = Field(default=1000, ge=1, le=100_000)


class ReportSalesParams(ReportRange):
    by: Literal["hour", "day", "week", "item", "category", "cashier", "member"]


class ReportProfitParams(ReportRange):
    by: Literal["day", "item", "category"] = "day"


class ReportInventoryParams(ReportRange):
    slow_days: StrictInt = Field(default=30, ge=1, le=3650)
    slow_only: StrictBool = False


_STOCK = {"sku": "700001", "name": "红富士苹果", "unit": "kg", "on_hand": 12500, "avg_cost": 820,
          "cost_source": "average", "value": 10250, "threshold": 5000, "low": False,
          "last_move_at": "2024-05-01T02:03:04Z", "last_sale_at": "2024-05-01T02:03:04Z"}
_TS = "<timestamp>"
_DOC = {"no": "S001-T01-RCV-000001", "kind": "receive", "state": "posted", "seq": 812,
        "moves": [{"sku": "700001", "qty": 10000, "on_hand": 22500}]}
_TABLE = "`{name, title, columns: [{key, title, type}], rows: [map], totals: map, from, to, tz}`"
class StoreFigure(Result):
    """The store's stock of the item (every till of it), on a till enrolled at head office."""

    on_hand: StrictInt | None = Field(description="head office's figure plus this till's "
                                      "moves it did not hold yet; nil before the first answer")
    hq_on_hand: StrictInt | None = Field(description="the store's on-hand as head office last "
                                         "said (including this till's moves it held then)")
    own_moves: StrictInt | None = Field(description="this till's moves since then")
    as_of: _Datetime | None = Field(description="when head office said it")
    age_s: StrictInt | float | None = Field(description="how old head office's figure is, s")


class StockItem(Result):
    sku: StrictStr
    name: StrictStr
    unit: Literal["pc", "kg"]
    on_hand: StrictInt = Field(description="qty units; may be negative")
    avg_cost: StrictInt | None = Field(description="fen per piece or per kg")
    cost_source: Literal["average", "catalog"] | None
    value: Fen
    threshold: StrictInt | None
    low: StrictBool
    last_move_at: _Datetime | None
    last_sale_at: _Datetime | None
    store: StoreFigure | None = Field(default=None, description="stock.get on a till enrolled "
                                      "at head office: the store's figure (on_hand is this "
                                      "till's own)")


class StockMove(Result):
    sku: StrictStr
    qty: StrictInt = Field(description="signed")
    on_hand: StrictInt = Field(description="after the move")


class StockPosted(Result):
    """A stock document as its call leaves it: posted (with its journal seq and moves; a
    low-stock crossing is published as `alerts.raised`), or a count sheet saved as a draft
    (no seq or moves)."""

    no: StrictStr = Field(description="{store}-{till}-{RCV|CNT|TRO|TRI|WOF}-{n}")
    kind: Literal["receive", "count", "transfer_out", "transfer_in", "writeoff"]
    state: Literal["draft", "posted"]
    seq: StrictInt | None = Field(default=None, description="posted: the journal seq")
    moves: list[StockMove] | None = Field(default=None, description="posted")
    lines: list[dict[StrictStr, Any]] | None = Field(
        default=None, description="count only: {sku, counted} (posted: with expected and "
        "variance)")


class LowStock(Result):
    items: list[StockItem]


class StockMoveEntry(Result):
    id: StrictInt
    seq: StrictInt
    at: _Datetime
    kind: Literal["sale", "refund", "void", "receive", "count", "transfer_out",
                  "transfer_in", "writeoff"]
    qty: StrictInt
    on_hand: StrictInt
    unit_cost: StrictInt | None
    value: Fen | None
    ref: StrictStr | None
    line_id: StrictStr | None


class StockMoves(Result):
    sku: StrictStr
    moves: list[StockMoveEntry]


class ThresholdSet(Result):
    sku: StrictStr
    threshold: StrictInt | None
    seq: StrictInt


class StockDoc(Result):
    no: StrictStr
    kind: Literal["receive", "count", "transfer_out", "transfer_in", "writeoff"]
    state: Literal["draft", "posted"]
    peer: StrictStr | None
    supplier: StrictStr | None
    reason: StrictStr | None
    ref: StrictStr | None
    note: StrictStr | None
    lines: list[dict[StrictStr, Any]] = Field(description="{sku, qty|counted, cost?, ...}")
    operator: StrictStr | None
    approver: StrictStr | None
    created_at: _Datetime
    updated_at: _Datetime
    posted_at: _Datetime | None


class Column(Result):
    key: StrictStr
    title: StrictStr
    type: StrictStr = Field(description="how to show the values: text, int, fen, qty, ...")


class Table(Result):
    """A report table (`posctl report`, `gatewayd report --format csv|xlsx`)."""

    name: StrictStr
    title: StrictStr
    columns: list[Column]
    rows: list[dict[StrictStr, Any]] = Field(description="one map per row, by column key")
    totals: dict[StrictStr, Any]
    from_: StrictStr = Field(alias="from", description="the first business day, YYYY-MM-DD")
    to: StrictStr
    tz: StrictStr


method(
    "stock.get",
    StockSkuParams,
    "viewer",
    "An item's stock: `on_hand` in the item's qty units (thousandths of a piece, grams for "
    "kg items; may be negative when selling below zero is allowed), `avg_cost` (moving "
    "average, fen per piece/kg; the catalog cost until something is received), `value` "
    "(fen), `threshold`, `low`.",
    errors=("not_found",),
    example={"params": {"sku": "700001"}, "result": _STOCK},
    result=StockItem,
)
method(
    "stock.receive",
    StockReceiveParams,
    "supervisor",
    "Receive goods (purchase-in): `lines` [{sku, qty > 0, cost fen per piece/kg}]. Updates "
    "the moving-average cost, journals one `stock.received` event; the document number is "
    "`{store}-{till}-RCV-{n}`. Any bad line: `invalid_params`, nothing changed.",
    errors=("invalid_params", "conflict"),
    example={"params": {"lines": [{"sku": "700001", "qty": 10000, "cost": 800}],
                        "supplier": "果园"}, "result": _DOC},
    result=StockPosted,
)
method(
    "stock.count",
    StockCountParams,
    "cashier",
    "Stocktake. Without `no`: a new count sheet (`CNT`) with `lines` [{sku, counted}]; with "
    "`no`: add or replace counted quantities on that sheet. `post: true` posts it: variances "
    "against on-hand at that moment become `count` moves (journaled `stock.counted`); needs "
    "a manager (approval action `stock.count.post`). A posted sheet is final: posting or "
    "editing it again is `conflict` and changes nothing.",
    errors=("invalid_params", "not_found", "conflict", "approval_required"),
    example={"params": {"no": "S001-T01-CNT-000001", "post": True},
             "result": {"no": "S001-T01-CNT-000001", "kind": "count", "state": "posted",
                        "lines": [{"sku": "700001", "counted": 12000, "expected": 12500,
                                   "variance": -500}], "seq": 830}},
    result=StockPosted,
)
method(
    "stock.transfer",
    StockTransferParams,
    "supervisor",
    "Transfer `out` to or `in` from another store (`peer`): `lines` [{sku, qty, cost?}]. Out "
    "moves at the average cost; in with `cost` updates the average. Document `TRO`/`TRI`, "
    "journaled `stock.transferred`.",
    errors=("invalid_params", "conflict"),
    example={"params": {"direction": "out", "peer": "S002",
                        "lines": [{"sku": "700001", "qty": 2000}]},
             "result": {"no": "S001-T01-TRO-000001", "kind": "transfer_out", "state": "posted",
                        "seq": 813, "moves": [{"sku": "700001", "qty": -2000,
                                               "on_hand": 20500}]}},
    result=StockPosted,
)
method(
    "stock.writeoff",
    StockWriteoffParams,
    "supervisor",
    "Write off (报废) `lines` [{sku, qty}] with a `reason` (required). Document `WOF`, "
    "journaled `stock.written_off`.",
    errors=("invalid_params", "conflict"),
    example={"params": {"lines": [{"sku": "700001", "qty": 500}], "reason": "过期"},
             "result": {"no": "S001-T01-WOF-000001", "kind": "writeoff", "state": "posted",
                        "seq": 814, "moves": [{"sku": "700001", "qty": -500,
                                               "on_hand": 20000}]}},
    result=StockPosted,
)
method(
    "stock.low",
    NoParams,
    "viewer",
    "Items at or below their low-stock threshold. Crossing a threshold also raises "
    "`alerts.raised {kind: \"low_stock\", sku, on_hand, threshold}` once per crossing.",
    example={"params": {}, "result": {"items": [_STOCK]}},
    result=LowStock,
)
method(
    "stock.moves",
    StockMovesParams,
    "viewer",
    "An item's movement history, newest first in journal order: [{id, at, kind (sale|refund|"
    "void|receive|count|transfer_out|transfer_in|writeoff), qty (signed), on_hand (after), "
    "unit_cost, value, ref (document or sale id), seq}]. Page with `before` = the last id.",
    errors=("not_found",),
    example={"params": {"sku": "700001", "limit": 2},
             "result": {"sku": "700001", "moves": [{"id": 9, "kind": "sale", "qty": -1250,
                                                  "on_hand": 12500, "ref": "…"}]}},
    result=StockMoves,
)
method(
    "stock.threshold",
    StockThresholdParams,
    "supervisor",
    "Set an item's low-stock threshold in its qty units (null clears it).",
    errors=("not_found",),
    example={"params": {"sku": "700001", "threshold": 5000},
             "result": {"sku": "700001", "threshold": 5000, "seq": 840}},
    result=ThresholdSet,
)
method(
    "stock.doc",
    StockDocParams,
    "viewer",
    "A stock document (receive, count sheet, transfer, write-off) by number.",
    errors=("not_found",),
    example={"params": {"no": "S001-T01-RCV-000001"},
             "result": {"no": "S001-T01-RCV-000001", "kind": "receive", "state": "posted",
                        "peer": None, "supplier": "果园", "reason": None, "ref": None,
                        "note": None, "lines": [{"sku": "700001", "qty": 10000, "cost": 800}],
                        "operator": "9001", "approver": None, "created_at": _TS,
                        "updated_at": _TS, "posted_at": _TS}},
    result=StockDoc,
)
method(
    "report.sales",
    ReportSalesParams,
    "supervisor",
    "Completed sales and refunds between business days `from` and `to` (YYYY-MM-DD, "
    "inclusive, store time; default the last 7 days) grouped `by` hour (of the day: peak "
    "hours), day, week (ISO), item, category, cashier or member (member vs non-member). "
    "Money tax-inclusive, refunds subtracted. A table: " + _TABLE + ".",
    errors=("invalid_params",),
    example={"params": {"by": "hour", "from": "2024-05-01", "to": "2024-05-07"},
             "result": {"name": "sales_by_hour", "rows": [{"hour": 9, "sales": 41,
                                                          "amount": 123400}]}},
    result=Table,
)
method(
    "report.profit",
    ReportProfitParams,
    "manager",
    "Gross profit: sales amount minus the cost of the goods at the moving-average cost when "
    "they were sold, `by` day, item or category. A table like `report.sales`.",
    errors=("invalid_params",),
    example={"params": {"by": "item"},
             "result": {"name": "profit_by_item", "rows": [{"sku": "700001", "amount": 5000,
                                                            "cost": 3280, "profit": 1720}]}},
    result=Table,
)
method(
    "report.inventory",
    ReportInventoryParams,
    "supervisor",
    "Per item: on-hand, value at moving-average cost, sold and cost of goods sold between "
    "`from` and `to`, turnover (cost of goods sold / average stock value), days since the "
    "last sale, and `slow` (on hand but unsold for `slow_days`). `slow_only` lists only "
    "the slow movers. A table like `report.sales`.",
    errors=("invalid_params",),
    example={"params": {"slow_only": True},
             "result": {"name": "inventory", "rows": [{"sku": "700001", "on_hand": 12500,
                                                       "value": 10250, "slow": True}]}},
    result=Table,
)

# `posctl report NAME` and `gatewayd report NAME`: the named reports and their calls
REPORTS: dict[str, tuple[str, dict[str, Any]]] = {
    "hourly": ("report.sales", {"by": "hour"}),
    "daily": ("report.sales", {"by": "day"}),
    "weekly": ("report.sales", {"by": "week"}),
    "items": ("report.sales", {"by": "item"}),
    "categories": ("report.sales", {"by": "category"}),
    "cashiers": ("report.sales", {"by": "cashier"}),
    "members": ("report.sales", {"by": "member"}),
    "profit": ("report.profit", {"by": "day"}),
    "profit-items": ("report.profit", {"by": "item"}),
    "profit-categories": ("report.profit", {"by": "category"}),
    "inventory": ("report.inventory", {}),
    "slow": ("report.inventory", {"slow_only": True}),
}




class ChainTransferLine(Result):
    sku: StrictStr
    sent: StrictInt
    received: StrictInt | None = Field(default=None, description="absent until confirmed")
    difference: StrictInt | None = Field(default=None, description="received - sent; absent "
                                         "until confirmed")


class ChainTransfer(Result):
    """A transfer between stores or a delivery, as head office matches it."""

    no: StrictStr = Field(description="the sending document: a till's TRO number, or DLV-...")
    kind: Literal["transfer", "delivery", "purchase"]
    from_store: StrictStr
    to_store: StrictStr
    state: Literal["in_transit", "received"]
    sent_at: _Datetime
    received_no: StrictStr | None = Field(description="the receiving till's TRI document")
    received_till: StrictStr | None
    received_at: _Datetime | None
    confirmations: StrictInt = Field(description="more than 1: confirmed again at the store "
                                     "(the later confirmations are not counted)")
    differences: StrictInt = Field(description="lines whose count differs from what was sent")
    lines: list[ChainTransferLine]


class StockIncoming(Result):
    transfers: list[ChainTransfer] = Field(description="as hq.transfers has them; give `no` as "
                                        "`ref` to stock.transfer in to confirm one")


method(
    "stock.incoming",
    NoParams,
    "viewer",
    "Transfers from other stores and deliveries (配送) on their way to this store, as head "
    "office has them (an enrolled, connected till; a till on its own has none). Confirm one "
    "with `stock.transfer` "
    "{direction: in, peer: from_store, ref: no, lines: what was counted}; head office then "
    "reports the differences (`hq.transfers`). A transfer already confirmed is refused "
    "(`conflict`).",
    errors=("device_offline",),
    example={"params": {}, "result": {"transfers": [{
        "no": "S001-T01-TRO-000001", "kind": "transfer", "from_store": "S001",
        "to_store": "S002", "state": "in_transit", "sent_at": "2026-05-12T08:30:00Z",
        "received_no": None, "received_till": None, "received_at": None, "confirmations": 0,
        "differences": 0, "lines": [{"sku": "700001", "sent": 5000}]}]}},
    result=StockIncoming,
)
