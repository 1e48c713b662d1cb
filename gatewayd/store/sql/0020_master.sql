-- Master data from head office (DESIGN §8): the version this till is at, a download in
-- progress (parts of one version, applied once whole), changes held until their time, and
-- which kinds head office owns here (their local edits are refused).
CREATE TABLE master_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO master_state(id, version) VALUES (1, 0);
CREATE TABLE master_incoming (
    version INTEGER NOT NULL,
    pos     INTEGER NOT NULL,
    change  BLOB    NOT NULL,             -- msgpack map {pos, kind, key, data, effective_at?}
    PRIMARY KEY (version, pos)
) WITHOUT ROWID;
CREATE TABLE master_scheduled (
    version      INTEGER NOT NULL,
    pos          INTEGER NOT NULL,
    effective_at INTEGER NOT NULL,        -- µs UTC
    change       BLOB    NOT NULL,
    PRIMARY KEY (version, pos)
) WITHOUT ROWID;
CREATE INDEX master_scheduled_at ON master_scheduled(effective_at);
CREATE TABLE master_owned (
    kind  TEXT    PRIMARY KEY,            -- item, promo, operator, ...
    since INTEGER NOT NULL                -- the first version that brought one
) WITHOUT ROWID;
