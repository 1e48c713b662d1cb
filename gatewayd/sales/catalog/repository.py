"""The catalog in the store: `upsert` (all rows or none, one journal event) and the indexed
read side, `Catalog` (lookup by barcode, scale label, PLU or sku; search), with the scale
label layouts it decodes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import trio

from gatewayd.sales.barcodes import (
    ScaleLayout,
    compile_layout,
)
from gatewayd.sales.catalog.pinyin import pinyin_initials
from gatewayd.sales.catalog.validation import (
    CatalogError,
    ItemIn,
    barcode_key,
    plu_key,
    row_error,
    validate_items,
)
from gatewayd.sales.pricing import CatalogItem
from protocol.codec import pack

if TYPE_CHECKING:
    from gatewayd.store.db import Store, Tx

DEFAULT_SCALE_LAYOUTS: tuple[str, ...] = (
    "21{I:5}{W:5}C",
    "22{I:5}{W:5}C",
    "20{I:5}{P:5}C",
    *(f"2{d}{{I:5}}{{P:5}}C" for d in range(3, 10)),
)


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
                errors.append(row_error(row, sku, "plu", f"plu {plu} already belongs to {holder}"))
    return errors


def apply_rows(tx: Tx, items: Sequence[ItemIn], rows: Sequence[int], source: str) -> dict[str, Any]:
    errors = _store_checks(tx, items, rows)
    if errors:
        raise CatalogError(errors)
    before = tx.scalar("SELECT COUNT(*) FROM items")
    moved_count, moved = write_rows(tx, items, tx.at)
    inserted = tx.scalar("SELECT COUNT(*) FROM items") - before
    report = {
        "count": len(items),
        "inserted": inserted,
        "updated": len(items) - inserted,
        "barcodes_moved": moved_count,
        "moved": moved,
        "source": source,
    }
    report["seq"] = journal_upsert(tx, report, items)
    return report


ITEMS_PER_EVENT = 500


def item_events(items: Sequence[ItemIn]) -> list[tuple[dict[str, Any], bytes]]:
    """The `catalog.items` events of `items` (data, packed), `ITEMS_PER_EVENT` an event:
    made before the write transaction by a big import, whose 200,000 items take seconds
    to dump and pack that a sale waiting for the write lock must not wait out."""
    out = []
    for i in range(0, len(items), ITEMS_PER_EVENT):
        data = {"items": [it.model_dump() for it in items[i:i + ITEMS_PER_EVENT]]}
        out.append((data, pack(data)))
    return out


def journal_upsert(tx: Tx, report: dict[str, Any], items: Sequence[ItemIn],
                   events: Sequence[tuple[dict[str, Any], bytes]] | None = None) -> int:
    """The events of a catalog write (the items, `ITEMS_PER_EVENT` an event, so a till
    rebuilt from head office gets its catalog back; then the one `catalog.upserted`), and
    the version bump that empties the caches. `events`: `item_events(items)`, made
    beforehand."""
    tx.execute("UPDATE catalog_version SET n = n + 1")
    for data, packed in item_events(items) if events is None else events:
        tx.append("catalog.items", data, packed)
    skus = [it.sku for it in items[:100]]
    return tx.append(
        "catalog.upserted",
        {
            "count": report["count"],
            "inserted": report["inserted"],
            "updated": report["updated"],
            "skus": skus,
            "source": report["source"],
        },
    )


def write_rows(tx: Any, items: Sequence[ItemIn], at: int, items_table: str = "items",
               barcodes_table: str = "barcodes", pinyin: Sequence[str] | None = None
               ) -> tuple[int, list[dict[str, str]]]:
    """Upsert `items` and reassign their barcodes (into the live tables, or a staged import's
    copies: gatewayd/sales/catalog_stage.py). Returns (barcodes moved, the first 100).
    `pinyin`: the items' pinyin initials worked out before the transaction (10-20 us an
    item, most of a staged chunk's hold of the write lock)."""
    if pinyin is None:
        pinyin = [pinyin_initials(it.name) for it in items]
    skus = [it.sku for it in items]
    if any(it.plu for it in items):
        # PLUs may move between items of this batch: free theirs first (UNIQUE is immediate).
        tx.executemany(
            f"UPDATE {items_table} SET plu = NULL WHERE sku = ? AND plu IS NOT NULL",
            ((s,) for s in skus),
        )
    tx.executemany(
        f"INSERT INTO {items_table}(sku, name, unit, price, member_price, tax_rate_bp,"
        " category, cost, active, plu, pinyin, image, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(sku) DO UPDATE SET name=excluded.name, unit=excluded.unit,"
        " price=excluded.price, member_price=excluded.member_price,"
        " tax_rate_bp=excluded.tax_rate_bp, category=excluded.category, cost=excluded.cost,"
        " active=excluded.active, plu=excluded.plu, pinyin=excluded.pinyin,"
        " image=excluded.image, updated_at=excluded.updated_at",
        (
            (it.sku, it.name, it.unit, it.price, it.member_price, it.tax_rate_bp, it.category,
             it.cost, int(it.active), it.plu, py, it.image, at)
            for it, py in zip(items, pinyin, strict=True)
        ),
    )
    with_codes = [it for it in items if it.barcodes is not None]
    moved: list[dict[str, str]] = []
    moved_count = 0
    if with_codes:
        pairs = [(code, it.sku) for it in with_codes for code in it.barcodes or ()]
        owner = dict(pairs)
        for part in _chunks([c for c, _ in pairs]):
            marks = ",".join("?" * len(part))
            for code, old in tx.execute(
                f"SELECT code, sku FROM {barcodes_table} WHERE code IN ({marks})", tuple(part)
            ).fetchall():
                if old != owner[code]:
                    moved_count += 1
                    if len(moved) < 100:
                        moved.append({"code": code, "from": old, "to": owner[code]})
        tx.executemany(f"DELETE FROM {barcodes_table} WHERE sku = ?",
                       ((it.sku,) for it in with_codes))
        tx.executemany(
            f"INSERT INTO {barcodes_table}(code, sku) VALUES (?, ?)"
            " ON CONFLICT(code) DO UPDATE SET sku = excluded.sku",
            pairs,
        )
    return moved_count, moved


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
    return apply_rows(tx, valid, numbers, source)


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
    def from_row(cls, row: Mapping[str, Any] | sqlite3.Row) -> Item:
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


