-- Migration 0001 (SQLite): the packages, results, claims, schedules and locks tables.
-- Placeholders: {{packages}}-style names are the configured table prefix, validated as plain
-- identifiers before substitution. Times are epoch milliseconds from the process clock.

CREATE TABLE {{packages}} (
  -- AUTOINCREMENT: an id is never reused after its package is acked.
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  queue       TEXT    NOT NULL,
  body        BLOB    NOT NULL,
  -- 0..9, higher first (the claim statement has one branch per value).
  priority    INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
  -- When the row can next be claimed: enqueue time + delay while waiting (run_at), then the lease end
  -- while reserved (locked_until). One column keeps "claimable" a single index range.
  visible_at  INTEGER NOT NULL,
  -- Random per claim; NULL while nobody holds a lease.
  lease_token TEXT,
  deliveries  INTEGER NOT NULL DEFAULT 0,
  enqueued_at INTEGER NOT NULL,
  dead_at     INTEGER,
  dead_reason TEXT
);

CREATE INDEX {{packages_claim_index}} ON {{packages}} (queue, priority DESC, visible_at, id)
  WHERE dead_at IS NULL;
CREATE INDEX {{packages_dead_index}} ON {{packages}} (queue, dead_at) WHERE dead_at IS NOT NULL;

CREATE TABLE {{results}} (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  queue       TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
  result      TEXT,
  error       TEXT,
  args        TEXT,
  group_name  TEXT,
  group_index INTEGER,
  attempts    INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  stopped_at  INTEGER NOT NULL
);
CREATE INDEX {{results_group_index}} ON {{results}} (group_name, group_index, id) WHERE group_name IS NOT NULL;
CREATE INDEX {{results_status_index}} ON {{results}} (status, id);
CREATE INDEX {{results_name_index}} ON {{results}} (name, id);

CREATE TABLE {{claims}} (
  key        TEXT PRIMARY KEY,
  expires_at INTEGER
);

CREATE TABLE {{schedules}} (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  task        TEXT    NOT NULL,
  args        TEXT    NOT NULL,
  options     TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  cron        TEXT,
  minutes     INTEGER,
  time_zone   TEXT,
  repeats     INTEGER NOT NULL,
  next_run_at INTEGER NOT NULL,
  last_run_at INTEGER,
  paused      INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);
CREATE INDEX {{schedules_due_index}} ON {{schedules}} (next_run_at) WHERE paused = 0 AND repeats <> 0;

CREATE TABLE {{locks}} (
  name       TEXT    PRIMARY KEY,
  owner      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
);
