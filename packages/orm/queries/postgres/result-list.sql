-- list (PostgreSQL result backend): newest outcomes first, optionally filtered, paged by id, and whether
-- each is held.
-- Inputs:  $status text, $name text, $before text (each nullable = no filter), $limit integer;
--          $now (see fragments/result-columns.sql)
-- Outputs: rows ordered by id DESC of the columns of fragments/result-columns.sql (the outcome and `held`).
SELECT {{> result-columns}}
FROM {{results}} AS outcome
WHERE ($status::text IS NULL OR outcome.status = $status::text)
  AND ($name::text IS NULL OR outcome.name = $name::text)
  AND ($before::text IS NULL OR outcome.id < $before::text)
ORDER BY outcome.id DESC
LIMIT $limit::integer
