"""Returns, shifts and the business day (gatewayd/sales/returns.py, shifts.py)."""

from __future__ import annotations

from datetime import datetime as _Datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import Fen, NoParams, Params, Qty, Result, method
from protocol.methods.sale import Sale


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
class RefundVoucher(Result):
    code: StrictStr
    amount: Fen
    exchange: StrictBool = Field(description="the exchange credit (else a voucher tender's "
                                 "part given back as a new voucher)")


class Refund(Sale):
    """The refund document (kind `refund`, negative tenders) with what the call did."""

    orig_receipt_no: StrictStr | None = Field(description="nil: a return without receipt")
    vouchers: list[RefundVoucher]
    exchange: StrictBool
    applied_to: StrictStr | None = Field(description="exchange: the open sale the credit "
                                         "was tendered on")


class RefundableLine(Result):
    line_id: StrictStr
    sku: StrictStr
    name: StrictStr
    qty: Qty = Field(description="sold")
    returned: Qty
    refundable: Qty


class Refundable(Result):
    sale: Sale
    lines: list[RefundableLine]
    refunds: list[StrictStr] = Field(description="the receipt's refund numbers")
    pending: StrictStr | None = Field(description="a refund in progress: its id")


class RefundMode(Result):
    enabled: StrictBool
    whole: StrictBool
    operator: StrictStr | None


class Shift(Result):
    """A shift. Its `counted`, `expected`, `variance` and `closed_by` are shown only once it
    is closed (the cashier's close is blind)."""

    id: StrictStr
    operator: StrictStr
    business_day: StrictStr = Field(description="YYYYMMDD")
    state: Literal["open", "closed"]
    float: Fen
    opened_at: _Datetime
    closed_at: _Datetime | None
    counted: Fen | None = Field(default=None, description="closed only")
    expected: Fen | None = Field(default=None, description="closed only")
    variance: Fen | None = Field(default=None, description="closed only: counted - expected")
    closed_by: StrictStr | None = Field(default=None, description="closed only")


class CashMove(Result):
    id: StrictStr
    shift_id: StrictStr
    kind: Literal["paid_in", "paid_out"]
    amount: Fen
    reason: StrictStr


class DayState(Result):
    day: StrictStr = Field(description="YYYYMMDD")
    state: Literal["open", "closed"]
    closes: StrictInt = Field(description="how many times the day has been closed")
    closed_at: _Datetime | None = Field(default=None, description="absent: never closed")
    closed_by: StrictStr | None = Field(default=None, description="absent: never closed")
    reopened_at: _Datetime | None = Field(default=None, description="absent: never closed")
    reopened_by: StrictStr | None = Field(default=None, description="absent: never closed")


class ShiftCurrent(Result):
    shift: Shift | None
    day: DayState


class CountTotal(Result):
    count: StrictInt
    total: Fen


class SalesFigures(CountTotal):
    rounding: Fen
    collected: Fen
    subtotal: Fen


class VoidFigures(CountTotal):
    lines: StrictInt = Field(description="lines voided on sales that went on")
    lines_amount: Fen


class TenderFigures(Result):
    method: StrictStr
    count: StrictInt
    sales: Fen = Field(description="net of change")
    refunds: Fen
    net: Fen


class TaxFigures(Result):
    rate_bp: StrictInt
    sales: Fen
    refunds: Fen
    net: Fen
    tax: Fen
    gross: Fen


class CashierFigures(Result):
    operator: StrictStr | None
    sales: StrictInt
    sales_total: Fen
    refunds: StrictInt
    refunds_total: Fen
    voids: StrictInt


class CashFigures(Result):
    float: Fen
    sales: Fen = Field(description="cash sales net of change")
    refunds: Fen
    paid_in: Fen
    paid_out: Fen
    expected: Fen


class ReportFigures(Result):
    """The figures of an X (shift) or Z (day) report."""

    sales: SalesFigures
    refunds: CountTotal
    post_voids: CountTotal
    voids: VoidFigures
    discounts: Fen
    rounding: Fen = Field(description="抹零")
    net: Fen
    tenders: list[TenderFigures]
    tax: list[TaxFigures]
    cashiers: list[CashierFigures]
    first_receipt: StrictStr | None
    last_receipt: StrictStr | None
    first_refund: StrictStr | None
    last_refund: StrictStr | None
    cash: CashFigures


class XReport(ReportFigures):
    shift: Shift


class ZReport(ReportFigures, DayState):
    """A business day's Z report and the day's state (a closed day: as stored at its close)."""


class DayClosed(ZReport):
    job_id: StrictStr | None = Field(description="the printed Z report; nil without a printer")


class ShiftClosed(Shift):
    report: ReportFigures = Field(description="the shift's X report figures")
    job_id: StrictStr | None = Field(description="the printed shift report")


method(
    "sale.refund",
    SaleRefundParams,
    "supervisor",
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
    "A closed business day refuses with `conflict` {reason: day_closed}. A supervisor's "
    "unless the site lowers it (`[auth] require` `\"sale.refund\" = \"cashier\"`): a "
    "cashier gets `approval_required` and calls again with `approve`.",
    errors=("not_found", "invalid_params", "conflict", "approval_required",
            "payment_declined"),
    needs_operator=True,
    lowest_role="cashier",
    example={"params": {"receipt_no": "S001-T01-20260512-0007",
                        "lines": [{"line_id": "c41b…", "qty": 1000}]},
             "result": _REFUND},
    result=Refund,
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
    result=Refundable,
)
method(
    "sale.refund_mode",
    RefundModeParams,
    "cashier",
    "Refund mode for the scan router: the next receipt barcode scanned publishes "
    "`sale.refund_lookup` (the `sale.refundable` answer) or, with `whole`, refunds all that "
    "is left of it. The mode ends after one receipt; `sale.refund_mode` is published. "
    "`whole` is a refund, so it needs what `sale.refund` needs: a cashier gets "
    "`approval_required` and the approver is recorded on the refund the scan makes.",
    errors=("approval_required",),
    needs_operator=True,
    example={"params": {"enabled": True}, "result": {"enabled": True, "whole": False,
                                                      "operator": "1001"}},
    result=RefundMode,
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
    result=Shift,
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
    result=CashMove,
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
    result=ShiftClosed,
)
method(
    "shift.current",
    NoParams,
    "viewer",
    "The open shift (without any expected cash: the close is blind) and today's business "
    "day state.",
    example={"params": {}, "result": {"shift": _SHIFT,
                                      "day": {"day": "20260512", "state": "open", "closes": 0}}},
    result=ShiftCurrent,
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
    result=XReport,
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
    result=ZReport,
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
    result=DayClosed,
)
method(
    "day.reopen",
    DayParams,
    "manager",
    "反结账: reopen a closed business day (default today). A manager's: anyone else is "
    "asked for a manager's approval at once (`approval_required` {role: manager}); "
    "journaled as `day.reopened` with the manager as `reopened_by`. Closing it again stores "
    "a new Z report.",
    errors=("conflict", "approval_required", "invalid_params"),
    example={"params": {"approve": {"operator": "9001", "pin": "9999"}},
             "result": {"day": "20260512", "state": "open", "closes": 1}},
    result=DayState,
)


