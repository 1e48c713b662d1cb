-- Members across the chain (issue 15): the registry, the online holds on money that can be
-- spent at more than one till, single-use coupons. The ledgers themselves are the tills'
-- entries in member_entries (0002), each stored once under its event key; a member's
-- balance is the sum of its entries less its live holds.
CREATE TABLE members (
    id          TEXT   PRIMARY KEY,        -- the member's UUID, made at the till that
                                           -- registered it
    phone       TEXT   NOT NULL,           -- in full: head office holds the registry
    name        TEXT   NOT NULL,
    birthday    TEXT,
    card        TEXT,
    qr          TEXT   NOT NULL,
    tier        TEXT   NOT NULL,
    active      BIGINT NOT NULL,
    referred_by TEXT,
    store       TEXT   NOT NULL,           -- where it was last written
    till        TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL            -- the till's `at` of that member.record
);
CREATE INDEX members_phone ON members(phone);
CREATE INDEX members_card ON members(card);
CREATE INDEX members_qr ON members(qr);
-- one row per member that was ever held: holds of one member are decided one at a time
-- under this row's lock (several HQ processes may share the database)
CREATE TABLE member_ledgers (
    member TEXT PRIMARY KEY
);
CREATE TABLE member_holds (
    id          TEXT   PRIMARY KEY,        -- the till's request id: the idempotency key
    member      TEXT,
    ledger      TEXT   NOT NULL,           -- balance | points | coupon
    amount      BIGINT NOT NULL,           -- fen of stored value, points, or the coupon's fen
    code        TEXT,                      -- a coupon hold: the coupon
    sale_id     TEXT   NOT NULL,
    store       TEXT   NOT NULL,
    till        TEXT   NOT NULL,
    state       TEXT   NOT NULL,           -- held | debited | released
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,           -- a hold no entry settled by then stops counting
    settled_at  BIGINT
);
CREATE INDEX member_holds_member ON member_holds(member, ledger, state);
CREATE INDEX member_holds_sale ON member_holds(sale_id);
-- a single-use coupon spent (or held) anywhere in the chain: at most one row per code
CREATE TABLE coupon_uses (
    code     TEXT   PRIMARY KEY,
    hold_id  TEXT,
    sale_id  TEXT   NOT NULL,
    store    TEXT   NOT NULL,
    till     TEXT   NOT NULL,
    state    TEXT   NOT NULL,              -- held | redeemed
    at       BIGINT NOT NULL
);
-- coupons as the tills issued them (the codes their coupon.issued events carry)
CREATE TABLE coupons (
    code       TEXT   PRIMARY KEY,
    member     TEXT,
    amount     BIGINT NOT NULL,
    min_spend  BIGINT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to   BIGINT NOT NULL,
    source     TEXT   NOT NULL,
    store      TEXT   NOT NULL,
    till       TEXT   NOT NULL
);
CREATE INDEX coupons_member ON coupons(member);
ALTER TABLE member_entries ADD COLUMN ref TEXT;
CREATE INDEX member_entries_ref ON member_entries(ref);
