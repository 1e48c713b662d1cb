"""The method catalogue: for each method its params model, minimum role and documentation.

This is the contract the server binds handlers to and docs/protocol.md is generated from.
Params models are strict: a string where an integer belongs is `invalid_params`, never coerced.
Money is integer fen, quantities integer thousandths (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from protocol.roles import Role

Fen = Annotated[StrictInt, Field(description="money in fen (0.01 CNY)")]
Qty = Annotated[StrictInt, Field(description="thousandths of the item's unit (grams for kg items)")]


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    operator: StrictStr
    pin: StrictStr


class Params(BaseModel):
    """Base of every params model: strict, no unknown keys, optional manager approval."""

    model_config = ConfigDict(extra="forbid", strict=True)
    approve: Approve | None = None


class NoParams(Params):
    pass


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: type[Params]
    role: Role
    summary: str
    errors: tuple[str, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)  # {"params": ..., "result": ...}
    needs_operator: bool = False  # a cashier must be logged in (auth.login) on this connection
    demo_only: bool = False
    token_optional: bool = False  # may be called by a pairing client before it has a token


SPECS: dict[str, MethodSpec] = {}


def method(name: str, params: type[Params], role: Role, summary: str, **kw: Any) -> MethodSpec:
    spec = MethodSpec(name, params, role, summary, **kw)
    SPECS[name] = spec
    return spec


# -- session -------------------------------------------------------------------------------
class SubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)
    since: StrictInt | None = None


class UnsubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)


method(
    "subscribe",
    SubscribeParams,
    "viewer",
    "Receive events whose topic's first segment is one of `topics` (`*` for all). With "
    "`since`, first replays buffered events after that seq; `gap` is true when some were "
    "already gone from the buffer.",
    example={
        "params": {"topics": ["sale", "devices"], "since": 41},
        "result": {"topics": ["devices", "sale"], "seq": 57, "replayed": 16, "gap": False},
    },
)
method(
    "unsubscribe",
    UnsubscribeParams,
    "viewer",
    "Stop receiving the named topics.",
    example={"params": {"topics": ["scale"]}, "result": {"topics": ["sale"]}},
)
method(
    "system.info",
    NoParams,
    "viewer",
    "Daemon name, version, protocol, till identity, uptime and current event seq.",
    example={
        "params": {},
        "result": {
            "name": "gatewayd",
            "version": "0.1.0",
            "protocol": 1,
            "till": {"store": "S001", "till": "T01"},
            "seq": 57,
            "uptime_s": 3600,
        },
    },
)
method(
    "system.health",
    NoParams,
    "viewer",
    "Overall status (`ok` or `degraded`) with the store and every device's state.",
    example={
        "params": {},
        "result": {"status": "ok", "store": {"ok": True, "journal_seq": 1200}, "devices": {}},
    },
)


# -- auth ------------------------------------------------------------------------------------
class LoginParams(Params):
    operator: StrictStr
    pin: StrictStr


class OperatorListParams(Params):
    include_inactive: StrictBool = False


class PairStatusParams(Params):
    request_id: StrictStr


class PairRequestParams(Params):
    name: StrictStr | None = None


method(
    "auth.login",
    LoginParams,
    "viewer",
    "Log an operator in on this connection. Five wrong PINs lock the operator for five "
    "minutes. Every login, failure and lock is journaled.",
    errors=("unauthenticated", "forbidden"),
    example={
        "params": {"operator": "1001", "pin": "1234"},
        "result": {"operator": "1001", "name": "Li Na", "role": "cashier"},
    },
)
method(
    "auth.logout",
    NoParams,
    "viewer",
    "Log the operator out of this connection.",
    example={"params": {}, "result": {"ok": True}},
)
method(
    "operator.list",
    OperatorListParams,
    "supervisor",
    "The till's operators (id, name, role, active, locked); never a PIN. Operators are added "
    "with `gatewayd operator add`.",
    example={"params": {}, "result": {"operators": [
        {"id": "1001", "name": "李娜 Li Na", "role": "cashier", "active": True,
         "locked": False}]}},
)
method(
    "pair.request",
    PairRequestParams,
    "viewer",
    "Ask to be paired (no token needed: send hello with an empty token). Returns a short "
    "code to show the user and a secret request id; an admin runs "
    "`gatewayd pair approve CODE --role ROLE`.",
    token_optional=True,
    example={
        "params": {"name": "checkout tablet 2"},
        "result": {"code": "K7Q4M2", "request_id": "9b1f…", "expires_s": 600},
    },
)
method(
    "pair.status",
    PairStatusParams,
    "viewer",
    "Poll a pairing request: `pending`, `approved` (with the token, returned exactly once), "
    "`collected`, `expired` or `denied`.",
    token_optional=True,
    errors=("not_found",),
    example={
        "params": {"request_id": "9b1f…"},
        "result": {"status": "approved", "token": "gw_…", "role": "cashier"},
    },
)


# -- devices ---------------------------------------------------------------------------------
class DeviceIdParams(Params):
    id: StrictStr


class OptionalDeviceParams(Params):
    device: StrictStr | None = None


class ScaleReadParams(OptionalDeviceParams):
    timeout_ms: StrictInt = Field(default=3000, ge=0, le=30000)


class PrintParams(OptionalDeviceParams):
    lines: list[StrictStr] | None = None
    receipt: list[dict[str, Any]] | None = None  # drivers.printer.receipt items as dicts


class DisplayShowParams(OptionalDeviceParams):
    lines: list[StrictStr] = Field(min_length=1, max_length=2)


method(
    "devices.list",
    NoParams,
    "viewer",
    "Every configured device with state and status.",
    example={
        "params": {},
        "result": {
            "devices": [
                {
                    "id": "scale",
                    "kind": "scale",
                    "state": "online",
                    "status": {"stable": True, "grams": 0},
                }
            ]
        },
    },
)
method(
    "devices.get",
    DeviceIdParams,
    "viewer",
    "One device.",
    errors=("not_found",),
    example={
        "params": {"id": "printer"},
        "result": {
            "id": "printer",
            "kind": "printer",
            "state": "online",
            "status": {"paper": "ok", "cover_open": False},
        },
    },
)
method(
    "scale.read",
    ScaleReadParams,
    "cashier",
    "The current stable weight, or wait for one up to `timeout_ms`.",
    errors=("device_offline", "not_found"),
    example={
        "params": {"timeout_ms": 2000},
        "result": {"device": "scale", "grams": 1235, "stable": True},
    },
)
method(
    "scale.zero",
    OptionalDeviceParams,
    "cashier",
    "Zero the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "scale.tare",
    OptionalDeviceParams,
    "cashier",
    "Tare the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "printer.print",
    PrintParams,
    "cashier",
    "Queue a print job (plain `lines`, or a `receipt` document); the job is persistent "
    "and survives paper-out, cover-open, offline and restarts.",
    errors=("invalid_params", "not_found"),
    example={"params": {"lines": ["测试 test"]}, "result": {"job_id": "6c0e…"}},
)
method(
    "printer.status",
    OptionalDeviceParams,
    "viewer",
    "Printer status and queued jobs.",
    errors=("not_found",),
    example={
        "params": {},
        "result": {"device": "printer", "state": "online", "status": {"paper": "ok"}, "jobs": []},
    },
)
method(
    "drawer.open",
    OptionalDeviceParams,
    "cashier",
    "Open the cash drawer (a no-sale open; needs approval when configured).",
    errors=("device_offline", "approval_required"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "drawer.status",
    OptionalDeviceParams,
    "viewer",
    "Whether the drawer is open.",
    example={"params": {}, "result": {"device": "drawer", "open": False}},
)
method(
    "display.show",
    DisplayShowParams,
    "cashier",
    "Show two lines on the customer display.",
    errors=("device_offline",),
    example={"params": {"lines": ["欢迎光临", "Welcome"]}, "result": {"ok": True}},
)


# -- demo simulators ------------------------------------------------------------------------
class SimScanParams(Params):
    data: StrictStr = Field(min_length=1)
    device: StrictStr | None = None


class SimWeighParams(Params):
    grams: StrictInt
    stable: StrictBool = True
    device: StrictStr | None = None


class SimPrinterParams(Params):
    paper: Literal["ok", "near_end", "empty"] | None = None
    cover: Literal["open", "closed"] | None = None


class SimDrawerParams(Params):
    open: StrictBool


class SimDeviceParams(Params):
    device: StrictStr


class SimReceiptsParams(Params):
    last: StrictInt | None = Field(default=None, ge=1)


_demo = {"demo_only": True}
method(
    "sim.scan",
    SimScanParams,
    "cashier",
    "Simulated scanner sends a code.",
    **_demo,
    example={"params": {"data": "6901234567892"}, "result": {"ok": True}},
)
method(
    "sim.weigh",
    SimWeighParams,
    "cashier",
    "Put a weight on the simulated scale.",
    **_demo,
    example={"params": {"grams": 1235, "stable": True}, "result": {"ok": True}},
)
method(
    "sim.printer",
    SimPrinterParams,
    "cashier",
    "Paper or cover state of the simulated printer.",
    **_demo,
    example={"params": {"paper": "empty"}, "result": {"ok": True}},
)
method(
    "sim.drawer",
    SimDrawerParams,
    "cashier",
    "Open/close the simulated drawer sensor.",
    **_demo,
    example={"params": {"open": False}, "result": {"ok": True}},
)
method(
    "sim.receipts",
    SimReceiptsParams,
    "viewer",
    "What the printer simulator received: each receipt's raw bytes and rendered lines.",
    **_demo,
    example={
        "params": {"last": 1},
        "result": {"receipts": [{"lines": ["..."], "raw": b"\x1b@..."}]},
    },
)
method(
    "sim.display",
    NoParams,
    "viewer",
    "What the simulated pole display shows.",
    **_demo,
    example={"params": {}, "result": {"lines": ["苹果          ¥3.50", "合计        ¥12.00"]}},
)
method(
    "sim.unplug",
    SimDeviceParams,
    "cashier",
    "Unplug a simulated device.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
)
method(
    "sim.plug",
    SimDeviceParams,
    "cashier",
    "Plug a simulated device back in.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
)


# -- catalog ---------------------------------------------------------------------------------
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


class CatalogUpsertParams(Params):
    items: list[dict[str, Any]] = Field(min_length=1, max_length=5000)
    source: StrictStr = Field(default="api", min_length=1, max_length=40)


_ITEM = {
    "sku": "6901",
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
        "params": {"barcode": "2101001012502"},
        "result": {"item": _ITEM, "source": "scale_label", "qty_override": 1250,
                   "price_override": None},
    },
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
    "`details.errors` = [{row, sku, field, error}] (row = index in `items`). Journals one "
    "`catalog.upserted` event and publishes `catalog.updated {count}`.",
    errors=("invalid_params",),
    example={
        "params": {"items": [_ITEM]},
        "result": {"count": 1, "inserted": 1, "updated": 0, "barcodes_moved": 0, "moved": [],
                   "source": "api", "seq": 812},
    },
)


# -- sale ------------------------------------------------------------------------------------
# The sale as `sale.updated` and every sale method carry it (DESIGN §4, extended): lines carry
# `net`, `tax`, `tax_rate_bp`, `promo` [{id, label, discount}] and `explain`; the sale carries
# `tax` [{rate_bp, net, tax, base}], `tax_total`, `cash_due`, `version`, `payment`.
_SALE = {
    "id": "0b7c…", "kind": "sale", "receipt_no": None, "state": "open",
    "lines": [{"line_id": "5e1a…", "sku": "1001", "name": "可口可乐 330ml", "qty": 3000,
               "unit": "pc", "unit_price": 350, "price_override": None, "amount": 1050,
               "discount": 50, "net": 1000, "tax": 115, "tax_rate_bp": 1300, "voided": False,
               "promo": [{"id": "coke3", "label": "3 for ¥10.00", "discount": 50}],
               "explain": ["3 for ¥10.00"]}],
    "member": None, "subtotal": 1050, "discount": 50, "total": 1000,
    "tax": [{"rate_bp": 1300, "net": 1000, "tax": 115, "base": 885}], "tax_total": 115,
    "rounding": 0, "tenders": [], "paid": 0, "due": 1000, "cash_due": 1000, "change": 0,
    "operator": "1001", "version": 3, "payment": None,
}
_SALE_ERRORS = ("invalid_params", "not_found", "conflict", "unauthenticated")


class SaleAddParams(Params):
    barcode: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    sku: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    plu: StrictStr | None = Field(default=None, min_length=1, max_length=8)
    qty: Qty | None = None


class SaleLineParams(Params):
    line_id: StrictStr


class SaleSetQtyParams(SaleLineParams):
    qty: Qty


class SaleDiscountParams(Params):
    line_id: StrictStr | None = None
    percent: StrictInt | None = Field(
        default=None, description="basis points: 1000 = 10 % off; 0 clears the discount")
    amount: Fen | None = None
    reason: StrictStr = Field(min_length=1, max_length=200)


class SalePriceParams(SaleLineParams):
    unit_price: Fen


class SaleTenderParams(Params):
    method: Literal["cash", "card", "alipay", "wechat", "voucher", "stored_value", "points"] \
        | None = None
    amount: Fen | None = None
    code: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    ref: StrictStr | None = Field(default=None, max_length=64)


class SaleVoidParams(Params):
    reason: StrictStr = Field(min_length=1, max_length=200)


class SaleIdParams(Params):
    id: StrictStr


class SaleGetParams(Params):
    receipt_no: StrictStr | None = None
    id: StrictStr | None = None


class SaleListParams(Params):
    day: StrictStr | None = Field(default=None, pattern=r"^\d{8}$",
                                  description="business day YYYYMMDD; default today")
    limit: StrictInt = Field(default=200, ge=1, le=1000)
    offset: StrictInt = Field(default=0, ge=0)


class ReprintParams(Params):
    receipt_no: StrictStr | None = None


class PromoUpsertParams(Params):
    promotions: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class VoucherIssueParams(Params):
    code: StrictStr = Field(min_length=1, max_length=64)
    amount: Fen = Field(gt=0)


class PaymentSimParams(Params):
    outcome: Literal["approve", "decline", "user_paying", "timeout", "error"] | None = None
    polls: StrictInt | None = Field(default=None, ge=0, le=1000)
    script: list[Literal["approve", "decline", "user_paying", "timeout", "error"]] | None = None


_sale = {"needs_operator": True}
method(
    "sale.current",
    NoParams,
    "viewer",
    "The till's open sale; with none open, the last completed or voided sale (so a checkout "
    "keeps showing the change until the next scan); with none at all, an empty sale with "
    "`id` null.",
    example={"params": {}, "result": _SALE},
)
method(
    "sale.add",
    SaleAddParams,
    "cashier",
    "Add an item by exactly one of `barcode` (EAN/UPC, in-store scale label, PLU or sku), "
    "`sku` or `plu`; opens a sale when none is open. `qty` in thousandths (default 1 piece); a "
    "kg item without a weight on its label takes the scale's stable weight (unstable: "
    "`device_busy`; zero: `invalid_params`; no scale: `device_offline`). The result is the "
    "whole sale with `added` = the new line's id; `sale.updated` follows.",
    errors=(*_SALE_ERRORS, "device_busy", "device_offline"),
    example={"params": {"barcode": "6901234567892"}, "result": {**_SALE, "added": "5e1a…"}},
    **_sale,
)
method(
    "sale.set_qty",
    SaleSetQtyParams,
    "cashier",
    "Set a line's quantity (thousandths; whole pieces for pc items; 0 < qty <= "
    "`sale.max_qty`).",
    errors=_SALE_ERRORS,
    example={"params": {"line_id": "5e1a…", "qty": 3000}, "result": _SALE},
    **_sale,
)
method(
    "sale.void_line",
    SaleLineParams,
    "cashier",
    "Void a line (it stays on the sale, struck out, for the audit).",
    errors=_SALE_ERRORS,
    example={"params": {"line_id": "5e1a…"}, "result": _SALE},
    **_sale,
)
method(
    "sale.discount",
    SaleDiscountParams,
    "cashier",
    "A manual discount with a reason on a line (`line_id`) or on the whole order: `percent` "
    "in basis points (1000 = 10 %) or `amount` in fen; 0 clears it. Above the configured "
    "`sale.max_cashier_discount_percent` (whole percent) of the line or order it needs a "
    "supervisor's approval (`approve` in the params).",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"line_id": "5e1a…", "percent": 1000, "reason": "damaged box"},
             "result": _SALE},
    **_sale,
)
method(
    "sale.price",
    SalePriceParams,
    "supervisor",
    "Override a line's unit price (fen per piece or per kg); a cashier needs a supervisor's "
    "approval. An overridden line takes no promotion. Above `sale.max_unit_price`: "
    "`invalid_params`.",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"line_id": "5e1a…", "unit_price": 300,
                        "approve": {"operator": "9001", "pin": "9999"}}, "result": _SALE},
    **_sale,
)
method(
    "sale.tender",
    SaleTenderParams,
    "cashier",
    "Take a payment. `cash` (amount handed over; default the cash due after 抹零), `card`, "
    "`alipay`/`wechat` with the customer's payment `code` (or no method: the code is "
    "classified), `voucher` with its `code`. Provider payments carry an idempotency key, wait "
    "while the customer confirms (`payment.state` user_paying on `sale.updated`) and are "
    "cancelled on timeout. The same payment code twice is `conflict`. At due <= 0 the sale "
    "completes: receipt number, receipt queued, drawer opened for cash, display shows the "
    "change.",
    errors=(*_SALE_ERRORS, "payment_declined"),
    example={"params": {"method": "cash", "amount": 2000},
             "result": {**_SALE, "state": "completed", "receipt_no": "S001-T01-20250301-0042",
                        "tenders": [{"method": "cash", "amount": 2000}], "paid": 2000,
                        "due": 0, "cash_due": 0, "change": 1000}},
    **_sale,
)
method(
    "sale.suspend",
    NoParams,
    "cashier",
    "Park the open sale (no tenders yet); several may be suspended at once.",
    errors=("conflict", "unauthenticated"),
    example={"params": {}, "result": {**_SALE, "state": "suspended"}},
    **_sale,
)
method(
    "sale.resume",
    SaleIdParams,
    "cashier",
    "Make a suspended sale the open sale again (re-priced as of now). The open sale must be "
    "empty.",
    errors=_SALE_ERRORS,
    example={"params": {"id": "0b7c…"}, "result": _SALE},
    **_sale,
)
method(
    "sale.suspended",
    NoParams,
    "cashier",
    "The till's suspended sales, oldest first.",
    example={"params": {}, "result": {"sales": [{"id": "0b7c…", "operator": "1001",
                                                 "total": 1000, "lines": 1}]}},
)
method(
    "sale.void",
    SaleVoidParams,
    "manager",
    "Void the whole open sale with a reason (approval by a manager); approved provider "
    "payments are reversed first.",
    errors=(*_SALE_ERRORS, "approval_required"),
    example={"params": {"reason": "customer left", "approve": {"operator": "9001",
                                                               "pin": "9999"}},
             "result": {**_SALE, "state": "voided"}},
    **_sale,
)
method(
    "sale.get",
    SaleGetParams,
    "viewer",
    "A sale by `receipt_no` or `id`.",
    errors=("invalid_params", "not_found"),
    example={"params": {"receipt_no": "S001-T01-20250301-0042"},
             "result": {**_SALE, "state": "completed", "receipt_no": "S001-T01-20250301-0042"}},
)
method(
    "sale.list",
    SaleListParams,
    "supervisor",
    "Completed, voided and refund documents of a business day, newest first: a summary per "
    "document (receipt_no, kind, state, time, operator, item count, tender methods, total); "
    "`sale.get` gives the whole sale.",
    errors=("invalid_params",),
    example={"params": {"day": "20250301", "limit": 2},
             "result": {"day": "20250301", "total_count": 57, "sales": [
                 {"id": "0b5c…", "receipt_no": "S001-T01-20250301-0057", "kind": "sale",
                  "state": "completed", "completed_at": "2025-03-01T09:41:07Z",
                  "operator": "1001", "items": 5, "tenders": ["cash"], "total": 4350}]}},
)
method(
    "receipt.reprint",
    ReprintParams,
    "cashier",
    "Queue the receipt again (the till's last receipt by default), headed 重打印 with its "
    "count; every reprint is journaled and counted.",
    errors=("not_found", "unauthenticated"),
    example={"params": {}, "result": {"receipt_no": "S001-T01-20250301-0042", "reprints": 1,
                                      "job_id": "77d2…"}},
    **_sale,
)
method(
    "promo.upsert",
    PromoUpsertParams,
    "manager",
    "Add or replace promotions (the `[[promotions]]` model of the config: qty_tier, "
    "mix_match, buy_x_get_y, time_price): all or none; errors name `[i].field`.",
    errors=("invalid_params", "conflict"),
    example={"params": {"promotions": [{"id": "coke3", "kind": "qty_tier", "skus": ["1001"],
                                        "qty": 3, "price": 1000}]},
             "result": {"count": 1, "seq": 120}},
)
method(
    "promo.list",
    NoParams,
    "viewer",
    "Every promotion in force, with its `source` (config or store).",
    example={"params": {}, "result": {"promotions": [{"id": "coke3", "kind": "qty_tier",
                                                      "source": "store"}]}},
)
method(
    "voucher.issue",
    VoucherIssueParams,
    "manager",
    "Issue a voucher (redeemable once by `sale.tender {method: voucher, code}`).",
    errors=("conflict",),
    example={"params": {"code": "V2025-0001", "amount": 2000},
             "result": {"code": "V2025-0001", "amount": 2000}},
)
method(
    "payment.sim",
    PaymentSimParams,
    "admin",
    "Control the simulated payment provider (when it is the configured provider): the "
    "default `outcome`, `polls` before a user_paying charge succeeds, a `script` of outcomes "
    "for the next charges. Returns its ledger summary: `charged` {key: amount}.",
    errors=("not_found",),
    example={"params": {"script": ["user_paying"], "polls": 2},
             "result": {"outcome": "approve", "polls": 2, "charged": {"0b7c…:1": 1000},
                        "operations": 3}},
)


# -- members (gatewayd/members/) ---------------------------------------------------------------
# Phones are 11-digit mainland mobile numbers; every result except the member's own detail
# view shows them masked (138****5678). `code` finds a member by phone, card barcode or the
# member QR payload (`[members] qr_prefix` + token, e.g. "GWM1:9f2c…").
_MEMBER = {
    "id": "5b0c…", "phone": "13812345678", "name": "王芳", "tier": "silver",
    "tier_name": "银卡", "discount_bp": 200, "member_price": True,
    "points_multiplier_bp": 12000, "points": 1520, "points_value": 1520, "balance": 55000,
    "active": True, "birthday": "1990-05-17", "card": "88001234", "qr": "GWM1:9f2c…",
    "referred_by": None, "created_at": "<timestamp>",
}
_MEMBER_MASKED = {k: v for k, v in _MEMBER.items()
                  if k not in ("birthday", "card", "qr", "referred_by", "created_at")}
_MEMBER_MASKED["phone"] = "138****5678"
_TS = "<timestamp>"
from datetime import datetime as _Datetime  # noqa: E402  (coupon validity on the wire)


class MemberCodeParams(Params):
    code: StrictStr = Field(min_length=1, max_length=128,
                            description="phone, card barcode or member QR payload")


class MemberRegisterParams(Params):
    phone: StrictStr = Field(min_length=11, max_length=20)
    name: StrictStr = Field(min_length=1, max_length=40)
    birthday: StrictStr | None = Field(default=None, description="YYYY-MM-DD or MM-DD")
    card: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    referrer: StrictStr | None = Field(default=None, description="the referrer's code")


class MemberUpdateParams(MemberCodeParams):
    phone: StrictStr | None = Field(default=None, min_length=11, max_length=20)
    name: StrictStr | None = Field(default=None, min_length=1, max_length=40)
    birthday: StrictStr | None = None
    card: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    active: StrictBool | None = None


class MemberTopupParams(MemberCodeParams):
    amount: Fen = Field(gt=0)
    method: Literal["cash", "card", "alipay", "wechat", "mobile"] = "cash"
    ref: StrictStr | None = Field(default=None, max_length=80)


class MemberHistoryParams(MemberCodeParams):
    limit: StrictInt = Field(default=50, ge=1, le=500)


class MemberRedeemParams(MemberCodeParams):
    reward: StrictStr = Field(min_length=1, max_length=40)


class MembersRecomputeParams(Params):
    code: StrictStr | None = None


class CouponIssueParams(Params):
    amount: Fen = Field(gt=0, le=100_000_000)
    min_spend: Fen = Field(default=0, ge=0)
    valid_from: _Datetime | None = None
    valid_to: _Datetime | None = None
    valid_days: StrictInt | None = Field(default=None, ge=1, le=3660,
                                         description="when valid_to is not given; default 30")
    member: StrictStr | None = Field(default=None, description="member code; None: bearer")
    count: StrictInt = Field(default=1, ge=1, le=10_000)
    codes: list[StrictStr] | None = Field(default=None, min_length=1, max_length=10_000)
    batch: StrictStr | None = Field(default=None, max_length=40)


class CouponCodeParams(Params):
    code: StrictStr = Field(min_length=1, max_length=64)


class SaleMemberParams(Params):
    code: StrictStr | None = Field(default=None, min_length=1, max_length=128,
                                   description="member code; null detaches the member")


method(
    "member.register",
    MemberRegisterParams,
    "cashier",
    "Register a member: `phone` (11-digit mobile, +86 allowed), `name`, optional `birthday` "
    "(YYYY-MM-DD or MM-DD), `card` (card barcode) and `referrer` (the referring member's "
    "code: they get `[members] referral_points` on this member's first purchase). Starts in "
    "the lowest tier with 0 points and balance. Returns the member's own view (full phone, "
    "QR payload). Journals `member.registered` (phone masked).",
    errors=("invalid_params", "conflict", "not_found"),
    example={"params": {"phone": "13812345678", "name": "王芳", "birthday": "1990-05-17",
                        "card": "88001234"}, "result": _MEMBER},
)
method(
    "member.get",
    MemberCodeParams,
    "cashier",
    "Find a member by phone, card barcode or QR payload: `points`, `points_value` (fen), "
    "`balance` (stored value, fen), `tier` and its benefits. The phone is shown in full only "
    "when the code given was the phone, or to a supervisor and above; else 138****5678 "
    "(and no card/QR/birthday).",
    errors=("not_found",),
    example={"params": {"code": "88001234"}, "result": _MEMBER_MASKED},
)
method(
    "member.update",
    MemberUpdateParams,
    "cashier",
    "Edit `phone`, `name`, `birthday`, `card`; `active: false` deactivates (needs a "
    "supervisor: approval_required otherwise), `true` reactivates. A deactivated member "
    "cannot be attached to a sale, top up or pay. Returns {member, changed}.",
    errors=("invalid_params", "conflict", "not_found", "approval_required"),
    example={"params": {"code": "13812345678", "active": False},
             "result": {"member": _MEMBER, "changed": ["active"]}},
)
method(
    "member.topup",
    MemberTopupParams,
    "cashier",
    "Add stored value paid by `method` (cash by default). The bonus rule of `[members] "
    "topup_bonus` applies (充500送50: the largest `min` <= amount). Journals "
    "`member.balance` with before/after for the top-up and for the bonus.",
    errors=("invalid_params", "conflict", "not_found"),
    needs_operator=True,
    example={"params": {"code": "13812345678", "amount": 50000},
             "result": {"amount": 50000, "bonus": 5000, "before": 0, "balance": 55000,
                        "ref": "…", "member": _MEMBER_MASKED}},
)
method(
    "member.history",
    MemberHistoryParams,
    "cashier",
    "The member's latest purchases and refunds (`purchases`: sale_id, kind, receipt_no, "
    "amount, points), `points` and `balance` movements (delta, before, after, reason, "
    "sale_id, ref, seq, at) and `coupons`, newest first, up to `limit` each.",
    errors=("not_found",),
    example={"params": {"code": "13812345678", "limit": 2}, "result": {
        "member": _MEMBER_MASKED,
        "purchases": [{"sale_id": "…", "kind": "sale", "refund_of": None,
                       "receipt_no": "S001-T01-20250101-0001", "amount": 12800,
                       "points": 153, "at": _TS}],
        "points": [{"delta": 153, "before": 1367, "after": 1520, "reason": "earn",
                    "sale_id": "…", "ref": "S001-T01-20250101-0001", "seq": 912, "at": _TS}],
        "balance": [{"delta": -3000, "before": 58000, "after": 55000, "reason": "tender",
                     "sale_id": "…", "ref": None, "seq": 910, "at": _TS}],
        "coupons": []}},
)
method(
    "member.redeem",
    MemberRedeemParams,
    "cashier",
    "Spend points on a reward of `[[members.rewards]]` (a coupon, or goods recorded as "
    "redeemed). Not enough points: conflict, nothing changed.",
    errors=("not_found", "conflict"),
    example={"params": {"code": "13812345678", "reward": "coupon10"},
             "result": {"reward": "coupon10", "name": "10元券", "points": 1000,
                        "coupon": "C7K3…", "points_after": 520}},
)
method(
    "members.recompute",
    MembersRecomputeParams,
    "admin",
    "Expire due points and recompute tiers from the spend over `[members] "
    "tier_window_days` (upgrades and downgrades; journaled `member.tier`), for one member "
    "(`code`) or all, in batches.",
    example={"params": {}, "result": {"members": 1000, "tier_changes": 3,
                                      "points_expired": 200}},
)
method(
    "coupon.issue",
    CouponIssueParams,
    "supervisor",
    "Issue coupons worth `amount` fen with a minimum spend: `count` generated codes, or "
    "the given `codes`, to a `member` (only they can use it) or to the bearer; valid from "
    "`valid_from` (default now) to `valid_to` (default + `valid_days`, 30). Redeemed once "
    "with `sale.coupon {code}`. Journals one `coupon.issued`.",
    errors=("invalid_params", "conflict", "not_found"),
    example={"params": {"amount": 1000, "min_spend": 5000, "count": 2, "batch": "spring"},
             "result": {"count": 2, "codes": ["C7K3…", "CM2Q…"], "amount": 1000,
                        "min_spend": 5000, "valid_from": _TS, "valid_to": _TS,
                        "member": None, "batch": "spring"}},
)
method(
    "coupon.get",
    CouponCodeParams,
    "cashier",
    "A coupon: amount, min_spend, validity, owner (`member` id or null), source "
    "(issue|birthday|referral|reward), whether and where it was used.",
    errors=("not_found",),
    example={"params": {"code": "C7K3…"},
             "result": {"code": "C7K3…", "member": None, "amount": 1000, "min_spend": 5000,
                        "valid_from": _TS, "valid_to": _TS, "source": "issue",
                        "batch": "spring", "used": False, "used_sale": None,
                        "used_at": None}},
)
method(
    "sale.member",
    SaleMemberParams,
    "cashier",
    "Attach the member (phone, card or QR payload) to the open sale (opening one if none), "
    "or detach with `code: null`; the sale is repriced with the member price and tier "
    "discount. On the member's first visit in their birthday month a birthday coupon is "
    "issued (`birthday_coupon`). Returns the sale with `member_info` (phone masked). Only "
    "before the first tender. Scanning a member QR code or card does the same.",
    errors=("not_found", "conflict"),
    needs_operator=True,
    example={"params": {"code": "GWM1:9f2c…"},
             "result": {"id": "…", "state": "open", "member": "5b0c…",
                        "member_info": {"id": "5b0c…", "phone": "138****5678",
                                        "name": "王芳", "tier": "silver",
                                        "tier_name": "银卡", "points": 1520,
                                        "balance": 55000, "discount_bp": 200},
                        "total": 12544, "due": 12544}},
)
method(
    "sale.coupon",
    CouponCodeParams,
    "cashier",
    "Redeem a coupon on the open sale as a tender (method `voucher`, ref = the code), "
    "up to the amount due: once only (a second use is conflict), within its validity, for "
    "a sale total >= its min_spend, by its member if it has one. Voiding the sale releases "
    "it.",
    errors=("not_found", "conflict"),
    needs_operator=True,
    example={"params": {"code": "C7K3…"},
             "result": {"id": "…", "state": "tendering",
                        "tenders": [{"method": "voucher", "amount": 1000, "ref": "C7K3…"}],
                        "due": 11544}},
)


# -- inventory and reports (gatewayd/inventory/, gatewayd/reports.py) -----------------------
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
    before: StrictInt | None = Field(default=None, description="move id: older than this")


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


_STOCK = {"sku": "6901", "name": "红富士苹果", "unit": "kg", "on_hand": 12500, "avg_cost": 820,
          "cost_source": "average", "value": 10250, "threshold": 5000, "low": False,
          "last_move_at": "2024-05-01T02:03:04Z", "last_sale_at": "2024-05-01T02:03:04Z"}
_DOC = {"no": "S001-T01-RCV-000001", "kind": "receive", "state": "posted", "seq": 812,
        "moves": [{"sku": "6901", "qty": 10000, "on_hand": 22500}]}
_TABLE = "`{name, title, columns: [{key, title, type}], rows: [map], totals: map, from, to, tz}`"
method(
    "stock.get",
    StockSkuParams,
    "viewer",
    "An item's stock: `on_hand` in the item's qty units (thousandths of a piece, grams for "
    "kg items; may be negative when selling below zero is allowed), `avg_cost` (moving "
    "average, fen per piece/kg; the catalog cost until something is received), `value` "
    "(fen), `threshold`, `low`.",
    errors=("not_found",),
    example={"params": {"sku": "6901"}, "result": _STOCK},
)
method(
    "stock.receive",
    StockReceiveParams,
    "supervisor",
    "Receive goods (purchase-in): `lines` [{sku, qty > 0, cost fen per piece/kg}]. Updates "
    "the moving-average cost, journals one `stock.received` event; the document number is "
    "`{store}-{till}-RCV-{n}`. Any bad line: `invalid_params`, nothing changed.",
    errors=("invalid_params", "conflict"),
    example={"params": {"lines": [{"sku": "6901", "qty": 10000, "cost": 800}],
                        "supplier": "果园"}, "result": _DOC},
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
                        "lines": [{"sku": "6901", "counted": 12000, "expected": 12500,
                                   "variance": -500}], "seq": 830}},
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
                        "lines": [{"sku": "6901", "qty": 2000}]}, "result": _DOC},
)
method(
    "stock.writeoff",
    StockWriteoffParams,
    "supervisor",
    "Write off (报废) `lines` [{sku, qty}] with a `reason` (required). Document `WOF`, "
    "journaled `stock.written_off`.",
    errors=("invalid_params", "conflict"),
    example={"params": {"lines": [{"sku": "6901", "qty": 500}], "reason": "过期"},
             "result": _DOC},
)
method(
    "stock.low",
    NoParams,
    "viewer",
    "Items at or below their low-stock threshold. Crossing a threshold also raises "
    "`alerts.raised {kind: \"low_stock\", sku, on_hand, threshold}` once per crossing.",
    example={"params": {}, "result": {"items": [_STOCK]}},
)
method(
    "stock.moves",
    StockMovesParams,
    "viewer",
    "An item's movement history, newest first: [{id, at, kind (sale|refund|void|receive|"
    "count|transfer_out|transfer_in|writeoff), qty (signed), on_hand (after), unit_cost, "
    "value, ref (document or sale id), seq}]. Page with `before` = the last id.",
    errors=("not_found",),
    example={"params": {"sku": "6901", "limit": 2},
             "result": {"sku": "6901", "moves": [{"id": 9, "kind": "sale", "qty": -1250,
                                                  "on_hand": 12500, "ref": "…"}]}},
)
method(
    "stock.threshold",
    StockThresholdParams,
    "supervisor",
    "Set an item's low-stock threshold in its qty units (null clears it).",
    errors=("not_found",),
    example={"params": {"sku": "6901", "threshold": 5000},
             "result": {"sku": "6901", "threshold": 5000, "on_hand": 12500, "seq": 840}},
)
method(
    "stock.doc",
    StockDocParams,
    "viewer",
    "A stock document (receive, count sheet, transfer, write-off) by number.",
    errors=("not_found",),
    example={"params": {"no": "S001-T01-RCV-000001"}, "result": _DOC},
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
)
method(
    "report.profit",
    ReportProfitParams,
    "manager",
    "Gross profit: sales amount minus the cost of the goods at the moving-average cost when "
    "they were sold, `by` day, item or category. A table like `report.sales`.",
    errors=("invalid_params",),
    example={"params": {"by": "item"},
             "result": {"name": "profit_by_item", "rows": [{"sku": "6901", "amount": 5000,
                                                            "cost": 3280, "profit": 1720}]}},
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
             "result": {"name": "inventory", "rows": [{"sku": "6901", "on_hand": 12500,
                                                       "value": 10250, "slow": True}]}},
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


# -- returns, shifts and the business day (gatewayd/sales/returns.py, shifts.py) ------------
class RefundLineParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    line_id: StrictStr | None = Field(default=None, description="a line of the receipt")
    sku: StrictStr | None = Field(default=None, description="no_receipt: the item")
    qty: Qty = Field(gt=0)
    unit_price: Fen | None = Field(default=None, ge=0,
                                   description="no_receipt: default the catalog price")


class SaleRefundParams(Params):
    receipt_no: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    lines: list[RefundLineParams] | None = Field(default=None, min_length=1, max_length=500)
    exchange: StrictBool = False
    no_receipt: StrictBool = False
    post_void: StrictBool = False


class ReceiptNoParams(Params):
    receipt_no: StrictStr = Field(min_length=1, max_length=64)


class RefundModeParams(Params):
    enabled: StrictBool
    whole: StrictBool = False


class ShiftOpenParams(Params):
    float: Fen = Field(ge=0, le=100_000_000)


class ShiftCashParams(Params):
    amount: Fen = Field(description="> 0 paid in, < 0 paid out", ge=-100_000_000,
                        le=100_000_000)
    reason: StrictStr = Field(min_length=1, max_length=200)


class ShiftCloseParams(Params):
    counted: Fen = Field(ge=0, le=100_000_000)


class ReportXParams(Params):
    shift_id: StrictStr | None = None


class DayParams(Params):
    day: StrictStr | None = Field(default=None, pattern=r"^\d{8}$",
                                  description="YYYYMMDD; default today (store time)")


_REFUND = {"id": "5d2c…", "kind": "refund", "receipt_no": "S001-T01-20260512-R0001",
           "state": "completed", "refund_of": "9a0e…",
           "orig_receipt_no": "S001-T01-20260512-0007",
           "lines": [{"line_id": "77f1…", "sku": "1001", "qty": 1000, "amount": 350,
                      "net": 350, "tax": 40, "voided": False}],
           "total": 350, "rounding": 0, "paid": 350,
           "tenders": [{"method": "cash", "amount": -150},
                       {"method": "alipay", "amount": -200, "ref": "SIMR3f…"}],
           "vouchers": [], "exchange": False, "applied_to": None}
method(
    "sale.refund",
    SaleRefundParams,
    "cashier",
    "Refund a completed sale by `receipt_no`: all that is left of it, or `lines` "
    "[{line_id, qty}] (never more than sold minus already returned). The money goes back to "
    "the original tenders in proportion to what is left of each (cash from the drawer, which "
    "opens; card/Alipay/WeChat through the provider with an idempotency key committed "
    "before the call; a voucher part as a new voucher). A refund document "
    "`{store}-{till}-{day}-R{n}` (kind `refund`, negative tenders) is journaled "
    "(`sale.refunded`), its slip printed, `sale.refunded` published, and the refund hooks "
    "(stock back, points reversed) run in the same transaction. A provider failure answers "
    "`payment_declined` with `refund_id`; calling again with the same lines resumes it with "
    "the same keys (never refunded twice); different lines meanwhile: `conflict`. "
    "`exchange: true`: the credit becomes a voucher (code = the refund number) tendered at "
    "once on the open sale if it is due at least that much (`applied_to`), else by "
    "`sale.tender {method: voucher, code}`. `no_receipt: true` with `lines` [{sku, qty, "
    "unit_price?}]: a cash return without receipt (manager approval). `post_void: true`: "
    "the till's last sale, whole (manager approval; counted as a post-void in the Z report). "
    "A closed business day refuses with `conflict` {reason: day_closed}.",
    errors=("not_found", "invalid_params", "conflict", "approval_required",
            "payment_declined"),
    needs_operator=True,
    example={"params": {"receipt_no": "S001-T01-20260512-0007",
                        "lines": [{"line_id": "c41b…", "qty": 1000}]},
             "result": _REFUND},
)
method(
    "sale.refundable",
    ReceiptNoParams,
    "cashier",
    "A sale by receipt number with, per line, what was sold, returned and may still be "
    "refunded; its refund numbers; a pending refund's id.",
    errors=("not_found",),
    example={"params": {"receipt_no": "S001-T01-20260512-0007"},
             "result": {"sale": {"id": "9a0e…"}, "lines": [{"line_id": "c41b…", "sku": "1001",
                        "name": "可口可乐", "qty": 2000, "returned": 1000, "refundable": 1000}],
                        "refunds": ["S001-T01-20260512-R0001"], "pending": None}},
)
method(
    "sale.refund_mode",
    RefundModeParams,
    "cashier",
    "Refund mode for the scan router: the next receipt barcode scanned publishes "
    "`sale.refund_lookup` (the `sale.refundable` answer) or, with `whole`, refunds all that "
    "is left of it. The mode ends after one receipt; `sale.refund_mode` is published.",
    needs_operator=True,
    example={"params": {"enabled": True}, "result": {"enabled": True, "whole": False,
                                                      "operator": "1001"}},
)
_SHIFT = {"id": "0b6f…", "operator": "1001", "business_day": "20260512", "state": "open",
          "float": 50000, "opened_at": "2026-05-12T01:00:00Z", "closed_at": None}
_Z = {"day": "20260512", "state": "closed", "closes": 1,
      "sales": {"count": 212, "total": 1834550, "rounding": 812, "collected": 1833738,
                "subtotal": 1901200},
      "refunds": {"count": 3, "total": 4590}, "post_voids": {"count": 0, "total": 0},
      "voids": {"count": 2, "total": 1200, "lines": 9, "lines_amount": 3100},
      "discounts": 66650, "rounding": 812, "net": 1829148,
      "tenders": [{"method": "cash", "count": 120, "sales": 903000, "refunds": 2590,
                   "net": 900410}],
      "tax": [{"rate_bp": 1300, "sales": 1200000, "refunds": 4590, "net": 1195410,
               "tax": 137524, "gross": 1195410}],
      "cashiers": [{"operator": "1001", "sales": 212, "sales_total": 1833738, "refunds": 3,
                    "refunds_total": 4590, "voids": 2}],
      "first_receipt": "S001-T01-20260512-0001", "last_receipt": "S001-T01-20260512-0214",
      "first_refund": "S001-T01-20260512-R0001", "last_refund": "S001-T01-20260512-R0003",
      "cash": {"float": 50000, "sales": 903000, "refunds": 2590, "paid_in": 0,
               "paid_out": 3000, "expected": 947410}}
method(
    "shift.open",
    ShiftOpenParams,
    "cashier",
    "Open the till's shift with a cash `float` (fen); one open shift per till. The drawer "
    "opens. Completed sales, refunds and voids are stamped with the open shift.",
    errors=("conflict", "invalid_params"),
    needs_operator=True,
    example={"params": {"float": 50000}, "result": _SHIFT},
)
method(
    "shift.cash",
    ShiftCashParams,
    "cashier",
    "Paid-in (`amount` > 0) or paid-out (`amount` < 0) of the open shift, with a reason; "
    "journaled, the drawer opens.",
    errors=("conflict", "invalid_params"),
    needs_operator=True,
    example={"params": {"amount": -3000, "reason": "快递费 courier"},
             "result": {"id": "e1…", "shift_id": "0b6f…", "kind": "paid_out",
                        "amount": -3000, "reason": "快递费 courier"}},
)
method(
    "shift.close",
    ShiftCloseParams,
    "cashier",
    "Blind close: the cashier gives the `counted` cash; only then does the result show the "
    "`expected` cash (float + cash sales net of change - cash refunds + paid in - paid out) "
    "and the `variance` (counted - expected), with the shift's X report; a shift report is "
    "printed. Refused while a sale or a refund is open.",
    errors=("conflict", "invalid_params"),
    needs_operator=True,
    example={"params": {"counted": 947000},
             "result": {**_SHIFT, "state": "closed", "counted": 947000, "expected": 947410,
                        "variance": -410, "report": "{X report}", "job_id": "a3…"}},
)
method(
    "shift.current",
    NoParams,
    "viewer",
    "The open shift (without any expected cash: the close is blind) and today's business "
    "day state.",
    example={"params": {}, "result": {"shift": _SHIFT,
                                      "day": {"day": "20260512", "state": "open", "closes": 0}}},
)
method(
    "report.x",
    ReportXParams,
    "supervisor",
    "X report of the open shift (or of `shift_id`): the Z report's figures for the shift so "
    "far, including the expected cash (hence supervisor: the cashier's close is blind).",
    errors=("conflict", "not_found"),
    example={"params": {}, "result": {"shift": _SHIFT, **{k: v for k, v in _Z.items()
                                                          if k not in ("day", "state",
                                                                       "closes")}}},
)
method(
    "report.z",
    DayParams,
    "supervisor",
    "Z report of a business day: sales, refunds, post-voids, voids (sales and lines), "
    "discounts, rounding (抹零), net; by tender method (sales net of change, refunds, net), "
    "by tax rate and by cashier; first/last receipt and refund numbers; the cash "
    "reconciliation. A closed day answers the report as stored at its close.",
    errors=("invalid_params",),
    example={"params": {"day": "20260512"}, "result": _Z},
)
method(
    "day.close",
    DayParams,
    "supervisor",
    "日结: close the business day (default today). Refused (`conflict`, details `reason` "
    "shift_open / sale_open / refund_pending) while a shift, a sale or a refund is open. "
    "Stores the Z report, journals `day.closed`, prints the Z report via the print queue "
    "(`job_id`, null without a printer) and publishes `day.closed`. Until reopened, the day "
    "refuses new sales and refunds.",
    errors=("conflict", "invalid_params"),
    example={"params": {}, "result": {**_Z, "job_id": "f0…"}},
)
method(
    "day.reopen",
    DayParams,
    "supervisor",
    "反结账: reopen a closed business day (default today); needs a manager's approval "
    "(`approve`), journaled as `day.reopened`. Closing it again stores a new Z report.",
    errors=("conflict", "approval_required", "invalid_params"),
    example={"params": {"approve": {"operator": "9001", "pin": "9999"}},
             "result": {"day": "20260512", "state": "open", "closes": 1}},
)


# -- alerts (gatewayd/alerts.py) ----------------------------------------------------------------
class AlertRaiseParams(Params):
    kind: StrictStr = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    message: StrictStr = Field(default="", max_length=200)
    device: StrictStr | None = Field(default=None, max_length=40)


method(
    "alert.raise",
    AlertRaiseParams,
    "viewer",
    "Ask staff for attention: a kiosk's call-for-help (`kind` help) or a bagging-area "
    "mismatch (`bagging_mismatch`, with the `device`). Journaled (`alert.raised`) and "
    "published as `alerts.raised {id, kind, message, device?, source {client, kind, "
    "operator}}`.",
    example={"params": {"kind": "help", "message": "kiosk 2: customer needs help"},
             "result": {"id": "3f2a9c0d11e4", "seq": 233}},
)
