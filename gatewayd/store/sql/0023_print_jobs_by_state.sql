-- printer.jobs reads each state's jobs newest first by index, whatever the history: with the
-- states bound as parameters the partial print_jobs_pending (queued, printing) was never
-- used, and the listing scanned print_jobs (every receipt kept by retention, ~10k rows) and
-- sorted it on the event loop
CREATE INDEX print_jobs_state ON print_jobs(state, created_at);
