-- fragment package-columns (PostgreSQL): the columns every administration read of {{packages}} returns.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
id, queue, body, job_id, task, expires_at, priority, visible_at, lease_token, deliveries, enqueued_at, dead_at, dead_reason
