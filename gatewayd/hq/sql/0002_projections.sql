-- Head-office projections, rebuilt from the replicated events in the transaction that stores
-- them. Keys are the business facts' own ids where they have one (a sale's UUID), so the same
-- fact arriving under two epochs (a till restored from a backup resends what it had) counts
-- once; otherwise the event's key (store, till, epoch, seq).
CREATE TABLE sales (
    store        TEXT   NOT NULL,
    sale_id      TEXT   NOT NULL,       -- the sale's (or refund's) UUID, made at the till
    till         TEXT   NOT NULL,
    epoch        TEXT   NOT NULL,
    seq          BIGINT NOT NULL,       -- the till's journal seq of sale.completed/refunded
    at           BIGINT NOT NULL,
    kind         TEXT   NOT NULL,       -- sale | refund
    receipt_no   TEXT   NOT NULL,
    business_day TEXT   NOT NULL,       -- YYYYMMDD, the till's business day
    shift_id     TEXT,
    operator     TEXT,
    refund_of    TEXT,                  -- a refund: the original sale's id
    total        BIGINT NOT NULL,       -- fen; negative for a refund's money out
    subtotal     BIGINT NOT NULL,
    discount     BIGINT NOT NULL,
    tax          BIGINT NOT NULL,
    rounding     BIGINT NOT NULL,
    paid         BIGINT NOT NULL,
    change_due   BIGINT NOT NULL,
    PRIMARY KEY (store, sale_id)
);
CREATE INDEX sales_day ON sales(store, business_day, till);
CREATE INDEX sales_receipt ON sales(receipt_no);
CREATE TABLE sale_lines (
    store    TEXT   NOT NULL,
    sale_id  TEXT   NOT NULL,
    pos      BIGINT NOT NULL,
    line_id  TEXT   NOT NULL,
    sku      TEXT   NOT NULL,
    qty      BIGINT NOT NULL,           -- thousandths; negative on a refund
    amount   BIGINT NOT NULL,           -- fen after discounts; negative on a refund
    PRIMARY KEY (store, sale_id, pos)
);
CREATE TABLE sale_tenders (
    store   TEXT   NOT NULL,
    sale_id TEXT   NOT NULL,
    pos     BIGINT NOT NULL,
    method  TEXT   NOT NULL,
    amount  BIGINT NOT NULL,
    ref     TEXT,
    PRIMARY KEY (store, sale_id, pos)
);
CREATE TABLE stock_moves (
    store  TEXT   NOT NULL,
    till   TEXT   NOT NULL,
    epoch  TEXT   NOT NULL,
    seq    BIGINT NOT NULL,
    pos    BIGINT NOT NULL,
    at     BIGINT NOT NULL,
    kind   TEXT   NOT NULL,             -- the journal kind: stock.sold, stock.received, ...
    sku    TEXT   NOT NULL,
    qty    BIGINT NOT NULL,
    ref    TEXT,                        -- the sale id or document number
    PRIMARY KEY (store, till, epoch, seq, pos)
);
CREATE INDEX stock_moves_sku ON stock_moves(store, sku);
CREATE TABLE member_entries (
    store   TEXT   NOT NULL,
    till    TEXT   NOT NULL,
    epoch   TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    member  TEXT   NOT NULL,
    what    TEXT   NOT NULL,            -- points | balance | ...: the ledger the entry moves
    delta   BIGINT NOT NULL,
    after   BIGINT,
    reason  TEXT,
    sale_id TEXT,
    PRIMARY KEY (store, till, epoch, seq)
);
CREATE INDEX member_entries_member ON member_entries(member);
CREATE TABLE shifts (
    store     TEXT   NOT NULL,
    shift_id  TEXT   NOT NULL,
    till      TEXT   NOT NULL,
    opened_at BIGINT,
    closed_at BIGINT,
    operator  TEXT,
    data      BLOB,                     -- the shift.closed event's X report
    PRIMARY KEY (store, shift_id)
);
CREATE TABLE till_days (
    store       TEXT   NOT NULL,
    till        TEXT   NOT NULL,
    day         TEXT   NOT NULL,
    state       TEXT   NOT NULL,        -- closed | open (reopened)
    closes      BIGINT NOT NULL,
    closed_seq  BIGINT,                 -- journal seq of the last day.closed
    closed_epoch TEXT,
    net         BIGINT,                 -- the Z report's net takings, fen
    z           BLOB,                   -- the last Z report
    PRIMARY KEY (store, till, day)
);
CREATE TABLE till_audit (
    store  TEXT   NOT NULL,
    till   TEXT   NOT NULL,
    epoch  TEXT   NOT NULL,
    seq    BIGINT NOT NULL,
    at     BIGINT NOT NULL,
    kind   TEXT   NOT NULL,
    actor  TEXT,
    data   BLOB   NOT NULL,
    PRIMARY KEY (store, till, epoch, seq)
);
