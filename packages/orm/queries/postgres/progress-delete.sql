-- progress-delete: drop the progress of a list of job ids.
-- Inputs:  $ids text (a JSON array of job ids)
-- Outputs: row count.
DELETE FROM {{progress}}
WHERE job_id IN (SELECT jsonb_array_elements_text($ids::jsonb))
