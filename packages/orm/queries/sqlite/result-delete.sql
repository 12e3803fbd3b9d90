-- result-delete: drop the outcomes of a list of job ids.
-- Inputs:  $ids text (a JSON array of job ids)
-- Outputs: row count = outcomes dropped.
DELETE FROM {{results}}
WHERE id IN (SELECT value FROM json_each($ids))
