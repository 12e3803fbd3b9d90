import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Administration, Tasq } from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import {
  configFor,
  type Database,
  eventually,
  runCluster,
  sleep,
  sqliteDatabase,
  tasqCli,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const opened: Array<{ cluster?: ClusterHandle; client: Tasq; database: Database }> = [];
afterEach(async () => {
  for (const { cluster, client, database } of opened.splice(0)) {
    await cluster?.stop({ timeoutMs: 5_000 });
    await client.close();
    await database.cleanup();
  }
});

async function deployment() {
  const database = sqliteDatabase();
  const config = configFor(database, { scheduler: false });
  const client = await Tasq.open(config);
  const entry: (typeof opened)[number] = { client, database };
  opened.push(entry);
  const start = async () => {
    entry.cluster = await runCluster(config, { monitoring: false });
    return entry.cluster;
  };
  return { database, config, client, admin: Administration.of(client), start };
}

describe('job administration honoured by a running cluster (SQLite)', () => {
  it('takes nothing from a paused queue while enqueues still land, and runs the job after a resume', async () => {
    const { database, config, client, admin, start } = await deployment();
    const configFile = path.join(database.folder, 'tasq.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...database.broker,
        tasks: config.tasks,
        queue: config.queue,
        secret: 'cluster-test-secret',
      }),
    );
    const cluster = await start();
    const paused = await tasqCli(configFile, ['queue', 'pause', config.queue]);
    expect(paused.code).toBe(0);
    expect(await admin.pausedQueues()).toContain(config.queue);
    // The cluster reads the flags at most a second apart, and no reserve waits past its read's second.
    await sleep(1_500);

    const job = await client.enqueueByName('test.add', [2, 3]);
    await sleep(2_000);
    expect(cluster.stats.received).toBe(0);
    expect((await admin.job(job.id)).state).toBe('queued');

    const resumed = await tasqCli(configFile, ['queue', 'resume', config.queue]);
    expect(resumed.code).toBe(0);
    expect(await job.result({ timeout: 15_000 })).toBe(5);
  });

  it('stores a job whose expiry passed before a cluster took it as expired, and never runs it', async () => {
    const { client, admin, start } = await deployment();
    const late = await client.enqueueByName('test.add', [1, 1], { expires: '50ms', hook: 'test.noop' });
    const onTime = await client.enqueueByName('test.add', [2, 2], { expires: '1h' });
    await sleep(200);
    const cluster = await start();

    expect(await onTime.result({ timeout: 15_000 })).toBe(4);
    await eventually(() => cluster.stats.expired === 1, 15_000, 'the expired job');
    expect((await admin.job(late.id)).state).toBe('expired');
    expect(cluster.stats).toMatchObject({ started: 1, succeeded: 1, expired: 1 });
    expect((await runtimeServicesOf(client).broker.size(client.config.queue)).ready).toBe(0);
  });

  it('stores a job with a cancel mark as cancelled, and never runs it nor its hook', async () => {
    const { client, admin, start } = await deployment();
    const cancelled = await client.enqueueByName('test.add', [1, 1], { hook: 'test.noop' });
    const kept = await client.enqueueByName('test.add', [3, 3]);
    // The mark another operator's cancel leaves for every cluster (here without taking the job out).
    await runtimeServicesOf(client).broker.broker.administration!.markCancelled!(
      cancelled.id,
      'no longer wanted',
    );
    const cluster = await start();

    expect(await kept.result({ timeout: 15_000 })).toBe(6);
    await eventually(() => cluster.stats.cancelled === 1, 15_000, 'the cancelled job');
    // Carried out, the cancel leaves no mark behind; the stored outcome still says cancelled.
    await eventually(
      async () => (await admin.cancelMarks([cancelled.id])).length === 0,
      15_000,
      'the cancel mark to be dropped',
    );
    const view = await admin.job(cancelled.id);
    expect(view).toMatchObject({ state: 'cancelled', source: 'results' });
    expect(cluster.stats).toMatchObject({ started: 1, succeeded: 1, cancelled: 1 });
    expect((await runtimeServicesOf(client).broker.size(client.config.queue)).ready).toBe(0);
  });
});
