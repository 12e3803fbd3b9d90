-- progress-expire: drop progress reported before $cutoff: the backend's `cached` time to live has passed
-- for it, as for outcomes (a job's outcome expires, and its progress with it, instead of staying for good).
-- Inputs:  $cutoff bigint (epoch milliseconds)
-- Outputs: row count.
DELETE FROM {{progress}} WHERE reported_at < $cutoff::bigint
