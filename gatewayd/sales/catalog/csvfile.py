"""The catalog as CSV (`gatewayd catalog import|export|sample`): parsing with per-row errors,
yuan and percent as text, the encodings Chinese Excel saves, the sample catalog."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewayd.exports import csv_writer, unescape_csv_cell
from gatewayd.sales.catalog.repository import Catalog, _chunks, _store_checks
from gatewayd.sales.catalog.validation import CatalogError, ItemIn, RowBatch, check_row, row_error

if TYPE_CHECKING:
    from gatewayd.store.db import Store

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
SAMPLE_CSV = Path(__file__).parent.parent / "sample_catalog.csv"


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

    def val(col: str) -> str:  # our own export's formula guard comes off (gatewayd/exports)
        return unescape_csv_cell((rec.get(col) or "").strip())

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
        return [], [], [row_error(1, None, "", "the file is empty")], encoding
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
        return [], [], [row_error(1, None, "", "; ".join(msg))], encoding
    valid: list[ItemIn] = []
    numbers: list[int] = []
    errors: list[dict[str, Any]] = []
    batch = RowBatch()
    n = 0
    for rec in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in rec):
            continue
        n += 1
        if progress and n % 10000 == 0:
            progress(f"read {n} rows")
        if len(rec) > len(header):
            errors.append(row_error(line, rec[0] if rec else None, "",
                                 f"{len(rec)} cells, the header has {len(header)}"))
            continue
        raw, errs = _csv_row(dict(zip(header, rec, strict=False)))
        failed = {f for f, _ in errs}
        item, more = check_row(raw)
        errs += [(f, m) for f, m in more if f not in failed]
        errs += batch.sku(raw, line)
        if item is not None:
            errs += batch.add(item, line)
        if errs:
            errors.extend(
                row_error(line, raw.get("sku") or None, _CSV_FIELD.get(f, f), m) for f, m in errs
            )
        elif item is not None:
            valid.append(item)
            numbers.append(line)
    if progress and n >= 10000:
        progress(f"read {n} rows")
    return valid, numbers, errors, encoding


def import_csv(
    store: Store,
    path: Path | str,
    *,
    dry_run: bool = False,
    source: str = "csv",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Import a CSV: all rows or none, staged beside the catalog and switched in by one short
    transaction (gatewayd/sales/catalog_stage.py), so a till keeps selling meanwhile. Raises
    CatalogError with the per-row report. ``dry_run`` validates everything (store conflicts
    too) and writes nothing."""
    path = Path(path)
    valid, numbers, errors, encoding = parse_csv(path.read_bytes(), progress)
    if errors:
        raise CatalogError(errors)
    if progress and len(valid) >= 10000:
        progress(f"writing {len(valid)} items")
    if not valid:
        return {"count": 0, "encoding": encoding}
    if dry_run:  # everything checked, nothing written: reads only, no write lock
        def check(snap: Any) -> dict[str, Any]:
            errors = _store_checks(snap, valid, numbers)
            if errors:
                raise CatalogError(errors)
            skus = {it.sku for it in valid}
            known = sum(snap.one(f"SELECT COUNT(*) FROM items WHERE sku IN"
                                 f" ({','.join('?' * len(part))})", tuple(part))[0]
                        for part in _chunks(sorted(skus)))
            return {"count": len(valid), "inserted": len(skus) - known,
                    "updated": len(valid) - len(skus) + known, "dry_run": True, "seq": None}

        report = store.readers.run_sync(check)
    else:
        from gatewayd.sales.catalog_stage import import_items

        report = import_items(store, valid, numbers, f"{source}:{path.name}", progress)
    report["encoding"] = encoding
    return report


def export_csv(store: Store, path: Path | str, encoding: str = "utf-8-sig") -> int:
    """Write every item (sku order) in the import format; returns the count."""
    n = 0
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv_writer(fh)  # a formula in a name or a category is written as text
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
