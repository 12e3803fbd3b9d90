-- Migration 0002 (SQLite): pub/sub messages. SQLite cannot push to another process, so a published
-- message is a row; subscribers read the rows after the last one they saw when a commit is noticed
-- (PRAGMA data_version) or a publish in their own process wakes them. Rows older than a minute are
-- pruned by publishers: delivery is at most once, to subscribers listening at the time.
CREATE TABLE {{messages}} (
  -- AUTOINCREMENT: ids only grow, so "after the last id seen" never skips or repeats a message.
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  channel      TEXT    NOT NULL,
  body         BLOB    NOT NULL,
  published_at INTEGER NOT NULL
);
CREATE INDEX {{messages_published_index}} ON {{messages}} (published_at);
