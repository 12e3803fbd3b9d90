-- messages-prune (SQLite pub/sub): forget messages published before $before.
-- Inputs:  $before integer (epoch ms)
-- Outputs: row count = messages deleted.
DELETE FROM {{messages}} WHERE published_at < $before
