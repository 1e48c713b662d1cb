"""Money arithmetic for the sale: exact integers, explicit rounding, never float.

Units (DESIGN §3, contract):

* money is an ``int`` of fen (0.01 CNY);
* quantity is an ``int`` of thousandths of the item's unit (``1000`` = 1 piece; weighed
  items are sold per kg, so their quantity is grams);
* percentages are ``int`` basis points (``10000`` = 100 %, ``1000`` = 10 %, ``50`` = 0.5 %).

Every function here takes and returns ``int`` (a ``float`` or ``bool`` argument raises
``TypeError``) and rounds exactly once, in the mode it is told.

Rounding modes (``ROUNDING_MODES``), for ``div_round(n, d, mode)``:

``half_up``    nearest; an exact half goes *away from zero* (2.5 -> 3, -2.5 -> -3).
               This is the commercial rule and the default everywhere.
``half_even``  nearest; an exact half goes to the even neighbour (2.5 -> 2, 3.5 -> 4).
``down``       toward zero (truncate): 2.7 -> 2, -2.7 -> -2.
``up``         away from zero: 2.1 -> 3, -2.1 -> -3.
``floor``      toward minus infinity.
``ceiling``    toward plus infinity.

Cash rounding (抹零) is different: it is applied to what is paid in cash at tender time, never
inside pricing, and its effect is always kept as its own amount (``cash_rounding``).

Public API::

    div_round(numerator, denominator, mode="half_up") -> int
    line_amount(unit_price, qty, mode="half_up") -> int        # unit_price * qty / 1000
    percent_of(amount, percent_bp, mode="half_up") -> int      # amount * bp / 10000
    allocate(total, weights) -> list[int]                       # largest-remainder split
    cash_rounding(amount, mode) -> (rounded, rounding)         # rounded + rounding == amount
    format_yuan(fen) -> "12.34"
    format_percent(bp) -> "12.5%"
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CASH_ROUNDING_MODES",
    "QTY_ONE",
    "ROUNDING_MODES",
    "allocate",
    "cash_rounding",
    "check_int",
    "div_round",
    "format_percent",
    "format_yuan",
    "line_amount",
    "percent_of",
]

ROUNDING_MODES = ("half_up", "half_even", "down", "up", "floor", "ceiling")
CASH_ROUNDING_MODES = ("none", "drop_fen", "drop_jiao", "half_up_jiao")

QTY_ONE = 1000  # one unit (a piece, or a kg) in thousandths
BP_ONE = 10000  # 100 % in basis points


def check_int(value: object, name: str = "value") -> int:
    """Return ``value`` if it is a true ``int`` (not ``bool``, not ``float``), else raise."""
    if type(value) is not int:
        # bool is an int subclass; a float would silently lose fen. Both are refused.
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return value


def div_round(numerator: int, denominator: int, mode: str = "half_up") -> int:
    """Exact ``numerator / denominator`` rounded to an integer in ``mode``.

    Correct for any signs: the sign of the exact quotient decides the direction of
    ``up``/``down``/``half_up`` (which are symmetric around zero), ``floor`` and ``ceiling``
    are not symmetric. ``denominator == 0`` raises ``ZeroDivisionError``.
    """
    check_int(numerator, "numerator")
    check_int(denominator, "denominator")
    if denominator == 0:
        raise ZeroDivisionError("div_round by zero")
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}; expected one of {ROUNDING_MODES}")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    negative = numerator < 0
    q, r = divmod(abs(numerator), denominator)  # magnitude: q + r/denominator
    if r:
        twice = 2 * r
        if mode == "half_up":
            bump = twice >= denominator
        elif mode == "half_even":
            bump = twice > denominator or (twice == denominator and q % 2 == 1)
        elif mode == "down":
            bump = False
        elif mode == "up":
            bump = True
        elif mode == "floor":
            bump = negative
        else:  # ceiling
            bump = not negative
        if bump:
            q += 1
    return -q if negative else q


def line_amount(unit_price: int, qty: int, mode: str = "half_up") -> int:
    """Amount of ``qty`` thousandths at ``unit_price`` fen per unit: ``unit_price*qty/1000``."""
    check_int(unit_price, "unit_price")
    check_int(qty, "qty")
    return div_round(unit_price * qty, QTY_ONE, mode)


def percent_of(amount: int, percent_bp: int, mode: str = "half_up") -> int:
    """``amount * percent_bp / 10000`` rounded in ``mode`` (``percent_bp`` 1000 = 10 %)."""
    check_int(amount, "amount")
    check_int(percent_bp, "percent_bp")
    return div_round(amount * percent_bp, BP_ONE, mode)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (>= 0) over non-negative integer ``weights`` proportionally.

    Each share is ``floor(total * w / sum(weights))``; the fen left over go one each to the
    largest fractional remainders, ties to the earlier position. The shares sum to
    ``total`` exactly, and when ``total <= sum(weights)`` no share exceeds its weight and a
    zero weight gets nothing. With all weights zero, ``total`` must be zero.
    """
    check_int(total, "total")
    if total < 0:
        raise ValueError("allocate: total must be >= 0")
    for w in weights:
        if check_int(w, "weight") < 0:
            raise ValueError("allocate: weights must be >= 0")
    denom = sum(weights)
    if denom == 0:
        if total:
            raise ValueError("allocate: cannot split a non-zero total over zero weights")
        return [0] * len(weights)
    shares = []
    remainders = []
    for i, w in enumerate(weights):
        q, r = divmod(total * w, denom)
        shares.append(q)
        remainders.append((-r, i))
    left = total - sum(shares)
    for _, i in sorted(remainders)[:left]:
        shares[i] += 1
    return shares


