-- Migration 0004 (SQLite): job administration.
-- packages.job_id, task, expires_at: the label the client sends beside each body (the broker never
-- decodes a body). NULL for packages enqueued before this migration or without a label.
-- Indexes, each serving one administration read without a scan of the queue (live packages of a queue
-- are listed through the claim index of migration 0001, so listing adds no index to the hot path):
--   packages_job_index   lookup and remove by job id;
-- Dead letters newest death first need no new index here: packages_dead_index (queue, dead_at) of
-- migration 0001 holds the rowid as its last column, so it is already ordered by (dead_at, id).
-- queue_flags: the persisted pause flag per queue; cancel_marks: persisted cancel marks by job id;
-- progress: the latest progress per job id.
-- Placeholders: {{packages}}-style names are the configured table prefix, validated as plain
-- identifiers before substitution.
ALTER TABLE {{packages}} ADD COLUMN job_id TEXT;
ALTER TABLE {{packages}} ADD COLUMN task TEXT;
ALTER TABLE {{packages}} ADD COLUMN expires_at INTEGER;
CREATE INDEX {{packages_job_index}} ON {{packages}} (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE {{queue_flags}} (
  queue      TEXT    PRIMARY KEY,
  paused     INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE {{cancel_marks}} (
  job_id    TEXT    PRIMARY KEY,
  reason    TEXT    NOT NULL,
  marked_at INTEGER NOT NULL
);

CREATE TABLE {{progress}} (
  job_id      TEXT    PRIMARY KEY,
  value       TEXT    NOT NULL,
  reported_at INTEGER NOT NULL
);
