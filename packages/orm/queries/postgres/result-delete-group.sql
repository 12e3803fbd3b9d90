-- result-delete-group: drop every outcome of a group (results_group_index).
-- Inputs:  $group text
-- Outputs: the id of each outcome dropped.
DELETE FROM {{results}}
WHERE group_name = $group::text
RETURNING id
