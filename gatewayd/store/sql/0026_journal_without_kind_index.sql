-- No query reads the journal by kind (the replicator, restore and retention read it by seq),
-- and the index made every event's insert write a page of its own kind's range: on a store
-- of three years, a dozen pages far apart in the file for each WAL checkpoint to write back
-- and sync, and 370 MB of 15.7 GB.
DROP INDEX IF EXISTS journal_kind;