def cash_rounding(amount: int, mode: str) -> tuple[int, int]:
    """Round a cash amount for 抹零; return ``(rounded, rounding)`` with
    ``rounded + rounding == amount``.

    ``rounding`` is what the store forgives: positive when the customer pays less than the
    exact amount (``drop_fen``: 12.34 -> 12.30, rounding 4), negative when they pay more
    (``half_up_jiao``: 12.35 -> 12.40, rounding -5). Modes:

    ``none``          no rounding.
    ``drop_fen``      drop the fen: down to a multiple of 10 fen (one jiao).
    ``drop_jiao``     drop jiao and fen: down to a whole yuan (100 fen).
    ``half_up_jiao``  nearest jiao, an exact 5 fen rounds up.

    A negative amount (money going back to the customer) is rounded on its magnitude, so
    the rules stay symmetric: dropping never gives back more than the exact amount.
    """
    check_int(amount, "amount")
    if mode == "none":
        return amount, 0
    if mode == "drop_fen":
        rounded = div_round(amount, 10, "down") * 10
    elif mode == "drop_jiao":
        rounded = div_round(amount, 100, "down") * 100
    elif mode == "half_up_jiao":
        rounded = div_round(amount, 10, "half_up") * 10
    else:
        raise ValueError(
            f"unknown cash rounding mode {mode!r}; expected one of {CASH_ROUNDING_MODES}"
        )
    return rounded, amount - rounded


def format_yuan(fen: int) -> str:
    """``1234 -> "12.34"``, ``-5 -> "-0.05"``, ``0 -> "0.00"`` (no currency sign)."""
    check_int(fen, "fen")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def format_percent(bp: int) -> str:
    """Basis points as a short percentage: ``1000 -> "10%"``, ``1250 -> "12.5%"``."""
    check_int(bp, "bp")
    sign = "-" if bp < 0 else ""
    whole, frac = divmod(abs(bp), 100)
    if frac == 0:
        return f"{sign}{whole}%"
    return f"{sign}{whole}.{f'{frac:02d}'.rstrip('0')}%"
