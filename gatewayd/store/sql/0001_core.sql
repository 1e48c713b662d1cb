-- journal, tokens, operators, pairing
CREATE TABLE journal (
    seq   INTEGER PRIMARY KEY,          -- gap-free, assigned inside BEGIN IMMEDIATE
    at    INTEGER NOT NULL,             -- microseconds since the epoch, UTC
    kind  TEXT    NOT NULL,
    data  BLOB    NOT NULL              -- msgpack map
);
CREATE INDEX journal_kind ON journal(kind);
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,    -- sha256 of the token; the token itself is never stored
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE operators (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    pin_hash     BLOB NOT NULL,         -- scrypt(pin, salt)
    pin_salt     BLOB NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    active       INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE pair_requests (
    id          TEXT PRIMARY KEY,       -- secret, known to the requesting client only
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,          -- pending|approved|collected|denied
    role        TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

