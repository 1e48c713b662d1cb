-- Head office's tax rates and central settings (DESIGN §8; gatewayd/replication/central.py),
-- as master data brought them. A category's rate here is the rate every item of that category
-- sells at, whatever the item's own tax_rate_bp; a setting here wins over the config file's.
CREATE TABLE tax_rates (
    category TEXT    PRIMARY KEY,
    rate_bp  INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    name     TEXT
) WITHOUT ROWID;
CREATE TABLE central_settings (
    kind  TEXT NOT NULL,                  -- payment | config
    key   TEXT NOT NULL,                  -- the setting (central.CENTRAL)
    value BLOB NOT NULL,                  -- msgpack
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
