-- admin-find: the newest package labelled with a job id, live or dead (packages_job_index).
-- Inputs:  $job_id text
-- Outputs: at most one row of fragments/package-columns.sql.
SELECT {{> package-columns}}
FROM {{packages}}
WHERE job_id = $job_id::text
ORDER BY id DESC
LIMIT 1
