-- reserve (PostgreSQL): claim up to $max claimable packages of a queue in one atomic statement.
-- Claimable: not dead and visible_at <= now (ready, delay passed, or an earlier lease expired).
-- FOR UPDATE SKIP LOCKED lets concurrent claimers pass over each other's rows instead of waiting; the
-- row is re-checked after locking, so a row claimed by a committed concurrent claim is not taken twice.
-- Inputs:  $queue text, $now bigint, $max integer, $lease_ms bigint, $token text (new lease token)
-- Outputs: one row per claimed package: id, body, deliveries (this delivery included), priority.
--          Row order is not guaranteed; the caller sorts by priority DESC, id.
-- Errors:  none of its own.
WITH next AS (
  SELECT id FROM {{packages}}
  WHERE queue = $queue::text AND dead_at IS NULL AND visible_at <= $now::bigint
  ORDER BY priority DESC, visible_at, id
  LIMIT $max::integer
  FOR UPDATE SKIP LOCKED
)
UPDATE {{packages}} AS claimed
SET lease_token = $token::text,
    visible_at = $now::bigint + $lease_ms::bigint,
    deliveries = claimed.deliveries + 1
FROM next
WHERE claimed.id = next.id
RETURNING claimed.id, claimed.body, claimed.deliveries, claimed.priority
