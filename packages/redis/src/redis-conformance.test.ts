import { brokerConformance, resultBackendConformance, scheduleStoreConformance } from '@tasq/testing';
import { afterAll } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';
import { deleteKeys, REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('conformance');

afterAll(async () => {
  if (!skipReason) await deleteKeys(prefix);
});

brokerConformance(
  'redis',
  ({ deployment }) => new RedisBroker({ connection: REDIS_URL, prefix, deployment }),
  { skipReason },
);

resultBackendConformance(
  'redis',
  (namespace, settings) =>
    new RedisResultBackend({
      connection: REDIS_URL,
      prefix: `${prefix}-${namespace}`,
      deployment: settings.deployment,
      cached: settings.resultTtlSeconds,
    }),
  { skipReason },
);

scheduleStoreConformance(
  'redis',
  (namespace, { deployment }) =>
    new RedisScheduleStore({ connection: REDIS_URL, prefix: `${prefix}-${namespace}`, deployment }),
  { skipReason },
);
