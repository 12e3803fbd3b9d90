-- list (PostgreSQL result backend): newest outcomes first, optionally filtered, paged by id.
-- Inputs:  $status text, $name text, $before text (each nullable = no filter), $limit integer
-- Outputs: results rows ordered by id DESC.
SELECT * FROM {{results}}
WHERE ($status::text IS NULL OR status = $status::text)
  AND ($name::text IS NULL OR name = $name::text)
  AND ($before::text IS NULL OR id < $before::text)
ORDER BY id DESC
LIMIT $limit::integer
