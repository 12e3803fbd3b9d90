-- admin-cancel-marks: the cancel marks among a list of job ids (one read for a reserved batch).
-- Inputs:  $ids text (a JSON array of job ids)
-- Outputs: job_id, reason, marked_at per mark found.
SELECT job_id, reason, marked_at FROM {{cancel_marks}}
WHERE job_id IN (SELECT jsonb_array_elements_text($ids::jsonb))
