-- A counter that every catalog write bumps (catalog._apply: the daemon's upserts and the
-- CLI's import, which may run in another process). The daemon caches barcode lookups while
-- it reads the same number.
CREATE TABLE catalog_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO catalog_version(id, n) VALUES (1, 0);
