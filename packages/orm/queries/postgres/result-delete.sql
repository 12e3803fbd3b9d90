-- result-delete: drop the outcomes of a list of job ids.
-- Inputs:  $ids text (a JSON array of job ids)
-- Outputs: row count = outcomes dropped.
DELETE FROM {{results}}
WHERE id IN (SELECT jsonb_array_elements_text($ids::jsonb))
