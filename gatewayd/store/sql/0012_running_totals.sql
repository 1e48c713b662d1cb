-- Running totals of completed sales and refunds, per business day (gatewayd/sales/
-- running_totals.py owns these tables): updated in the transaction that completes the sale
-- or refund, read by every report (gatewayd/reports.py) and merged by head office.
-- Money in fen, qty in thousandths; refunds count negative (their `refunded` positive).
CREATE TABLE totals_sales (
    day       TEXT    NOT NULL,             -- business day YYYYMMDD
    hour      INTEGER NOT NULL,             -- local hour of completion, 0-23
    operator  TEXT    NOT NULL,             -- '' when none
    member    INTEGER NOT NULL,             -- 1: a member's documents
    sales     INTEGER NOT NULL,             -- completed sales
    refunds   INTEGER NOT NULL,             -- completed refunds
    amount    INTEGER NOT NULL,             -- what customers paid, net of refunds
    change    INTEGER NOT NULL,             -- change given (cash tendered - change = cash kept)
    PRIMARY KEY (day, hour, operator, member)
) WITHOUT ROWID;

CREATE TABLE totals_items (
    day       TEXT    NOT NULL,
    sku       TEXT    NOT NULL,
    category  TEXT    NOT NULL,             -- the line's category ('' none)
    name      TEXT    NOT NULL,             -- a name it was sold under (the report prefers
                                            -- the catalog's)
    lines     INTEGER NOT NULL,             -- lines sold and refunded
    qty       INTEGER NOT NULL,             -- net of refunds
    amount    INTEGER NOT NULL,             -- gross, net of refunds
    refunded  INTEGER NOT NULL,             -- gross refunded
    tax       INTEGER NOT NULL,             -- net of refunds
    cost      INTEGER NOT NULL,             -- cost of goods, net of refunds
    PRIMARY KEY (day, sku, category)
) WITHOUT ROWID;

CREATE TABLE totals_tenders (
    day       TEXT    NOT NULL,
    hour      INTEGER NOT NULL,
    method    TEXT    NOT NULL,
    operator  TEXT    NOT NULL,
    n         INTEGER NOT NULL,             -- tender rows
    amount    INTEGER NOT NULL,             -- as tendered (cash before change; refunds < 0)
    PRIMARY KEY (day, hour, method, operator)
) WITHOUT ROWID;

-- 1: the document is in the totals (a hook that runs twice adds it once)
ALTER TABLE sales ADD COLUMN in_totals INTEGER NOT NULL DEFAULT 0;

-- built = 0: the store has sales from before these tables (or another timezone); the
-- daemon rebuilds them from the sales once, at start (running_totals.ensure_built)
CREATE TABLE totals_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    built     INTEGER NOT NULL,
    tz        TEXT
);
INSERT INTO totals_state(id, built, tz) VALUES (1, 0, NULL);
