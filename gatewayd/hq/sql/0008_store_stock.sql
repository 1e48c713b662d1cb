-- Stock per store (issue 15): transfers between stores and deliveries from head office or a
-- distribution centre, matched. A store's on-hand is the sum of stock_moves (0002) of every
-- till of the store; a transfer's or delivery's goods are in transit until a till of the
-- receiving store confirms what it counted (a stock.transferred `in` whose ref is `no`).
CREATE TABLE transfers (
    no            TEXT   PRIMARY KEY,     -- the sending document: a till's TRO number, or
                                          -- head office's delivery number (DLV-...)
    kind          TEXT   NOT NULL,        -- transfer | delivery
    from_store    TEXT   NOT NULL,        -- a store, or the distribution centre's id
    to_store      TEXT   NOT NULL,
    sent_at       BIGINT NOT NULL,
    sent_till     TEXT,                   -- transfers: the sending till
    lines         BLOB   NOT NULL,        -- msgpack [{sku, qty}] sent
    state         TEXT   NOT NULL,        -- in_transit | received
    received_no   TEXT,                   -- the receiving till's TRI document
    received_till TEXT,
    received_at   BIGINT,
    received      BLOB,                   -- msgpack [{sku, qty}] counted at the store
    confirmations BIGINT NOT NULL DEFAULT 0  -- > 1: confirmed again; the later ones' moves
                                             -- are not counted (an alert names them)
);
CREATE INDEX transfers_to ON transfers(to_store, state);
CREATE INDEX transfers_from ON transfers(from_store, state);
