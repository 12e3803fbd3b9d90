-- group (SQLite result backend): every outcome of a group in group order.
-- Inputs:  $group_name text
-- Outputs: results rows ordered by group_index, id.
SELECT * FROM {{results}} WHERE group_name = $group_name ORDER BY group_index NULLS LAST, id
