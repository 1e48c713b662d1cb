-- Each store's on-hand per item, kept by the apply with the stock moves it counts
-- (gatewayd/hq/aggregates.py), so the stock, turnover and replenishment reports read one row
-- per store and item instead of summing every move; built here from the moves held so far.
CREATE TABLE agg_stock (
    store   TEXT   NOT NULL,
    sku     TEXT   NOT NULL,
    on_hand BIGINT NOT NULL,            -- thousandths (grams for kg items)
    PRIMARY KEY (store, sku)
);
INSERT INTO agg_stock(store, sku, on_hand) SELECT store, sku, SUM(qty) FROM stock_moves
    GROUP BY store, sku;
