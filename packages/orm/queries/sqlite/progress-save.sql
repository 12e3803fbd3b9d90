-- progress-save: store the latest progress of a job, replacing the one before.
-- Inputs:  $job_id text, $value text (stored-value codec text), $at bigint
-- Outputs: none.
INSERT INTO {{progress}} (job_id, value, reported_at)
VALUES ($job_id, $value, $at)
ON CONFLICT (job_id) DO UPDATE SET value = excluded.value, reported_at = excluded.reported_at
