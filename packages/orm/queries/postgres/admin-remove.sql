-- admin-remove: delete the waiting (ready or delayed) packages of a job, never one under a live lease
-- or a dead one (packages_job_index).
-- Inputs:  $job_id text, $now bigint
-- Outputs: row count = packages removed.
DELETE FROM {{packages}}
WHERE job_id = $job_id::text AND dead_at IS NULL
  AND (lease_token IS NULL OR visible_at <= $now::bigint)
