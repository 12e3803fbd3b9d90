-- progress-get: the latest progress of a job.
-- Inputs:  $job_id text
-- Outputs: at most one row: value, reported_at.
SELECT value, reported_at FROM {{progress}} WHERE job_id = $job_id
