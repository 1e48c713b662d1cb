-- catalog: items and their barcodes (gatewayd/sales/catalog.py owns these tables)
-- Money in fen, tax rates in basis points (1300 = 13 %). Nothing here is loaded into memory
-- at start-up: every lookup is one indexed SELECT on the read connection.
CREATE TABLE items (
    sku          TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    unit         TEXT    NOT NULL CHECK (unit IN ('pc', 'kg')),
    price        INTEGER NOT NULL CHECK (price >= 0),             -- fen per piece or per kg
    member_price INTEGER CHECK (member_price IS NULL OR member_price >= 0),
    tax_rate_bp  INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    category     TEXT,
    cost         INTEGER CHECK (cost IS NULL OR cost >= 0),
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    plu          TEXT    UNIQUE,       -- scale/PLU key, digits without leading zeros; NULLs allowed
    pinyin       TEXT    NOT NULL DEFAULT '',  -- initials of the name, lower case: 红富士苹果 -> hfsp
    image        TEXT,
    updated_at   INTEGER NOT NULL      -- microseconds since the epoch, UTC
) WITHOUT ROWID;
CREATE INDEX items_pinyin ON items(pinyin);
CREATE TABLE barcodes (
    code TEXT PRIMARY KEY,             -- normalized: a UPC-A is stored in its EAN-13 form
    sku  TEXT NOT NULL REFERENCES items(sku) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX barcodes_sku ON barcodes(sku);
