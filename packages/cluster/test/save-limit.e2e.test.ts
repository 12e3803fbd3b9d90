/**
 * `saveLimit` holds after a burst: once the work stops, a trailing prune brings the stored successes
 * down to the limit, without waiting for another job.
 */
import { randomBytes } from 'node:crypto';
import { type TasqConfigInput, Tasq } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import {
  configFor,
  deleteRedisPrefix,
  eventually,
  redisUrl,
  requireRedis,
  runCluster,
  sqliteDatabase,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const SAVE_LIMIT = 5;
const JOBS = 30;

const cases: {
  label: string;
  skipReason: string | undefined;
  broker: () => { settings: TasqConfigInput; cleanup: () => Promise<void> };
}[] = [
  {
    label: 'SQLite',
    skipReason: undefined,
    broker: () => {
      const database = sqliteDatabase();
      return { settings: database.broker, cleanup: () => database.cleanup() };
    },
  },
  {
    label: 'Redis',
    skipReason: await requireRedis(),
    broker: () => {
      const prefix = `tasq-save-limit-${randomBytes(4).toString('hex')}`;
      return { settings: { redis: { url: redisUrl, prefix } }, cleanup: () => deleteRedisPrefix(prefix) };
    },
  },
];

describe.each(cases)('saveLimit after a burst ($label)', ({ skipReason, broker }) => {
  it.skipIf(skipReason !== undefined)(
    `keeps ${SAVE_LIMIT} of ${JOBS} quick successes once the work stops ${skipReason ? `(skipped: ${skipReason})` : ''}`,
    async () => {
      const { settings, cleanup } = broker();
      const config = configFor(
        { label: 'sqlite', broker: settings, folder: '', cleanup: async () => {} },
        { saveLimit: SAVE_LIMIT, concurrency: 4, scheduler: false },
      );
      const cluster = await runCluster(config, { monitoring: false });
      const client = await Tasq.open(config);
      try {
        await Promise.all(Array.from({ length: JOBS }, (_, i) => client.enqueueByName('test.add', [i, 1])));
        await eventually(() => cluster.stats.succeeded === JOBS, 60_000, 'every job');
        const stored = async () =>
          (await runtimeServicesOf(client).results.list({ status: 'success', limit: 100 })).length;
        await eventually(
          async () => (await stored()) === SAVE_LIMIT,
          30_000,
          `${SAVE_LIMIT} stored successes`,
        );
        // And it stays there: nothing stored meanwhile, nothing pruned beyond the limit.
        expect(await stored()).toBe(SAVE_LIMIT);
      } finally {
        await client.close();
        await cluster.stop();
        await cleanup();
      }
    },
    120_000,
  );
});
