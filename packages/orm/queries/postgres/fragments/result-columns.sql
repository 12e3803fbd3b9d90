-- fragment result-columns (PostgreSQL): the select list of every result read (get, group,
-- list), over {{results}} AS outcome, included where a query says {{> result-columns}}.
-- Inputs:  $now bigint (epoch milliseconds, for claim expiry; NULL when the backend has no time
--          to live: held is then false, without a claims lookup)
-- Outputs: the results columns, plus held boolean: the row has a keep_until_claimed key with no live
--          claim (none, or one whose expires_at has passed, as claim-once.sql sees it). A held row is
--          kept past the `cached` time to live. The claims lookup (by primary key) is made only for rows
--          with a key.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
outcome.id, outcome.name, outcome.queue, outcome.status, outcome.result, outcome.error, outcome.args,
outcome.group_name, outcome.group_index, outcome.attempts, outcome.keep_until_claimed,
outcome.enqueued_at, outcome.started_at, outcome.stopped_at,
CASE WHEN outcome.keep_until_claimed IS NULL OR $now::bigint IS NULL THEN false
  ELSE NOT {{> claim-released}}
END AS held
