-- Prompt-cache writes are billed at their own price (Anthropic: 1.25x input),
-- so a settlement keeps them apart from plain input; entries written before
-- this migration counted them as input and keep 0 here.
ALTER TABLE ledger_journal ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;
