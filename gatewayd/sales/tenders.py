"""Tender math for split payments: pure, int fen, computed in one place (``settle``).

    settle(total, tenders, cash_rounding_mode="none") -> Settlement
    apply_tender(state, method, amount=None, config=TenderConfig(), ref=None) -> TenderResult

Methods (``METHODS``): ``cash`` and the non-cash ``card``, ``mobile``, ``alipay``,
``wechat``, ``stored_value``, ``voucher``, ``points``.

Rules:

* A non-cash tender is at most the exact amount still due (``Settlement.due``); it never
  produces change. ``amount=None`` means "the rest".
* Change only ever comes out of cash: ``change <= cash tendered``.
* Cash rounding (抹零, ``money.cash_rounding``) applies to the part settled with cash: with
  ``remaining = total - non-cash tenders``, cash settles the sale once it reaches
  ``rounded(remaining)``; then ``rounding = remaining - rounded(remaining)`` and
  ``change = cash - rounded(remaining)``. Cash that covers the exact remaining amount also
  settles it without rounding (so under ``half_up_jiao`` a customer handing over the exact
  12.35 is not asked for 5 more fen). A sale settled without any cash has no rounding.
* ``rounding`` is what the store forgives: positive when the customer pays less, negative
  when ``half_up_jiao`` rounded up. When complete: ``paid - change + rounding == total``.
* While incomplete: ``due`` is the exact amount still owed, ``cash_due`` what to collect if
  the rest is paid in cash (after rounding); ``rounding == change == 0``.

``Settlement.to_wire()`` gives the DESIGN §4 sale fields ``{rounding, paid, due, change}``.
Refunds are not tenders: the returns flow pays back per original tender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .money import CASH_ROUNDING_MODES, cash_rounding, check_int, format_yuan

__all__ = [
    "CASH",
    "METHODS",
    "NON_CASH_METHODS",
    "Settlement",
    "Tender",
    "TenderConfig",
    "TenderError",
    "TenderResult",
    "TenderState",
    "apply_tender",
    "settle",
]

CASH = "cash"
NON_CASH_METHODS = ("card", "mobile", "alipay", "wechat", "stored_value", "voucher", "points")
METHODS = (CASH, *NON_CASH_METHODS)


class TenderError(ValueError):
    """A tender that cannot be taken. ``code`` is the protocol error code to answer with."""

    def __init__(self, message: str, code: str = "invalid_params"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Tender:
    method: str
    amount: int  # fen, > 0 (cash: what was handed over, before change)
    ref: str | None = None  # provider reference, voucher code, ...

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "amount": self.amount}
        if self.ref is not None:
            out["ref"] = self.ref
        return out


@dataclass(frozen=True)
class Settlement:
    total: int
    paid: int  # every tender, cash as handed over
    rounding: int  # cash rounding forgiven (see module doc); 0 until complete
    change: int  # cash given back; 0 until complete
    due: int  # exact amount still owed; 0 when complete
    cash_due: int  # cash still to collect if the rest is paid in cash; 0 when complete
    complete: bool
    cash: int  # cash tendered
    non_cash: int  # non-cash tendered

    def to_wire(self) -> dict[str, int]:
        return {
            "rounding": self.rounding,
            "paid": self.paid,
            "due": self.due,
            "change": self.change,
        }


@dataclass(frozen=True)
class TenderConfig:
    cash_rounding: str = "none"  # none | drop_fen | drop_jiao | half_up_jiao
    max_change: int | None = None  # refuse a cash tender that would give more change


@dataclass(frozen=True)
class TenderState:
    total: int
    tenders: tuple[Tender, ...] = ()


@dataclass(frozen=True)
class TenderResult:
    state: TenderState  # with the new tender appended
    tender: Tender
    settlement: Settlement


def settle(total: int, tenders: Sequence[Tender], cash_rounding_mode: str = "none") -> Settlement:
    """Settle ``tenders`` against ``total`` (all the sale's money fields, in one place)."""
    check_int(total, "total")
    if total < 0:
        raise TenderError("total must be >= 0")
    if cash_rounding_mode not in CASH_ROUNDING_MODES:
        raise TenderError(f"unknown cash rounding mode {cash_rounding_mode!r}")
    cash = non_cash = 0
    has_cash = False
    for t in tenders:
        if t.method not in METHODS:
            raise TenderError(f"unknown tender method {t.method!r}")
        if check_int(t.amount, "amount") < 0:
            raise TenderError("tender amounts must be >= 0")
        if t.method == CASH:
            cash += t.amount
            has_cash = True
        else:
            non_cash += t.amount
    if non_cash > total:
        raise TenderError("non-cash tenders exceed the total", code="conflict")
    remaining = total - non_cash
    rounded, rounding = cash_rounding(remaining, cash_rounding_mode)
    paid = cash + non_cash
    if has_cash and cash >= rounded:
        return Settlement(total, paid, rounding, cash - rounded, 0, 0, True, cash, non_cash)
    if cash >= remaining and (has_cash or remaining == 0):
        return Settlement(total, paid, 0, cash - remaining, 0, 0, True, cash, non_cash)
    return Settlement(
        total=total,
        paid=paid,
        rounding=0,
        change=0,
        due=remaining - cash,
        cash_due=max(0, rounded - cash),
        complete=False,
        cash=cash,
        non_cash=non_cash,
    )


def apply_tender(
    state: TenderState,
    method: str,
    amount: int | None = None,
    config: TenderConfig | None = None,
    ref: str | None = None,
) -> TenderResult:
    """Take one tender. ``amount=None``: cash -> ``cash_due``; other methods -> ``due``.

    Raises ``TenderError`` (code ``conflict`` when the sale is already settled, else
    ``invalid_params``) for an unknown method, an amount <= 0, a non-cash amount above the
    due, or cash change above ``config.max_change``.
    """
    config = config or TenderConfig()
    before = settle(state.total, state.tenders, config.cash_rounding)
    if before.complete:
        raise TenderError("the sale is already settled", code="conflict")
    if method not in METHODS:
        raise TenderError(f"unknown tender method {method!r}; expected one of {METHODS}")
    if amount is None:
        amount = before.cash_due if method == CASH else before.due
    else:
        check_int(amount, "amount")
        if amount <= 0 and not (method == CASH and amount == 0 and before.cash_due == 0):
            raise TenderError("amount must be > 0")
    if method != CASH and amount > before.due:
        raise TenderError(
            f"{method} amount {format_yuan(amount)} exceeds the {format_yuan(before.due)} due"
            " (only cash gives change)"
        )
    tender = Tender(method, amount, ref)
    new_state = replace(state, tenders=(*state.tenders, tender))
    after = settle(new_state.total, new_state.tenders, config.cash_rounding)
    if config.max_change is not None and after.change > config.max_change:
        raise TenderError(
            f"change {format_yuan(after.change)} exceeds the limit "
            f"{format_yuan(config.max_change)}; check the amount tendered"
        )
    return TenderResult(new_state, tender, after)
