-- the till's identity towards head office and its replication link (DESIGN §8)
-- One row. `epoch` is made when the store is created (here) and anew by every restore, so a
-- rewound journal never collides with what head office holds under the old epoch.
CREATE TABLE replication (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    epoch          TEXT    NOT NULL,
    base_seq       INTEGER NOT NULL DEFAULT 0,  -- journal seqs up to here went under an earlier epoch
    previous_epoch TEXT,                        -- the epoch a restore replaced
    previous_seq   INTEGER,                     -- the last journal seq the restore kept
    url            TEXT,                        -- head office's base URL, ws:// or wss://
    credential     TEXT,                        -- this till's own credential, from enrollment
    ca_file        TEXT,                        -- CA bundle to trust for wss:// (else the system's)
    store          TEXT,                        -- the (store, till) head office enrolled
    till           TEXT,
    enrolled_at    INTEGER,
    acked_seq      INTEGER NOT NULL DEFAULT 0,  -- head office committed everything up to here
    acked_at       INTEGER                      -- when it said so (µs)
);
INSERT INTO replication(id, epoch) VALUES (1, lower(hex(randomblob(16))));
