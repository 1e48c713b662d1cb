"""Retail barcodes: GTIN check digits and in-store scale labels. Pure functions.

Check digits (GS1 General Specifications §7.9.1, the mod-10 "3-1" rule)::

    gtin_check_digit(body) -> int          # body = the code without its check digit
    ean13_check_digit(body12) / ean8_check_digit(body7) / upca_check_digit(body11) -> int
    is_valid_gtin(code) -> bool            # 8, 12, 13 or 14 digits, last one the check digit
    barcode_kind(code) -> "ean13" | "ean8" | "upca" | None   # None: not a valid EAN/UPC
    normalize_gtin(code) -> str            # UPC-A -> its EAN-13 form ("0" + upc); else as is
    price_check_digit(field) -> int        # GS1 §7.9.2-7.9.4 check of a 4/5-digit price field

Scale labels (variable-measure items, EAN-13 with prefix 20-29, printed by the store's own
scales). The layout is configuration: a string of tokens read left to right that must
cover the whole code, one token per digit position:

    ``0``-``9``  a literal digit the code must have there (the prefix, e.g. ``2`` or ``21``)
    ``{I:n}``    the item code (PLU), n digits, returned as a string (leading zeros kept)
    ``{W:n}``    the weight in grams, n digits
    ``{P:n}``    the price in fen, n digits
    ``{X:n}``    n digits that are ignored (e.g. a layout selector or flags)
    ``{V}``      an internal price/weight check digit (GS1 price verifier) over the
                 layout's 4- or 5-digit ``P`` field, or over ``W`` when there is no ``P``
    ``C``        the code's own GTIN check digit (the last position)

Examples (13 positions each)::

    "20{I:5}{W:5}C"     20 + PLU 5 + grams 5 + check        2012345012509 -> ("12345", 1250, None)
    "2{I:6}{P:5}C"      2 + PLU 6 + fen 5 + check
    "2{I:5}{V}{P:5}C"   2 + PLU 5 + price check digit + fen 5 + check
    "2{X:1}{I:5}{W:5}C" any 2x prefix, the second digit ignored

(A layout like ``"2{I:5}{W:5}C"`` covers only 12 positions: it matches UPC-A length codes,
not EAN-13; ``compile_layout`` reports the length so a config error is obvious.)

    compile_layout(text) -> ScaleLayout      # ValueError naming the problem
    parse_scale_label(code, layouts) -> ScaleLabel(plu, grams, price) | None

``parse_scale_label`` tries the layouts in order and returns the first match, or ``None``
when no layout matches (wrong length, a literal differs, a check digit is wrong).
``ScaleLabel`` is a NamedTuple, so ``plu, grams, price = parse_scale_label(...)`` works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "ScaleLabel",
    "ScaleLayout",
    "barcode_kind",
    "compile_layout",
    "ean8_check_digit",
    "ean13_check_digit",
    "gtin_check_digit",
    "is_scale_prefix",
    "is_valid_gtin",
    "normalize_gtin",
    "parse_scale_label",
    "price_check_digit",
    "upca_check_digit",
]


def _digits(text: str, name: str = "code") -> str:
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise ValueError(f"{name} must be a string of ASCII digits, got {text!r}")
    return text


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (all digits but the check digit).

    From the right, digits are weighted 3, 1, 3, 1, ...; the check digit brings the
    weighted sum up to a multiple of 10.
    """
    _digits(body, "body")
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def _fixed(body: str, length: int, name: str) -> int:
    _digits(body, "body")
    if len(body) != length:
        raise ValueError(f"{name} body must have {length} digits, got {len(body)}")
    return gtin_check_digit(body)


def ean13_check_digit(body: str) -> int:
    """Check digit for the first 12 digits of an EAN-13."""
    return _fixed(body, 12, "EAN-13")


def ean8_check_digit(body: str) -> int:
    """Check digit for the first 7 digits of an EAN-8."""
    return _fixed(body, 7, "EAN-8")


def upca_check_digit(body: str) -> int:
    """Check digit for the first 11 digits of a UPC-A."""
    return _fixed(body, 11, "UPC-A")


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit string whose last digit is its check digit."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        return False
    if len(code) not in (8, 12, 13, 14):
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def barcode_kind(code: str) -> str | None:
    """``"ean13"``, ``"ean8"`` or ``"upca"`` for a valid code of that length, else ``None``."""
    if not is_valid_gtin(code):
        return None
    return {13: "ean13", 8: "ean8", 12: "upca"}.get(len(code))


def normalize_gtin(code: str) -> str:
    """The form to index a catalog by: a UPC-A becomes EAN-13 (``"0" + code``).

    The same physical UPC-A label is reported as 12 digits by some scanners and as 13 (with
    a leading zero) by others; both normalize to the same key. Other strings are returned
    unchanged (no validation: use ``barcode_kind`` for that).
    """
    if isinstance(code, str) and len(code) == 12 and code.isascii() and code.isdigit():
        return "0" + code
    return code


def is_scale_prefix(code: str) -> bool:
    """True for a valid EAN-13 with prefix 20-29 (in-store variable-measure numbers)."""
    return barcode_kind(code) == "ean13" and code[0] == "2"


# GS1 General Specifications §7.9.2: the weighting-factor tables for price check digits.
_W2M = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)  # "2-": units digit of 2d minus its tens digit
_W3 = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)  # "3": units digit of 3d
_W5P = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)  # "5+": units digit of 5d plus its tens digit
_W5M = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)  # "5-": units digit of 5d minus its tens digit


