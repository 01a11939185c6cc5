-- Runs belong to the caller that created them (the authenticated identity's
-- name; empty for runs created without authentication, and for every run that
-- existed before this migration, which only admins then see).
ALTER TABLE runs ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

-- ListRuns of one caller: newest first, same keyset as runs_by_created.
CREATE INDEX runs_by_creator ON runs (created_by, created_us DESC, run_id DESC);
