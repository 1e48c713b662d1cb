-- no poison print job: a job's own failures (not the printer's) are counted across restarts;
-- after a bounded number it is set aside as state 'held' and no longer blocks the queue.
-- states: queued | printing | done | sent (no status channel) | held | cancelled
ALTER TABLE print_jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
