-- Master data owned by head office (DESIGN §8): a log of versioned changes, the current
-- state per entity (for editing and checks), and price zones. One version per batch (an
-- edit, an import); a batch's changes keep their order in `pos`.
CREATE TABLE master_head (
    id      BIGINT NOT NULL PRIMARY KEY,  -- always 1: the chain's one version counter
    version BIGINT NOT NULL
);
INSERT INTO master_head(id, version) VALUES (1, 0);
CREATE TABLE master_versions (
    version BIGINT NOT NULL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT,                         -- the HQ token's name, or the command
    source  TEXT   NOT NULL,              -- api | csv:FILE | xlsx:FILE
    changes BIGINT NOT NULL
);
CREATE TABLE master_changes (
    version      BIGINT NOT NULL,
    pos          BIGINT NOT NULL,
    kind         TEXT   NOT NULL,         -- item | price | promo | operator | ...
    key          TEXT   NOT NULL,         -- the entity's id: sku, promotion id, operator id
    scope        TEXT,                    -- NULL: every store; store:S001 or zone:NAME
    effective_at BIGINT,                  -- µs UTC; NULL: at once
    data         BLOB   NOT NULL,         -- msgpack map, the change as the till applies it
    PRIMARY KEY (version, pos)
);
CREATE TABLE master_current (
    kind         TEXT   NOT NULL,
    key          TEXT   NOT NULL,
    scope        TEXT   NOT NULL,         -- '' for every store
    version      BIGINT NOT NULL,
    effective_at BIGINT,
    plu          TEXT,                    -- items: their PLU, unique in the chain
    data         BLOB   NOT NULL,
    PRIMARY KEY (kind, key, scope)
);
CREATE INDEX master_current_plu ON master_current(plu);
CREATE TABLE price_zones (
    zone  TEXT NOT NULL,
    store TEXT NOT NULL PRIMARY KEY       -- a store is in one zone at most
);
