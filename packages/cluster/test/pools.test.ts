/**
 * The other pools (worker threads, inline) and the health probe, on a real SQLite file.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, type Database, eventually, runCluster, sqliteDatabase } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

let database: Database;
beforeAll(() => {
  database = sqliteDatabase();
});
afterAll(() => database.cleanup());

describe('pools', () => {
  it('runs tasks in worker threads, and a hard timeout terminates and replaces the thread', async () => {
    const cluster = await runCluster(
      configFor(database, { pool: 'thread', workers: 2, timeout: '300ms', retry: '5s', maxAttempts: 1 }),
    );
    try {
      expect(cluster.workers().map((w) => w.kind)).toEqual(['thread', 'thread']);
      expect(await (await cluster.tasq.enqueueByName('test.add', [1, 2])).result({ timeout: 10_000 })).toBe(
        3,
      );
      expect(await (await cluster.tasq.enqueueByName('test.pid', [])).result({ timeout: 10_000 })).toBe(
        process.pid,
      );
      const hung = await (await cluster.tasq.enqueueByName('test.hang', [5_000])).outcome(10_000);
      expect(hung?.error?.name).toBe('TaskTimeoutError');
      await eventually(() => cluster.workers().length === 2, 5_000, 'the replacement thread');
    } finally {
      await cluster.stop();
    }
  });

  it("runs tasks inline on the sentinel's event loop", async () => {
    const cluster = await runCluster(configFor(database, { pool: 'inline', concurrency: 4 }));
    try {
      expect(cluster.workers()[0]?.kind).toBe('inline');
      const jobs = await Promise.all([1, 2, 3].map((n) => cluster.tasq.enqueueByName('test.add', [n, n])));
      expect(await Promise.all(jobs.map((job) => job.result({ timeout: 10_000 })))).toEqual([2, 4, 6]);
    } finally {
      await cluster.stop();
    }
  });
});

describe('results that cannot be sent back or stored', () => {
  for (const pool of ['process', 'inline'] as const) {
    it(`fail with the reason, once, and leave the rest of the batch alone (${pool} pool)`, async () => {
      const cluster = await runCluster(
        configFor(database, { pool, concurrency: 4, retry: '5s', maxAttempts: 1 }),
      );
      try {
        const [fn, float64, plain] = await Promise.all(
          ['function', 'float64', 'plain'].map((kind) =>
            cluster.tasq.enqueueByName('test.unsendable', [kind]),
          ),
        );
        // A process worker cannot send a function back; the inline pool hands it over, and saving fails.
        expect((await fn!.outcome(10_000))?.error?.message).toMatch(
          pool === 'process'
            ? /^the task's return value cannot be sent back: /
            : /^the task's return value cannot be stored: cannot serialize a function/,
        );
        expect(await float64!.outcome(10_000)).toMatchObject({
          status: 'failure',
          error: {
            name: 'UnstorableResultError',
            message: "the task's return value cannot be stored: cannot serialize a Float64Array",
          },
        });
        expect(await plain!.result({ timeout: 10_000 })).toBe('plain');
        // Final at once (maxAttempts 1): dead-lettered, never released to fail the same way again.
        await eventually(
          async () => (await runtimeServicesOf(cluster.tasq).broker.size(cluster.config.queue)).dead === 2,
          5_000,
          'the dead letters',
        );
        expect(cluster.stats.released).toBe(0);
      } finally {
        await cluster.stop();
      }
    });
  }
});

describe('stored arguments', () => {
  it('are kept with successes and failures only when saveArgs is on', async () => {
    for (const saveArgs of [true, false]) {
      const cluster = await runCluster(configFor(database, { saveArgs, retry: '5s', maxAttempts: 1 }));
      try {
        const added = await cluster.tasq.enqueueByName('test.add', [2, 3]);
        const broken = await cluster.tasq.enqueueByName('test.broken', [{ why: 'kept' }]);
        const success = await added.outcome(10_000);
        const failure = await broken.outcome(10_000);
        expect(success?.result).toBe(5);
        expect(failure?.status).toBe('failure');
        expect(success?.args).toEqual(saveArgs ? [2, 3] : undefined);
        expect(failure?.args).toEqual(saveArgs ? [{ why: 'kept' }] : undefined);
      } finally {
        await cluster.stop();
      }
    }
  });
});

describe('queues', () => {
  it('consumes several queues, with a rate limit on one of them', async () => {
    const config = configFor(database, {
      concurrency: 4,
      bulk: 4,
      queues: ['fast-lane', 'slow-lane'],
      rateLimits: { 'queue:slow-lane': '5/s' },
    });
    const cluster = await runCluster(config);
    try {
      const stamps = path.join(database.folder, 'slow-lane-stamps.txt');
      const fast = await Promise.all(
        [1, 2, 3].map((n) => cluster.tasq.enqueueByName('test.add', [n, 0], { queue: 'fast-lane' })),
      );
      const slow = await Promise.all(
        Array.from({ length: 9 }, () =>
          cluster.tasq.enqueueByName('test.stamp', [stamps], { queue: 'slow-lane' }),
        ),
      );
      expect(await Promise.all(fast.map((job) => job.result({ timeout: 10_000 })))).toEqual([1, 2, 3]);
      for (const job of slow) await job.result({ timeout: 10_000 });
      const times = readFileSync(stamps, 'utf8')
        .trim()
        .split('\n')
        .map(Number)
        .sort((a, b) => a - b);
      // A burst of 5, then 5 per second: the 9th cannot be reserved before 0.8 s.
      expect(times[8]! - times[0]!).toBeGreaterThanOrEqual(700);
    } finally {
      await cluster.stop();
    }
  });
});

describe('health probe', () => {
  it('answers 200 while consuming and 503 once the cluster stops consuming', async () => {
    const cluster = await runCluster(configFor(database, {}), { healthPort: 0 });
    const url = `http://127.0.0.1:${cluster.healthPort}/health`;
    let stopping: Promise<void> | undefined;
    try {
      const healthy = await fetch(url);
      expect(healthy.status).toBe(200);
      expect(await healthy.json()).toMatchObject({ healthy: true, reason: 'consuming', workers: 1 });
      const marks = path.join(database.folder, 'health-marks.txt');
      await cluster.tasq.enqueueByName('test.mark', [marks, 'busy', 1_000]);
      await eventually(() => cluster.health().held.running === 1, 10_000, 'the task to start');
      stopping = cluster.stop();
      const draining = await fetch(url);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toMatchObject({ healthy: false, reason: 'stopping' });
    } finally {
      await (stopping ?? cluster.stop());
    }
  });

  // An address of this machine other than loopback: what another machine would connect to.
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
  const answers = async (host: string, port: number) =>
    fetch(`http://${host}:${port}/health`).then(
      (response) => response.status,
      (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
    );

  it(`listens where the health option says, on every interface by default${outside ? '' : ' (no address but loopback here: checked on loopback only)'}`, async () => {
    const local = await runCluster(configFor(database, {}), { health: '127.0.0.1:0' });
    try {
      expect(local.healthAddress).toEqual({ host: '127.0.0.1', port: local.healthPort });
      expect(await answers('127.0.0.1', local.healthPort!)).toBe(200);
      if (outside) expect(await answers(outside, local.healthPort!)).toBe('ECONNREFUSED');
    } finally {
      await local.stop();
    }
    // From the configuration (`health`), and by default on every interface.
    const everywhere = await runCluster(configFor(database, { health: ':0' }));
    try {
      expect(everywhere.healthAddress?.host).toBe('0.0.0.0');
      expect(await answers(outside ?? '127.0.0.1', everywhere.healthPort!)).toBe(200);
    } finally {
      await everywhere.stop();
    }
  });
});
