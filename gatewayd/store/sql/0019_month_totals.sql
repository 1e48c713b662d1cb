-- Coarser running totals (gatewayd/sales/running_totals.py keeps them in the same
-- transaction as the per-day rows of 0012/0013): a report over a long range reads whole
-- months from the *_month tables and only the days of its first and last partial month from
-- the per-day ones (gatewayd/reports.py), so a year costs O(months), not O(days x items).
-- `totals_days` is one row per business day, for the reports grouped by day or week.
CREATE TABLE totals_sales_month (
    month     TEXT    NOT NULL,             -- YYYYMM of the business day
    hour      INTEGER NOT NULL,
    operator  TEXT    NOT NULL,
    member    INTEGER NOT NULL,
    sales     INTEGER NOT NULL,
    refunds   INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    change    INTEGER NOT NULL,
    PRIMARY KEY (month, hour, operator, member)
) WITHOUT ROWID;

CREATE TABLE totals_items_month (
    month     TEXT    NOT NULL,
    sku       TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    lines     INTEGER NOT NULL,
    qty       INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    refunded  INTEGER NOT NULL,
    tax       INTEGER NOT NULL,
    cost      INTEGER NOT NULL,
    PRIMARY KEY (month, sku, category)
) WITHOUT ROWID;

CREATE TABLE totals_stock_month (
    month      TEXT    NOT NULL,            -- YYYYMM of the local day of the moves
    sku        TEXT    NOT NULL,
    qty        INTEGER NOT NULL,
    sold_qty   INTEGER NOT NULL,
    sold_value INTEGER NOT NULL,
    PRIMARY KEY (month, sku)
) WITHOUT ROWID;

CREATE TABLE totals_days (
    day       TEXT    PRIMARY KEY,          -- business day YYYYMMDD
    sales     INTEGER NOT NULL,             -- as totals_sales, all hours, operators, members
    refunds   INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    change    INTEGER NOT NULL,
    lines     INTEGER NOT NULL,             -- as totals_items, all items
    gross     INTEGER NOT NULL,             -- totals_items.amount
    tax       INTEGER NOT NULL,
    cost      INTEGER NOT NULL
) WITHOUT ROWID;

-- from the per-day rows already there (a store whose totals are not built yet gets all of
-- them from the rebuild at the next start)
INSERT INTO totals_sales_month
    SELECT substr(day, 1, 6), hour, operator, member, SUM(sales), SUM(refunds), SUM(amount),
           SUM(change) FROM totals_sales GROUP BY 1, 2, 3, 4;
INSERT INTO totals_items_month
    SELECT substr(day, 1, 6), sku, category, MAX(name), SUM(lines), SUM(qty), SUM(amount),
           SUM(refunded), SUM(tax), SUM(cost) FROM totals_items GROUP BY 1, 2, 3;
INSERT INTO totals_stock_month
    SELECT substr(day, 1, 6), sku, SUM(qty), SUM(sold_qty), SUM(sold_value) FROM totals_stock
    GROUP BY 1, 2;
INSERT INTO totals_days
    SELECT day, SUM(sales), SUM(refunds), SUM(amount), SUM(change), 0, 0, 0, 0
    FROM totals_sales GROUP BY day;
INSERT INTO totals_days(day, sales, refunds, amount, change, lines, gross, tax, cost)
    SELECT day, 0, 0, 0, 0, SUM(lines), SUM(amount), SUM(tax), SUM(cost) FROM totals_items
    WHERE true GROUP BY day
    ON CONFLICT DO UPDATE SET lines = excluded.lines, gross = excluded.gross,
        tax = excluded.tax, cost = excluded.cost;

-- an item's and a member's history, newest first, by index (issue 18): member.history per
-- kind of move and its coupons by date; stock.low along how far below its threshold
CREATE INDEX member_moves_member_what ON member_moves(member_id, what, id);
DROP INDEX coupons_member;
CREATE INDEX coupons_member ON coupons(member_id, created_at) WHERE member_id IS NOT NULL;
CREATE INDEX stock_below ON stock(on_hand - threshold) WHERE threshold IS NOT NULL;
