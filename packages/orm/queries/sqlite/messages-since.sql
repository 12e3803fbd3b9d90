-- messages-since (SQLite pub/sub): the next messages after the last one a subscriber saw, oldest first
-- (a primary-key range).
-- Inputs:  $after integer (message id), $limit integer
-- Outputs: id, channel, body rows ordered by id.
SELECT id, channel, body FROM {{messages}} WHERE id > $after ORDER BY id LIMIT $limit
