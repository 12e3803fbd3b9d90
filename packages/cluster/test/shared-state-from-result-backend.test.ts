/**
 * A broker that stores nothing but its queues (RabbitMQ, SQS) keeps schedules and cluster-wide rate-limit
 * counters in the result backend's package when that package has them: a configured schedule runs on
 * such a broker with results in Redis, and the error says what to change when no package can hold them.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type TasqConfigInput, Tasq } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  deleteRedisPrefix,
  eventually,
  redisUrl,
  requireRedis,
  runCluster,
  sqliteDatabase,
  tasksModule,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const queueOnlyBroker = fileURLToPath(new URL('./fixtures/stateless-broker.mjs', import.meta.url));
const skipReason = await requireRedis();

describe('a broker without stores of its own', () => {
  let database: Database;
  const prefix = `tasq-shared-state-${randomBytes(4).toString('hex')}`;

  beforeAll(() => {
    database = sqliteDatabase();
  });
  afterAll(async () => {
    if (!skipReason) await deleteRedisPrefix(prefix);
    await database.cleanup();
  });

  const configWith = (resultBackend: TasqConfigInput['resultBackend'], extra: TasqConfigInput = {}) =>
    resolveConfig(
      {
        brokerClass: queueOnlyBroker,
        brokerOptions: { url: `sqlite:${path.join(database.folder, 'queue.db')}` },
        resultBackend,
        tasks: [tasksModule],
        workers: 1,
        pool: 'inline',
        guardCycle: '100ms',
        secret: 'shared-state-secret',
        ...extra,
      },
      { env: {} },
    );

  it.skipIf(skipReason !== undefined)(
    `runs configured schedules and shares rate limits through a Redis result backend ${skipReason ?? ''}`,
    async () => {
      const config = configWith(
        { redis: { url: redisUrl, prefix } },
        { schedules: { 'every-second': { task: 'test.add', args: [20, 22], cron: '* * * * * *' } } },
      );
      const cluster = await runCluster(config, { scheduler: { intervalMs: 200 } });
      try {
        const store = await runtimeServicesOf(cluster.tasq).schedules();
        expect(store.name).toBe('redis');
        expect((await store.list()).map((schedule) => schedule.name)).toEqual(['every-second']);
        expect(await runtimeServicesOf(cluster.tasq).rateLimiter()).toBeDefined();
        const runs = await eventually(
          async () => {
            const saved = await runtimeServicesOf(cluster.tasq).results.list({ name: 'test.add', limit: 10 });
            return saved.length > 0 ? saved : undefined;
          },
          10_000,
          'a scheduled run',
        );
        expect(runs[0]).toMatchObject({ status: 'success', result: 42 });
      } finally {
        await cluster.stop();
      }
    },
  );

  it('keeps schedules in a SQL result backend, with limits per cluster (no shared counter there)', async () => {
    const tasq = await Tasq.open(configWith({ sqlite: path.join(database.folder, 'results.db') }));
    try {
      expect((await runtimeServicesOf(tasq).schedules()).name).toMatch(/sqlite/);
      expect(await runtimeServicesOf(tasq).rateLimiter()).toBeUndefined();
    } finally {
      await tasq.close();
    }
  });

  it.skipIf(skipReason !== undefined)(
    `says what to change when neither package can keep schedules ${skipReason ?? ''}`,
    async () => {
      // A result backend named by its class is no package with stores: only the broker's would count.
      const tasq = await Tasq.open(
        configWith({ class: '@tasq/redis#RedisResultBackend', options: { url: redisUrl, prefix } }),
      );
      try {
        await expect(runtimeServicesOf(tasq).schedules()).rejects.toThrow(
          /^the orm-queue-only broker package has no schedule store, nor has the result backend's package "@tasq\/redis#RedisResultBackend": keep results in Redis, PostgreSQL, SQLite or MongoDB/,
        );
        expect(await runtimeServicesOf(tasq).rateLimiter()).toBeUndefined();
      } finally {
        await tasq.close();
      }
    },
  );
});
