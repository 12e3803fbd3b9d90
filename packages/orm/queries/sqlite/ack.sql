-- ack (SQLite): the package is done; delete it if the lease is still the caller's.
-- Inputs:  $id integer, $token text
-- Outputs: row count 1 when deleted; 0 when the lease moved on (the caller raises LeaseLostError).
DELETE FROM {{packages}} WHERE id = $id AND lease_token = $token
