-- shifts, cash movements, business days (gatewayd/sales/shifts.py) and refunds in progress
-- (gatewayd/sales/returns.py). Money in fen, times in microseconds since the epoch (UTC),
-- business days YYYYMMDD in the store's timezone.

-- one open shift per till; the expected cash is computed and stored only at close (blind close)
CREATE TABLE shifts (
    id              TEXT    PRIMARY KEY,          -- uuid
    till            TEXT    NOT NULL,
    operator        TEXT    NOT NULL,             -- who opened it
    business_day    TEXT    NOT NULL,             -- the day it was opened on
    state           TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    float           INTEGER NOT NULL CHECK (float >= 0),
    counted         INTEGER,                      -- blind count at close
    expected        INTEGER,                      -- float + cash in - cash out, at close
    variance        INTEGER,                      -- counted - expected
    closed_by       TEXT,
    opened_at       INTEGER NOT NULL,
    closed_at       INTEGER
);
CREATE UNIQUE INDEX shifts_open ON shifts(till) WHERE state = 'open';
CREATE INDEX shifts_day ON shifts(business_day);

-- paid-in (amount > 0) and paid-out (amount < 0) with a reason
CREATE TABLE cash_moves (
    id              TEXT    PRIMARY KEY,
    shift_id        TEXT    NOT NULL REFERENCES shifts(id),
    business_day    TEXT    NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount != 0),
    reason          TEXT    NOT NULL,
    operator        TEXT,
    at              INTEGER NOT NULL
);
CREATE INDEX cash_moves_shift ON cash_moves(shift_id);
CREATE INDEX cash_moves_day ON cash_moves(business_day);

-- 日结: a day without a row is open; day.close stamps it closed (with the Z report as printed)
CREATE TABLE business_days (
    day             TEXT    PRIMARY KEY,          -- YYYYMMDD
    state           TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    closed_at       INTEGER,
    closed_by       TEXT,
    reopened_at     INTEGER,
    reopened_by     TEXT,
    approver        TEXT,                         -- who approved the last reopen
    closes          INTEGER NOT NULL DEFAULT 0,   -- times closed (a reopened day closes again)
    z               BLOB                          -- msgpack of the Z report at the last close
) WITHOUT ROWID;

-- refund numbers {store}-{till}-{day}-R{n}: their own gap-free counter per day
CREATE TABLE refund_counters (
    business_day    TEXT    PRIMARY KEY,
    last            INTEGER NOT NULL
) WITHOUT ROWID;

-- a refund whose provider refunds are under way. The plan (lines, per-tender amounts and
-- the idempotency keys of its provider refunds) is committed before any provider call, so
-- a retry of the same refund re-asks the provider with the same keys: never refunded twice.
-- The refund document (sales row kind='refund', same id) is written when every part is
-- approved; its plan stays here with state 'done' (later refunds read what went where).
CREATE TABLE pending_refunds (
    id              TEXT    PRIMARY KEY,          -- becomes the refund document's sales.id
    sale_id         TEXT    REFERENCES sales(id),  -- the original sale (NULL: no receipt)
    plan            BLOB    NOT NULL,             -- msgpack, see returns.py
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'abandoned')),
    operator        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX pending_refunds_one ON pending_refunds(sale_id) WHERE state = 'pending';
