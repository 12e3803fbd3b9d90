-- messages-latest (SQLite pub/sub): the newest message id, where a new subscription starts reading.
-- Inputs:  none
-- Outputs: one row: latest (integer, 0 when there is none).
SELECT coalesce(max(id), 0) AS latest FROM {{messages}}
