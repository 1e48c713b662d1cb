-- Restoring a till from head office (`gatewayd restore --from-hq`): a one-time restore code
-- rides the enrollment table (it hands out a new credential the same way), and each epoch
-- remembers the one it replaced, so the till's whole journal can be walked back through its
-- restores.
ALTER TABLE enrollments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'enroll';  -- enroll | restore
ALTER TABLE till_epochs ADD COLUMN previous_epoch TEXT;  -- the epoch a restore replaced
