-- expire (SQLite result backend): delete outcomes, successes and failures, whose task stopped
-- before $cutoff: the backend's `cached` time to live has passed for them. Reads already skip them;
-- this reclaims their rows. No index on stopped_at: the backend runs it at most every tenth of the time
-- to live (1 s to 60 s), so an index's cost on every saved result would buy little.
-- Inputs:  $cutoff integer (epoch milliseconds)
-- Outputs: row count = outcomes deleted.
DELETE FROM {{results}} WHERE stopped_at < $cutoff
