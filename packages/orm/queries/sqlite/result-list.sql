-- list (SQLite result backend): newest outcomes first, optionally filtered, paged by id.
-- Inputs:  $status text, $name text, $before text (each nullable = no filter), $limit integer
-- Outputs: results rows ordered by id DESC.
SELECT * FROM {{results}}
WHERE ($status IS NULL OR status = $status)
  AND ($name IS NULL OR name = $name)
  AND ($before IS NULL OR id < $before)
ORDER BY id DESC
LIMIT $limit
