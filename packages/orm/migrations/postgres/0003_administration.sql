-- Migration 0003 (PostgreSQL): job administration.
-- packages.job_id, task, expires_at: the label the client sends beside each body (the broker never
-- decodes a body). NULL for packages enqueued before this migration or without a label; adding nullable
-- columns without defaults rewrites no rows.
-- Indexes, each serving one administration read without a scan of the queue (live packages of a queue
-- are listed through the claim index of migration 0001, so listing adds no index to the hot path):
--   packages_job_index   lookup and remove by job id (job ids are time-sortable: inserts append);
--   packages_dead_order  dead letters of a queue newest death first, cursor on (dead_at, id).
-- queue_flags: the persisted pause flag per queue; cancel_marks: persisted cancel marks by job id;
-- progress: the latest progress per job id.
-- Placeholders: {{packages}}-style names are the configured schema and table prefix, validated as plain
-- identifiers before substitution.
ALTER TABLE {{packages}}
  ADD COLUMN job_id text COLLATE "C",
  ADD COLUMN task text,
  ADD COLUMN expires_at bigint;
CREATE INDEX {{packages_job_index}} ON {{packages}} (job_id, id) WHERE job_id IS NOT NULL;
CREATE INDEX {{packages_dead_order}} ON {{packages}} (queue, dead_at, id) WHERE dead_at IS NOT NULL;

CREATE TABLE {{queue_flags}} (
  queue      text    PRIMARY KEY,
  paused     boolean NOT NULL,
  updated_at bigint  NOT NULL
);

CREATE TABLE {{cancel_marks}} (
  job_id    text   COLLATE "C" PRIMARY KEY,
  reason    text   NOT NULL,
  marked_at bigint NOT NULL
);

CREATE TABLE {{progress}} (
  job_id      text   COLLATE "C" PRIMARY KEY,
  value       text   NOT NULL,
  reported_at bigint NOT NULL
);
