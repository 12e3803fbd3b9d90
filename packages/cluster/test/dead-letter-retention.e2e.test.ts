/**
 * `deadLetters` retention applied by a real cluster to the queues it consumes, on SQLite, PostgreSQL and
 * Redis: the newest `maxCount` dead letters stay, the older ones are deleted, live jobs are untouched.
 */
import { randomBytes } from 'node:crypto';
import { Administration, resolveConfig, Tasq } from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import {
  deleteRedisPrefix,
  eventually,
  postgresDatabase,
  redisUrl,
  requirePostgres,
  requireRedis,
  runCluster,
  sqliteDatabase,
  tasksModule,
} from './support.js';

interface Backend {
  label: string;
  skipReason: string | undefined;
  open(): { broker: Record<string, unknown>; cleanup(): Promise<void> };
}

const backends: Backend[] = [
  {
    label: 'SQLite',
    skipReason: undefined,
    open: () => {
      const database = sqliteDatabase();
      return { broker: database.broker as Record<string, unknown>, cleanup: () => database.cleanup() };
    },
  },
  {
    label: 'PostgreSQL',
    skipReason: await requirePostgres(),
    open: () => {
      const database = postgresDatabase();
      return { broker: database.broker as Record<string, unknown>, cleanup: () => database.cleanup() };
    },
  },
  {
    label: 'Redis',
    skipReason: await requireRedis(),
    open: () => {
      const prefix = `tasq-retention-${randomBytes(4).toString('hex')}`;
      return { broker: { redis: { url: redisUrl, prefix } }, cleanup: () => deleteRedisPrefix(prefix) };
    },
  },
];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(backends)('dead-letter retention ($label)', (backend) => {
  const skip = backend.skipReason;
  it.skipIf(skip !== undefined)(
    `keeps the newest maxCount dead letters of a consumed queue ${skip ? `(skipped: ${skip})` : ''}`,
    async () => {
      const { broker, cleanup } = backend.open();
      const config = resolveConfig(
        {
          ...broker,
          name: `retention-${randomBytes(4).toString('hex')}`,
          tasks: [tasksModule],
          workers: 1,
          queue: `q-${randomBytes(4).toString('hex')}`,
          secret: 'cluster-test-secret',
          scheduler: false,
          maxAttempts: 1,
          deadLetters: { maxCount: 2 },
        },
        { env: {} },
      );
      const client = await Tasq.open(config);
      let cluster: ClusterHandle | undefined;
      cleanups.push(async () => {
        await cluster?.stop({ timeoutMs: 5_000 });
        await client.close();
        await cleanup();
      });
      cluster = await runCluster(config, { monitoring: false });
      const admin = Administration.of(client);
      const dead: string[] = [];
      for (let i = 0; i < 4; i++) {
        const job = await client.enqueueByName('test.broken', []);
        dead.push(job.id);
        await eventually(() => cluster!.stats.deadLettered === i + 1, 15_000, `dead letter ${i + 1}`);
        // Distinct death times, so "newest" is well defined.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const live = await client.enqueueByName('test.add', [1, 2], { delay: '1h' });

      await cluster.trimDeadLetters();
      const kept = (await admin.deadLetters({ queue: config.queue })).jobs.map((job) => job.id);
      expect(kept.sort()).toEqual(dead.slice(2).sort());
      expect((await admin.job(dead[0]!)).state).not.toBe('dead');
      expect((await admin.job(live.id)).state).toBe('scheduled');
    },
    60_000,
  );
});
