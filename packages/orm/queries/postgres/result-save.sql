-- save (PostgreSQL result backend): insert or replace a batch of outcomes in one statement and one
-- commit, and wake their waiters with one notification per payload. The result backend gathers the
-- saves made in one tick (and while the previous batch is in flight) into one call.
-- Inputs:  parallel arrays, one element per outcome, ids distinct (the caller keeps the last save of an
--          id): $ids, $names, $queues, $statuses text[]; $results, $errors, $args text[] (stored-value
--          codec, elements nullable); $group_names text[], $group_indexes integer[] (elements nullable);
--          $attempts integer[]; $keep_until_claimed_keys text[] (the claim key holding a success back
--          from prune, elements nullable); $enqueued_ats, $started_ats, $stopped_ats bigint[];
--          $channel text (results LISTEN channel); $payloads text[] (the ids as JSON arrays, each below
--          PostgreSQL's 8,000-byte NOTIFY limit; see src/postgres/notification-payload.ts)
-- Outputs: one row per payload notified, after every outcome is stored.
--          A failure never replaces a stored success (a job that succeeded, lost its ack and failed when
--          delivered again did succeed): that row is left as it is; every other save replaces the row.
-- Errors:  a value the table refuses fails the whole statement (nothing stored, nothing notified).
WITH saved AS (
  INSERT INTO {{results}} AS stored
    (id, name, queue, status, result, error, args, group_name, group_index, attempts, keep_until_claimed,
     enqueued_at, started_at, stopped_at)
  SELECT * FROM unnest($ids::text[], $names::text[], $queues::text[], $statuses::text[], $results::text[],
                       $errors::text[], $args::text[], $group_names::text[], $group_indexes::integer[],
                       $attempts::integer[], $keep_until_claimed_keys::text[], $enqueued_ats::bigint[],
                       $started_ats::bigint[], $stopped_ats::bigint[])
  ON CONFLICT (id) DO UPDATE SET
    name = excluded.name, queue = excluded.queue, status = excluded.status, result = excluded.result,
    error = excluded.error, args = excluded.args, group_name = excluded.group_name,
    group_index = excluded.group_index, attempts = excluded.attempts,
    keep_until_claimed = excluded.keep_until_claimed, enqueued_at = excluded.enqueued_at,
    started_at = excluded.started_at, stopped_at = excluded.stopped_at
  WHERE NOT (stored.status = 'success' AND excluded.status = 'failure')
  RETURNING id
)
SELECT pg_notify($channel::text, payloads.payload)
FROM (SELECT count(*) FROM saved) AS stored_rows, unnest($payloads::text[]) AS payloads (payload)
