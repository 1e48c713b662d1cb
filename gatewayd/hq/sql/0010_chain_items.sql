-- The chain's item sums per month (every store together), kept by the apply like
-- agg_items_month: a chain-wide item ranking over a year reads months × items rows, not
-- stores × months × items. Built here from the per-store months held so far.
CREATE TABLE agg_items_chain (
    month  TEXT   NOT NULL,
    sku    TEXT   NOT NULL,
    qty    BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost   BIGINT NOT NULL,
    lines  BIGINT NOT NULL,
    PRIMARY KEY (month, sku)
);
INSERT INTO agg_items_chain(month, sku, qty, amount, cost, lines) SELECT month, sku, SUM(qty),
    SUM(amount), SUM(cost), SUM(lines) FROM agg_items_month GROUP BY month, sku;
