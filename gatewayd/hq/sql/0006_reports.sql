-- Report aggregates, kept exact by the apply in the transaction that stores the events
-- (gatewayd/hq/aggregates.py): a report reads O(store-days) or O(store-months) rows, never
-- the sale lines. Amounts are fen; refunds count negative. `day` is the till's business day
-- (YYYYMMDD), `month` its first six digits, `hour` the hour of completion in the chain's
-- timezone.
ALTER TABLE sales ADD COLUMN member TEXT;
-- a link closed cleanly: the till is offline from then until its next contact
ALTER TABLE till_epochs ADD COLUMN closed_at BIGINT;
CREATE TABLE agg_sales (
    store         TEXT   NOT NULL,
    day           TEXT   NOT NULL,
    hour          BIGINT NOT NULL,
    sales         BIGINT NOT NULL,      -- receipts (customer traffic)
    refunds       BIGINT NOT NULL,
    amount        BIGINT NOT NULL,      -- sales' totals less refunds' money
    refund_amount BIGINT NOT NULL,      -- the refunds' part of amount (<= 0)
    discount      BIGINT NOT NULL,
    tax           BIGINT NOT NULL,
    cost          BIGINT NOT NULL,      -- the goods at HQ's moving-average cost
    uncosted      BIGINT NOT NULL,      -- line amounts whose item had no known cost
    member_sales  BIGINT NOT NULL,
    member_amount BIGINT NOT NULL,
    PRIMARY KEY (store, day, hour)
);
CREATE INDEX agg_sales_day ON agg_sales(day);
CREATE TABLE agg_tenders (
    store  TEXT   NOT NULL,
    day    TEXT   NOT NULL,
    method TEXT   NOT NULL,
    count  BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (store, day, method)
);
CREATE INDEX agg_tenders_day ON agg_tenders(day);
CREATE TABLE agg_items_day (
    store  TEXT   NOT NULL,
    day    TEXT   NOT NULL,
    sku    TEXT   NOT NULL,
    qty    BIGINT NOT NULL,             -- thousandths, net of refunds
    amount BIGINT NOT NULL,
    cost   BIGINT NOT NULL,
    lines  BIGINT NOT NULL,
    PRIMARY KEY (store, day, sku)
);
CREATE TABLE agg_items_month (
    store  TEXT   NOT NULL,
    month  TEXT   NOT NULL,
    sku    TEXT   NOT NULL,
    qty    BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost   BIGINT NOT NULL,
    lines  BIGINT NOT NULL,
    PRIMARY KEY (store, month, sku)
);
CREATE INDEX agg_items_month_month ON agg_items_month(month);
CREATE TABLE item_costs (
    store   TEXT   NOT NULL,
    sku     TEXT   NOT NULL,
    cost    BIGINT NOT NULL,            -- fen per piece or per kg, moving average of receipts
    PRIMARY KEY (store, sku)
);
CREATE TABLE hq_members (
    member        TEXT   NOT NULL PRIMARY KEY,
    store         TEXT   NOT NULL,      -- where the member registered
    tier          TEXT   NOT NULL,
    registered    TEXT   NOT NULL,      -- business day YYYYMMDD (chain time)
    first_day     TEXT,                 -- first and last purchase days
    last_day      TEXT
);
CREATE INDEX hq_members_registered ON hq_members(registered);
CREATE TABLE agg_members_month (
    store     TEXT   NOT NULL,
    month     TEXT   NOT NULL,
    member    TEXT   NOT NULL,
    purchases BIGINT NOT NULL,
    amount    BIGINT NOT NULL,
    PRIMARY KEY (store, month, member)
);
CREATE INDEX agg_members_month_month ON agg_members_month(month);
CREATE TABLE till_live (
    store      TEXT   NOT NULL,
    till       TEXT   NOT NULL,
    open_sale  TEXT,                    -- the sale open at the till, as its journal says
    open_since BIGINT,
    alert      TEXT,                    -- the last device alert raised at the till
    alert_at   BIGINT,
    PRIMARY KEY (store, till)
);
