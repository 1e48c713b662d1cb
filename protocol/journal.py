"""The journal as a declared schema: one pydantic model per event kind (DESIGN §5, §8).

The journal is the audit log, the crash-recovery source and what replication ships to head
office, as it is: `{seq, at, kind, data}` with `data` the msgpack map the till appended. Each
kind's `data` is declared here; head office reads the journal through these models.

Rules of the schema:
- A field without a default is always present (its value may be nil when the type says so);
  a field with a default (`None`) may be absent: the model says when in its description.
  `model_dump(exclude_unset=True)` of a validated event gives back the stored map exactly.
- Units as on the wire (DESIGN §3): money in fen, quantities in thousandths, `at`-like
  integers in microseconds since the epoch (UTC) unless a field says otherwise.
- A new kind, a new field or a changed type is a schema change: bump
  `JOURNAL_SCHEMA_VERSION` and say what changed in `SCHEMA_CHANGES`. Nothing is ever renamed
  or removed without a new major version, since tills and head office upgrade apart.

Tests: every kind appended anywhere in gatewayd/ has a model here
(tests/store/test_journal_schema.py), and every event the test suite stores validates
against its model and round-trips unchanged (`GATEWAYD_CHECK_JOURNAL=1`, set by
tests/conftest.py, makes `Tx.append` check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from protocol.methods.shifts import ReportFigures

JOURNAL_SCHEMA_VERSION = 8
SCHEMA_CHANGES: dict[int, str] = {
    1: "the first declared schema: every kind journaled by gatewayd 0.1",
    2: "print.done.confirmed (false: sent to a printer without status); print.failed.error "
       "(the job's own failure); new kinds print.held and print.cancelled",
    3: "hq.enrolled: the till enrolled at head office (DESIGN §8)",
    4: "PIN throttling (issue 13): auth.*.failed reasons throttled and busy, with the peer "
       "when throttled; new kind auth.flood; day.reopened gains reopened_by (the manager)",
    5: "master data from head office (issue 15): new kinds master.applied (a batch applied "
       "or held for its time) and master.effective (held changes switched in at their time)",
    6: "members across the chain (issue 15): new kind member.synced (a member's balance and "
       "points as head office gave them)",
    7: "restore from head office (gatewayd restore --from-hq) rebuilds a till from its "
       "journal: operator.added gains pin_hash and pin_salt; stock moves gain unit_cost, "
       "value, avg_cost and line_id; sale.line_added gains item (the catalog item as the "
       "line took it); sale.completed lines gain their names and priced figures, and "
       "voided_lines; sale.voided gains business_day; sale.refunded gains tax and plan; "
       "print.queued gains document; member.registered gains birthday; member.updated "
       "gains values (but the phone, masked as ever); new kinds catalog.items (the items of "
       "a catalog write) and store.restored",
    8: "print.failed is journaled once per job and cause (the job first meets it, the cause "
       "changes, or an attempt fails), no longer at every retry while the printer is away; "
       "no field changed",
}

Fen = StrictInt
Qty = StrictInt
Micros = StrictInt
Str = StrictStr
OptStr = StrictStr | None


class EventData(BaseModel):
    """Base of every event's `data`: strict, and no key that is not declared."""

    model_config = ConfigDict(extra="forbid", strict=True)


