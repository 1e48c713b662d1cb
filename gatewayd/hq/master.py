"""Master data at head office (DESIGN §8): batches checked whole, versioned, logged, and read
back for a till.

A batch is one edit (`hq.catalog.upsert`, an import, `hq.promo.upsert`, ...): every change of
it is checked with the till's own domain rules (catalog rows by `validate_items`, promotions
by `parse_promotions`, operators' roles by `check_role`), and any error refuses the whole
batch before it gets a version. A batch that passes gets the chain's next version in the
transaction that logs it (`master_head` is locked, so two HQ processes never hand out one
version twice) and updates `master_current`, the state HQ edits against.

A change is `{pos, kind, key, data, effective_at?}`; `kind` names the entity (`item`,
`price`, `promo`, `operator`, `member`, `tax` per category, the central settings `payment`,
`config` and `members` (member tiers and rules) keyed by their names:
gatewayd/replication/central.py) and `scope`
(kept at HQ, not sent) says which stores it is for: every store, one store, or a price zone.
A till is sent the changes for its store, in version order (`read_part`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from gatewayd.auth import check_role, hash_pin
from gatewayd.hq.db import HqTx, now_us
from gatewayd.replication.central import SETTING_KINDS, check_setting, check_tax_rate
from gatewayd.sales.catalog.csvfile import parse_csv
from gatewayd.sales.catalog.validation import PRICE_CAP, row_error, validate_items
from gatewayd.sales.promotions import PromotionError, parse_promotions
from protocol.codec import pack, unpack

# A `master` frame's changes, at most: a till takes frames of 1 MiB, and stages each part in
# one transaction, which a sale waits behind: a few milliseconds, not tens.
PART_BYTES = 128 << 10
PART_CHANGES = 500


@dataclass(frozen=True)
class Change:
    kind: str
    key: str
    data: dict[str, Any]
    scope: str | None = None  # None: every store; "store:S001"; "zone:NAME"
    effective_at: int | None = None  # µs UTC; None: at once


class MasterError(ValueError):
    """A batch refused whole; `errors`: [{row, sku|id, field, error}], as the till's import."""

    def __init__(self, errors: list[dict[str, Any]], what: str = "rows"):
        self.errors = errors[:1000]
        self.count = len(errors)
        first = errors[0] if errors else {}
        super().__init__(f"{self.count} error(s) in the {what}; nothing was versioned"
                         + (f" (first: row {first.get('row')} {first.get('field')}: "
                            f"{first.get('error')})" if first else ""))


# -- checking a batch -----------------------------------------------------------------------
def item_changes(tx: HqTx, items: Sequence[Any], effective_at: int | None,
                 rows: Sequence[int] | None = None) -> list[Change]:
    """Catalog rows -> changes, by the till's rules, and a PLU unique in the chain."""
    valid, numbers, errors = validate_items(items, rows)
    if errors:
        raise MasterError(errors)
    return checked_items(tx, valid, numbers, effective_at)


def checked_items(tx: HqTx, valid: Sequence[Any], numbers: Sequence[int],
                  effective_at: int | None) -> list[Change]:
    in_batch = {it.sku for it in valid}
    errors = []
    wanted = {it.plu: (row, it.sku) for it, row in zip(valid, numbers, strict=True) if it.plu}
    plus = list(wanted)
    for i in range(0, len(plus), 500):
        part = plus[i:i + 500]
        for r in tx.all(f"SELECT plu, key FROM master_current WHERE kind='item' AND plu IN"
                        f" ({','.join('?' * len(part))})", part):
            row, sku = wanted[r["plu"]]
            if r["key"] != sku and r["key"] not in in_batch:
                errors.append(row_error(row, sku, "plu",
                                        f"plu {r['plu']} already belongs to {r['key']}"))
    if errors:
        raise MasterError(errors)
    return [Change("item", it.sku, it.model_dump(), None, effective_at) for it in valid]


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sku: StrictStr = Field(min_length=1, max_length=64)
    price: int = Field(ge=0, le=PRICE_CAP)
    member_price: Annotated[int, Field(ge=0, le=PRICE_CAP)] | None = None


