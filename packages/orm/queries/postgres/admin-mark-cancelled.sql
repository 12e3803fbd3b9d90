-- admin-mark-cancelled: persist a cancel mark; a mark already there keeps its first reason and time.
-- Inputs:  $job_id text, $reason text, $now bigint
-- Outputs: none.
INSERT INTO {{cancel_marks}} (job_id, reason, marked_at)
VALUES ($job_id::text, $reason::text, $now::bigint)
ON CONFLICT (job_id) DO NOTHING
