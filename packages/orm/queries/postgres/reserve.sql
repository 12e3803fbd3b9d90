-- reserve (PostgreSQL): claim up to $max claimable packages of a queue in one atomic statement.
-- Claimable: not dead and visible_at <= now (ready, delay passed, or an earlier lease expired).
-- One branch per priority, highest first: each is a pure range scan of the claim index
-- (queue = ?, priority = ?, visible_at <= ?), so delayed or leased rows of a higher priority are never
-- walked over, whatever the queue depth. The outer LIMIT stops at $max rows, so lower priorities are only
-- read when higher ones run out. FOR UPDATE SKIP LOCKED lets concurrent claimers pass over each other's
-- rows instead of waiting; a locked row is re-checked after locking, so a row claimed by a committed
-- concurrent claim is never taken twice.
-- Inputs:  $queue text, $now bigint (epoch ms), $max integer, $lease_ms bigint, $token text (new lease token)
-- Outputs: one row per claimed package: id, body, deliveries (this delivery included), priority.
--          Row order is not guaranteed; the caller sorts by priority DESC, id.
-- Errors:  none of its own; driver errors are mapped in src/orm-errors.ts.
WITH next AS (
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 9 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_9
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 8 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_8
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 7 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_7
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 6 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_6
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 5 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_5
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 4 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_4
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 3 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_3
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 2 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_2
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 1 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_1
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                 WHERE queue = $queue::text AND priority = 0 AND dead_at IS NULL AND visible_at <= $now::bigint
                 ORDER BY visible_at, id LIMIT $max::integer FOR UPDATE SKIP LOCKED) AS priority_0
  LIMIT $max::integer
)
UPDATE {{packages}} AS claimed
SET lease_token = $token::text,
    visible_at = $now::bigint + $lease_ms::bigint,
    deliveries = claimed.deliveries + 1
FROM next
WHERE claimed.id = next.id
RETURNING claimed.id, claimed.body, claimed.deliveries, claimed.priority