# an item's tax rate is its category's when head office set one (tax_rates: master data,
# gatewayd/replication/central.py), else its own
_SELECT = (
    "SELECT i.sku, i.name, i.unit, i.price, i.member_price,"
    " COALESCE((SELECT t.rate_bp FROM tax_rates t WHERE t.category = i.category),"
    " i.tax_rate_bp) AS tax_rate_bp, i.category, i.cost,"
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
        return self.store.scalar("SELECT n FROM catalog_version")

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
        return self.store.scalar("SELECT COUNT(*) FROM items")

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

    def page(self, after: str | None, limit: int) -> list[Item]:
        """Up to `limit` items after the sku `after`, in sku order (inactive ones too)."""
        rows = self.store.all(
            f"{_SELECT} FROM items i WHERE i.sku > ? ORDER BY i.sku LIMIT ?", (after or "", limit)
        )
        return [Item.from_row(row) for row in rows]

    def by_skus(self, skus: Sequence[str]) -> list[Item]:
        """These items (those that exist), in sku order."""
        marks = ",".join("?" * len(skus))
        rows = self.store.all(
            f"{_SELECT} FROM items i WHERE i.sku IN ({marks}) ORDER BY i.sku", tuple(skus))
        return [Item.from_row(row) for row in rows]

    def iter_items(self, batch: int = 5000) -> Iterator[Item]:
        """Every item in sku order, read in pages (export)."""
        last = ""
        while True:
            items = self.page(last, batch)
            if not items:
                return
            yield from items
            last = items[-1].sku


# -- through the store's writer (catalog.upsert, the method) ------------------------------
async def upsert_items(store: Store, items: Sequence[Any], source: str) -> dict[str, Any]:
    """``upsert`` through the store's writer, validating every row before taking it: the
    report, or CatalogError with every row's errors (nothing changed). More than one chunk
    of items is staged beside the catalog and switched in, like an import, on a worker
    thread (gatewayd/sales/catalog_stage.py): one transaction of 5,000 items would hold the
    writer for as long as a sale may wait."""
    valid, numbers, errors = validate_items(items)
    if errors:
        raise CatalogError(errors)
    from gatewayd.sales import catalog_stage

    if len(valid) > catalog_stage.CHUNK:
        return await trio.to_thread.run_sync(catalog_stage.import_items, store, valid,
                                             numbers, source)
    report, _ = await store.write(lambda tx: apply_rows(tx, valid, numbers, source))
    return report
