-- publish (SQLite pub/sub): store one message for the subscribers reading after it.
-- Inputs:  $channel text, $body blob, $now integer (epoch ms)
-- Outputs: none.
INSERT INTO {{messages}} (channel, body, published_at) VALUES ($channel, $body, $now)