def price_changes(tx: HqTx, prices: Sequence[Any], scope: str,
                  effective_at: int | None) -> list[Change]:
    """A store's or a zone's own prices for items HQ holds."""
    out, errors = [], []
    for row, raw in enumerate(prices):
        try:
            p = PriceIn.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            errors.append(row_error(row, raw.get("sku") if isinstance(raw, dict) else None,
                                    ".".join(map(str, err["loc"])), err["msg"]))
            continue
        if tx.one("SELECT 1 AS x FROM master_current WHERE kind='item' AND key=? AND scope=''",
                  (p.sku,)) is None:
            errors.append(row_error(row, p.sku, "sku", f"no item {p.sku} at head office"))
            continue
        out.append(Change("price", p.sku, p.model_dump(exclude_none=True), scope, effective_at))
    if errors:
        raise MasterError(errors)
    return out


def promo_changes(promotions: Sequence[dict[str, Any]],
                  effective_at: int | None) -> list[Change]:
    try:
        parsed = parse_promotions(promotions)
    except PromotionError as exc:
        raise MasterError([{"row": None, "id": None, "field": e["field"],
                            "error": e["message"]} for e in exc.errors], "promotions") from None
    return [Change("promo", p.id, dict(raw), None, effective_at)
            for p, raw in zip(parsed, promotions, strict=True)]


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: StrictStr = Field(min_length=1, max_length=32)
    name: StrictStr = Field(min_length=1, max_length=100)
    role: StrictStr
    pin: StrictStr | None = Field(default=None, pattern=r"^[0-9]{4,12}$")
    active: StrictBool = True


def operator_changes(tx: HqTx, operators: Sequence[Any]) -> list[Change]:
    """Operators with their PIN hashed here (a till gets the hash and salt, never the PIN);
    an operator HQ holds keeps its PIN when none is given."""
    out, errors = [], []
    for row, raw in enumerate(operators):
        try:
            op = OperatorIn.model_validate(raw)
            check_role(op.role)
        except (ValidationError, ValueError) as exc:
            msg = (exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError)
                   else str(exc))
            errors.append({"row": row, "id": raw.get("id") if isinstance(raw, dict) else None,
                           "field": "", "error": msg})
            continue
        if op.pin is not None:
            salt = secrets.token_bytes(16)
            pin_hash = hash_pin(op.pin, salt)
        else:
            held = tx.one("SELECT data FROM master_current WHERE kind='operator' AND key=?"
                          " AND scope=''", (op.id,))
            if held is None:
                errors.append({"row": row, "id": op.id, "field": "pin",
                               "error": f"operator {op.id} is new: give a PIN (4-12 digits)"})
                continue
            old = unpack(bytes(held["data"]))
            salt, pin_hash = old["pin_salt"], old["pin_hash"]
        out.append(Change("operator", op.id, {"id": op.id, "name": op.name, "role": op.role,
                                              "active": op.active, "pin_hash": pin_hash,
                                              "pin_salt": salt}))
    if errors:
        raise MasterError(errors, "operators")
    return out


