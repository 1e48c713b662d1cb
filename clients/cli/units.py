"""Money and quantities between people and the wire: the wire has integer fen and integer
thousandths (DESIGN §3); people type and read `12.50` yuan and `1.235` kg. Conversions are
exact text arithmetic, never float."""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"^(-?)(\d{1,9})(?:\.(\d*))?$")


def _scaled(text: str, places: int, what: str) -> int:
    m = _DECIMAL.match(text.strip())
    if not m or len(m.group(3) or "") > places:
        raise ValueError(f"{what} must be a number with at most {places} decimals, "
                         f"got {text!r}")
    sign, whole, frac = m.group(1), m.group(2), (m.group(3) or "").ljust(places, "0")
    value = int(whole) * 10**places + int(frac or "0")
    return -value if sign else value


def parse_yuan(text: str) -> int:
    """`12.5` -> 1250 fen."""
    return _scaled(text, 2, "an amount in yuan")


def parse_qty(text: str) -> int:
    """`3` -> 3000 thousandths (three pieces); `1.235` -> 1235 (1.235 kg as grams)."""
    return _scaled(text, 3, "a quantity")


def yuan(fen: int | None) -> str:
    """Integer fen as yuan text, exactly."""
    if fen is None:
        return ""
    sign, mag = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{mag // 100}.{mag % 100:02d}"


def qty_text(qty: int, unit: str) -> str:
    """3000 pc -> `3`; 1235 kg -> `1.235 kg`; 1500 pc -> `1.500`."""
    sign, mag = ("-" if qty < 0 else ""), abs(qty)
    if unit != "kg" and mag % 1000 == 0:
        return f"{sign}{mag // 1000}"
    return f"{sign}{mag // 1000}.{mag % 1000:03d}" + (" kg" if unit == "kg" else "")
