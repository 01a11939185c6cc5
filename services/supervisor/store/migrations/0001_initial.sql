-- Initial schema of the Supervisor store. Portable between SQLite and
-- PostgreSQL: times are BIGINT microseconds since the Unix epoch, flags are
-- INTEGER 0/1, serialized protos are BYTEA (BLOB-compatible in SQLite).

CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  spec BYTEA NOT NULL,
  spec_hash TEXT NOT NULL,
  state INTEGER NOT NULL,
  state_reason TEXT NOT NULL DEFAULT '',
  created_us BIGINT NOT NULL,
  started_us BIGINT NOT NULL DEFAULT 0,
  finished_us BIGINT NOT NULL DEFAULT 0,
  branch TEXT NOT NULL DEFAULT '',
  head_sha TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  cancel_reason TEXT NOT NULL DEFAULT '',
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_epoch BIGINT NOT NULL DEFAULT 0,
  lease_expires_us BIGINT NOT NULL DEFAULT 0,
  last_sequence BIGINT NOT NULL DEFAULT 0
);

-- ListRuns: newest first, keyset pagination on (created_us, run_id).
CREATE INDEX runs_by_created ON runs (created_us DESC, run_id DESC);
-- ClaimRuns: runnable runs whose lease is absent or expired.
CREATE INDEX runs_by_state ON runs (state, lease_expires_us);

CREATE TABLE tiers (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  tier_index INTEGER NOT NULL,
  tier_id TEXT NOT NULL,
  state INTEGER NOT NULL,
  PRIMARY KEY (run_id, tier_id)
);

CREATE TABLE phases (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  phase_id TEXT NOT NULL,
  tier_id TEXT NOT NULL,
  tier_index INTEGER NOT NULL,
  phase_index INTEGER NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  commit_sha TEXT NOT NULL DEFAULT '',
  builder_model TEXT NOT NULL DEFAULT '',
  auditor_model TEXT NOT NULL DEFAULT '',
  selection_rationale TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, phase_id)
);

-- One row per phase attempt; each step's durable outcome as a serialized proto.
CREATE TABLE attempts (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  phase_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  step INTEGER NOT NULL,
  builder_model TEXT NOT NULL DEFAULT '',
  auditor_model TEXT NOT NULL DEFAULT '',
  build BYTEA,
  review BYTEA,
  apply BYTEA,
  check_result BYTEA,
  rolled_back_to TEXT NOT NULL DEFAULT '',
  feedback BYTEA,
  updated_us BIGINT NOT NULL,
  PRIMARY KEY (run_id, phase_id, attempt)
);

-- The budget ledger's journal (policy::LedgerJournal): per run, entries
-- numbered 1, 2, ... by the ledger. A reservation is settled or released at
-- most once, so no call is ever counted twice, even by two writers.
CREATE TABLE ledger_journal (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  sequence BIGINT NOT NULL,
  kind INTEGER NOT NULL,
  reservation_id TEXT NOT NULL,
  tier_id TEXT NOT NULL DEFAULT '',
  phase_id TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  tokens BIGINT NOT NULL DEFAULT 0,
  cost_micro_usd BIGINT NOT NULL DEFAULT 0,
  output_limit BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  cached_input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  time_us BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, sequence),
  UNIQUE (run_id, reservation_id, kind)
);

-- A run's index of distinct issues.
CREATE TABLE run_issues (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  severity INTEGER NOT NULL,
  issue BYTEA NOT NULL,
  occurrences INTEGER NOT NULL,
  PRIMARY KEY (run_id, fingerprint)
);

-- A project's backlog (policy::IssueBacklogStore); the policy library decides
-- how entries age. run_ids / tier_ids: C-escaped ids, one per line. A row
-- whose issue is NULL is a placeholder locked by an Update in progress.
CREATE TABLE backlog (
  project_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  issue BYTEA,
  worst_severity INTEGER NOT NULL DEFAULT 0,
  occurrences BIGINT NOT NULL DEFAULT 0,
  run_ids TEXT NOT NULL DEFAULT '',
  tier_ids TEXT NOT NULL DEFAULT '',
  first_run_id TEXT NOT NULL DEFAULT '',
  last_run_id TEXT NOT NULL DEFAULT '',
  needs_cleanup INTEGER NOT NULL DEFAULT 0,
  first_seen_us BIGINT NOT NULL DEFAULT 0,
  last_seen_us BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, fingerprint)
);

-- Append-only event log; sequence is per run, strictly increasing from 1.
CREATE TABLE run_events (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  sequence BIGINT NOT NULL,
  event BYTEA NOT NULL,
  PRIMARY KEY (run_id, sequence)
);
