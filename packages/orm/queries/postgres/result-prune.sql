-- prune (PostgreSQL result backend): delete successes beyond the newest $keep (overall, per name or per
-- group); failures are never touched.
-- Inputs:  $keep bigint (successes kept per partition), $per text ('name', 'group' or '' = overall)
-- Outputs: row count = outcomes deleted.
DELETE FROM {{results}} WHERE id IN (
  SELECT ranked.id FROM (
    SELECT id, row_number() OVER (
      PARTITION BY CASE $per::text WHEN 'name' THEN name WHEN 'group' THEN group_name ELSE '' END
      ORDER BY id DESC
    ) AS position
    FROM {{results}}
    WHERE status = 'success'
  ) AS ranked
  WHERE ranked.position > $keep::bigint
)
