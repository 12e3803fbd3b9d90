-- claimOnce (PostgreSQL result backend): the first caller for a key (or the first after its claim
-- expired) gets a row back; everyone else gets none.
-- Inputs:  $key text, $expires_at bigint (NULL = for good), $now bigint
-- Outputs: one row when claimed, none otherwise.
INSERT INTO {{claims}} AS held (key, expires_at)
VALUES ($key::text, $expires_at::bigint)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
  WHERE held.expires_at IS NOT NULL AND held.expires_at <= $now::bigint
RETURNING key
