-- list (SQLite result backend): newest outcomes first, optionally filtered, paged by id, and whether
-- each is held.
-- Inputs:  $status text, $name text, $before text (each nullable = no filter), $limit integer;
--          $now (see fragments/result-columns.sql)
-- Outputs: rows ordered by id DESC of the columns of fragments/result-columns.sql (the outcome and `held`).
SELECT {{> result-columns}}
FROM {{results}} AS outcome
WHERE ($status IS NULL OR outcome.status = $status)
  AND ($name IS NULL OR outcome.name = $name)
  AND ($before IS NULL OR outcome.id < $before)
ORDER BY outcome.id DESC
LIMIT $limit
