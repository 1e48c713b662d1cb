-- PIN attempts by the operator id they named, whether or not such an operator exists, so an
-- unknown id costs and answers exactly what a known one does (gatewayd/auth.py). An attempt
-- is counted in `pending` before its PIN is hashed; `locks` makes each next lock twice as long.
CREATE TABLE pin_attempts (
    operator     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,  -- counted since the last lock or good PIN
    pending      INTEGER NOT NULL DEFAULT 0,  -- attempts under way (zeroed at start-up)
    locked_until INTEGER,                     -- epoch seconds
    locks        INTEGER NOT NULL DEFAULT 0,  -- locks in a row without a good PIN between
    last_at      INTEGER NOT NULL             -- epoch seconds of the last attempt
);
ALTER TABLE operators DROP COLUMN failures;
ALTER TABLE operators DROP COLUMN locked_until;
