-- acquireLeadership (PostgreSQL schedule store): take or renew a lock row that expires.
-- Inputs:  $name text, $owner text, $expires_at bigint, $now bigint
-- Outputs: one row when $owner holds the lock after the statement, none otherwise.
INSERT INTO {{locks}} AS held (name, owner, expires_at)
VALUES ($name::text, $owner::text, $expires_at::bigint)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
  WHERE held.owner = excluded.owner OR held.expires_at <= $now::bigint
RETURNING owner
