-- get (PostgreSQL schedule store): one schedule by id.
-- Inputs:  $id text
-- Outputs: zero or one schedules row.
SELECT * FROM {{schedules}} WHERE id = $id::text
