-- The till in a chain (issue 15): member authorizations, the member registry sent to head
-- office, the store's stock as head office gave it.

-- Stored value, points and coupons taken on an enrolled till (issue 15): each tender's
-- authorization, by head office (mode hq) or by the offline policy (mode offline). The id
-- is the hold id sent to head office, its idempotency key; the offline limit per member per
-- day sums this till's offline rows of the day.
CREATE TABLE member_authorizations (
    id         TEXT    PRIMARY KEY,
    sale_id    TEXT    NOT NULL,
    member_id  TEXT,
    ledger     TEXT    NOT NULL CHECK (ledger IN ('balance', 'points', 'coupon')),
    amount     INTEGER NOT NULL CHECK (amount > 0),   -- fen, points, or the coupon's fen
    code       TEXT,                                  -- a coupon's code
    mode       TEXT    NOT NULL CHECK (mode IN ('hq', 'offline')),
    day        TEXT    NOT NULL,                      -- the till's local date, YYYY-MM-DD
    state      TEXT    NOT NULL CHECK (state IN ('taken', 'voided')),
    at         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX member_authorizations_offline ON member_authorizations(member_id, ledger, day)
    WHERE mode = 'offline';
CREATE INDEX member_authorizations_sale ON member_authorizations(sale_id);

-- The member registry travels to head office over the link (a `member` request), not in
-- the journal (which carries masked phones only): record_at is when this till last changed
-- the member's record, hq_record_at the record head office has (NULL: never sent).
ALTER TABLE members ADD COLUMN record_at INTEGER;
ALTER TABLE members ADD COLUMN hq_record_at INTEGER;
UPDATE members SET record_at = updated_at;
CREATE INDEX members_unsent ON members(record_at)
    WHERE hq_record_at IS NULL OR hq_record_at < record_at;

-- The store's stock as head office last gave it (issue 15): per item, the on-hand of every
-- till of the store, including this till's moves up to till_seq (its journal seq head
-- office held then); the till adds its own moves after it.
CREATE TABLE store_stock (
    sku       TEXT    PRIMARY KEY,
    on_hand   INTEGER NOT NULL,
    till_seq  INTEGER NOT NULL,
    as_of     INTEGER NOT NULL            -- head office's clock, µs UTC
) WITHOUT ROWID;
CREATE INDEX stock_moves_seq ON stock_moves(sku, seq);
