-- get (PostgreSQL result backend): one outcome by job id.
-- Inputs:  $id text
-- Outputs: zero or one results row.
SELECT * FROM {{results}} WHERE id = $id::text
