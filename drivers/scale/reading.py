"""The one reading every scale codec produces, and exact unit conversion to grams.

Weights are integers in grams (DESIGN §3: weighed quantities are grams); conversion from the
decimal text a scale sends goes through `Decimal`, never float, rounding half-up to the gram.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# grams per unit, exact
UNIT_GRAMS: dict[str, Decimal] = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "t": Decimal(1_000_000),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
    "jin": Decimal(500),  # 市斤 (Aclas "SJ")
}


def to_grams(number: str, unit: str) -> int:
    """'1.234', 'kg' -> 1234. Raises ValueError on a bad number or unknown unit."""
    try:
        factor = UNIT_GRAMS[unit]
    except KeyError:
        raise ValueError(f"unknown weight unit {unit!r}") from None
    try:
        value = Decimal(number.strip())
    except InvalidOperation:
        raise ValueError(f"bad weight {number!r}") from None
    if not value.is_finite():
        raise ValueError(f"bad weight {number!r}")
    return int((value * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Reading:
    """One weight report.

    grams: displayed weight (net when `net`, else gross); 0 when the scale reported status
    only (in motion / over / under: protocols such as the 8217 send no weight then).
    stable: the scale says the weight has settled. zero: at centre of zero.
    over: over capacity. under: below zero. tare_grams: the tare, when the protocol says it.
    net: the weight is net of a tare.
    """

    grams: int
    stable: bool
    zero: bool = False
    over: bool = False
    under: bool = False
    tare_grams: int | None = None
    net: bool = False

    @property
    def valid(self) -> bool:
        """A weight that may be sold: settled and within range."""
        return self.stable and not self.over and not self.under

    def as_wire(self) -> dict[str, Any]:
        return {
            "grams": self.grams,
            "stable": self.stable,
            "zero": self.zero,
            "over": self.over,
            "under": self.under,
            "tare_grams": self.tare_grams,
            "net": self.net,
        }