def price_check_digit(field: str) -> int:
    """GS1 price/weight verifier digit of a 4- or 5-digit field (§7.9.3, §7.9.4).

    4 digits: weights 2-, 2-, 3, 5-; the check digit is the units digit of 3 x the sum.
    5 digits: weights 5+, 2-, 5-, 5+, 2-; the check digit is the digit whose 5- product
    equals 10 minus the units digit of the sum. ("2875" -> 9, "14685" -> 6.)
    """
    _digits(field, "field")
    d = [int(c) for c in field]
    if len(d) == 4:
        total = _W2M[d[0]] + _W2M[d[1]] + _W3[d[2]] + _W5M[d[3]]
        return (total * 3) % 10
    if len(d) == 5:
        total = _W5P[d[0]] + _W2M[d[1]] + _W5M[d[2]] + _W5P[d[3]] + _W2M[d[4]]
        return _W5M.index((10 - total % 10) % 10)
    raise ValueError(f"price check digit needs a 4- or 5-digit field, got {len(d)} digits")


class ScaleLabel(NamedTuple):
    """A decoded scale label: the PLU, and the weight in grams and/or the price in fen."""

    plu: str
    grams: int | None
    price: int | None


@dataclass(frozen=True)
class ScaleLayout:
    """A compiled layout: ``tokens`` is a tuple of (kind, start, length, literal)."""

    text: str
    length: int
    tokens: tuple[tuple[str, int, int, str], ...]

    def parse(self, code: str) -> ScaleLabel | None:
        """Decode ``code`` with this layout, or ``None`` if it does not match."""
        if not isinstance(code, str) or len(code) != self.length:
            return None
        if not code.isascii() or not code.isdigit():
            return None
        fields: dict[str, str] = {}
        verifier: int | None = None
        for kind, start, n, literal in self.tokens:
            part = code[start : start + n]
            if kind == "lit":
                if part != literal:
                    return None
            elif kind == "C":
                if gtin_check_digit(code[:start]) != int(part):
                    return None
            elif kind == "V":
                verifier = int(part)
            elif kind in "IWP":
                fields[kind] = part
        if verifier is not None:
            checked = fields.get("P", fields.get("W"))
            if checked is None or price_check_digit(checked) != verifier:
                return None
        return ScaleLabel(
            plu=fields["I"],
            grams=int(fields["W"]) if "W" in fields else None,
            price=int(fields["P"]) if "P" in fields else None,
        )


_TOKEN = re.compile(r"\{([IWPX]):(\d+)\}|\{V\}|C|\d")


def _scan(text: str) -> list[tuple[str, str, int]]:
    """Tokenize a layout into (kind, literal, length) or raise ValueError."""
    if not isinstance(text, str) or not text:
        raise ValueError("scale layout must be a non-empty string")
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(
                f"scale layout {text!r}: unexpected {text[pos:]!r} at position {pos}; "
                "tokens are digits, {I:n}, {W:n}, {P:n}, {X:n}, {V} and C"
            )
        tok = m.group(0)
        if m.group(1):
            n = int(m.group(2))
            if n < 1:
                raise ValueError(f"scale layout {text!r}: {tok} must be at least 1 digit")
            out.append((m.group(1), "", n))
        elif tok == "{V}":
            out.append(("V", "", 1))
        elif tok == "C":
            out.append(("C", "", 1))
        else:
            out.append(("lit", tok, 1))
        pos = m.end()
    return out


@lru_cache(maxsize=256)
def compile_layout(text: str) -> ScaleLayout:
    """Compile a layout string; raise ``ValueError`` explaining what is wrong with it."""
    scanned = _scan(text)
    tokens: list[tuple[str, int, int, str]] = []
    at = 0
    for kind, lit, n in scanned:
        tokens.append((kind, at, n, lit))
        at += n
    kinds = [t[0] for t in tokens]
    for k in "IWPVC":
        if kinds.count(k) > 1:
            raise ValueError(f"scale layout {text!r}: token {k} appears more than once")
    if "I" not in kinds:
        raise ValueError(f"scale layout {text!r}: needs an item code {{I:n}}")
    if "W" not in kinds and "P" not in kinds:
        raise ValueError(f"scale layout {text!r}: needs a weight {{W:n}} or a price {{P:n}}")
    if "C" not in kinds or tokens[-1][0] != "C":
        raise ValueError(f"scale layout {text!r}: must end with the check digit C")
    if at not in (8, 12, 13, 14):
        raise ValueError(
            f"scale layout {text!r} covers {at} digits; a GTIN has 8, 12, 13 or 14 "
            "(EAN-13 scale labels need 13)"
        )
    if "V" in kinds:
        checked = next((t[2] for t in tokens if t[0] == "P"), None)
        if checked is None:
            checked = next(t[2] for t in tokens if t[0] == "W")
        if checked not in (4, 5):
            raise ValueError(
                f"scale layout {text!r}: {{V}} checks a 4- or 5-digit field, not {checked}"
            )
    return ScaleLayout(text=text, length=at, tokens=tuple(tokens))


def parse_scale_label(code: str, layouts: Iterable[str | ScaleLayout]) -> ScaleLabel | None:
    """Decode ``code`` with the first of ``layouts`` that matches, else ``None``."""
    for layout in layouts:
        compiled = compile_layout(layout) if isinstance(layout, str) else layout
        label = compiled.parse(code)
        if label is not None:
            return label
    return None
