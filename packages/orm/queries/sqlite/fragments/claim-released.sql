-- fragment claim-released (SQLite): true when {{results}} AS outcome is not held: it has no
-- keep_until_claimed key, or its key has a live claim (taken for good, or its expires_at not passed, as
-- claim-once.sql sees it). A held success is kept by prune and by the `cached` expiry; the claims lookup
-- is by primary key, for rows with a key only.
-- Inputs:  $now (integer epoch milliseconds, for claim expiry)
(outcome.keep_until_claimed IS NULL OR EXISTS (
  SELECT 1 FROM {{claims}} AS claim
  WHERE claim.key = outcome.keep_until_claimed
    AND (claim.expires_at IS NULL OR claim.expires_at > $now)
))
