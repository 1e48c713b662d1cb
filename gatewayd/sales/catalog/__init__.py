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
        the rows (``catalog.items {items}``, 500 an event: what a till rebuilt from head
        office gets its catalog from) and ONE ``catalog.upserted {count, inserted, updated,
        skus (first 100), source}`` event are journaled. A row is the whole item (omitted
        optional fields become empty), except ``barcodes``: omitted keeps the item's
        barcodes, a list replaces them.

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
(manager), in gatewayd/api/catalog.py; a successful upsert publishes ``catalog.updated
{count}`` on the bus.

The package, one reason to change per module::

    pinyin.py      pinyin initials of a name (search)
    validation.py  ItemIn, validate_items, CatalogError: a row's rules
    repository.py  upsert (writing) and Catalog (reading), the scale label layouts
    csvfile.py     CSV import/export, yuan and percent as text, the sample catalog
"""

from gatewayd.sales.catalog.csvfile import (
    CSV_COLUMNS,
    SAMPLE_CSV,
    export_csv,
    format_yuan_plain,
    import_csv,
    load_sample,
    parse_csv,
    parse_percent,
    parse_yuan,
)
from gatewayd.sales.catalog.pinyin import pinyin_initials
from gatewayd.sales.catalog.repository import (
    DEFAULT_SCALE_LAYOUTS,
    Catalog,
    Item,
    Match,
    catalog_item,
    compile_scale_layouts,
    scale_layouts,
    upsert,
    upsert_items,
)
from gatewayd.sales.catalog.validation import (
    PRICE_CAP,
    CatalogError,
    ItemIn,
    barcode_key,
    validate_items,
)

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
    "format_yuan_plain",
    "import_csv",
    "load_sample",
    "parse_csv",
    "parse_percent",
    "parse_yuan",
    "pinyin_initials",
    "scale_layouts",
    "upsert",
    "upsert_items",
    "validate_items",
]