def tax_changes(rates: Sequence[Any], effective_at: int | None) -> list[Change]:
    """Tax rates per item category, for every store (gatewayd/replication/central.py)."""
    out, errors, seen = [], [], set()
    for row, raw in enumerate(rates):
        category = raw.get("category") if isinstance(raw, dict) else None
        try:
            data = check_tax_rate(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            errors.append({"row": row, "id": category,
                           "field": ".".join(map(str, err["loc"])), "error": err["msg"]})
            continue
        if data["category"] in seen:
            errors.append({"row": row, "id": category, "field": "category",
                           "error": f"category {category!r} twice in the batch"})
            continue
        seen.add(data["category"])
        out.append(Change("tax", data["category"], data, None, effective_at))
    if errors:
        raise MasterError(errors, "tax rates")
    return out


def setting_changes(kind: str, settings: dict[str, Any],
                    effective_at: int | None) -> list[Change]:
    """Central `payment`, `config` or `members` settings, checked by the till's own config
    model; a nil value gives the setting back to each till's config file."""
    out, errors = [], []
    for row, (key, raw) in enumerate(settings.items()):
        try:
            value = check_setting(kind, key, raw)
        except ValueError as exc:
            errors.append({"row": row, "id": key, "field": key, "error": str(exc)})
            continue
        out.append(Change(kind, key, {"key": key, "value": value}, None, effective_at))
    if errors:
        raise MasterError(errors, f"{kind} settings")
    return out


# -- versioning ------------------------------------------------------------------------------
def commit(tx: HqTx, changes: Sequence[Change], actor: str | None, source: str) -> int:
    """Log `changes` as the chain's next version (in this transaction); returns it."""
    head = tx.lock_for_update("SELECT version FROM master_head WHERE id=1")
    assert head is not None  # made by the migration
    version = head["version"] + 1
    tx.execute("INSERT INTO master_versions(version, at, actor, source, changes)"
               " VALUES (?,?,?,?,?)", (version, now_us(), actor, source, len(changes)))
    rows = [(version, pos, c.kind, c.key, c.scope, c.effective_at, pack(c.data))
            for pos, c in enumerate(changes)]
    for i in range(0, len(rows), 5000):
        tx.executemany("INSERT INTO master_changes(version, pos, kind, key, scope, effective_at,"
                       " data) VALUES (?,?,?,?,?,?,?)", rows[i:i + 5000])
        tx.executemany(
            "INSERT INTO master_current(kind, key, scope, version, effective_at, plu, data)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(kind, key, scope) DO UPDATE SET"
            " version=excluded.version, effective_at=excluded.effective_at, plu=excluded.plu,"
            " data=excluded.data",
            [(c.kind, c.key, c.scope or "", version, c.effective_at,
              c.data.get("plu") if c.kind == "item" else None, data)
             for (_, _, _, _, _, _, data), c in zip(rows[i:i + 5000], changes[i:i + 5000],
                                                     strict=True)])
    tx.execute("UPDATE master_head SET version=? WHERE id=1", (version,))
    return version


def head(tx: HqTx) -> int:
    row = tx.one("SELECT version FROM master_head WHERE id=1")
    return row["version"] if row else 0


def set_zone(tx: HqTx, zone: str, stores: Iterable[str]) -> list[str]:
    stores = sorted(set(stores))
    tx.execute("DELETE FROM price_zones WHERE zone=?", (zone,))
    tx.executemany("INSERT INTO price_zones(zone, store) VALUES (?,?) ON CONFLICT(store)"
                   " DO UPDATE SET zone=excluded.zone", [(zone, s) for s in stores])
    return stores


def record_applied(tx: HqTx, store: str, till: str, epoch: str, version: int) -> None:
    tx.execute("UPDATE till_epochs SET master_version=? WHERE store=? AND till=? AND epoch=?"
               " AND master_version<?", (version, store, till, epoch, version))


# -- what a till is sent -----------------------------------------------------------------------
def scopes(tx: HqTx, store: str) -> list[str]:
    zones = tx.all("SELECT zone FROM price_zones WHERE store=?", (store,))
    return [f"store:{store}", *(f"zone:{z['zone']}" for z in zones)]


def versions_after(tx: HqTx, after: int, limit: int = 200) -> list[int]:
    return [r["version"] for r in tx.all(
        "SELECT version FROM master_versions WHERE version>? ORDER BY version LIMIT ?",
        (after, limit))]


def read_part(tx: HqTx, version: int, after_pos: int, store_scopes: Sequence[str],
              limit: int = PART_CHANGES) -> list[dict[str, Any]]:
    """The next changes of `version` for a till whose store has `store_scopes`, after
    `after_pos`, as `master` carries them."""
    marks = ",".join("?" * len(store_scopes))
    rows = tx.all(
        "SELECT pos, kind, key, effective_at, data FROM master_changes WHERE version=? AND"
        f" pos>? AND (scope IS NULL OR scope IN ({marks})) ORDER BY pos LIMIT ?",
        (version, after_pos, *store_scopes, limit))
    out = []
    for r in rows:
        change = {"pos": r["pos"], "kind": r["kind"], "key": r["key"],
                  "data": unpack(bytes(r["data"]))}
        if r["effective_at"] is not None:
            change["effective_at"] = r["effective_at"]
        out.append(change)
    return out


def settings_at(tx: HqTx, version: int, at: int) -> list[dict[str, Any]]:
    """The central settings {kind, key, value} a till that applied master `version` had in
    force at `at`: each setting's last change up to that version and due by then (a nil value,
    given back to the till's file, is left out). For a till rebuilt from its journal, which
    does not carry them (restore.py). It reads every change up to `version`: a restore reads
    the whole journal anyway, and master_current says only what the chain has now."""
    kinds = sorted(SETTING_KINDS)
    rows = tx.all(
        "SELECT kind, key, data FROM master_changes WHERE version <= ? AND scope IS NULL AND"
        f" kind IN ({','.join('?' * len(kinds))}) AND (effective_at IS NULL OR"
        " effective_at <= ?) ORDER BY version, pos", (version, *kinds, at))
    last = {(r["kind"], r["key"]): unpack(bytes(r["data"]))["value"] for r in rows}
    return [{"kind": kind, "key": key, "value": value}
            for (kind, key), value in sorted(last.items()) if value is not None]


def current(tx: HqTx, kind: str, key: str | None = None) -> list[dict[str, Any]]:
    """HQ's latest change per entity of `kind` (and scope), for the editing methods."""
    where, args = "kind=?", [kind]
    if key is not None:
        where += " AND key=?"
        args.append(key)
    rows = tx.all(f"SELECT key, scope, version, effective_at, data FROM master_current WHERE"
                  f" {where} ORDER BY key, scope", args)
    return [{"key": r["key"], "scope": r["scope"] or None, "version": r["version"],
             "effective_at": r["effective_at"], "data": unpack(bytes(r["data"]))}
            for r in rows]


# -- catalog files -----------------------------------------------------------------------------
def file_items(data: bytes, filename: str,
               progress: Callable[[str], None] | None = None) -> tuple[list[Any], list[int]]:
    """A CSV or XLSX catalog file -> (valid rows, their line numbers), by the till's import
    (its columns, yuan and percent parsing, row rules); MasterError with the per-row report.
    An XLSX's first sheet is read as the CSV it would be saved as, so line numbers match."""
    if filename.lower().endswith(".xlsx"):
        data = xlsx_as_csv(data)
    valid, numbers, errors, _ = parse_csv(data, progress)
    if errors:
        raise MasterError(errors)
    return valid, numbers


def xlsx_as_csv(data: bytes) -> bytes:
    import io

    import openpyxl

    from gatewayd.exports import csv_writer  # its cells read back as written (parse_csv)

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # not a workbook: say so, as a bad row would be
        raise MasterError([row_error(1, None, "", f"not an XLSX file: {exc}")]) from None
    out = io.StringIO()
    writer = csv_writer(out)
    for row in book.worksheets[0].iter_rows(values_only=True):
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_file(tx: HqTx, data: bytes, filename: str, effective_at: int | None,
                actor: str | None, dry_run: bool = False,
                progress: Callable[[str], None] | None = None) -> tuple[int | None, int]:
    """Check a catalog file whole and version it as one batch: (version, count)."""
    valid, numbers = file_items(data, filename, progress)
    changes = checked_items(tx, valid, numbers, effective_at)
    if dry_run:
        return None, len(changes)
    if progress:
        progress(f"versioning {len(changes)} items")
    kind = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    return commit(tx, changes, actor, f"{kind}:{filename}"), len(changes)
