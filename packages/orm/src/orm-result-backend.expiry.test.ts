/**
 * `cached` on the SQL result backend: reads skip expired outcomes at once (the shared conformance suite
 * checks that); their rows are deleted by the sweep that saves, reads and prunes start, except held ones
 * (checked on both dialects). A second backend over the same tables without a time to live shows what is
 * still stored.
 */
import { ManualClock, type TaskResult } from '@tasq/core/backend';
import { sleep, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmResultBackend, type OrmOptions, type OrmResultBackend } from './index.js';
import {
  dropSchema,
  postgresUrl,
  prefixFor,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('result-expiry');
const url = `sqlite:${folder.file('tasq.db')}`;
const opened: OrmResultBackend[] = [];
const schemas: string[] = [];

afterAll(async () => {
  for (const backend of opened) await backend.close();
  folder.remove();
  if (!postgresSkip) for (const schema of schemas) await dropSchema(schema);
});

async function open(tablePrefix: string, resultTtlSeconds?: number): Promise<OrmResultBackend> {
  const backend = await createOrmResultBackend({ url, tablePrefix }, { resultTtlSeconds });
  opened.push(backend);
  return backend;
}

function outcome(status: TaskResult['status'], extra: Partial<TaskResult> = {}): TaskResult {
  const now = Date.now();
  return {
    id: uniqueName('job'),
    name: 'reports.build',
    queue: 'default',
    status,
    ...(status === 'failure' ? { error: { name: 'Error', message: 'no' } } : { result: 1 }),
    attempts: 1,
    enqueuedAt: now - 3,
    startedAt: now - 2,
    stoppedAt: now - 1,
    ...extra,
  };
}

describe('orm result backend with cached', () => {
  it('deletes the rows of expired outcomes, failures included, when pruning, and counts them', async () => {
    const tablePrefix = prefixFor(uniqueName('expiry'));
    const expiring = await open(tablePrefix, 1);
    const plain = await open(tablePrefix);
    await expiring.save(outcome('success'));
    await expiring.save(outcome('failure'));
    await expiring.save(outcome('success'));
    await sleep(1_200);
    // Still stored (a backend without a time to live reads them) until a sweep.
    expect(await plain.list({ limit: 10 })).toHaveLength(3);
    // saveLimit 0 keeps every success by count; the time to live still applies.
    expect(await expiring.prune({ saveLimit: 0 })).toBe(3);
    expect(await plain.list({ limit: 10 })).toEqual([]);
    expect(await expiring.prune({ saveLimit: 0 })).toBe(0);
  });

  it('drops the progress of expired jobs with their outcomes', async () => {
    const tablePrefix = prefixFor(uniqueName('progress'));
    const expiring = await open(tablePrefix, 1);
    const plain = await open(tablePrefix);
    const done = outcome('success');
    await expiring.administration.saveProgress(done.id, { value: 100, at: Date.now() });
    await expiring.save(done);
    expect(await plain.administration.progress(done.id)).toMatchObject({ value: 100 });
    await sleep(1_200);
    expect(await expiring.prune({ saveLimit: 0 })).toBe(1);
    expect(await plain.administration.progress(done.id)).toBeUndefined();
  });

  it('sweeps expired rows while saving, without a prune', async () => {
    const tablePrefix = prefixFor(uniqueName('sweep'));
    const expiring = await open(tablePrefix, 1);
    const plain = await open(tablePrefix);
    await expiring.save(outcome('failure'));
    await sleep(1_200);
    const fresh = outcome('success');
    await expiring.save(fresh);
    let stored: string[] = [];
    for (let tries = 0; tries < 40; tries++) {
      stored = (await plain.list({ limit: 10 })).map((r) => r.id);
      if (stored.length === 1) break;
      await sleep(50);
    }
    expect(stored).toEqual([fresh.id]);
  });

  it('sweeps expired rows when a read meets one, so an idle deployment does not keep them', async () => {
    const tablePrefix = prefixFor(uniqueName('read-sweep'));
    const expiring = await open(tablePrefix, 1);
    const plain = await open(tablePrefix);
    const old = outcome('success');
    await expiring.save(old);
    await sleep(1_200);
    expect(await expiring.get(old.id)).toBeUndefined();
    let stored = 1;
    for (let tries = 0; tries < 40 && stored > 0; tries++) {
      stored = (await plain.list({ limit: 10 })).length;
      if (stored > 0) await sleep(50);
    }
    expect(stored).toBe(0);
  });

  it('refuses a cached that is not a positive number of seconds, naming the option', async () => {
    await expect(open(prefixFor(uniqueName('bad')), 0)).rejects.toThrow(/cached` must be a positive number/);
    await expect(open(prefixFor(uniqueName('bad')), Number.NaN)).rejects.toThrow(/got NaN/);
  });
});

const dialects: { name: string; skip: string | undefined; options: () => OrmOptions }[] = [
  { name: 'SQLite', skip: undefined, options: () => ({ url, tablePrefix: prefixFor(uniqueName('held')) }) },
  {
    name: 'PostgreSQL',
    skip: postgresSkip,
    options: () => {
      const schema = uniqueSchema('expiry');
      schemas.push(schema);
      return { url: postgresUrl, schema };
    },
  },
];

for (const dialect of dialects) {
  describe.skipIf(dialect.skip !== undefined)(`orm result backend with cached on ${dialect.name}`, () => {
    it('does not sweep a held success past its time to live, and sweeps it while its key is claimed', async () => {
      const clock = new ManualClock(Date.now());
      const options = dialect.options();
      const expiring = await createOrmResultBackend(options, { clock, resultTtlSeconds: 60 });
      opened.push(expiring);
      const plain = await createOrmResultBackend(options);
      opened.push(plain);
      const key = `chord:${uniqueName('group')}`;
      // Outcomes stop at real time: catch the manual clock up with what opening the backends took.
      await clock.advance(Math.max(0, Date.now() - clock.now()));
      const held = outcome('success', { keepUntilClaimed: key });
      const other = outcome('success');
      await expiring.save(held);
      await expiring.save(other);
      const stored = async () => (await plain.list({ limit: 10 })).map((r) => r.id);
      await clock.advance(61_000);

      // saveLimit 0 makes prune run the sweep only, and it counts what the sweep deleted.
      expect(await expiring.prune({ saveLimit: 0 })).toBe(1);
      expect(await stored()).toEqual([held.id]);
      expect(await expiring.get(held.id)).toEqual(held);

      // A claim whose ttl has passed holds it again.
      expect(await expiring.claimOnce(key, 1_000)).toBe(true);
      await clock.advance(1_000);
      expect(await expiring.prune({ saveLimit: 0 })).toBe(0);
      expect(await stored()).toEqual([held.id]);

      // Claimed: its time to live counts from its stop again, so the sweep takes it at once.
      expect(await expiring.claimOnce(key, 1_000)).toBe(true);
      await clock.advance(999);
      expect(await expiring.prune({ saveLimit: 0 })).toBe(1);
      expect(await stored()).toEqual([]);
      expect(await expiring.get(held.id)).toBeUndefined();
    });
  });
}
