-- release, coalesced (PostgreSQL): give back every package of a batch whose lease is still the caller's,
-- each deliverable at its own time, in one statement and one commit, and wake idle consumers with one
-- notification per queue. The broker gathers the releases made in the same tick (a stopping cluster
-- giving back what it prefetched) into one call.
-- Inputs:  $ids bigint[], $tokens text[], $visible_ats bigint[] (same length, each (id, token) once;
--          element i is one delivery's id, lease token and new visible_at), $channel text
-- Outputs: one row (id, lease_token) per package released; a pair missing from the output had lost its
--          lease.
WITH released AS (
  UPDATE {{packages}} AS held
  SET lease_token = NULL, visible_at = given.visible_at
  FROM unnest($ids::bigint[], $tokens::text[], $visible_ats::bigint[]) AS given (id, token, visible_at)
  WHERE held.id = given.id AND held.lease_token = given.token
  RETURNING held.id, given.token AS lease_token, held.queue
)
SELECT released.id, released.lease_token
FROM released,
  (SELECT count(pg_notify($channel::text, queues.queue)) FROM (SELECT DISTINCT queue FROM released) AS queues) AS woken
