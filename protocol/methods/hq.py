"""Head office's methods on `gatewayd.v1` (DESIGN §8, contract names), served by
`gatewayd hq serve` at /ws to HQ clients (gatewayd/hq/methods.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, Result, method

Day = Annotated[StrictStr, Field(pattern=r"^\d{8}$", description="business day YYYYMMDD")]
Name = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class HqSalesParams(Params):
    store: Name | None = None
    till: Name | None = None
    day: Day | None = None
    limit: StrictInt = Field(default=100, ge=1, le=1000)
    offset: StrictInt = Field(default=0, ge=0)


class HqSaleGetParams(Params):
    receipt_no: Name


class HqDayParams(Params):
    store: Name
    day: Day


class HqTillParams(Params):
    store: Name
    till: Name


class HqTill(Result):
    store: StrictStr
    till: StrictStr
    epoch: StrictStr | None = Field(description="the latest epoch it spoke under; nil before "
                                    "its first hello")
    online: StrictBool
    acked_seq: StrictInt
    head_seq: StrictInt
    lag_events: StrictInt
    lag_s: StrictFloat | StrictInt
    last_contact: datetime | None
    master_version: StrictInt
    revoked: StrictBool
    enrolled: StrictBool = Field(description="a credential was proven by a hello")


class HqTills(Result):
    tills: list[HqTill]


class HqTillAdded(Result):
    store: StrictStr
    till: StrictStr
    code: StrictStr = Field(description="the one-time enrollment code")


class HqTillRevoked(Result):
    store: StrictStr
    till: StrictStr
    revoked: Literal[True]


class HqSaleRow(Result):
    store: StrictStr
    till: StrictStr
    epoch: StrictStr
    seq: StrictInt = Field(description="the till's journal seq of the completing event")
    sale_id: StrictStr
    kind: Literal["sale", "refund"]
    receipt_no: StrictStr
    business_day: StrictStr
    total: StrictInt = Field(description="fen; negative for a refund's money out")
    rounding: StrictInt
    operator: StrictStr | None
    at: datetime


class HqSales(Result):
    sales: list[HqSaleRow]
    count: StrictInt = Field(description="all that match, whatever limit and offset")


class HqLine(Result):
    line_id: StrictStr
    sku: StrictStr
    qty: StrictInt
    amount: StrictInt


class HqTender(Result):
    method: StrictStr
    amount: StrictInt
    ref: StrictStr | None = None


class HqSale(HqSaleRow):
    subtotal: StrictInt
    discount: StrictInt
    tax: StrictInt
    paid: StrictInt
    change: StrictInt
    refund_of: StrictStr | None
    shift_id: StrictStr | None
    lines: list[HqLine]
    tenders: list[HqTender]


class HqDayTill(Result):
    till: StrictStr
    closed: StrictBool
    closes: StrictInt
    z_net: StrictInt | None = Field(description="the last Z report's net; nil until closed")
    hq_net: StrictInt = Field(description="HQ's net from the replicated sales and refunds")
    matches: StrictBool
    sales: StrictInt
    refunds: StrictInt


class HqDay(Result):
    store: StrictStr
    day: StrictStr
    complete: StrictBool
    net: StrictInt
    tills: list[HqDayTill]


method(
    "hq.tills",
    NoParams,
    "viewer",
    "Every enrolled till with its replication state: `epoch` (the latest it spoke under), "
    "`online` (a link to some HQ process within the last minute), `acked_seq` (HQ holds the "
    "till's journal up to it), `head_seq` (the till's journal head as last reported), "
    "`lag_events`, `lag_s` (an upper bound: seconds since the till committed the last event "
    "HQ holds, while events are outstanding), `last_contact`, `master_version`, `revoked`.",
    example={"params": {}, "result": {"tills": [{
        "store": "S001", "till": "T01", "epoch": "5c1e0f3d9b2a4e7f8a6b1c2d3e4f5a6b",
        "online": True, "acked_seq": 1200, "head_seq": 1200, "lag_events": 0, "lag_s": 0,
        "last_contact": "2026-05-12T08:30:00Z", "master_version": 0, "revoked": False}]}},
    result=HqTills,
)
method(
    "hq.till.add",
    HqTillParams,
    "admin",
    "Register a till (if new) and make a one-time enrollment code for "
    "`gatewayd hq enroll URL CODE` on that till (valid 72 hours; a failed enrollment does not "
    "use it up).",
    example={"params": {"store": "S002", "till": "T01"},
             "result": {"store": "S002", "till": "T01", "code": "K7QM-3HWT-PX9C"}},
    result=HqTillAdded,
)
method(
    "hq.till.revoke",
    HqTillParams,
    "admin",
    "Revoke a till's credential: its next push or hello is refused at once. `till add` "
    "makes a new code to enroll it again.",
    errors=("not_found",),
    example={"params": {"store": "S002", "till": "T01"},
             "result": {"store": "S002", "till": "T01", "revoked": True}},
    result=HqTillRevoked,
)
method(
    "hq.sales",
    HqSalesParams,
    "viewer",
    "Completed sales and refunds held at head office, newest first, filtered by store, till "
    "and business day. `seq` is the till's journal seq of the completing event.",
    example={"params": {"store": "S001", "day": "20260512"}, "result": {"sales": [{
        "store": "S001", "till": "T01", "epoch": "5c1e0f3d9b2a4e7f8a6b1c2d3e4f5a6b",
        "seq": 57, "sale_id": "0b9d6a52-8f4e-4d7c-9a1e-2f3b4c5d6e7f", "kind": "sale",
        "receipt_no": "S001-T01-20260512-0007", "business_day": "20260512", "total": 1250,
        "rounding": 0, "operator": "1001", "at": "2026-05-12T08:30:00Z"}], "count": 1}},
    result=HqSales,
)
method(
    "hq.sale.get",
    HqSaleGetParams,
    "viewer",
    "One sale or refund by receipt number, with its lines and tenders (the latest when a "
    "restored till reused the number).",
    errors=("not_found",),
    example={"params": {"receipt_no": "S001-T01-20260512-0007"}, "result": {
        "store": "S001", "till": "T01", "epoch": "5c1e0f3d9b2a4e7f8a6b1c2d3e4f5a6b", "seq": 57,
        "sale_id": "0b9d6a52-8f4e-4d7c-9a1e-2f3b4c5d6e7f", "kind": "sale",
        "receipt_no": "S001-T01-20260512-0007", "business_day": "20260512", "total": 1250,
        "rounding": 0, "operator": "1001", "at": "2026-05-12T08:30:00Z", "subtotal": 1250,
        "discount": 0, "tax": 144, "paid": 2000, "change": 750, "refund_of": None,
        "shift_id": None,
        "lines": [{"line_id": "a1", "sku": "6901234567892", "qty": 1000, "amount": 1250}],
        "tenders": [{"method": "cash", "amount": 2000}]}},
    result=HqSale,
)
method(
    "hq.day",
    HqDayParams,
    "viewer",
    "Is a store's business day complete at head office: per enrolled till, whether it closed "
    "the day (and how often, after reopens), whether HQ holds its journal through that close, "
    "its Z report's net and HQ's own net from the replicated sales. `complete` is true when "
    "every till closed the day and HQ's figures equal the Z reports.",
    example={"params": {"store": "S001", "day": "20260512"}, "result": {
        "store": "S001", "day": "20260512", "complete": True, "net": 98000, "tills": [{
            "till": "T01", "closed": True, "closes": 1, "z_net": 98000, "hq_net": 98000,
            "matches": True, "sales": 41, "refunds": 1}]}},
    result=HqDay,
)
