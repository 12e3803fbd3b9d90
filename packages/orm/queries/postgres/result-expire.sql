-- expire (PostgreSQL result backend): delete outcomes, successes and failures, whose task stopped
-- before $cutoff: the backend's `cached` time to live has passed for them. Reads already skip them;
-- this reclaims their rows. A held row stays: one whose keep_until_claimed key has no live claim (none,
-- or one whose expires_at has passed, as claim-once.sql sees it), so a chord slower than `cached` still
-- finds its members. Once claimOnce takes the key, the row goes at the next sweep if it stopped before
-- $cutoff. No index on stopped_at: the backend runs it at most every tenth of the time to live (1 s to
-- 60 s), so an index's cost on every saved result would buy little; the claims lookup is by primary key,
-- for expired rows with a key only.
-- Inputs:  $cutoff bigint (epoch milliseconds), $now bigint (epoch milliseconds, for claim expiry)
-- Outputs: row count = outcomes deleted.
DELETE FROM {{results}} AS outcome
WHERE outcome.stopped_at < $cutoff::bigint
  AND {{> claim-released}}
