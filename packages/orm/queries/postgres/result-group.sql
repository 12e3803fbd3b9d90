-- group (PostgreSQL result backend): every outcome of a group in group order, and whether each is held.
-- Inputs:  $group_name text; $now (see fragments/result-columns.sql)
-- Outputs: rows ordered by group_index, id of the columns of fragments/result-columns.sql (the outcome and `held`).
SELECT {{> result-columns}}
FROM {{results}} AS outcome
WHERE outcome.group_name = $group_name::text
ORDER BY outcome.group_index NULLS LAST, outcome.id
