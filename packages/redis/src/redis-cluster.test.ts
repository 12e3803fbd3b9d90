/**
 * The Redis Cluster claims of the README, checked on a real three-primary cluster the test starts itself:
 * every conformance suite through an ioredis `Cluster` client, with queues spread over the slots (pub/sub:
 * a message published through one node reaches subscribers connected to others).
 */
import {
  brokerConformance,
  pubSubConformance,
  resultBackendConformance,
  scheduleStoreConformance,
} from '@tasq/testing';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';
import { RedisClusterProcess } from './test-support/redis-cluster-process.js';
import { redisSkipReason } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
let cluster: RedisClusterProcess | undefined;
const clients: Cluster[] = [];

beforeAll(async () => {
  if (!skipReason) cluster = await RedisClusterProcess.start();
}, 60_000);
afterEach(async () => {
  // The suites close what they open; the Cluster clients handed to them are ours to close.
  await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => client.disconnect())));
});
afterAll(async () => {
  await cluster?.stop();
});

function clusterClient(): Cluster {
  if (!cluster) throw new Error('the cluster did not start');
  const client = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 0, protocol: 2 } });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

brokerConformance(
  'redis cluster',
  ({ deployment }) => new RedisBroker({ connection: clusterClient(), deployment }),
  { skipReason },
);
resultBackendConformance(
  'redis cluster',
  (namespace, settings) =>
    new RedisResultBackend({
      connection: clusterClient(),
      prefix: namespace,
      deployment: settings.deployment,
      cached: settings.resultTtlSeconds,
    }),
  { skipReason },
);
scheduleStoreConformance(
  'redis cluster',
  (namespace, { deployment }) =>
    new RedisScheduleStore({ connection: clusterClient(), prefix: namespace, deployment }),
  { skipReason },
);
pubSubConformance('redis cluster', () => new RedisPubSub({ connection: clusterClient(), prefix: 'pubsub' }), {
  skipReason,
});

describe.skipIf(skipReason !== undefined)('redis cluster: rate limiter', () => {
  it('limits keys that live on different shards, each in one script call', async () => {
    const limiter = new RedisRateLimiter({ connection: clusterClient(), prefix: 'rate' });
    try {
      const limit = { count: 3, perMs: 60_000 };
      // Keys spread over the slots, so the takes reach every primary.
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
        const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.tryTake(key, limit)));
        expect(decisions.filter((decision) => decision.allowed)).toHaveLength(3);
      }
    } finally {
      await limiter.close();
    }
  });
});
