-- publish (PostgreSQL pub/sub): send one message to every session listening on the channel.
-- Inputs:  $channel text (the NOTIFY channel of one pub/sub channel), $payload text (the message, base64)
-- Outputs: one row (void). Errors: 22023 when the payload is 8000 bytes or more (checked before sending).
SELECT pg_notify($channel::text, $payload::text)
