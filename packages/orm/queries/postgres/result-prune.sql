-- prune (PostgreSQL result backend): delete successes beyond the newest $keep (overall, per name or per
-- group); failures are never touched. A success whose keep_until_claimed key has no live claim (none, or
-- one whose expires_at has passed, as claim-once.sql sees it) is held: it is left out before ranking, so
-- it is neither deleted nor counted against $keep. Once claimOnce takes the key it ranks like any other.
-- Inputs:  $keep bigint (successes kept per partition), $per text ('name', 'group' or '' = overall),
--          $now bigint (epoch milliseconds, for claim expiry)
-- Outputs: the ids of the outcomes deleted (their progress rows are deleted next, by progress-delete).
DELETE FROM {{results}} WHERE id IN (
  SELECT ranked.id FROM (
    SELECT outcome.id, row_number() OVER (
      PARTITION BY CASE $per::text
        WHEN 'name' THEN outcome.name WHEN 'group' THEN outcome.group_name ELSE ''
      END
      ORDER BY outcome.id DESC
    ) AS position
    FROM {{results}} AS outcome
    WHERE outcome.status = 'success'
      AND {{> claim-released}}
  ) AS ranked
  WHERE ranked.position > $keep::bigint
)
RETURNING id
