-- inventory (gatewayd/inventory/ owns these tables; nothing else writes them except through
-- its functions, which run inside the caller's transaction for sales, refunds and voids).
-- Quantities in the item's qty units (thousandths of a piece, grams for kg items), money in
-- fen, unit costs in fen per piece or per kg (like items.cost), times in microseconds (UTC).

-- on hand per item: the projection of the stock movements (journal events with `moves`)
CREATE TABLE stock (
    sku          TEXT    PRIMARY KEY,
    on_hand      INTEGER NOT NULL DEFAULT 0,   -- may go below zero (inventory.allow_negative)
    avg_cost     INTEGER CHECK (avg_cost IS NULL OR avg_cost >= 0),  -- moving average; NULL:
                                               -- never received, items.cost stands in
    threshold    INTEGER,                      -- low-stock threshold; NULL = none
    low          INTEGER NOT NULL DEFAULT 0 CHECK (low IN (0, 1)),  -- 1: crossed, alert raised
    last_move_at INTEGER,
    last_sale_at INTEGER,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX stock_low ON stock(sku) WHERE low = 1;

-- every movement, signed: the per-item history and the cost of goods sold
CREATE TABLE stock_moves (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,             -- the journal event that carries it
    at           INTEGER NOT NULL,
    sku          TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'receive', 'count',
                                                  'transfer_out', 'transfer_in', 'writeoff')),
    qty          INTEGER NOT NULL,             -- signed: + in, - out
    on_hand      INTEGER NOT NULL,             -- after the move
    unit_cost    INTEGER,                      -- fen per unit the move was valued at
    value        INTEGER NOT NULL DEFAULT 0,   -- signed fen: round(qty * unit_cost / 1000)
    ref          TEXT,                         -- document number, or the sale's id
    line_id      TEXT                          -- sales and refunds: the sale line
);
CREATE INDEX stock_moves_sku ON stock_moves(sku, id);
CREATE INDEX stock_moves_at ON stock_moves(at);
CREATE INDEX stock_moves_ref ON stock_moves(ref);
CREATE INDEX stock_moves_line ON stock_moves(line_id) WHERE line_id IS NOT NULL;

-- documents: {store}-{till}-{RCV|CNT|TRO|TRI|WOF}-{n:06}
CREATE TABLE stock_docs (
    no           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('receive', 'count', 'transfer_out',
                                                  'transfer_in', 'writeoff')),
    state        TEXT    NOT NULL CHECK (state IN ('draft', 'posted')),
    peer         TEXT,                         -- transfers: the other store's id
    supplier     TEXT,
    reason       TEXT,
    ref          TEXT,                         -- the supplier's delivery note, the peer's doc
    note         TEXT,
    lines        BLOB    NOT NULL,             -- msgpack [{sku, qty|counted, cost?, ...}]
    operator     TEXT,
    approver     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    posted_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX stock_docs_kind ON stock_docs(kind, created_at);

CREATE TABLE stock_doc_counters (
    prefix       TEXT    PRIMARY KEY,          -- RCV, CNT, ...
    last         INTEGER NOT NULL
) WITHOUT ROWID;
