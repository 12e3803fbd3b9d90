-- release (PostgreSQL): give the package back, deliverable at $visible_at; wake idle consumers.
-- Inputs:  $id bigint, $token text, $visible_at bigint, $channel text
-- Outputs: one row when released; none when the lease moved on (the caller raises LeaseLostError).
WITH released AS (
  UPDATE {{packages}}
  SET lease_token = NULL, visible_at = $visible_at::bigint
  WHERE id = $id::bigint AND lease_token = $token::text
  RETURNING queue
)
SELECT pg_notify($channel::text, released.queue) FROM released
