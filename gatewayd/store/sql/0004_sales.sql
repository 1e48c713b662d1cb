-- the sale (gatewayd/sales/service.py owns these tables; nothing else writes them except
-- through SaleService and its hooks). Money in fen, qty in thousandths (grams for kg items),
-- percentages in basis points, times in microseconds since the epoch (UTC).
-- Every change to a sale is one transaction that appends journal event(s) and updates
-- these rows, so the projection is always the last acknowledged state.
CREATE TABLE sales (
    id              TEXT    PRIMARY KEY,          -- uuid, born when the sale opens
    till            TEXT    NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'sale' CHECK (kind IN ('sale', 'refund')),
    state           TEXT    NOT NULL
                    CHECK (state IN ('open', 'tendering', 'completed', 'voided', 'suspended')),
    receipt_no      TEXT    UNIQUE,               -- {store}-{till}-{YYYYMMDD}-{n}, at completion
    business_day    TEXT,                         -- YYYYMMDD, set at completion (or void)
    receipt_n       INTEGER,                      -- n of the receipt number within the day
    operator        TEXT,                         -- who opened it / who completed it
    shift_id        TEXT,                         -- the operator's shift (shifts service)
    member          TEXT,                         -- member id (members service)
    refund_of       TEXT    REFERENCES sales(id), -- kind='refund': the original sale
    -- the order discount (intent)
    order_disc_bp     INTEGER,
    order_disc_amount INTEGER,
    order_disc_reason TEXT,
    -- priced totals at the last change (output of pricing.price_sale + tenders.settle)
    subtotal        INTEGER NOT NULL DEFAULT 0,
    discount        INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    tax_total       INTEGER NOT NULL DEFAULT 0,
    tax             BLOB,                         -- msgpack [{rate_bp, net, tax, base}]
    explain         BLOB,                         -- msgpack [str], sale-level notes
    rounding        INTEGER NOT NULL DEFAULT 0,   -- cash rounding (抹零) forgiven
    paid            INTEGER NOT NULL DEFAULT 0,
    due             INTEGER NOT NULL DEFAULT 0,
    change          INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 0,   -- bumped by every acknowledged change
    tender_n        INTEGER NOT NULL DEFAULT 0,   -- provider attempts made (idempotency keys)
    reprints        INTEGER NOT NULL DEFAULT 0,
    void_reason     TEXT,
    approver        TEXT,                         -- who approved the void
    opened_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    completed_at    INTEGER
);
-- one active sale per till
CREATE UNIQUE INDEX sales_active ON sales(till) WHERE state IN ('open', 'tendering');
CREATE INDEX sales_day ON sales(business_day, state);
CREATE INDEX sales_shift ON sales(shift_id);
CREATE INDEX sales_refund_of ON sales(refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX sales_suspended ON sales(till, updated_at) WHERE state = 'suspended';

CREATE TABLE sale_lines (
    id              TEXT    PRIMARY KEY,          -- line_id, uuid
    sale_id         TEXT    NOT NULL REFERENCES sales(id),
    pos             INTEGER NOT NULL,             -- order in the sale, from 0
    sku             TEXT    NOT NULL,
    -- the catalog item as it was when the line was added (a later price change does not
    -- change an open or completed sale)
    name            TEXT    NOT NULL,
    unit            TEXT    NOT NULL CHECK (unit IN ('pc', 'kg')),
    list_price      INTEGER NOT NULL,
    member_price    INTEGER,
    tax_rate_bp     INTEGER NOT NULL DEFAULT 0,
    category        TEXT,
    barcode         TEXT,                         -- what was scanned, if anything
    source          TEXT,                         -- barcode | scale_label | plu | sku | return
    -- intent
    qty             INTEGER NOT NULL CHECK (qty > 0),
    unit_price      INTEGER,                      -- price override (approved), NULL = list
    price_source    TEXT,                         -- override | label
    disc_bp         INTEGER,                      -- manual line discount: percent ...
    disc_amount     INTEGER,                      -- ... or amount
    disc_reason     TEXT,
    voided          INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    -- priced at the last change
    amount          INTEGER NOT NULL DEFAULT 0,
    discount        INTEGER NOT NULL DEFAULT 0,
    promo_discount  INTEGER NOT NULL DEFAULT 0,
    manual_discount INTEGER NOT NULL DEFAULT 0,
    order_discount  INTEGER NOT NULL DEFAULT 0,
    net             INTEGER NOT NULL DEFAULT 0,
    tax             INTEGER NOT NULL DEFAULT 0,
    gross           INTEGER NOT NULL DEFAULT 0,
    promos          BLOB,                         -- msgpack [{promo_id, label, discount}]
    explain         BLOB,                         -- msgpack [str]
    -- returns: a refund line points at the line it returns; a sold line counts what has
    -- been returned of it (qty sold - returned_qty is what may still be returned)
    orig_line_id    TEXT    REFERENCES sale_lines(id),
    returned_qty    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sale_lines_sale ON sale_lines(sale_id, pos);
CREATE INDEX sale_lines_orig ON sale_lines(orig_line_id) WHERE orig_line_id IS NOT NULL;

CREATE TABLE sale_tenders (
    id              TEXT    PRIMARY KEY,          -- uuid
    sale_id         TEXT    NOT NULL REFERENCES sales(id),
    pos             INTEGER NOT NULL,
    method          TEXT    NOT NULL,             -- cash | card | alipay | wechat | voucher | ...
    amount          INTEGER NOT NULL,             -- handed over (cash before change); refunds < 0
    ref             TEXT,                         -- provider reference, voucher code
    attempt_id      TEXT    UNIQUE,               -- payment_attempts.id: a charge is applied once
    operator        TEXT,
    shift_id        TEXT,                         -- stamped at completion
    business_day    TEXT,                         -- stamped at completion
    at              INTEGER NOT NULL
);
CREATE INDEX sale_tenders_sale ON sale_tenders(sale_id, pos);
CREATE INDEX sale_tenders_day ON sale_tenders(business_day, method);

-- provider charges and refunds. The row (with its idempotency key) is committed BEFORE the
-- provider is called, so a crash or retry asks the provider about the same key.
CREATE TABLE payment_attempts (
    id              TEXT    PRIMARY KEY,          -- the idempotency key: {sale_id}:{n}
    sale_id         TEXT    NOT NULL REFERENCES sales(id),
    n               INTEGER NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'charge' CHECK (kind IN ('charge', 'refund')),
    method          TEXT    NOT NULL,             -- card | alipay | wechat
    provider        TEXT    NOT NULL,
    amount          INTEGER NOT NULL,
    code_hash       TEXT,                         -- sha256 of the payment code (never the code)
    original        TEXT,                         -- refunds: the charge's id
    state           TEXT    NOT NULL
                    CHECK (state IN ('pending', 'user_paying', 'approved', 'declined',
                                     'cancelled', 'failed')),
    provider_ref    TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (sale_id, n)
);
CREATE UNIQUE INDEX payment_code_once ON payment_attempts(code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX payment_attempts_open ON payment_attempts(state)
    WHERE state IN ('pending', 'user_paying');

-- receipt numbers: n per business day, allocated in the completing transaction: gap-free
CREATE TABLE receipt_counters (
    business_day    TEXT    PRIMARY KEY,
    last            INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE vouchers (
    code            TEXT    PRIMARY KEY,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    used_sale       TEXT,                         -- NULL until redeemed (once)
    used_at         INTEGER,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;

-- promotions from promo.upsert (the [[promotions]] of the config are not stored)
CREATE TABLE promotions (
    id              TEXT    PRIMARY KEY,
    data            BLOB    NOT NULL,             -- msgpack of the promotion dict
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
