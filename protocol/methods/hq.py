"""Head office's methods on `gatewayd.v1` (DESIGN §8, contract names), served by
`gatewayd hq serve` at /ws to HQ clients (gatewayd/hq/methods.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, Result, method
from protocol.methods.inventory import BusinessDay, ChainTransfer, Table

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
    open_sale: StrictStr | None = Field(default=None, description="the sale open at the till")
    open_since: datetime | None = None
    alert: StrictStr | None = Field(default=None, description="its last alert (device: text)")
    alert_at: datetime | None = None
    day: StrictStr | None = Field(default=None,
                                  description="its latest business day closed or reopened")
    day_state: Literal["closed", "open"] | None = None


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


# -- master data (DESIGN §8): edited here, versioned, sent to every till -------------------
Effective = Annotated[datetime | None, Field(
    description="when the change takes effect on the tills (UTC); nil or absent: at once. A "
    "till holds a change until then, offline or not")]
Scope = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class HqCatalogUpsertParams(Params):
    items: list[dict[str, Any]] = Field(
        min_length=1, max_length=5000,
        description="catalog rows, each as catalog.upsert takes it (the till's rules)")
    effective_at: Effective = None


class HqCatalogPriceParams(Params):
    prices: list[dict[str, Any]] = Field(
        min_length=1, max_length=5000,
        description="`{sku, price, member_price?}` in fen, for items head office holds")
    store: Scope | None = Field(default=None, description="one store's prices, or")
    zone: Scope | None = Field(default=None, description="a price zone's (hq.catalog.zone)")
    effective_at: Effective = None


class HqCatalogZoneParams(Params):
    zone: Scope
    stores: list[Name] = Field(max_length=1000,
                               description="the zone's stores (replaces its list)")


class HqCatalogGetParams(Params):
    sku: Scope


class HqCatalogImportParams(Params):
    data: bytes | StrictStr = Field(
        max_length=64 << 20, description="the file: CSV (the till's import columns; bytes in "
        "any encoding the till's import reads, or text) or XLSX bytes (the same columns on its "
        "first sheet)")
    filename: StrictStr = Field(min_length=1, max_length=200,
                                description="its name; .xlsx is read as XLSX, else CSV")
    effective_at: Effective = None
    dry_run: StrictBool = Field(default=False, description="check everything, version nothing")


class HqPromoUpsertParams(Params):
    promotions: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000, description="as promo.upsert takes them")
    effective_at: Effective = None


class HqOperatorUpsertParams(Params):
    operators: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        description="`{id, name, role, pin?, active?}`; the PIN is hashed at head office and "
        "only its hash reaches the tills; an operator already held keeps its PIN when none "
        "is given")


class HqMasterBatch(Result):
    version: StrictInt | None = Field(description="the chain's master version of this batch; "
                                      "nil on a dry run")
    count: StrictInt = Field(description="changes in the batch")
    effective_at: datetime | None
    dry_run: StrictBool = Field(default=False, description="present on a dry run")


class HqZone(Result):
    zone: StrictStr
    stores: list[StrictStr]


class HqMasterEntry(Result):
    scope: StrictStr | None = Field(description="nil: every store; store:S001 or zone:NAME")
    version: StrictInt
    effective_at: datetime | None
    data: dict[str, Any]


class HqCatalogItem(Result):
    sku: StrictStr
    item: HqMasterEntry
    prices: list[HqMasterEntry] = Field(description="store and zone prices")


class HqPromoList(Result):
    promotions: list[HqMasterEntry]


class HqOperatorRow(Result):
    id: StrictStr
    name: StrictStr
    role: StrictStr
    active: StrictBool
    version: StrictInt


class HqOperatorList(Result):
    operators: list[HqOperatorRow]


_BATCH_ERRORS = ("invalid_params",)
_BATCH_DOC = (" The batch is checked whole by the till's own rules: any bad row refuses it "
              "with nothing versioned (`invalid_params`, details `{errors: [{row, sku|id, "
              "field, error}], error_count}`). Otherwise it gets the chain's next master "
              "version and is sent to every connected till at once (the others on connect); "
              "`hq.tills` shows each till's `master_version`.")
method(
    "hq.catalog.upsert",
    HqCatalogUpsertParams,
    "manager",
    "Add or change catalog items for every store (a row is the whole item, as "
    "catalog.upsert)." + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"items": [{"sku": "700001", "name": "红富士苹果", "unit": "kg",
                                   "price": 1280, "tax_rate_bp": 900,
                                   "barcodes": ["6901234567892"]}]},
             "result": {"version": 12, "count": 1, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.catalog.price",
    HqCatalogPriceParams,
    "manager",
    "Prices of one store or of a price zone, for items head office holds (exactly one of "
    "`store`, `zone`). Changes apply in version order: a later chain-wide hq.catalog.upsert "
    "of the item sets its price everywhere again." + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"prices": [{"sku": "700001", "price": 1180}], "zone": "south",
                        "effective_at": "2026-05-16T16:00:00Z"},
             "result": {"version": 13, "count": 1, "effective_at": "2026-05-16T16:00:00Z"}},
    result=HqMasterBatch,
)
method(
    "hq.catalog.zone",
    HqCatalogZoneParams,
    "manager",
    "Set the stores of a price zone (a store is in one zone at most). Zone prices versioned "
    "after this reach the zone's stores.",
    example={"params": {"zone": "south", "stores": ["S002", "S003"]},
             "result": {"zone": "south", "stores": ["S002", "S003"]}},
    result=HqZone,
)
method(
    "hq.catalog.get",
    HqCatalogGetParams,
    "viewer",
    "An item as head office holds it (its latest version, even when that takes effect "
    "later), with its store and zone prices.",
    errors=("not_found",),
    example={"params": {"sku": "700001"}, "result": {"sku": "700001", "item": {
        "scope": None, "version": 12, "effective_at": None,
        "data": {"sku": "700001", "name": "红富士苹果", "unit": "kg", "price": 1280}},
        "prices": [{"scope": "zone:south", "version": 13,
                    "effective_at": "2026-05-16T16:00:00Z",
                    "data": {"sku": "700001", "price": 1180}}]}},
    result=HqCatalogItem,
)
method(
    "hq.catalog.import",
    HqCatalogImportParams,
    "manager",
    "Import a CSV or XLSX catalog file (the columns of `gatewayd catalog import`) as one "
    "batch: every row is checked and the per-row report refuses the whole file on any error "
    "(line numbers as in the file)." + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"data": "sku,name,price\n700001,红富士苹果,12.80\n",
                        "filename": "fruit.csv"},
             "result": {"version": 14, "count": 1, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.promo.upsert",
    HqPromoUpsertParams,
    "manager",
    "Add or change promotions for every store (the till's promotion model)." + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"promotions": [{"id": "weekend-apples", "kind": "qty_tier",
                                        "name": "苹果 2 件 ¥20", "skus": ["700001"],
                                        "qty": 2, "price": 2000}],
                        "effective_at": "2026-05-16T16:00:00Z"},
             "result": {"version": 15, "count": 1, "effective_at": "2026-05-16T16:00:00Z"}},
    result=HqMasterBatch,
)
method(
    "hq.promo.list",
    NoParams,
    "viewer",
    "Every promotion head office holds, with its version and effective time.",
    example={"params": {}, "result": {"promotions": [{
        "scope": None, "version": 15, "effective_at": "2026-05-16T16:00:00Z",
        "data": {"id": "weekend-apples", "kind": "qty_tier", "name": "苹果 2 件 ¥20",
                 "skus": ["700001"], "qty": 2, "price": 2000}}]}},
    result=HqPromoList,
)
method(
    "hq.operator.upsert",
    HqOperatorUpsertParams,
    "admin",
    "Add or change operators for every till (their PIN hashes and roles)." + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"operators": [{"id": "1001", "name": "李娜", "role": "cashier",
                                       "pin": "1234"}]},
             "result": {"version": 16, "count": 1, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.operator.list",
    NoParams,
    "viewer",
    "Every operator head office holds (never a PIN or its hash).",
    example={"params": {}, "result": {"operators": [{
        "id": "1001", "name": "李娜", "role": "cashier", "active": True, "version": 16}]}},
    result=HqOperatorList,
)


class HqTaxUpsertParams(Params):
    rates: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        description="`{category, rate_bp, name?, active?}`: every item of the category sells "
        "at rate_bp (0..10000) at every till, whatever its own tax_rate_bp; `active: false` "
        "withdraws the category's rate (the items' own rates again)")
    effective_at: Effective = None


class HqTaxRate(Result):
    category: StrictStr
    rate_bp: StrictInt
    name: StrictStr | None
    active: StrictBool
    version: StrictInt
    effective_at: datetime | None


class HqTaxList(Result):
    rates: list[HqTaxRate]


class HqSettingsParams(Params):
    settings: dict[StrictStr, Any] = Field(
        min_length=1, max_length=50,
        description="setting -> value, each checked as the till's config file takes it; a "
        "nil value gives the setting back to each till's own config")
    effective_at: Effective = None


class HqSetting(Result):
    key: StrictStr
    value: Any
    version: StrictInt
    effective_at: datetime | None


class HqSettings(Result):
    settings: list[HqSetting] = Field(description="the settings head office sets (those given "
                                      "back to the tills' files are left out)")


_SETTINGS_DOC = (" Head office's value wins over each till's config file for every setting it "
                 "sent; the rest stay the till's. A bad value refuses the whole batch "
                 "(`invalid_params`, details `{errors: [{row, id, field, error}], "
                 "error_count}`) with nothing versioned; otherwise it gets the chain's next "
                 "master version and reaches every till like the catalog.")
method(
    "hq.tax.upsert",
    HqTaxUpsertParams,
    "manager",
    "Tax rates per item category for every store: a till sells every item of the category "
    "at head office's rate, whatever the item's own `tax_rate_bp` (local items included)."
    + _BATCH_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"rates": [{"category": "食品", "rate_bp": 900, "name": "农产品 9%"}],
                        "effective_at": "2026-07-01T00:00:00+08:00"},
             "result": {"version": 17, "count": 1, "effective_at": "2026-06-30T16:00:00Z"}},
    result=HqMasterBatch,
)
method(
    "hq.tax.list",
    NoParams,
    "viewer",
    "Every category's tax rate head office holds, with its version and effective time.",
    example={"params": {}, "result": {"rates": [{
        "category": "食品", "rate_bp": 900, "name": "农产品 9%", "active": True,
        "version": 17, "effective_at": "2026-06-30T16:00:00Z"}]}},
    result=HqTaxList,
)
method(
    "hq.payment.set",
    HqSettingsParams,
    "admin",
    "Payment settings for every till: `tenders` (the tender methods taken: cash, card, "
    "mobile, alipay, wechat, stored_value, voucher, points; another is refused at "
    "sale.tender), `cash_rounding` (抹零: none, drop_fen, drop_jiao, half_up_jiao), "
    "`max_change` (fen: the most cash change a tender may give), "
    "`offline_stored_value` and `offline_points` (\"refuse\" or a limit per member per day), "
    "`offline_coupons` (\"refuse\" or \"allow\")." + _SETTINGS_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"settings": {"tenders": ["cash", "wechat", "alipay"],
                                     "cash_rounding": "drop_jiao",
                                     "offline_stored_value": 5000}},
             "result": {"version": 18, "count": 3, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.payment.get",
    NoParams,
    "viewer",
    "The payment settings head office sets, with their versions.",
    example={"params": {}, "result": {"settings": [
        {"key": "cash_rounding", "value": "drop_jiao", "version": 18, "effective_at": None}]}},
    result=HqSettings,
)
method(
    "hq.config.set",
    HqSettingsParams,
    "manager",
    "Till settings a chain sets once for every till: `receipt_header` and `receipt_footer` "
    "(lists of lines), `receipt_qr` (the receipt's QR content, `{receipt_no}` replaced), "
    "`require_shift` (a sale is paid only in an open shift), `max_cashier_discount_percent` "
    "(whole percent a cashier may give without approval), `max_voucher` (fen)."
    + _SETTINGS_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"settings": {"receipt_header": ["欢迎光临 示例连锁"],
                                     "require_shift": True}},
             "result": {"version": 19, "count": 2, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.config.get",
    NoParams,
    "viewer",
    "The till settings head office sets, with their versions.",
    example={"params": {}, "result": {"settings": [
        {"key": "require_shift", "value": True, "version": 19, "effective_at": None}]}},
    result=HqSettings,
)
method(
    "hq.members.set",
    HqSettingsParams,
    "manager",
    "Member tiers and rules for every till, as the till's `[members]` section: `tiers` "
    "(`[{id, name, min_spend, discount_bp?, member_price?, points_multiplier_bp?}]`, lowest "
    "first, the first with min_spend 0, spends increasing, ids unique; a till re-tiers its "
    "members at once), `tier_window_days`, `points_per_yuan`, `point_value` (fen per point), "
    "`points_excluded_categories`, `points_no_earn_methods`, `points_expire_days`, "
    "`birthday_benefit`, `birthday_coupon` and `referral_coupon` (`{amount, min_spend?, "
    "valid_days?}` or nil), `referral_points`, `topup_bonus` (`[{min, bonus}]`), `rewards` "
    "(`[{id, name, points, coupon?}]`, ids unique). A setting is given whole (a tier table "
    "replaces the till's)." + _SETTINGS_DOC,
    errors=_BATCH_ERRORS,
    example={"params": {"settings": {
        "tiers": [{"id": "normal", "name": "普通", "min_spend": 0},
                  {"id": "gold", "name": "金卡", "min_spend": 500000, "discount_bp": 300,
                   "points_multiplier_bp": 20000}],
        "points_per_yuan": 2}},
        "result": {"version": 20, "count": 2, "effective_at": None}},
    result=HqMasterBatch,
)
method(
    "hq.members.get",
    NoParams,
    "viewer",
    "The member tiers and rules head office sets, with their versions.",
    example={"params": {}, "result": {"settings": [
        {"key": "points_per_yuan", "value": 2, "version": 20, "effective_at": None}]}},
    result=HqSettings,
)


class HqReportRange(Params):
    from_: BusinessDay | None = Field(default=None, alias="from")
    to: BusinessDay | None = None
    store: Name | None = Field(default=None, description="nil: the whole chain")


class HqReportSalesParams(HqReportRange):
    by: Literal["store", "day", "week", "month", "hour", "item", "category", "tender"]
    limit: StrictInt = Field(default=1000, ge=1, le=100_000)


class HqReplenishParams(Params):
    store: Name
    days: StrictInt = Field(default=28, ge=1, le=366, description="sales history to average "
                            "(business days to today)")
    cover_days: StrictInt = Field(default=14, ge=1, le=366, description="days of sales the "
                                  "stock should cover, for an item without a rule")


class HqReportExportParams(Params):
    report: Literal["sales", "members", "stock", "transfers", "replenish"]
    params: dict[StrictStr, Any] = Field(default_factory=dict,
                                         description="the report's own params")
    format: Literal["csv", "xlsx"]


class HqReportFile(Result):
    name: StrictStr = Field(description="a file name: the report, its range and store")
    format: Literal["csv", "xlsx"]
    rows: StrictInt
    data: bytes = Field(description="the file: CSV is UTF-8 with a BOM (Excel reads it)")


_HQ_TABLE = ("A table `{name, title, columns: [{key, title, type}], rows, totals, from, to, "
             "tz}` as the till's reports (docs/headoffice.md, Reports).")
method(
    "hq.report.sales",
    HqReportSalesParams,
    "viewer",
    "Consolidated sales between business days `from` and `to` (YYYY-MM-DD inclusive, chain "
    "time; default the last 7 days), for one `store` or the whole chain, grouped `by` store, "
    "day, week (ISO), month, hour (peak hours), item or category (rankings; names and "
    "categories from head office's catalog) or tender (payment mix). Per "
    "bucket: sales (customer traffic), refunds, amount, avg_ticket, discount, cost, profit, "
    "margin_bp, uncosted, member_sales, member_share_bp, share_bp; refunds subtract. Read "
    "from aggregates the apply keeps exact. " + _HQ_TABLE,
    errors=("invalid_params",),
    example={"params": {"by": "store", "from": "2026-05-01", "to": "2026-05-31"},
             "result": {"name": "hq_sales_by_store", "rows": [
                 {"store": "S001", "sales": 9120, "amount": 41230000, "avg_ticket": 4521}]}},
    result=Table,
)
method(
    "hq.report.members",
    HqReportRange,
    "viewer",
    "Member analytics by tier: members (registered, all time), new (registered between "
    "`from` and `to`), active (bought in the months the range touches), lapsed (no purchase "
    "in the 90 days before `to`), and their purchases and amount in those months; one "
    "`store` (where they bought; registered there for the counts) or the chain. " + _HQ_TABLE,
    errors=("invalid_params",),
    example={"params": {"from": "2026-05-01", "to": "2026-05-31"},
             "result": {"name": "hq_members", "rows": [
                 {"tier": "gold", "members": 310, "new": 12, "active": 204, "lapsed": 31,
                  "purchases": 822, "amount": 9120000}]}},
    result=Table,
)
method(
    "hq.report.stock",
    HqReportRange,
    "viewer",
    "Stock and turnover: per store (the chain) or per item (one `store`): on-hand, its value "
    "at head office's moving-average cost, cost of goods sold between `from` and `to`, "
    "turnover (cost of goods sold / stock value, hundredths) and days of cover. " + _HQ_TABLE,
    errors=("invalid_params",),
    example={"params": {"from": "2026-05-01", "to": "2026-05-31"},
             "result": {"name": "hq_stock", "rows": [
                 {"store": "S001", "items": 1820, "value": 48210000, "cogs": 30110000,
                  "turnover": 62, "cover_days": 4964, "uncosted": 3}]}},
    result=Table,
)
method(
    "hq.report.transfers",
    HqReportRange,
    "viewer",
    "Transfer and delivery differences: for those sent between `from` and `to` (to or from "
    "`store`), each item line that differs between what was sent and what the receiving "
    "store counted, with its value at that store's cost, and the lines still in transit. "
    + _HQ_TABLE,
    errors=("invalid_params",),
    example={"params": {"store": "S002"}, "result": {"name": "hq_transfers", "rows": [
        {"no": "S001-T01-TRO-000004", "from_store": "S001", "to_store": "S002",
         "state": "received", "sku": "700001", "sent": 10000, "received": 9000,
         "difference": -1000, "value": -820}]}},
    result=Table,
)
method(
    "hq.report.replenish",
    HqReplenishParams,
    "viewer",
    "补货建议 for one store: `hq.replenish.suggest` over the last `days` days as a table, "
    "the items to order (suggested above zero): per item its average daily sales, on-hand, "
    "in transit to the store, the quantity to order, supplier and why. An item's rule "
    "(`hq.replenish.rules`) applies; an item sold without one keeps `cover_days` days of "
    "sales (+ its supplier's lead time). Whole packs of the supplier, whole units without "
    "one. " + _HQ_TABLE,
    errors=("invalid_params",),
    example={"params": {"store": "S001"}, "result": {"name": "hq_replenish", "rows": [
        {"sku": "700001", "daily": 2500, "on_hand": 8000, "in_transit": 0,
         "suggest": 27000, "supplier": None,
         "why": "14 days of cover + 0 days lead time at 2500/day: 35000"}]}},
    result=Table,
)
method(
    "hq.report.export",
    HqReportExportParams,
    "viewer",
    "A report (`sales`, `members`, `stock`, `transfers` or `replenish`, with that method's "
    "params) as a CSV or XLSX file: money "
    "in yuan, quantities in units, shares in percent, exact decimals; a cell that a "
    "spreadsheet would run as a formula is written as text.",
    errors=("invalid_params",),
    example={"params": {"report": "sales", "params": {"by": "day", "store": "S001"},
                        "format": "xlsx"},
             "result": {"name": "hq_sales_by_day_S001_2026-05-06_2026-05-12.xlsx",
                        "format": "xlsx", "rows": 7, "data": "<bytes>"}},
    result=HqReportFile,
)


# -- members across the chain (issue 15) ---------------------------------------------------
class HqMemberParams(Params):
    code: Name = Field(description="member id, phone, card, or QR token")


class HqMemberLedgerParams(HqMemberParams):
    limit: StrictInt = Field(default=100, ge=1, le=1000)


class HqMemberRecord(Result):
    id: StrictStr
    phone: StrictStr = Field(description="masked below supervisor")
    name: StrictStr
    birthday: StrictStr | None
    card: StrictStr | None
    qr: StrictStr
    tier: StrictStr
    active: StrictBool
    referred_by: StrictStr | None
    updated_at: StrictInt = Field(description="when the till last changed it, µs UTC")
    store: StrictStr = Field(description="the store whose till last changed it")
    till: StrictStr


class HqCoupon(Result):
    code: StrictStr
    amount: StrictInt
    min_spend: StrictInt
    valid_from: StrictInt
    valid_to: StrictInt
    source: StrictStr


class HqHold(Result):
    id: StrictStr = Field(description="the till's hold id (its idempotency key)")
    ledger: Literal["balance", "points", "coupon"]
    amount: StrictInt
    code: StrictStr | None
    sale_id: StrictStr
    store: StrictStr
    till: StrictStr
    state: Literal["held"]
    created_at: StrictInt
    expires_at: StrictInt


class HqMember(Result):
    member: HqMemberRecord
    balance: StrictInt = Field(description="fen the member may spend now across the chain: "
                               "every till's entries less the live holds")
    points: StrictInt
    coupons: list[HqCoupon] = Field(description="the member's unused, unexpired coupons")
    holds: list[HqHold] = Field(description="live holds (authorized, not yet settled)")


class HqMemberEntry(Result):
    store: StrictStr
    till: StrictStr
    seq: StrictInt
    at: StrictInt
    what: Literal["balance", "points"]
    delta: StrictInt
    reason: StrictStr | None
    sale_id: StrictStr | None
    ref: StrictStr | None


class HqMemberLedger(Result):
    member: StrictStr
    entries: list[HqMemberEntry] = Field(description="newest first")


_HQ_MEMBER_EXAMPLE = {
    "id": "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e", "phone": "138****5678", "name": "王芳",
    "birthday": None, "card": None, "qr": "9c2e4f6a8b0d1e3f5a7c9e1b", "tier": "normal",
    "active": True, "referred_by": None, "updated_at": 1778574600000000, "store": "S001",
    "till": "T01"}
method(
    "hq.member.get",
    HqMemberParams,
    "viewer",
    "A member of the chain: the registry record (sent up by the till that registered or "
    "last edited it), what the member may spend now across the chain (`balance` fen, "
    "`points`: every till's ledger entries less the live holds), unused coupons and live "
    "holds.",
    errors=("not_found",),
    example={"params": {"code": "13812345678"}, "result": {
        "member": _HQ_MEMBER_EXAMPLE, "balance": 650, "points": 12, "coupons": [],
        "holds": []}},
    result=HqMember,
)
method(
    "hq.member.ledger",
    HqMemberLedgerParams,
    "viewer",
    "A member's ledger entries from every till (stored value in fen, points), newest first; "
    "each is a till's journal event, stored once.",
    errors=("not_found",),
    example={"params": {"code": "13812345678", "limit": 2}, "result": {
        "member": "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e", "entries": [
            {"store": "S001", "till": "T02", "seq": 41, "at": 1778578200000000,
             "what": "balance", "delta": -350, "reason": "tender",
             "sale_id": "0b9d6a52-8f4e-4d7c-9a1e-2f3b4c5d6e7f",
             "ref": "2d4f6a8c-1e3b-4d5f-8a7c-9e1b3d5f7a9c"},
            {"store": "S001", "till": "T01", "seq": 12, "at": 1778574600000000,
             "what": "balance", "delta": 1000, "reason": "topup", "sale_id": None,
             "ref": "5e7a9c1b-3d5f-4a7c-9e1b-3d5f7a9c1e3b"}]}},
    result=HqMemberLedger,
)


# -- stock per store, transfers, deliveries (issue 15) -------------------------------------
Sku = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class HqStockParams(Params):
    store: Name
    sku: Sku | None = None


class HqStockItem(Result):
    sku: StrictStr
    on_hand: StrictInt = Field(description="qty units: the sum of every move of every till "
                               "of the store (sales, receipts, counts, write-offs, transfers)")
    in_transit: StrictInt = Field(description="sent to the store, not yet confirmed there")
    last_move_at: datetime | None


class HqStock(Result):
    store: StrictStr
    items: list[HqStockItem]


class HqTransfersParams(Params):
    store: Name | None = Field(default=None, description="sent from or to this store")
    state: Literal["in_transit", "received"] | None = None
    limit: StrictInt = Field(default=200, ge=1, le=1000)


class HqTransfers(Result):
    transfers: list[ChainTransfer]


class DeliveryLine(Params):
    sku: Sku
    qty: StrictInt = Field(gt=0, description="qty units (thousandths of a piece, grams)")


class HqDeliveryParams(Params):
    to_store: Name
    from_store: Name = Field(default="HQ", description="head office or the distribution "
                             "centre's id")
    lines: list[DeliveryLine] = Field(min_length=1, max_length=1000)
    ref: Name | None = Field(default=None, description="the delivery's number; default "
                             "DLV-YYYYMMDD-XXXXXX")


_TRANSFER = {
    "no": "S001-T01-TRO-000001", "kind": "transfer", "from_store": "S001", "to_store": "S002",
    "state": "received", "sent_at": "2026-05-12T08:30:00Z", "received_no": "S002-T01-TRI-000001",
    "received_till": "T01", "received_at": "2026-05-12T15:10:00Z", "confirmations": 1,
    "differences": 1, "lines": [{"sku": "700001", "sent": 5000, "received": 4000,
                                 "difference": -1000}]}
method(
    "hq.stock",
    HqStockParams,
    "viewer",
    "A store's stock as head office holds it: per item the on-hand (every move of every till "
    "of the store) and what is in transit to it (transfers and deliveries not yet confirmed).",
    example={"params": {"store": "S002", "sku": "700001"}, "result": {"store": "S002", "items": [
        {"sku": "700001", "on_hand": 4000, "in_transit": 0,
         "last_move_at": "2026-05-12T15:10:00Z"}]}},
    result=HqStock,
)
method(
    "hq.transfers",
    HqTransfersParams,
    "viewer",
    "Transfers between stores and deliveries, newest first: what was sent and, once a till of "
    "the receiving store confirmed it (a `stock.transfer` in with `ref` = `no`), what was "
    "counted and the difference per item.",
    example={"params": {"store": "S002"}, "result": {"transfers": [_TRANSFER]}},
    result=HqTransfers,
)
method(
    "hq.delivery.create",
    HqDeliveryParams,
    "supervisor",
    "配送: goods sent to a store from head office or a distribution centre. The store sees "
    "it as a pending receipt (`stock.incoming`) and confirms what it counted "
    "(`stock.transfer` in with `ref` = `no`).",
    errors=("conflict",),
    example={"params": {"to_store": "S002", "lines": [{"sku": "700001", "qty": 12000}]},
             "result": {**_TRANSFER, "no": "DLV-20260512-3F9A0C", "kind": "delivery",
                        "from_store": "HQ", "state": "in_transit", "received_no": None,
                        "received_till": None, "received_at": None, "confirmations": 0,
                        "differences": 0, "lines": [{"sku": "700001", "sent": 12000}]}},
    result=ChainTransfer,
)


# -- replenishment (自动补货, issue 15) --------------------------------------------------------
class SupplierItem(Params):
    sku: Sku
    cost: StrictInt | None = Field(default=None, ge=0, description="fen per piece or per kg")
    pack_qty: StrictInt = Field(default=1000, gt=0, description="orders are multiples of it "
                                "(qty units; 1000 = one piece)")


class Supplier(Params):
    id: Name
    name: StrictStr = Field(min_length=1, max_length=200)
    contact: StrictStr | None = Field(default=None, max_length=200)
    lead_time_days: StrictInt = Field(ge=0, le=365)
    items: list[SupplierItem] | None = Field(default=None, max_length=10_000, description=(
        "what it supplies, all of it (replaces the list); omitted: unchanged"))


class HqSupplierUpsertParams(Params):
    suppliers: list[Supplier] = Field(min_length=1, max_length=1000)


class HqCount(Result):
    count: StrictInt


class SupplierItemRow(Result):
    sku: StrictStr
    cost: StrictInt | None
    pack_qty: StrictInt


class SupplierRow(Result):
    id: StrictStr
    name: StrictStr
    contact: StrictStr | None
    lead_time_days: StrictInt
    items: list[SupplierItemRow]


class HqSuppliers(Result):
    suppliers: list[SupplierRow]


class ReplenishRule(Params):
    store: Name = Field(description="a store, or \"*\" for every store without its own rule")
    sku: Sku
    min: StrictInt | None = Field(default=None, ge=0, description="with max: at or below "
                                  "min, order up to max")
    max: StrictInt | None = Field(default=None, ge=0)
    days_of_cover: StrictInt | None = Field(default=None, ge=1, le=365, description="else: "
                                            "keep this many days of sales (+ lead time)")


class HqReplenishRulesParams(Params):
    rules: list[ReplenishRule] = Field(min_length=1, max_length=10_000, description=(
        "a rule with neither min/max nor days_of_cover removes it"))


class HqReplenishSuggestParams(Params):
    store: Name
    window_days: StrictInt = Field(default=28, ge=1, le=365, description="the sales rate's "
                                   "window: business days to today")


class Suggestion(Result):
    sku: StrictStr
    on_hand: StrictInt
    in_transit: StrictInt
    sold: StrictInt = Field(description="qty units sold (sales less refunds, not below 0) in "
                            "the window")
    rate_per_day: StrictInt | float = Field(description="qty units sold per day over the "
                                            "window")
    min: StrictInt | None
    max: StrictInt | None
    days_of_cover: StrictInt | None
    supplier: StrictStr | None = Field(description="the supplier with the shortest lead time")
    lead_time_days: StrictInt
    cost: StrictInt | None
    suggested: StrictInt = Field(description="qty units to order, in whole packs; 0: none")
    why: StrictStr


class HqSuggestions(Result):
    store: StrictStr
    window_days: StrictInt
    suggestions: list[Suggestion]


class PoLine(Params):
    sku: Sku
    qty: StrictInt = Field(gt=0)


class HqPoParams(Params):
    store: Name
    supplier: Name
    lines: list[PoLine] | None = Field(default=None, min_length=1, max_length=1000,
                                       description="omitted: the store's suggestions that "
                                       "this supplier supplies")
    window_days: StrictInt = Field(default=28, ge=1, le=365)


method(
    "hq.supplier.upsert",
    HqSupplierUpsertParams,
    "supervisor",
    "Suppliers: name, contact, lead time in days, and the items each supplies (cost, pack).",
    example={"params": {"suppliers": [{"id": "SUP01", "name": "华东饮料", "contact":
                                       "021-5555-0101", "lead_time_days": 2, "items": [
                                           {"sku": "700001", "cost": 210, "pack_qty": 24000}]}]},
             "result": {"count": 1}},
    result=HqCount,
)
method(
    "hq.supplier.list",
    NoParams,
    "viewer",
    "Every supplier with its items.",
    example={"params": {}, "result": {"suppliers": [{
        "id": "SUP01", "name": "华东饮料", "contact": "021-5555-0101", "lead_time_days": 2,
        "items": [{"sku": "700001", "cost": 210, "pack_qty": 24000}]}]}},
    result=HqSuppliers,
)
method(
    "hq.replenish.rules",
    HqReplenishRulesParams,
    "supervisor",
    "Set per store (or `*`: every store) and item the rule of its suggested order: min/max, "
    "or days of cover.",
    example={"params": {"rules": [{"store": "*", "sku": "700001", "days_of_cover": 7},
                                   {"store": "S002", "sku": "700001", "min": 12000,
                                    "max": 48000}]},
             "result": {"count": 2}},
    result=HqCount,
)
method(
    "hq.replenish.suggest",
    HqReplenishSuggestParams,
    "viewer",
    "自动补货: per item with a rule, the store's on-hand, what is in transit to it, its sales "
    "rate over the window, and the quantity to order (whole packs of its supplier), with why.",
    example={"params": {"store": "S002"}, "result": {"store": "S002", "window_days": 28,
                                                    "suggestions": [{
        "sku": "700001", "on_hand": 10000, "in_transit": 0, "sold": 84000,
        "rate_per_day": 3000, "min": 12000,
        "max": 48000, "days_of_cover": None, "supplier": "SUP01", "lead_time_days": 2,
        "cost": 210, "suggested": 48000,
        "why": "at or below min 12000: up to max 48000"}]}},
    result=HqSuggestions,
)
method(
    "hq.po.create",
    HqPoParams,
    "supervisor",
    "A purchase order to a supplier for a store (the lines given, or the store's suggestions "
    "for that supplier). The store sees it in `stock.incoming` and receives against it with "
    "`stock.receive {supplier, ref: no, lines}`; `hq.transfers` then shows what was received.",
    errors=("not_found", "conflict"),
    example={"params": {"store": "S002", "supplier": "SUP01"}, "result": {
        "no": "PO-20260512-7C1D2E", "kind": "purchase", "from_store": "SUP01",
        "to_store": "S002", "state": "in_transit", "sent_at": "2026-05-12T08:30:00Z",
        "received_no": None, "received_till": None, "received_at": None, "confirmations": 0,
        "differences": 0, "lines": [{"sku": "700001", "sent": 48000}]}},
    result=ChainTransfer,
)
