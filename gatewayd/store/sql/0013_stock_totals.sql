-- Running totals of stock movements per local day and item (gatewayd/sales/running_totals.py,
-- added where the moves are written: gatewayd/inventory/stock.py), so the inventory report's
-- opening and closing stock and what sold over any range read O(days x items), not every
-- movement since. Quantities in the item's qty units, values in fen.
CREATE TABLE totals_stock (
    day        TEXT    NOT NULL,            -- local day of the moves (YYYYMMDD, store time)
    sku        TEXT    NOT NULL,
    qty        INTEGER NOT NULL,            -- every move, signed
    sold_qty   INTEGER NOT NULL,            -- sold net of refunds and voids (out positive)
    sold_value INTEGER NOT NULL,            -- their cost at the time (out positive)
    PRIMARY KEY (day, sku)
) WITHOUT ROWID;
-- the totals are rebuilt, stock included, at the next start (running_totals.ensure_built)
UPDATE totals_state SET built = 0;
