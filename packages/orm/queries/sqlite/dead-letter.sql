-- deadLetter (SQLite): keep the package out of the queue for good, with the reason.
-- Inputs:  $id integer, $token text, $now integer, $reason text
-- Outputs: row count 1 when moved; 0 when the lease moved on (the caller raises LeaseLostError).
UPDATE {{packages}}
SET lease_token = NULL, dead_at = $now, dead_reason = $reason
WHERE id = $id AND lease_token = $token
