-- extend (PostgreSQL): push the lease end to $visible_at.
-- Inputs:  $id bigint, $token text, $visible_at bigint
-- Outputs: row count 1 when extended; 0 when the lease moved on (the caller raises LeaseLostError).
UPDATE {{packages}} SET visible_at = $visible_at::bigint
WHERE id = $id::bigint AND lease_token = $token::text
