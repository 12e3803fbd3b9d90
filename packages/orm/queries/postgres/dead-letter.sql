-- deadLetter (PostgreSQL): keep the package out of the queue for good, with the reason.
-- Inputs:  $id bigint, $token text, $now bigint, $reason text
-- Outputs: row count 1 when moved; 0 when the lease moved on (the caller raises LeaseLostError).
UPDATE {{packages}}
SET lease_token = NULL, dead_at = $now::bigint, dead_reason = $reason::text
WHERE id = $id::bigint AND lease_token = $token::text
