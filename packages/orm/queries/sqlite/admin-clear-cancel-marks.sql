-- admin-clear-cancel-marks: drop the cancel marks of a list of job ids.
-- Inputs:  $ids text (a JSON array of job ids)
-- Outputs: row count = marks dropped.
DELETE FROM {{cancel_marks}}
WHERE job_id IN (SELECT value FROM json_each($ids))
