-- ack, coalesced (PostgreSQL): delete every package of a batch of acks whose lease is still the caller's,
-- in one statement and one commit. The broker gathers the acks made in the same tick (a runtime settling
-- a finished batch) into one call.
-- Inputs:  $ids bigint[], $tokens text[] (same length; pair i is one delivery's id and lease token)
-- Outputs: one row (id, lease_token) per package deleted; a pair missing from the output had lost its lease.
DELETE FROM {{packages}} AS settled
USING unnest($ids::bigint[], $tokens::text[]) AS acked (id, token)
WHERE settled.id = acked.id AND settled.lease_token = acked.token
RETURNING settled.id, settled.lease_token
