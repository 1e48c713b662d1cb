-- Replenishment (自动补货, issue 15): suppliers and what they supply, per store and item the
-- rule that decides a suggested order. Purchase orders are `transfers` rows of kind
-- `purchase` (0008): from the supplier to the store, in transit until received.
CREATE TABLE suppliers (
    id             TEXT   PRIMARY KEY,
    name           TEXT   NOT NULL,
    contact        TEXT,
    lead_time_days BIGINT NOT NULL,      -- days from order to delivery
    updated_at     BIGINT NOT NULL
);
CREATE TABLE supplier_items (
    supplier TEXT   NOT NULL,
    sku      TEXT   NOT NULL,
    cost     BIGINT,                    -- fen per piece or per kg, as agreed
    pack_qty BIGINT NOT NULL,           -- orders are multiples of it (qty units)
    PRIMARY KEY (supplier, sku)
);
CREATE INDEX supplier_items_sku ON supplier_items(sku);
CREATE TABLE replenish_rules (
    store         TEXT   NOT NULL,      -- a store, or '*': every store without its own rule
    sku           TEXT   NOT NULL,
    min_qty       BIGINT,               -- min/max: at or below min, order up to max
    max_qty       BIGINT,
    days_of_cover BIGINT,               -- else: cover this many days of sales + lead time
    PRIMARY KEY (store, sku)
);
