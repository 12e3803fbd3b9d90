--[[
publish (Redis Cluster only): PUBLISH a pub/sub message from the node that serves the channel's slot.

On a Cluster, ioredis sends a command without keys (PUBLISH has none) to a random primary, and messages
sent from different nodes reach subscribers over different cluster-bus links, so one publisher's
messages could arrive out of order. Declaring the channel name as the script's key makes the client
route every publish on that channel to one node, which keeps them in publish order. The key itself is
never read or written. A standalone server gets a plain PUBLISH instead.

KEYS[1] the Redis channel name, declared for routing only
ARGV[1] the message (bytes)

Returns: the number of subscribers that received it on this node's side of the cluster (PUBLISH's reply).
Error codes: none.
]]
return redis.call('PUBLISH', KEYS[1], ARGV[1])
