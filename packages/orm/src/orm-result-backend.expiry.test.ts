/**
 * `cached` on the SQL result backend: reads skip expired outcomes at once (the shared conformance suite
 * checks that); their rows are deleted by the sweep that saves, reads and prunes start. A second backend
 * over the same tables without a time to live shows what is still stored.
 */
import type { TaskResult } from '@tasq/core';
import { sleep, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmResultBackend, type OrmResultBackend } from './index.js';
import { prefixFor, temporaryFolder } from './test-support/databases.js';

const folder = temporaryFolder('result-expiry');
const url = `sqlite:${folder.file('tasq.db')}`;
const opened: OrmResultBackend[] = [];

afterAll(async () => {
  for (const backend of opened) await backend.close();
  folder.remove();
});

async function open(tablePrefix: string, resultTtlSeconds?: number): Promise<OrmResultBackend> {
  const backend = await createOrmResultBackend({ url, tablePrefix }, { resultTtlSeconds });
  opened.push(backend);
  return backend;
}

function outcome(status: TaskResult['status']): TaskResult {
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
