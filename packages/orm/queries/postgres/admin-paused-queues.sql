-- admin-paused-queues: every paused queue (a handful of rows: clusters poll it).
-- Inputs:  none
-- Outputs: queue per paused queue.
SELECT queue FROM {{queue_flags}} WHERE paused
