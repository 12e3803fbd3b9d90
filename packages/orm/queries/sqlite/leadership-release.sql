-- releaseLeadership (SQLite schedule store): give the lock up if $owner holds it.
-- Inputs:  $name text, $owner text
-- Outputs: row count 1 when released, 0 when $owner did not hold it.
DELETE FROM {{locks}} WHERE name = $name AND owner = $owner
