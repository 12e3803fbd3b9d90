-- enqueue (PostgreSQL): store many packages in one statement and wake idle consumers.
-- Inputs:  $queue text, $bodies bytea[], $job_ids text[], $tasks text[], $expires_ats bigint[] (the
--          labels, one per body, NULL where there is none), $priority smallint, $visible_at bigint
--          (epoch ms), $now bigint (epoch ms), $channel text (the LISTEN channel of this schema's
--          packages table)
-- Outputs: one row per stored package: id (bigint), in body order once sorted by id (ids are drawn in
--          row order within one statement).
-- Errors:  none of its own; driver errors are mapped in src/orm-errors.ts.
WITH inserted AS (
  INSERT INTO {{packages}} (queue, body, job_id, task, expires_at, priority, visible_at, enqueued_at)
  SELECT $queue::text, bodies.body, bodies.job_id, bodies.task, bodies.expires_at, $priority::smallint,
         $visible_at::bigint, $now::bigint
  FROM unnest($bodies::bytea[], $job_ids::text[], $tasks::text[], $expires_ats::bigint[])
       WITH ORDINALITY AS bodies (body, job_id, task, expires_at, position)
  ORDER BY bodies.position
  RETURNING id
)
SELECT inserted.id FROM inserted, (SELECT pg_notify($channel::text, $queue::text)) AS woken
