-- releaseClaim (PostgreSQL result backend): give a claim back, so the next claimOnce of the key wins.
-- Inputs:  $key text
-- Outputs: none.
DELETE FROM {{claims}} WHERE key = $key::text
