-- Head office core: tills and their credentials, enrollment codes, client tokens, the
-- replicated journal, and alerts. One text for SQLite and PostgreSQL (BLOB becomes BYTEA).
CREATE TABLE tills (
    store           TEXT   NOT NULL,
    till            TEXT   NOT NULL,
    added_at        BIGINT NOT NULL,
    credential_hash BLOB,             -- sha256 of the till's credential; never the credential
    enrolled_at     BIGINT,
    revoked_at      BIGINT,
    PRIMARY KEY (store, till)
);
CREATE TABLE enrollments (
    code_hash    BLOB   NOT NULL PRIMARY KEY,  -- sha256 of the one-time code
    store        TEXT   NOT NULL,
    till         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    pending_hash BLOB,                -- the credential handed out, not yet used by a hello
    used_at      BIGINT               -- the first hello with that credential
);
CREATE TABLE till_epochs (
    store          TEXT   NOT NULL,
    till           TEXT   NOT NULL,
    epoch          TEXT   NOT NULL,
    base_seq       BIGINT NOT NULL,   -- seqs up to here came under an earlier epoch
    acked_seq      BIGINT NOT NULL,   -- highest contiguous seq held (and acknowledged)
    head_seq       BIGINT NOT NULL,   -- the till's journal head, as it last said
    acked_at       BIGINT,            -- the till's `at` of the event at acked_seq
    first_contact  BIGINT NOT NULL,
    last_contact   BIGINT NOT NULL,
    master_version BIGINT NOT NULL DEFAULT 0,
    clock_skew_us  BIGINT,            -- the till's clock minus ours at its last hello
    PRIMARY KEY (store, till, epoch)
);
CREATE TABLE events (
    store TEXT   NOT NULL,
    till  TEXT   NOT NULL,
    epoch TEXT   NOT NULL,
    seq   BIGINT NOT NULL,
    at    BIGINT NOT NULL,            -- the till's clock, µs UTC
    kind  TEXT   NOT NULL,
    data  BLOB   NOT NULL,            -- msgpack map, as the till journaled it
    PRIMARY KEY (store, till, epoch, seq)
);
CREATE TABLE tokens (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    hash       BLOB   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE alerts (
    id      TEXT   PRIMARY KEY,
    at      BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    store   TEXT,
    till    TEXT,
    message TEXT   NOT NULL
);
CREATE TABLE audit (
    id      TEXT   PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT,
    action  TEXT   NOT NULL,
    detail  TEXT
);
