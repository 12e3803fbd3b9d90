-- ack (PostgreSQL): the package is done; delete it if the lease is still the caller's.
-- Inputs:  $id bigint, $token text
-- Outputs: row count 1 when deleted; 0 when the lease moved on (the caller raises LeaseLostError).
DELETE FROM {{packages}} WHERE id = $id::bigint AND lease_token = $token::text
