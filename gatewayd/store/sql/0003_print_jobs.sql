-- the persistent print queue: a job survives restarts, paper-out and offline printers
CREATE TABLE print_jobs (
    id          TEXT PRIMARY KEY,
    printer     TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- receipt | reprint | test | lines
    ref         TEXT,                     -- receipt number, shift id, ...
    document    BLOB NOT NULL,            -- msgpack list of receipt items (drivers.printer.receipt)
    state       TEXT NOT NULL,            -- queued | printing | done | cancelled
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX print_jobs_pending ON print_jobs(printer, state, created_at)
    WHERE state IN ('queued', 'printing');
CREATE INDEX print_jobs_ref ON print_jobs(ref);