class JournalRecord(BaseModel):
    """One journal row as replication carries it (`push.events[]`, DESIGN §8)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    seq: StrictInt = Field(description="gap-free, per till store (and epoch)")
    at: Micros = Field(description="commit time, microseconds since the epoch, UTC")
    kind: StrictStr
    data: dict[str, Any]


EVENTS: dict[str, type[EventData]] = {}
"""kind -> the model of its `data`."""

M = TypeVar("M", bound=type[EventData])


def event(*kinds: str) -> Callable[[M], M]:
    """Register the decorated model as the `data` of each of `kinds`."""

    def register(model: M) -> M:
        for kind in kinds:
            if kind in EVENTS:
                raise ValueError(f"journal kind {kind} has two models")
            EVENTS[kind] = model
        return model

    return register


class UnknownKind(ValueError):
    pass


def model_of(kind: str) -> type[EventData]:
    try:
        return EVENTS[kind]
    except KeyError:
        raise UnknownKind(f"journal kind {kind!r} has no model in protocol/journal.py") from None


def parse(kind: str, data: dict[str, Any]) -> EventData:
    """Validate one event's data against its kind's model (pydantic.ValidationError if not)."""
    return model_of(kind).model_validate(data)


def check(kind: str, data: dict[str, Any]) -> None:
    """Validate and require the exact round trip: the model neither drops nor adds a key."""
    again = parse(kind, data).model_dump(exclude_unset=True, by_alias=True)
    if again != data:
        raise ValueError(f"journal kind {kind}: the model does not round-trip the data "
                         f"(stored {data!r}, model gives {again!r})")


# -- shared parts ---------------------------------------------------------------------------
class TenderRecord(EventData):
    method: Str
    amount: Fen = Field(description="negative on a refund")
    ref: Str | None = Field(default=None, description="absent when the tender has none")


class TaxGroupRecord(EventData):
    rate_bp: StrictInt = Field(description="basis points: 1300 = 13 %")
    net: Fen
    tax: Fen
    base: Fen = Field(description="the amount without tax")


class StockMoveRecord(EventData):
    """The fields after `on_hand` are there from schema 7 (absent before)."""

    sku: Str
    qty: Qty = Field(description="signed: < 0 leaves the stock")
    on_hand: Qty = Field(description="after the move")
    unit_cost: Fen | None = Field(default=None, description="fen per unit it was valued at")
    value: Fen | None = Field(default=None, description="signed fen")
    avg_cost: Fen | None = Field(default=None, description="the moving average after it")
    line_id: OptStr = Field(default=None, description="sales and refunds: the sale line")


# -- sale -----------------------------------------------------------------------------------
@event("sale.opened")
class SaleOpened(EventData):
    sale_id: Str
    till: Str
    operator: OptStr


class LineItem(EventData):
    """The catalog item as a sale line took it (a later price change does not change it)."""

    name: Str
    unit: Str
    list_price: Fen
    member_price: Fen | None
    tax_rate_bp: StrictInt
    category: OptStr


@event("sale.line_added")
class SaleLineAdded(EventData):
    sale_id: Str
    line_id: Str
    sku: Str
    qty: Qty
    unit_price: Fen | None = Field(description="a price carried by the scale label; nil: the "
                                   "item's price")
    source: Str = Field(description="how the item was found: barcode, scale_label, plu, sku")
    barcode: OptStr
    operator: OptStr
    version: StrictInt = Field(description="the sale's version after this change")
    item: LineItem | None = Field(default=None, description="schema 7; absent before")


@event("sale.qty_set")
class SaleQtySet(EventData):
    sale_id: Str
    line_id: Str
    qty: Qty
    operator: OptStr
    version: StrictInt


@event("sale.line_voided")
class SaleLineVoided(EventData):
    sale_id: Str
    line_id: Str
    sku: Str
    qty: Qty
    operator: OptStr
    version: StrictInt


@event("sale.discount")
class SaleDiscount(EventData):
    sale_id: Str
    line_id: OptStr = Field(description="nil: the whole order")
    percent_bp: StrictInt | None
    amount: Fen | None
    reason: Str
    operator: OptStr
    approver: OptStr
    version: StrictInt


@event("sale.price_overridden")
class SalePriceOverridden(EventData):
    sale_id: Str
    line_id: Str
    sku: Str
    list_price: Fen
    unit_price: Fen
    operator: OptStr
    approver: OptStr
    version: StrictInt


@event("sale.suspended")
class SaleSuspended(EventData):
    sale_id: Str
    operator: OptStr
    version: StrictInt


@event("sale.resumed")
class SaleResumed(EventData):
    sale_id: Str
    operator: OptStr
    version: StrictInt


@event("sale.voided")
class SaleVoided(EventData):
    """`reason` "empty" (an empty sale dropped on resume) carries only sale_id, reason and
    operator; a voided sale carries the rest too."""

    sale_id: Str
    reason: Str
    operator: OptStr
    approver: OptStr = None
    total: Fen | None = None
    cash_tendered: Fen | None = None
    version: StrictInt | None = None
    business_day: OptStr = Field(default=None, description="the day the void counts on; "
                                 "schema 7, absent before and for `empty`")


@event("sale.tendered")
class SaleTendered(EventData):
    sale_id: Str
    tender_id: Str
    method: Str
    amount: Fen
    ref: OptStr
    attempt_id: OptStr = Field(description="the provider payment's key")
    operator: OptStr
    version: StrictInt


class CompletedLine(EventData):
    """The fields after `net` are there from schema 7 (absent before)."""

    line_id: Str
    sku: Str
    qty: Qty
    net: Fen
    name: OptStr = None
    unit: OptStr = None
    list_price: Fen | None = None
    member_price: Fen | None = None
    unit_price: Fen | None = Field(default=None, description="the override or label price")
    tax_rate_bp: StrictInt | None = None
    category: OptStr = None
    amount: Fen | None = None
    discount: Fen | None = None
    tax: Fen | None = None
    gross: Fen | None = None


@event("sale.completed")
class SaleCompleted(EventData):
    sale_id: Str
    receipt_no: Str
    business_day: Str = Field(description="YYYYMMDD, store time")
    shift_id: OptStr
    operator: OptStr
    total: Fen
    subtotal: Fen
    discount: Fen
    tax: list[TaxGroupRecord]
    rounding: Fen
    paid: Fen
    change: Fen
    tenders: list[TenderRecord]
    lines: list[CompletedLine] = Field(description="the lines not voided")
    voided_lines: list[CompletedLine] | None = Field(
        default=None, description="the voided lines, as priced when voided; schema 7")


@event("sale.member")
class SaleMember(EventData):
    sale_id: Str
    member: OptStr = Field(description="member id; nil: detached")
    phone: OptStr = Field(description="masked: 138****5678")
    operator: OptStr
    birthday_coupon: OptStr = Field(description="code of the birthday coupon issued now")


@event("receipt.reprinted")
class ReceiptReprinted(EventData):
    receipt_no: Str
    sale_id: Str
    count: StrictInt
    operator: OptStr
    job_id: OptStr


# -- payments -------------------------------------------------------------------------------
@event("payment.started")
class PaymentStarted(EventData):
    key: Str = Field(description="the idempotency key sent to the provider")
    sale_id: Str
    method: Str
    amount: Fen
    operator: OptStr


@event("payment.user_paying")
class PaymentUserPaying(EventData):
    key: Str
    sale_id: Str


@event("payment.approved")
class PaymentApproved(EventData):
    key: Str
    sale_id: Str
    amount: Fen
    provider_ref: OptStr


@event("payment.declined", "payment.cancelled", "payment.failed")
class PaymentNotApproved(EventData):
    key: Str
    sale_id: Str
    reason: Str


@event("payment.reversed")
class PaymentReversed(EventData):
    key: Str
    sale_id: Str


# -- refunds --------------------------------------------------------------------------------
class RefundPlanLine(EventData):
    orig_line_id: OptStr
    sku: Str
    name: Str
    unit: Str
    qty: Qty
    unit_price: Fen
    list_price: Fen
    tax_rate_bp: StrictInt
    amount: Fen
    discount: Fen
    net: Fen
    tax: Fen
    gross: Fen
    money: Fen = Field(description="what goes back for this line")
    member_price: Fen | None
    category: OptStr


class RefundPlanPart(EventData):
    bucket: OptStr = Field(description="nil: the exchange credit")
    method: Str
    amount: Fen
    original: OptStr


class RefundPlan(EventData):
    lines: list[RefundPlanLine]
    parts: list[RefundPlanPart]
    request: Any = Field(description="the lines asked for, as the call gave them")
    exchange: StrictBool
    post_void: StrictBool
    no_receipt: StrictBool
    keys: dict[str, Str] = Field(description="part index -> provider idempotency key")
    approved: dict[str, OptStr] = Field(description="key -> provider reference")


@event("refund.started")
class RefundStarted(EventData):
    refund_id: Str
    sale_id: Str
    receipt_no: OptStr
    operator: OptStr
    plan: RefundPlan


@event("refund.approved")
class RefundApproved(EventData):
    refund_id: Str
    key: Str
    provider_ref: OptStr


@event("refund.unreachable")
class RefundUnreachable(EventData):
    key: Str
    error: Str


@event("refund.declined")
class RefundDeclined(EventData):
    refund_id: Str
    key: Str
    reason: Str


class RefundedLine(EventData):
    line_id: Str
    orig_line_id: OptStr
    sku: Str
    qty: Qty
    gross: Fen


class RefundVoucher(EventData):
    code: Str
    amount: Fen
    exchange: StrictBool


@event("sale.refunded")
class SaleRefunded(EventData):
    refund_id: Str
    receipt_no: Str = Field(description="the refund's own number {store}-{till}-{day}-R{n}")
    business_day: Str
    shift_id: OptStr
    refund_of: OptStr = Field(description="the original sale's id; nil without receipt")
    orig_receipt_no: OptStr
    operator: OptStr
    approver: OptStr
    reason: OptStr
    exchange: StrictBool
    total: Fen = Field(description="the goods' value returned")
    money: Fen = Field(description="what went back (after cash rounding)")
    tenders: list[TenderRecord]
    vouchers: list[RefundVoucher]
    lines: list[RefundedLine]
    tax: list[TaxGroupRecord] | None = Field(default=None, description="schema 7")
    plan: RefundPlan | None = Field(default=None, description="what was refunded, line by "
                                    "line and tender by tender (as refund.started has it); "
                                    "schema 7")


# -- promotions and vouchers ----------------------------------------------------------------
@event("promo.upserted")
class PromoUpserted(EventData):
    ids: list[Str]
    promotions: list[dict[str, Any]] = Field(
        description="as given to promo.upsert (the config's [[promotions]] model)")
    operator: OptStr


@event("voucher.issued")
class VoucherIssued(EventData):
    code: Str
    amount: Fen
    operator: OptStr


# -- shifts and the business day ------------------------------------------------------------
@event("shift.opened")
class ShiftOpened(EventData):
    shift_id: Str
    till: Str
    operator: OptStr
    business_day: Str
    float: Fen


@event("shift.cash")
class ShiftCash(EventData):
    id: Str
    shift_id: Str
    kind: Literal["paid_in", "paid_out"]
    amount: Fen = Field(description="> 0 paid in, < 0 paid out")
    reason: Str
    operator: OptStr
    business_day: Str = Field(description="the shift's business day")
    today: Str = Field(description="the business day when it happened")


@event("shift.closed")
class ShiftClosed(EventData):
    shift_id: Str
    operator: OptStr
    counted: Fen
    expected: Fen
    variance: Fen
    report: ReportFigures = Field(description="the shift's X report figures (as `report.x`)")


class ZFigures(ReportFigures):
    """The Z report as stored at the close: the day and its figures (the figures of the
    protocol's report types, protocol/methods/shifts.py: a change to them is a change of
    this schema too)."""

    day: Str


@event("day.closed")
class DayClosed(EventData):
    day: Str
    operator: OptStr
    closes: StrictInt = Field(description="how many times this day has been closed")
    z: ZFigures = Field(description="the Z report as stored (as `report.z` gives it)")


@event("day.reopened")
class DayReopened(EventData):
    day: Str
    operator: OptStr = Field(description="who asked")
    approver: OptStr
    reopened_by: OptStr = Field(default=None, description="the manager who reopened it "
                                "(schema 3; the approver, or the operator if a manager)")


# -- devices and printing -------------------------------------------------------------------
@event("drawer.opened")
class DrawerOpened(EventData):
    """reason `sale` (with receipt_no and sale_id), `no_sale` (with approver), or a shift's
    cash move: `float`, `paid_in`, `paid_out`, `close` (with shift_id)."""

    device: Str
    reason: Str
    operator: OptStr
    error: OptStr = Field(default=None, description="the drawer failed to open; absent for "
                          "no_sale (which raises instead)")
    approver: OptStr = None
    receipt_no: OptStr = None
    sale_id: OptStr = None
    shift_id: OptStr = None


@event("print.queued")
class PrintQueued(EventData):
    job_id: Str
    printer: Str
    kind: Str = Field(description="receipt, lines, report, ...")
    ref: OptStr
    document: list[dict[str, Any]] | None = Field(
        default=None, description="what is printed (drivers.printer.receipt items); schema 7")


@event("print.started")
class PrintStarted(EventData):
    job_id: Str
    attempt: StrictInt
    reprint: StrictBool = Field(description="printed again from the top after a fault")


@event("print.done")
class PrintDone(EventData):
    job_id: Str
    attempt: StrictInt
    confirmed: StrictBool | None = Field(
        default=None, description="the printer answered the job's completion request (it "
        "printed it); false: sent to a printer without a status channel; absent before "
        "schema 2")


@event("print.failed")
class PrintFailed(EventData):
    """The job could not print: once per job and cause, when the job first meets the cause,
    when the cause changes (paper out, then the cover open) and when an attempt fails. A
    retry that finds the printer away for the same cause journals nothing (schema 8; before
    it, one at every retry, about every 2 s). The job waits in the queue meanwhile; reason `job`
    is counted towards `print.held`."""

    job_id: Str
    reason: Str = Field(description="the printer's (paper_empty, cover_open, offline, error) "
                        "or `job`: the job itself failed")
    error: OptStr = Field(default=None, description="reason job: what failed")


@event("print.held")
class PrintHeld(EventData):
    """The job failed on its own account `failures` times: set aside, no longer printed."""

    job_id: Str
    failures: StrictInt
    error: Str


@event("print.cancelled")
class PrintCancelled(EventData):
    job_id: Str
    by: OptStr = Field(description="the operator logged in on the connection that cancelled")


class AlertSource(EventData):
    client: OptStr
    kind: OptStr
    operator: OptStr


@event("alert.raised")
class AlertRaised(EventData):
    id: Str
    kind: Str
    message: Str
    source: AlertSource
    device: OptStr = Field(default=None, description="absent when not given")


# -- catalog --------------------------------------------------------------------------------
@event("catalog.upserted")
class CatalogUpserted(EventData):
    count: StrictInt
    inserted: StrictInt
    updated: StrictInt
    skus: list[Str] = Field(description="the first 100")
    source: Str = Field(description="api, csv, xlsx, sample, ...")


class CatalogItemRecord(EventData):
    """An item as written (the catalog's `ItemIn`, validated and normalised)."""

    sku: Str
    name: Str
    unit: Literal["pc", "kg"]
    price: Fen
    member_price: Fen | None
    tax_rate_bp: StrictInt
    category: OptStr
    cost: Fen | None
    active: StrictBool
    plu: OptStr
    barcodes: list[Str] | None = Field(description="nil: the item's barcodes are unchanged")
    image: OptStr


@event("catalog.items")
class CatalogItems(EventData):
    """The items of one catalog write, up to 500 an event, journaled just before its
    `catalog.upserted` (schema 7): what a till rebuilt from head office gets its catalog
    from."""

    items: list[CatalogItemRecord]


# -- auth -----------------------------------------------------------------------------------
@event("token.added")
class TokenAdded(EventData):
    id: Str
    name: Str
    role: Str


@event("token.revoked")
class TokenRevoked(EventData):
    ref: Str = Field(description="the id or name given")
    count: StrictInt


@event("pair.requested")
class PairRequested(EventData):
    code: Str
    name: Str
    kind: Str


@event("pair.approved", "pair.denied")
class PairDecided(EventData):
    code: Str
    name: Str
    role: OptStr = Field(description="nil when denied")


@event("pair.collected")
class PairCollected(EventData):
    code: Str
    name: Str


@event("operator.added")
class OperatorAdded(EventData):
    id: Str
    name: Str
    role: Str
    pin_hash: OptStr = Field(default=None, description="hex of scrypt(PIN, salt), as the till "
                             "keeps it; schema 7, for a restore from head office")
    pin_salt: OptStr = Field(default=None, description="hex; schema 7")


@event("auth.login")
class AuthLogin(EventData):
    operator: Str
    role: Str
    client: Str


@event("auth.logout")
class AuthLogout(EventData):
    operator: Str
    client: Str


@event("auth.login.failed", "auth.approval.failed")
class AuthFailed(EventData):
    """`throttled`: the client's address had to wait (schema 3); `busy`: the id's attempts
    under way and failed already reach the limit (schema 3)."""

    operator: Str
    reason: Literal["unknown", "locked", "pin", "throttled", "busy"]
    client: OptStr = Field(default=None, description="login: the client")
    action: OptStr = Field(default=None, description="approval: the method")
    peer: OptStr = Field(default=None, description="throttled: the client's address")


@event("auth.flood")
class AuthFlood(EventData):
    """A client address went past its free wrong PINs and now waits (schema 3)."""

    peer: Str
    client: Str


@event("auth.locked")
class AuthLocked(EventData):
    operator: Str
    until: StrictInt = Field(description="seconds since the epoch, UTC")


@event("auth.approved")
class AuthApproved(EventData):
    model_config = ConfigDict(populate_by_name=True)
    operator: Str
    action: Str
    for_: OptStr = Field(alias="for", description="the operator approved for")
    role: Str


@event("auth.denied")
class AuthDenied(EventData):
    """An approver whose role is too low (with their `operator`), or a call refused for the
    connection's role (`operator` the logged-in one, or nil)."""

    operator: OptStr
    action: Str
    role: Str | None
    required: Str


# -- members --------------------------------------------------------------------------------
@event("member.registered")
class MemberRegistered(EventData):
    member: Str
    phone: Str = Field(description="masked")
    name: Str
    tier: Str
    card: OptStr
    referred_by: OptStr
    birthday: OptStr = Field(default=None, description="schema 7; absent when not given")


@event("member.updated")
class MemberUpdated(EventData):
    member: Str
    fields: list[Str]
    active: StrictBool
    phone: OptStr = Field(default=None, description="masked; present when it changed")
    values: dict[str, Any] | None = Field(default=None, description="the new value of each "
                                          "field changed but the phone; schema 7")


@event("member.points", "member.balance")
class MemberMove(EventData):
    member: Str
    delta: StrictInt = Field(description="points, or fen of stored value")
    before: StrictInt
    after: StrictInt
    reason: Str
    sale_id: OptStr = Field(default=None, description="absent when not about a sale")
    ref: OptStr = Field(default=None, description="absent when there is none")
    method: OptStr = Field(default=None, description="balance top-up: how it was paid")


@event("member.tier")
class MemberTier(EventData):
    member: Str
    before: Str
    after: Str
    spend: Fen


@event("member.reward")
class MemberReward(EventData):
    member: Str
    reward: Str
    points: StrictInt
    coupon: OptStr


@event("member.purchase")
class MemberPurchase(EventData):
    member: Str
    sale_id: Str
    kind: Literal["sale", "refund"]
    amount: Fen
    points: StrictInt
    receipt_no: OptStr
    refund_of: OptStr = Field(default=None, description="refunds: the original sale's id")


@event("member.synced")
class MemberSynced(EventData):
    """The till's copy of a member's ledgers set to what head office said the member may
    spend (a member fetched from head office, or an online authorization). Not a ledger
    entry: head office does not count it."""

    member: Str
    balance: Fen
    points: StrictInt
    source: Literal["lookup", "hold"]


@event("coupon.issued")
class CouponIssued(EventData):
    codes: list[Str] = Field(description="the first 100")
    count: StrictInt
    amount: Fen
    min_spend: Fen
    valid_from: Micros
    valid_to: Micros
    source: Str = Field(description="issue, birthday, referral, reward")
    member: OptStr = Field(default=None, description="absent: a bearer coupon")
    batch: OptStr = Field(default=None, description="absent when not given")


@event("coupon.redeemed")
class CouponRedeemed(EventData):
    code: Str
    sale_id: Str
    amount: Fen
    member: OptStr = Field(default=None, description="absent: a bearer coupon")


@event("coupon.released")
class CouponReleased(EventData):
    code: Str
    sale_id: Str


# -- stock ----------------------------------------------------------------------------------
@event("stock.sold")
class StockSold(EventData):
    kind: Literal["sale", "refund", "void"]
    sale_id: Str
    receipt_no: OptStr = Field(default=None, description="absent for a void")
    moves: list[StockMoveRecord]


class ReceivedLine(EventData):
    sku: Str
    qty: Qty
    cost: Fen = Field(description="fen per piece or per kg")


@event("stock.received")
class StockReceived(EventData):
    no: Str
    supplier: OptStr
    ref: OptStr
    operator: OptStr
    lines: list[ReceivedLine]
    moves: list[StockMoveRecord]


class TransferredLine(EventData):
    sku: Str
    qty: Qty
    cost: Fen | None = Field(default=None, description="absent when not given")


@event("stock.transferred")
class StockTransferred(EventData):
    no: Str
    direction: Literal["out", "in"]
    peer: Str
    ref: OptStr
    operator: OptStr
    lines: list[TransferredLine]
    moves: list[StockMoveRecord]


class WrittenOffLine(EventData):
    sku: Str
    qty: Qty


@event("stock.written_off")
class StockWrittenOff(EventData):
    no: Str
    reason: Str
    operator: OptStr
    lines: list[WrittenOffLine]
    moves: list[StockMoveRecord]


class CountedLine(EventData):
    sku: Str
    counted: Qty


@event("stock.count_saved")
class StockCountSaved(EventData):
    no: Str
    lines: list[CountedLine]
    operator: OptStr


class PostedCountLine(EventData):
    sku: Str
    counted: Qty
    expected: Qty
    variance: Qty


@event("stock.counted")
class StockCounted(EventData):
    no: Str
    lines: list[PostedCountLine]
    operator: OptStr
    approver: OptStr
    moves: list[StockMoveRecord]


@event("stock.threshold_set")
class StockThresholdSet(EventData):
    sku: Str
    threshold: Qty | None


@event("stock.low")
class StockLow(EventData):
    kind: Literal["low_stock"]
    sku: Str
    on_hand: Qty
    threshold: Qty


# -- head office ------------------------------------------------------------------------------
@event("hq.enrolled")
class HqEnrolled(EventData):
    url: Str = Field(description="head office's base URL, ws:// or wss://")
    store: Str
    till: Str


# -- master data from head office (DESIGN §8) ------------------------------------------------
@event("master.applied")
class MasterApplied(EventData):
    """One `master` batch from head office, applied in this event's transaction (schema 5)."""

    version: StrictInt = Field(description="head office's master version the till is at now")
    changes: StrictInt = Field(description="changes applied now")
    scheduled: StrictInt = Field(description="changes held until their effective_at")
    kinds: dict[Str, StrictInt] = Field(description="changes per kind (item, price, promo, "
                                        "operator, ...), applied or held")
    staged: StrictBool = Field(description="the items were staged beside the catalog and "
                               "switched in (a big batch)")


@event("master.effective")
class MasterEffective(EventData):
    """Held changes whose effective_at came, switched in together (schema 5)."""

    versions: list[StrictInt]
    changes: StrictInt
    kinds: dict[Str, StrictInt]


@event("store.restored")
class StoreRestored(EventData):
    """The first event of a till rebuilt from head office's copy of its journal (schema 7):
    seqs up to `seq` were downloaded from epoch `previous_epoch`; `missing` says what the
    journal could not give back."""

    source: Literal["hq"]
    previous_epoch: Str
    seq: StrictInt
    missing: list[Str]
