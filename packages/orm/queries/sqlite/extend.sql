-- extend (SQLite): push the lease end to $visible_at.
-- Inputs:  $id integer, $token text, $visible_at integer
-- Outputs: row count 1 when extended; 0 when the lease moved on (the caller raises LeaseLostError).
UPDATE {{packages}} SET visible_at = $visible_at
WHERE id = $id AND lease_token = $token
