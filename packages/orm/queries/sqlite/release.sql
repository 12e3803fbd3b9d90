-- release (SQLite): give the package back, deliverable at $visible_at.
-- Inputs:  $id integer, $token text, $visible_at integer
-- Outputs: row count 1 when released; 0 when the lease moved on (the caller raises LeaseLostError).
UPDATE {{packages}}
SET lease_token = NULL, visible_at = $visible_at
WHERE id = $id AND lease_token = $token
