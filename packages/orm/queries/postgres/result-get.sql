-- get (PostgreSQL result backend): one outcome by job id, and whether it is held.
-- Inputs:  $id text; $now (see fragments/result-columns.sql)
-- Outputs: zero or one row of the columns of fragments/result-columns.sql (the outcome and `held`).
SELECT {{> result-columns}}
FROM {{results}} AS outcome
WHERE outcome.id = $id::text
