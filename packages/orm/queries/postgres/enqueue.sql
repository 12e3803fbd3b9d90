-- enqueue (PostgreSQL): store many packages in one statement and wake idle consumers.
-- Inputs:  $queue text, $bodies bytea[], $priority smallint, $visible_at bigint (epoch ms),
--          $now bigint (epoch ms), $channel text (the LISTEN channel of this schema's packages table)
-- Outputs: one row per stored package: id (bigint), in body order once sorted by id (ids are drawn in
--          row order within one statement).
-- Errors:  none of its own; driver errors are mapped in src/orm-errors.ts.
WITH inserted AS (
  INSERT INTO {{packages}} (queue, body, priority, visible_at, enqueued_at)
  SELECT $queue::text, bodies.body, $priority::smallint, $visible_at::bigint, $now::bigint
  FROM unnest($bodies::bytea[]) WITH ORDINALITY AS bodies (body, position)
  ORDER BY bodies.position
  RETURNING id
)
SELECT inserted.id FROM inserted, (SELECT pg_notify($channel::text, $queue::text)) AS woken
