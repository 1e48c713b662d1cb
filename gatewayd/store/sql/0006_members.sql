-- members, points, stored value and coupons (gatewayd/members/ owns these tables; nothing
-- else writes them except through gatewayd.members.ledger, usually inside the sale's own
-- transaction). Money in fen, times in microseconds since the epoch (UTC).
-- points and balance on `members` are projections of the journal's member.points and
-- member.balance events (each carries delta, before and after); CHECKs keep them >= 0.
CREATE TABLE members (
    id              TEXT    PRIMARY KEY,          -- uuid
    phone           TEXT    NOT NULL UNIQUE,      -- 11 digits, normalized
    name            TEXT    NOT NULL,
    birthday        TEXT,                         -- YYYY-MM-DD or MM-DD
    card            TEXT    UNIQUE,               -- card barcode, optional
    qr              TEXT    NOT NULL UNIQUE,      -- QR token; payload = [members] qr_prefix + qr
    tier            TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    points          INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    balance         INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    referred_by     TEXT    REFERENCES members(id),
    referral_done   INTEGER NOT NULL DEFAULT 0,   -- the referral reward was given
    first_sale      TEXT,                         -- the first completed purchase
    birthday_year   INTEGER,                      -- the last year the birthday benefit went out
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- points in lots, so they can expire (FIFO: the oldest lot is spent first)
CREATE TABLE member_point_lots (
    id              INTEGER PRIMARY KEY,
    member_id       TEXT    NOT NULL REFERENCES members(id),
    earned_at       INTEGER NOT NULL,
    expires_at      INTEGER,                      -- NULL: never
    remaining       INTEGER NOT NULL CHECK (remaining >= 0),
    sale_id         TEXT
);
CREATE INDEX member_point_lots_open ON member_point_lots(member_id, earned_at)
    WHERE remaining > 0;
CREATE INDEX member_point_lots_expiry ON member_point_lots(expires_at)
    WHERE remaining > 0 AND expires_at IS NOT NULL;

-- every points or balance change, with before and after (mirrors the journal)
CREATE TABLE member_moves (
    id              INTEGER PRIMARY KEY,
    member_id       TEXT    NOT NULL REFERENCES members(id),
    what            TEXT    NOT NULL CHECK (what IN ('points', 'balance')),
    delta           INTEGER NOT NULL,
    before          INTEGER NOT NULL,
    after           INTEGER NOT NULL CHECK (after >= 0),
    reason          TEXT    NOT NULL,   -- earn|tender|tender_void|refund|reverse|topup|bonus|...
    sale_id         TEXT,
    ref             TEXT,
    seq             INTEGER NOT NULL,             -- the journal event
    at              INTEGER NOT NULL
);
CREATE INDEX member_moves_member ON member_moves(member_id, id);
CREATE INDEX member_moves_sale ON member_moves(sale_id) WHERE sale_id IS NOT NULL;
CREATE INDEX member_moves_ref ON member_moves(ref) WHERE ref IS NOT NULL;

-- completed sales and refunds of members: spend for the tier window, points earned
CREATE TABLE member_purchases (
    sale_id         TEXT    PRIMARY KEY,
    member_id       TEXT    NOT NULL REFERENCES members(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('sale', 'refund')),
    refund_of       TEXT,
    receipt_no      TEXT,
    amount          INTEGER NOT NULL,             -- spend; refunds negative
    points          INTEGER NOT NULL DEFAULT 0,   -- earned; reversed negative
    at              INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX member_purchases_member ON member_purchases(member_id, at);

CREATE TABLE coupons (
    code            TEXT    PRIMARY KEY,
    member_id       TEXT    REFERENCES members(id), -- NULL: bearer
    amount          INTEGER NOT NULL CHECK (amount > 0),
    min_spend       INTEGER NOT NULL DEFAULT 0 CHECK (min_spend >= 0),
    valid_from      INTEGER NOT NULL,
    valid_to        INTEGER NOT NULL,
    source          TEXT    NOT NULL,             -- issue|birthday|referral|reward
    batch           TEXT,
    used_sale       TEXT,                         -- NULL until redeemed (once)
    used_at         INTEGER,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX coupons_member ON coupons(member_id) WHERE member_id IS NOT NULL;
CREATE INDEX coupons_batch ON coupons(batch) WHERE batch IS NOT NULL;
