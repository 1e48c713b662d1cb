"""A catalog row checked before anything is written: `ItemIn`, `validate_items` (every row,
no store access) and `CatalogError`, the per-row report (see the package doc for the rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gatewayd.sales.barcodes import (
    gtin_check_digit,
    is_valid_gtin,
    normalize_gtin,
)

if TYPE_CHECKING:
    pass

PRICE_CAP = 100_000_000  # fen: ¥1,000,000.00; anything above is a typo, not a price
MAX_ERRORS = 1000  # per-row errors kept in a report (the count is always exact)


class CatalogError(ValueError):
    """Rows that failed validation; nothing was changed. ``errors``: [{row, sku, field, error}]."""

    def __init__(self, errors: list[dict[str, Any]], count: int | None = None):
        self.count = count if count is not None else len(errors)
        self.errors = errors[:MAX_ERRORS]
        first = errors[0] if errors else {}
        super().__init__(
            f"{self.count} error(s) in the catalog rows; nothing was changed"
            + (f" (first: row {first.get('row')} {first.get('field')}: {first.get('error')})"
               if first else "")
        )


def barcode_key(code: str) -> str:
    """The indexed form of a barcode: a UPC-A becomes its EAN-13 (``"0" + upc``), a GTIN-14
    with a leading zero its EAN-13; anything else as is."""
    code = normalize_gtin(code)
    if len(code) == 14 and code[0] == "0" and code.isdigit() and code.isascii():
        return code[1:]
    return code


def check_barcode(code: str) -> str:
    """Validate one barcode and return its key; ValueError says what is wrong."""
    if not code:
        raise ValueError("empty barcode")
    if len(code) > 48:
        raise ValueError(f"barcode {code[:20]!r}... is longer than 48 characters")
    if not code.isascii() or not code.isprintable() or " " in code:
        raise ValueError(f"barcode {code!r} has spaces or non-ASCII characters")
    if code.isdigit() and len(code) in (8, 12, 13, 14) and not is_valid_gtin(code):
        kind = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}[len(code)]
        raise ValueError(
            f"barcode {code}: bad {kind} check digit {code[-1]} "
            f"(should be {gtin_check_digit(code[:-1])})"
        )
    return barcode_key(code)


def plu_key(plu: str) -> str:
    """A PLU without its leading zeros ("01001" -> "1001", "0" -> "0")."""
    return plu.lstrip("0") or "0"


_MONEY = Field(ge=0, le=PRICE_CAP)


class ItemIn(BaseModel):
    """One catalog row as written by ``upsert`` (strict: 12.5 is not a price in fen).

    The constraints are pydantic's (checked in its Rust core, ~5 us a row); ``check_row``
    rewrites their messages into the words a shop manager reads in the error report."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    name: str = Field(min_length=1, max_length=200)
    unit: Literal["pc", "kg"] = "pc"
    price: int = _MONEY
    member_price: Annotated[int, _MONEY] | None = None
    tax_rate_bp: int = Field(default=0, ge=0, le=10000)
    category: str | None = Field(default=None, max_length=100)
    cost: Annotated[int, _MONEY] | None = None
    active: bool = True
    plu: str | None = Field(default=None, pattern=r"^[0-9]{1,8}$")
    barcodes: list[str] | None = Field(default=None, max_length=64)
    image: str | None = Field(default=None, max_length=500)

    @field_validator("plu")
    @classmethod
    def _plu(cls, v: str | None) -> str | None:
        return None if v is None else plu_key(v)

    @field_validator("barcodes")
    @classmethod
    def _barcodes(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        keys: list[str] = []
        for code in v:
            key = check_barcode(code)
            if key not in keys:
                keys.append(key)
        return keys


def row_error(row: int, sku: Any, field: str, message: str) -> dict[str, Any]:
    return {"row": row, "sku": sku if isinstance(sku, str) else None, "field": field,
            "error": message}


def _message(field: str, err: Mapping[str, Any]) -> str:
    kind, value = err["type"], err.get("input")
    if field in ("price", "member_price", "cost"):
        if kind == "less_than_equal" and isinstance(value, int):
            return (f"{field} {value} fen (¥{value / 100:,.2f}) is above the cap of "
                    "¥1,000,000.00")
        if kind == "greater_than_equal":
            return f"{field} must be >= 0 fen, got {value}"
        if kind == "int_type":
            return f"{field} must be a whole number of fen (int), got {value!r}"
    if field == "tax_rate_bp" and kind in ("less_than_equal", "greater_than_equal"):
        return f"tax rate must be 0..100% (0..10000 bp), got {value} bp"
    if kind == "string_pattern_mismatch":
        if field == "plu":
            return f"plu must be 1-8 digits, got {value!r}"
        if field == "sku":
            return "sku has control characters"
    if kind == "literal_error" and field == "unit":
        return f"unit must be pc or kg, got {value!r}"
    return err["msg"].removeprefix("Value error, ")


def check_row(raw: Any) -> tuple[ItemIn | None, list[tuple[str, str]]]:
    if not isinstance(raw, Mapping):
        return None, [("", f"a row must be a map, got {type(raw).__name__}")]
    try:
        return ItemIn.model_validate(raw), []
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            field = str(loc[0]) if loc else ""
            msg = _message(field, err)
            if len(loc) > 1 and not (len(loc) == 2 and isinstance(loc[1], str)):
                msg = f"[{'.'.join(str(p) for p in loc[1:])}] {msg}"
            out.append((field, msg))
        return None, out


class RowBatch:
    """Duplicates across the rows of one upsert: a sku, a barcode or a PLU on two rows."""

    def __init__(self) -> None:
        self.skus: dict[str, int] = {}
        self.codes: dict[str, tuple[int, str]] = {}
        self.plus: dict[str, tuple[int, str]] = {}

    def sku(self, raw: Any, row: int) -> list[tuple[str, str]]:
        """Every row's sku counts, valid row or not (a duplicate is reported either way)."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("sku"), str):
            return []
        sku = raw["sku"].strip()
        if not sku:
            return []
        first = self.skus.setdefault(sku, row)
        return [] if first == row else [("sku", f"sku {sku} is also on row {first}")]

    def add(self, item: ItemIn, row: int) -> list[tuple[str, str]]:
        errs = []
        for code in item.barcodes or ():
            other = self.codes.setdefault(code, (row, item.sku))
            if other[1] != item.sku:
                errs.append(("barcodes", f"barcode {code} is also on row {other[0]} ({other[1]})"))
        if item.plu is not None:
            other = self.plus.setdefault(item.plu, (row, item.sku))
            if other[1] != item.sku:
                errs.append(("plu", f"plu {item.plu} is also on row {other[0]} ({other[1]})"))
        return errs


def validate_items(
    items: Sequence[Any], rows: Sequence[int] | None = None
) -> tuple[list[ItemIn], list[int], list[dict[str, Any]]]:
    """Validate every row (no store access): (valid items, their row numbers, errors)."""
    valid: list[ItemIn] = []
    numbers: list[int] = []
    errors: list[dict[str, Any]] = []
    batch = RowBatch()
    for i, raw in enumerate(items):
        row = rows[i] if rows is not None else i
        item, errs = check_row(raw)
        errs += batch.sku(raw, row)
        if item is not None:
            errs += batch.add(item, row)
        sku = raw.get("sku") if isinstance(raw, Mapping) else None
        if errs:
            errors.extend(row_error(row, sku, f, m) for f, m in errs)
        elif item is not None:
            valid.append(item)
            numbers.append(row)
    return valid, numbers, errors
