"""The catalog: items, their barcodes and PLUs, in the store; lookups by index, never in memory.

Tables (``store/sql/0002_catalog.sql``): ``items`` (sku primary key, unique PLU, pinyin
initials) and ``barcodes`` (code primary key -> sku, several per item). Nothing is loaded at
start-up, so 200,000 items cost the daemon nothing until they are asked for; every lookup is
one or two indexed SELECTs on the store's read connection (a few microseconds each).

Reading::

    cat = Catalog(store, layouts=DEFAULT_SCALE_LAYOUTS)
    cat.lookup(code, layouts=None) -> Match | None
        1. exact barcode (normalized: a UPC-A and its EAN-13 form are the same key)
        2. an in-store scale label (EAN-13, prefix 20-29) decoded with the scale layouts,
           then the item by the label's PLU
        3. a PLU typed on the keypad (up to 8 digits)
        4. a sku
       Inactive items are found too (``match.item.active`` is False): the caller refuses to
       sell them with a clear message rather than "unknown barcode".
    Match(item, qty_override, price_override, source)
        qty_override    grams from a weight label, else None
        price_override  fen from a price label (the amount printed for the whole pack), else None
        source          "barcode" | "scale_label" | "plu" | "sku"
    cat.get(sku) / cat.by_barcode(code) / cat.by_plu(plu) -> Item | None
    cat.search(query, limit=20, include_inactive=False) -> list[Item]
        exact sku or barcode first, then sku prefix, barcode prefix, pinyin initials
        (prefix, then substring: "hfsp" finds 红富士苹果) and name substring.
    catalog_item(item_or_row) -> pricing.CatalogItem

Writing (inside one store transaction)::

    upsert(tx, items, source="api", rows=None) -> report
        Every row is validated first (``ItemIn``): if any row is bad nothing changes and
        ``CatalogError`` carries the per-row report ``[{row, sku, field, error}]`` (``row``
        is the index in ``items``, or ``rows[i]`` when given: the CSV line number).
        Otherwise all rows are upserted, barcodes reassigned to the row that names them, and
        ONE ``catalog.upserted {count, inserted, updated, skus (first 100), source}`` event
        is journaled. A row is the whole item (omitted optional fields become empty), except
        ``barcodes``: omitted keeps the item's barcodes, a list replaces them.

Row rules: sku 1-64 printable characters; name 1-200; unit ``pc`` or ``kg``; price,
member_price and cost integer fen, 0 <= x <= ``PRICE_CAP`` (¥1,000,000.00); tax_rate_bp
0..10000; plu 1-8 digits, stored without leading zeros (so label ``{I:5}`` "01001" and
``{I:6}`` "001001" both find PLU 1001), unique among items; barcodes printable, no spaces,
at most 48 characters, and an all-digit code of 8, 12, 13 or 14 digits must carry a correct
GTIN check digit (EAN-8, UPC-A, EAN-13, GTIN-14).

CSV (``gatewayd catalog import|export``)::

    sku,name,barcodes,unit,price,member_price,tax_rate,category,cost,plu,active,image

``barcodes`` separated by ``|``; money in yuan with at most two decimals (``12.50``, parsed
to fen exactly, no float) or, in ``price_fen`` / ``member_price_fen`` / ``cost_fen`` columns,
integer fen; ``tax_rate`` in percent (``13``, ``13%``, ``6.5``; empty = 0); ``unit`` pc/kg
(also 个/件/千克/公斤); ``active`` 1/0, true/false, yes/no, 是/否 (empty = active). UTF-8 with
or without BOM, or GB18030/GBK as saved by Chinese Excel. Export writes UTF-8 with BOM (Excel
opens it correctly) in the same columns, money in yuan.

Scale label layouts come from config ``[sale] scale_layouts`` (token syntax in
``barcodes.py``). The defaults follow the common Chinese store-scale practice of a two-digit
flag, a 5-digit PLU and a 5-digit value::

    21, 22          weight labels   "21{I:5}{W:5}C"  grams 00000-99999
    20, 23 .. 29    price labels    "20{I:5}{P:5}C"  fen 0.00-999.99 yuan

Protocol: ``catalog.lookup {barcode|query|sku}`` (viewer) and ``catalog.upsert {items}``
(manager); a successful upsert publishes ``catalog.updated {count}`` on the bus.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gatewayd.sales.barcodes import (
    ScaleLayout,
    compile_layout,
    gtin_check_digit,
    is_valid_gtin,
    normalize_gtin,
)
from gatewayd.sales.pricing import CatalogItem

if TYPE_CHECKING:
    from gatewayd.store.db import Store, Tx

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_SCALE_LAYOUTS",
    "PRICE_CAP",
    "SAMPLE_CSV",
    "Catalog",
    "CatalogError",
    "Item",
    "ItemIn",
    "Match",
    "barcode_key",
    "catalog_item",
    "compile_scale_layouts",
    "export_csv",
    "import_csv",
    "load_sample",
    "parse_csv",
    "pinyin_initials",
    "scale_layouts",
    "upsert",
    "upsert_items",
    "validate_items",
]

PRICE_CAP = 100_000_000  # fen: ¥1,000,000.00; anything above is a typo, not a price
MAX_ERRORS = 1000  # per-row errors kept in a report (the count is always exact)
DEFAULT_SCALE_LAYOUTS: tuple[str, ...] = (
    "21{I:5}{W:5}C",
    "22{I:5}{W:5}C",
    "20{I:5}{P:5}C",
    *(f"2{d}{{I:5}}{{P:5}}C" for d in range(3, 10)),
)
CSV_COLUMNS = (
    "sku",
    "name",
    "barcodes",
    "unit",
    "price",
    "member_price",
    "tax_rate",
    "category",
    "cost",
    "plu",
    "active",
    "image",
)
SAMPLE_CSV = Path(__file__).with_name("sample_catalog.csv")


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


# -- pinyin initials -------------------------------------------------------------------------
_initial_cache: dict[str, str | None] = {}


def _char_initial(ch: str) -> str | None:
    """The initial of a Han character when all its readings share it, else None (ambiguous:
    the phrase decides, e.g. 重庆 chong vs 重量 zhong). Non-Han: lower-case ASCII alnum or ''."""
    try:
        return _initial_cache[ch]
    except KeyError:
        pass
    from pypinyin.pinyin_dict import pinyin_dict

    readings = pinyin_dict.get(ord(ch))
    if readings is None:
        out: str | None = ch.lower() if ch.isascii() and ch.isalnum() else ""
    else:
        firsts = {_first(r) for r in readings.split(",") if r}
        out = firsts.pop() if len(firsts) == 1 else None
    _initial_cache[ch] = out
    return out


def _first(reading: str) -> str:
    return unicodedata.normalize("NFD", reading)[0].lower()


def _phrase_initial(name: str, i: int) -> str:
    """The initial of the polyphonic character ``name[i]`` from the longest pypinyin phrase
    around it (重庆 -> c, 重量 -> z), else from its most common reading."""
    from pypinyin.phrases_dict import phrases_dict

    for length in (4, 3, 2):
        for start in range(max(0, i - length + 1), min(i, len(name) - length) + 1):
            readings = phrases_dict.get(name[start : start + length])
            if readings is not None and len(readings) == length:
                return _first(readings[i - start][0])
    from pypinyin.pinyin_dict import pinyin_dict

    return _first(pinyin_dict[ord(name[i])].split(",")[0])


def pinyin_initials(name: str) -> str:
    """Lower-case pinyin initials of the Han characters, plus the ASCII letters and digits:
    红富士苹果 -> "hfspg" (so "hfsp" finds it), 农夫山泉550ml -> "nfsq550ml", 重庆小面 -> "cqxm".

    A table lookup per character (pypinyin's dictionaries); a polyphonic character whose
    readings start differently takes its reading from the longest pypinyin phrase around it
    (4 to 2 characters), else its most common one. That is a simplified form of pypinyin's
    own phrase segmentation, some 20 times faster (a 200k-item import spends ~1 s here)."""
    out = []
    for i, ch in enumerate(name):
        got = _char_initial(ch)
        out.append(_phrase_initial(name, i) if got is None else got)
    return "".join(out)


# -- validation ----------------------------------------------------------------------------
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

    The constraints are pydantic's (checked in its Rust core, ~5 us a row); ``_check_row``
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


def _error(row: int, sku: Any, field: str, message: str) -> dict[str, Any]:
    return {"row": row, "sku": sku if isinstance(sku, str) else None, "field": field,
            "error": message}


def _message(field: str, err: Mapping[str, Any]) -> str:
    kind, value = err["type"], err.get("input")
    if field in ("price", "member_price", "cost"):
        if kind == "less_than_equal":
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


def _check_row(raw: Any) -> tuple[ItemIn | None, list[tuple[str, str]]]:
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


class _Batch:
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
    batch = _Batch()
    for i, raw in enumerate(items):
        row = rows[i] if rows is not None else i
        item, errs = _check_row(raw)
        errs += batch.sku(raw, row)
        if item is not None:
            errs += batch.add(item, row)
        sku = raw.get("sku") if isinstance(raw, Mapping) else None
        if errs:
            errors.extend(_error(row, sku, f, m) for f, m in errs)
        elif item is not None:
            valid.append(item)
            numbers.append(row)
    return valid, numbers, errors


# -- writing ---------------------------------------------------------------------------------
def _chunks(seq: Sequence[Any], n: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _store_checks(tx: Tx, items: Sequence[ItemIn], rows: Sequence[int]) -> list[dict[str, Any]]:
    """Conflicts with what is already stored: a PLU held by an item this batch leaves alone."""
    wanted = {it.plu: (row, it.sku) for it, row in zip(items, rows, strict=True) if it.plu}
    if not wanted:
        return []
    in_batch = {it.sku for it in items}
    errors = []
    plus = list(wanted)
    for part in _chunks(plus):
        marks = ",".join("?" * len(part))
        for plu, holder in tx.execute(
            f"SELECT plu, sku FROM items WHERE plu IN ({marks})", tuple(part)
        ).fetchall():
            row, sku = wanted[plu]
            if holder != sku and holder not in in_batch:
                errors.append(_error(row, sku, "plu", f"plu {plu} already belongs to {holder}"))
    return errors


def _apply(tx: Tx, items: Sequence[ItemIn], rows: Sequence[int], source: str) -> dict[str, Any]:
    errors = _store_checks(tx, items, rows)
    if errors:
        raise CatalogError(errors)
    skus = [it.sku for it in items]
    before = tx.one("SELECT COUNT(*) FROM items")[0]
    if any(it.plu for it in items):
        # PLUs may move between items of this batch: free theirs first (UNIQUE is immediate).
        tx.executemany(
            "UPDATE items SET plu = NULL WHERE sku = ? AND plu IS NOT NULL", ((s,) for s in skus)
        )
    at = tx.at
    tx.executemany(
        "INSERT INTO items(sku, name, unit, price, member_price, tax_rate_bp, category, cost,"
        " active, plu, pinyin, image, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(sku) DO UPDATE SET name=excluded.name, unit=excluded.unit,"
        " price=excluded.price, member_price=excluded.member_price,"
        " tax_rate_bp=excluded.tax_rate_bp, category=excluded.category, cost=excluded.cost,"
        " active=excluded.active, plu=excluded.plu, pinyin=excluded.pinyin,"
        " image=excluded.image, updated_at=excluded.updated_at",
        (
            (it.sku, it.name, it.unit, it.price, it.member_price, it.tax_rate_bp, it.category,
             it.cost, int(it.active), it.plu, pinyin_initials(it.name), it.image, at)
            for it in items
        ),
    )
    inserted = tx.one("SELECT COUNT(*) FROM items")[0] - before
    with_codes = [it for it in items if it.barcodes is not None]
    moved: list[dict[str, str]] = []
    moved_count = 0
    if with_codes:
        pairs = [(code, it.sku) for it in with_codes for code in it.barcodes or ()]
        owner = dict(pairs)
        for part in _chunks([c for c, _ in pairs]):
            marks = ",".join("?" * len(part))
            for code, old in tx.execute(
                f"SELECT code, sku FROM barcodes WHERE code IN ({marks})", tuple(part)
            ).fetchall():
                if old != owner[code]:
                    moved_count += 1
                    if len(moved) < 100:
                        moved.append({"code": code, "from": old, "to": owner[code]})
        tx.executemany("DELETE FROM barcodes WHERE sku = ?", ((it.sku,) for it in with_codes))
        tx.executemany(
            "INSERT INTO barcodes(code, sku) VALUES (?, ?)"
            " ON CONFLICT(code) DO UPDATE SET sku = excluded.sku",
            pairs,
        )
    report = {
        "count": len(items),
        "inserted": inserted,
        "updated": len(items) - inserted,
        "barcodes_moved": moved_count,
        "moved": moved,
        "source": source,
    }
    tx.execute("UPDATE catalog_version SET n = n + 1")
    report["seq"] = tx.append(
        "catalog.upserted",
        {
            "count": len(items),
            "inserted": inserted,
            "updated": len(items) - inserted,
            "skus": skus[:100],
            "source": source,
        },
    )
    return report


def upsert(
    tx: Tx, items: Sequence[Any], source: str = "api", rows: Sequence[int] | None = None
) -> dict[str, Any]:
    """Validate all rows, then write all of them or none (see the module doc)."""
    valid, numbers, errors = validate_items(items, rows)
    if errors:
        raise CatalogError(errors)
    if not valid:
        return {"count": 0, "inserted": 0, "updated": 0, "barcodes_moved": 0, "moved": [],
                "source": source, "seq": None}
    return _apply(tx, valid, numbers, source)


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    unit: str
    price: int
    member_price: int | None
    tax_rate_bp: int
    category: str | None
    cost: int | None
    active: bool
    plu: str | None
    pinyin: str
    image: str | None
    updated_at: int
    barcodes: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Item:
        codes = row["barcodes"]
        return cls(
            sku=row["sku"],
            name=row["name"],
            unit=row["unit"],
            price=row["price"],
            member_price=row["member_price"],
            tax_rate_bp=row["tax_rate_bp"],
            category=row["category"],
            cost=row["cost"],
            active=bool(row["active"]),
            plu=row["plu"],
            pinyin=row["pinyin"],
            image=row["image"],
            updated_at=row["updated_at"],
            barcodes=tuple(sorted(codes.split("|"))) if codes else (),
        )

    def as_wire(self) -> dict[str, Any]:
        """The item as the protocol carries it (cost is back-office data: left out)."""
        return {
            "sku": self.sku,
            "name": self.name,
            "unit": self.unit,
            "price": self.price,
            "member_price": self.member_price,
            "tax_rate_bp": self.tax_rate_bp,
            "category": self.category,
            "active": self.active,
            "plu": self.plu,
            "barcodes": list(self.barcodes),
            "image": self.image,
        }


class Match(NamedTuple):
    item: Item
    qty_override: int | None  # grams, from a weight label
    price_override: int | None  # fen, from a price label: the amount of the whole pack
    source: Literal["barcode", "scale_label", "plu", "sku"]


def catalog_item(item: Item | Mapping[str, Any]) -> CatalogItem:
    """What the pricing core consumes."""
    if not isinstance(item, Item):
        item = Item.from_row({"barcodes": None, **dict(item)})
    return CatalogItem(
        sku=item.sku,
        name=item.name,
        price=item.price,
        unit=item.unit,
        member_price=item.member_price,
        tax_rate_bp=item.tax_rate_bp,
        category=item.category,
    )


def scale_layouts(sale_config: Mapping[str, Any] | None) -> tuple[ScaleLayout, ...]:
    """Compiled ``[sale] scale_layouts`` (or the defaults); ValueError on a bad layout."""
    texts = (sale_config or {}).get("scale_layouts", DEFAULT_SCALE_LAYOUTS)
    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise ValueError("sale.scale_layouts must be a list of layout strings")
    try:
        return compile_scale_layouts(texts)
    except ValueError as exc:
        raise ValueError(f"sale.scale_layouts: {exc}") from None


def compile_scale_layouts(texts: Iterable[str]) -> tuple[ScaleLayout, ...]:
    """In-store scale label layouts, each an EAN-13; ValueError names the bad one."""
    out = []
    for text in texts:
        layout = compile_layout(text)
        if layout.length != 13:
            raise ValueError(
                f"{text!r} covers {layout.length} digits; in-store scale "
                "labels are EAN-13 (13 digits, e.g. 21{I:5}{W:5}C)"
            )
        out.append(layout)
    return tuple(out)


_SELECT = (
    "SELECT i.sku, i.name, i.unit, i.price, i.member_price, i.tax_rate_bp, i.category, i.cost,"
    " i.active, i.plu, i.pinyin, i.image, i.updated_at,"
    " (SELECT group_concat(code, '|') FROM barcodes c WHERE c.sku = i.sku) AS barcodes"
)
_HIGH = "\U0010ffff"  # upper bound for a prefix range scan on an index
SCANNED_CACHE = 10_000  # barcodes kept by Catalog.by_barcode (frozen Items, a few MB at most)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Catalog:
    """Read side of the catalog over the store's read connection (see the module doc)."""

    def __init__(self, store: Store, layouts: Iterable[str | ScaleLayout] | None = None):
        self.store = store
        self.layouts = tuple(
            compile_layout(t) if isinstance(t, str) else t
            for t in (DEFAULT_SCALE_LAYOUTS if layouts is None else layouts)
        )
        # barcode -> item, for the items scanned since the catalog last changed (a repeat
        # scan costs one read of catalog_version instead of the item query and its decoding)
        self._scanned: dict[str, Item] = {}
        self._scanned_version = -1

    def version(self) -> int:
        """The catalog's change counter: it moves with every write, from any process."""
        return self.store.one("SELECT n FROM catalog_version")[0]

    def _one(self, where: str, params: tuple) -> Item | None:
        row = self.store.one(f"{_SELECT} FROM items i {where}", params)
        return Item.from_row(row) if row is not None else None

    def get(self, sku: str) -> Item | None:
        return self._one("WHERE i.sku = ?", (sku,))

    def by_barcode(self, code: str) -> Item | None:
        """Every cached item was read after `_scanned_version` was: while the counter still
        reads the same, no catalog write has committed since, and the cache is current. A
        miss reads the item afresh, so it costs no read of the counter."""
        key = barcode_key(code)
        item = self._scanned.get(key)
        if item is not None:
            version = self.version()
            if version == self._scanned_version:
                return item
            self._scanned.clear()
            self._scanned_version = version  # read before the item below
        item = self._one("JOIN barcodes b ON b.sku = i.sku WHERE b.code = ?", (key,))
        if item is not None:
            if len(self._scanned) >= SCANNED_CACHE:
                self._scanned.clear()
            self._scanned[key] = item
        return item

    def by_plu(self, plu: str) -> Item | None:
        if not (plu.isascii() and plu.isdigit()):
            return None
        return self._one("WHERE i.plu = ?", (plu_key(plu),))

    def count(self) -> int:
        return self.store.one("SELECT COUNT(*) FROM items")[0]

    def lookup(
        self, code: str, layouts: Iterable[str | ScaleLayout] | None = None
    ) -> Match | None:
        code = code.strip()
        if not code:
            return None
        item = self.by_barcode(code)
        if item is not None:
            return Match(item, None, None, "barcode")
        if len(code) == 13 and code[0] == "2" and code.isascii() and code.isdigit():
            for layout in self.layouts if layouts is None else layouts:
                compiled = compile_layout(layout) if isinstance(layout, str) else layout
                label = compiled.parse(code)
                if label is None:
                    continue
                item = self.by_plu(label.plu)
                if item is not None:
                    return Match(item, label.grams, label.price, "scale_label")
        if len(code) <= 8 and code.isascii() and code.isdigit():
            item = self.by_plu(code)
            if item is not None:
                return Match(item, None, None, "plu")
        item = self.get(code)
        if item is not None:
            return Match(item, None, None, "sku")
        return None

    def search(self, query: str, limit: int = 20, include_inactive: bool = False) -> list[Item]:
        q = query.strip()
        if not q or limit <= 0:
            return []
        found: dict[str, Item] = {}
        active = "" if include_inactive else " AND i.active = 1"

        def take(where: str, order: str, params: tuple) -> bool:
            need = limit - len(found)
            if need <= 0:
                return True
            rows = self.store.all(
                f"{_SELECT} FROM items i {where}{active} {order} LIMIT ?",
                (*params, need + len(found)),
            )
            for row in rows:
                if row["sku"] not in found and len(found) < limit:
                    found[row["sku"]] = Item.from_row(row)
            return len(found) >= limit

        lower = q.lower()
        steps: list[tuple[str, str, tuple]] = [
            ("WHERE i.sku = ?", "", (q,)),
            ("JOIN barcodes b ON b.sku = i.sku WHERE b.code = ?", "", (barcode_key(q),)),
            ("WHERE i.sku >= ? AND i.sku < ?", "ORDER BY i.sku", (q, q + _HIGH)),
        ]
        if q.isascii() and q.isdigit():
            steps.append(
                ("JOIN barcodes b ON b.sku = i.sku WHERE b.code >= ? AND b.code < ?",
                 "ORDER BY b.code", (q, q + _HIGH))
            )
        if lower.isascii() and lower.isalnum():
            steps.append(("WHERE i.pinyin >= ? AND i.pinyin < ?", "ORDER BY i.pinyin, i.sku",
                          (lower, lower + _HIGH)))
            steps.append(("WHERE i.pinyin LIKE ? ESCAPE '\\'", "ORDER BY i.sku",
                          (_like(lower),)))
        steps.append(("WHERE i.name LIKE ? ESCAPE '\\'", "ORDER BY i.sku", (_like(q),)))
        for where, order, params in steps:
            if take(where, order, params):
                break
        return list(found.values())

    def iter_items(self, batch: int = 5000) -> Iterator[Item]:
        """Every item in sku order, read in pages (export)."""
        last = ""
        while True:
            rows = self.store.all(
                f"{_SELECT} FROM items i WHERE i.sku > ? ORDER BY i.sku LIMIT ?", (last, batch)
            )
            if not rows:
                return
            for row in rows:
                yield Item.from_row(row)
            last = rows[-1]["sku"]


# -- CSV ---------------------------------------------------------------------------------------
_YUAN = re.compile(r"(\d+)(?:\.(\d{1,2}))?")
_YUAN_COMMAS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")
_PERCENT = re.compile(r"(\d{1,3})(?:\.(\d{1,2}))?")
_UNITS = {"pc": "pc", "pcs": "pc", "个": "pc", "件": "pc", "只": "pc", "瓶": "pc", "包": "pc",
          "kg": "kg", "千克": "kg", "公斤": "kg"}
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f"}
_KNOWN = {*CSV_COLUMNS, "price_fen", "member_price_fen", "cost_fen"}
_CSV_FIELD = {"tax_rate_bp": "tax_rate"}  # ItemIn field -> the CSV column named in errors


def parse_yuan(text: str) -> int:
    """"12.50" -> 1250 fen, exactly (no float). ValueError on anything else."""
    t = text.strip().removeprefix("¥").removeprefix("￥").strip()
    if t.startswith("-"):
        raise ValueError(f"{text!r} is negative")
    if _YUAN_COMMAS.fullmatch(t):
        t = t.replace(",", "")
    m = _YUAN.fullmatch(t)
    if not m:
        if re.fullmatch(r"\d+\.\d{3,}", t):
            raise ValueError(f"{text!r} has more than two decimals (yuan to the fen)")
        raise ValueError(f"{text!r} is not an amount in yuan like 12.50")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def parse_fen(text: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"-?\d+", t):
        raise ValueError(f"{text!r} is not a whole number of fen")
    return int(t)


def parse_percent(text: str) -> int:
    """"13" / "13%" / "6.5" -> basis points."""
    t = text.strip().removesuffix("%").strip()
    m = _PERCENT.fullmatch(t)
    if not m:
        raise ValueError(f"{text!r} is not a tax rate in percent like 13 or 13%")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def format_yuan_plain(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def format_percent_plain(bp: int) -> str:
    whole, frac = divmod(bp, 100)
    return str(whole) if not frac else f"{whole}.{frac:02d}".rstrip("0")


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK): (text, encoding)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _csv_row(rec: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One CSV record -> an ItemIn-shaped dict and the fields that could not be parsed."""
    out: dict[str, Any] = {}
    errs: list[tuple[str, str]] = []

    def val(col: str) -> str:
        return (rec.get(col) or "").strip()

    out["sku"] = val("sku")
    out["name"] = val("name")
    if "barcodes" in rec:
        out["barcodes"] = [c.strip() for c in val("barcodes").split("|") if c.strip()]
    unit = val("unit").lower()
    if unit:
        if unit in _UNITS:
            out["unit"] = _UNITS[unit]
        else:
            errs.append(("unit", f"unit must be pc or kg, got {val('unit')!r}"))
    for name, required in (("price", True), ("member_price", False), ("cost", False)):
        yuan, fen = val(name), val(f"{name}_fen")
        try:
            if fen:
                value = parse_fen(fen)
                if yuan and parse_yuan(yuan) != value:
                    raise ValueError(f"{name} {yuan} and {name}_fen {fen} disagree")
                out[name] = value
            elif yuan:
                out[name] = parse_yuan(yuan)
            elif required:
                errs.append((name, "price is empty"))
            else:
                out[name] = None
        except ValueError as exc:
            errs.append((name, str(exc)))
    if val("tax_rate"):
        try:
            out["tax_rate_bp"] = parse_percent(val("tax_rate"))
        except ValueError as exc:
            errs.append(("tax_rate_bp", str(exc)))
    for name in ("category", "plu", "image"):
        out[name] = val(name) or None
    flag = val("active").lower()
    if flag in _TRUE or not flag:
        out["active"] = True
    elif flag in _FALSE:
        out["active"] = False
    else:
        errs.append(("active", f"active must be 1/0, true/false or yes/no, got {flag!r}"))
    return out, errs


def parse_csv(
    data: bytes, progress: Callable[[str], None] | None = None
) -> tuple[list[ItemIn], list[int], list[dict[str, Any]], str]:
    """CSV bytes -> (valid items, their line numbers, errors, encoding). Line 1 is the header."""
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [], [_error(1, None, "", "the file is empty")], encoding
    unknown = [h for h in header if h not in _KNOWN]
    missing = [c for c in ("sku", "name") if c not in header]
    if "price" not in header and "price_fen" not in header:
        missing.append("price")
    if unknown or missing or len(set(header)) != len(header):
        msg = []
        if missing:
            msg.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            msg.append(f"unknown column(s) {', '.join(unknown)}")
        if len(set(header)) != len(header):
            msg.append("a column appears twice")
        msg.append(f"expected {','.join(CSV_COLUMNS)}")
        return [], [], [_error(1, None, "", "; ".join(msg))], encoding
    valid: list[ItemIn] = []
    numbers: list[int] = []
    errors: list[dict[str, Any]] = []
    batch = _Batch()
    n = 0
    for rec in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in rec):
            continue
        n += 1
        if progress and n % 10000 == 0:
            progress(f"read {n} rows")
        if len(rec) > len(header):
            errors.append(_error(line, rec[0] if rec else None, "",
                                 f"{len(rec)} cells, the header has {len(header)}"))
            continue
        raw, errs = _csv_row(dict(zip(header, rec, strict=False)))
        failed = {f for f, _ in errs}
        item, more = _check_row(raw)
        errs += [(f, m) for f, m in more if f not in failed]
        errs += batch.sku(raw, line)
        if item is not None:
            errs += batch.add(item, line)
        if errs:
            errors.extend(
                _error(line, raw.get("sku") or None, _CSV_FIELD.get(f, f), m) for f, m in errs
            )
        elif item is not None:
            valid.append(item)
            numbers.append(line)
    if progress and n >= 10000:
        progress(f"read {n} rows")
    return valid, numbers, errors, encoding


class _DryRun(Exception):
    def __init__(self, report: dict[str, Any]):
        self.report = report


def import_csv(
    store: Store,
    path: Path | str,
    *,
    dry_run: bool = False,
    source: str = "csv",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Import a CSV in one transaction: all rows or none. Raises CatalogError with the
    per-row report. ``dry_run`` validates everything (store conflicts too) and rolls back."""
    path = Path(path)
    valid, numbers, errors, encoding = parse_csv(path.read_bytes(), progress)
    if errors:
        raise CatalogError(errors)
    if progress and len(valid) >= 10000:
        progress(f"writing {len(valid)} items")

    def work(tx: Tx) -> dict[str, Any]:
        report = _apply(tx, valid, numbers, f"{source}:{path.name}") if valid else {"count": 0}
        if dry_run:
            raise _DryRun(report)
        return report

    try:
        report, _ = store.write_sync(work)
    except _DryRun as dry:
        report = {**dry.report, "dry_run": True, "seq": None}
    report["encoding"] = encoding
    return report


def export_csv(store: Store, path: Path | str, encoding: str = "utf-8-sig") -> int:
    """Write every item (sku order) in the import format; returns the count."""
    n = 0
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for it in Catalog(store).iter_items():
            w.writerow(
                [
                    it.sku,
                    it.name,
                    "|".join(it.barcodes),
                    it.unit,
                    format_yuan_plain(it.price),
                    "" if it.member_price is None else format_yuan_plain(it.member_price),
                    format_percent_plain(it.tax_rate_bp),
                    it.category or "",
                    "" if it.cost is None else format_yuan_plain(it.cost),
                    it.plu or "",
                    "1" if it.active else "0",
                    it.image or "",
                ]
            )
            n += 1
    return n


def load_sample(store: Store) -> int:
    """Load the demo catalog (``sample_catalog.csv``) when the catalog is empty; returns the
    number of items loaded (0 when there already were items)."""
    if store.one("SELECT 1 FROM items LIMIT 1") is not None:
        return 0
    return import_csv(store, SAMPLE_CSV, source="sample")["count"]


# -- the catalog methods' write ---------------------------------------------------------------
async def upsert_items(store: Store, items: Sequence[Any], source: str) -> dict[str, Any]:
    """``upsert`` through the store's writer, validating every row before taking it: the
    report, or CatalogError with every row's errors (nothing changed)."""
    valid, numbers, errors = validate_items(items)
    if errors:
        raise CatalogError(errors)
    report, _ = await store.write(lambda tx: _apply(tx, valid, numbers, source))
    return report


# -- CLI -------------------------------------------------------------------------------------
def add_cli(sub: Any) -> None:
    """``gatewayd catalog import FILE [--dry-run] | export FILE | sample``: the store is opened
    directly (works with the daemon stopped or running; the write waits for the daemon's)."""
    c = sub.add_parser("catalog", help="the item catalog").add_subparsers(dest="sub", required=True)
    ci = c.add_parser("import", help="import a CSV: all rows or none")
    ci.add_argument("file")
    ci.add_argument("--dry-run", action="store_true", help="validate only, change nothing")
    ci.set_defaults(fn=_cmd_import)
    ce = c.add_parser("export", help="export the catalog as CSV (UTF-8 with BOM)")
    ce.add_argument("file")
    ce.add_argument("--encoding", default="utf-8-sig", help="e.g. gb18030 for old Excel")
    ce.set_defaults(fn=_cmd_export)
    c.add_parser("sample", help="load the demo catalog if the catalog is empty").set_defaults(
        fn=_cmd_sample
    )


def _cli_store(args: Any) -> Store:
    from gatewayd.cli import _store

    return _store(args)


def _cmd_import(args: Any) -> int:
    import sys
    import time

    def progress(msg: str) -> None:
        print(f"catalog import: {msg}", file=sys.stderr, flush=True)

    path = Path(args.file)
    if not path.is_file():
        print(f"gatewayd: {path}: no such file", file=sys.stderr)
        return 1
    store = _cli_store(args)
    started = time.monotonic()
    try:
        report = import_csv(store, path, dry_run=args.dry_run, progress=progress)
    except CatalogError as exc:
        print(f"gatewayd: {path}: {exc.count} error(s); nothing was imported", file=sys.stderr)
        print("row\tsku\tfield\terror", file=sys.stderr)
        for e in exc.errors:
            print(f"{e['row']}\t{e['sku'] or ''}\t{e['field']}\t{e['error']}", file=sys.stderr)
        if exc.count > len(exc.errors):
            print(f"... and {exc.count - len(exc.errors)} more", file=sys.stderr)
        return 1
    finally:
        store.close()
    took = time.monotonic() - started
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {report['count']} item(s) from {path} ({report['encoding']}): "
        f"{report.get('inserted', 0)} new, {report.get('updated', 0)} updated, "
        f"{report.get('barcodes_moved', 0)} barcode(s) moved, in {took:.1f} s"
    )
    for m in report.get("moved", [])[:20]:
        print(f"  barcode {m['code']} moved from {m['from']} to {m['to']}")
    return 0


def _cmd_export(args: Any) -> int:
    store = _cli_store(args)
    try:
        n = export_csv(store, args.file, args.encoding)
    finally:
        store.close()
    print(f"exported {n} item(s) to {args.file}")
    return 0


def _cmd_sample(args: Any) -> int:
    store = _cli_store(args)
    try:
        n = load_sample(store)
    finally:
        store.close()
    print(f"loaded {n} sample item(s)" if n else "the catalog is not empty; nothing loaded")
    return 0
