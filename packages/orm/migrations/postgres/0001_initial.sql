-- Migration 0001 (PostgreSQL): the packages, results, claims, schedules and locks tables.
-- Placeholders: {{schema}} and {{packages}}-style names are the configured schema and table prefix,
-- validated as plain identifiers before substitution. Times are epoch milliseconds (bigint) from the
-- process clock, the same representation on every dialect.

CREATE TABLE {{packages}} (
  id          bigserial PRIMARY KEY,
  queue       text      NOT NULL,
  body        bytea     NOT NULL,
  -- 0..9, higher first (the claim statement has one branch per value).
  priority    smallint  NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
  -- When the row can next be claimed: enqueue time + delay while waiting (run_at), then the lease end
  -- while reserved (locked_until). One column keeps "claimable" a single index range.
  visible_at  bigint    NOT NULL,
  -- Random per claim; NULL while nobody holds a lease. A receipt carries the token it was given, so a
  -- settle call from a lease that moved on matches no row.
  lease_token text,
  deliveries  integer   NOT NULL DEFAULT 0,
  enqueued_at bigint    NOT NULL,
  dead_at     bigint,
  dead_reason text
);

-- The claim (per priority: queue = ? AND priority = ? AND visible_at <= ? ORDER BY visible_at, id) and the
-- next-visible timer (per priority: min(visible_at)) both use this one index. No second index on
-- (queue, visible_at): a generic plan would pick it for the claim and filter every ready row by priority.
CREATE INDEX {{packages_claim_index}} ON {{packages}} (queue, priority DESC, visible_at, id)
  WHERE dead_at IS NULL;
CREATE INDEX {{packages_dead_index}} ON {{packages}} (queue, dead_at) WHERE dead_at IS NOT NULL;

CREATE TABLE {{results}} (
  -- Job ids are time-sortable as bytes; "C" keeps ORDER BY id and `before` paging in byte order whatever
  -- the database's locale (a linguistic collation may ignore the hyphens of a UUID).
  id          text     COLLATE "C" PRIMARY KEY,
  name        text     NOT NULL,
  queue       text     NOT NULL,
  status      text     NOT NULL CHECK (status IN ('success', 'failure')),
  -- Stored-value codec text (JSON keeping Date, BigInt, Map, Set, Uint8Array).
  result      text,
  error       text,
  args        text,
  group_name  text,
  group_index integer,
  attempts    integer  NOT NULL,
  enqueued_at bigint   NOT NULL,
  started_at  bigint   NOT NULL,
  stopped_at  bigint   NOT NULL
);
CREATE INDEX {{results_group_index}} ON {{results}} (group_name, group_index, id) WHERE group_name IS NOT NULL;
CREATE INDEX {{results_status_index}} ON {{results}} (status, id);
CREATE INDEX {{results_name_index}} ON {{results}} (name, id);

CREATE TABLE {{claims}} (
  key        text   PRIMARY KEY,
  -- NULL: claimed for good.
  expires_at bigint
);

CREATE TABLE {{schedules}} (
  id          text     PRIMARY KEY,
  name        text     NOT NULL UNIQUE,
  task        text     NOT NULL,
  args        text     NOT NULL,
  options     text     NOT NULL,
  kind        text     NOT NULL,
  cron        text,
  minutes     integer,
  time_zone   text,
  repeats     integer  NOT NULL,
  next_run_at bigint   NOT NULL,
  last_run_at bigint,
  paused      boolean  NOT NULL DEFAULT false,
  created_at  bigint   NOT NULL
);
CREATE INDEX {{schedules_due_index}} ON {{schedules}} (next_run_at) WHERE NOT paused AND repeats <> 0;

CREATE TABLE {{locks}} (
  name       text   PRIMARY KEY,
  owner      text   NOT NULL,
  expires_at bigint NOT NULL
);
