/**
 * `maxAttempts` counts deliveries, crashes included: a delivery beyond it is failed for good without
 * being run. A cluster over the in-memory broker with a manual clock; "a cluster that died mid-run" is a
 * reserve the test makes and never settles, its lease left to run out.
 */
import { ManualClock, type TasqConfigInput, Tasq } from '@tasq/core';
import type { MemoryBroker } from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../start-cluster.js';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { beyondMaxAttempts } from './delivery-limit.js';
import { runtimeServicesOf } from '@tasq/core/internal';
const LEASE_MS = 5_000;

describe('beyondMaxAttempts', () => {
  const pkg = {
    id: 'job-1',
    name: 'any.task',
    queue: 'default',
    args: [],
    enqueuedAt: 1,
  } as unknown as Parameters<typeof beyondMaxAttempts>[0];

  it('lets every delivery up to maxAttempts run, and none when maxAttempts is 0 (unlimited)', () => {
    expect(beyondMaxAttempts(pkg, 1, { maxAttempts: 1, now: 5 })).toBeUndefined();
    expect(beyondMaxAttempts(pkg, 3, { maxAttempts: 3, now: 5 })).toBeUndefined();
    expect(beyondMaxAttempts(pkg, 99, { maxAttempts: 0, now: 5 })).toBeUndefined();
  });

  it("fails a delivery past the job's own maxAttempts, which wins over the configuration's", () => {
    expect(beyondMaxAttempts({ ...pkg, maxAttempts: 2 }, 3, { maxAttempts: 0, now: 5 })).toMatchObject({
      id: 'job-1',
      status: 'failure',
      attempts: 3,
      startedAt: 5,
      stoppedAt: 5,
      error: {
        name: 'MaxAttemptsExceededError',
        message: expect.stringMatching(/^delivered 3 times, maxAttempts is 2: /),
      },
    });
    expect(beyondMaxAttempts({ ...pkg, maxAttempts: 5 }, 3, { maxAttempts: 1, now: 5 })).toBeUndefined();
  });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a delivery beyond maxAttempts', () => {
  const closing: { close(): Promise<void> }[] = [];
  const clusters: ClusterHandle[] = [];
  afterEach(async () => {
    await Promise.all(clusters.splice(0).map((cluster) => cluster.stop({ timeoutMs: 1_000 })));
    await Promise.all(closing.splice(0).map((client) => client.close()));
  });

  async function deployment(options: TasqConfigInput = {}) {
    const clock = new ManualClock();
    const config = memoryConfig({ retry: `${LEASE_MS}ms`, ...options });
    const client = await Tasq.open(config, { clock });
    closing.push(client);
    /** A cluster that reserves the job and dies under it: the delivery is never settled. */
    const deliverToADeadCluster = async () => {
      const [delivery] = await runtimeServicesOf(client).broker.reserve(config.queue, {
        max: 1,
        leaseMs: LEASE_MS,
        waitMs: 0,
      });
      expect(delivery).toBeDefined();
      await clock.advance(LEASE_MS + 1);
    };
    const start = async () => {
      const cluster = await startOnClock(config, clock);
      clusters.push(cluster);
      return cluster;
    };
    return { config, client, deliverToADeadCluster, start };
  }

  it('is failed for good and dead-lettered without running, and the job has that result', async () => {
    const { config, client, deliverToADeadCluster, start } = await deployment();
    const job = await client.enqueueByName('test.add', [1, 2], { maxAttempts: 1 });
    await deliverToADeadCluster();
    const cluster = await start();
    const reason =
      'delivered 2 times, maxAttempts is 1: an earlier delivery never reported an outcome (the cluster or worker running it died, or its lease ran out), so it is not run again';
    await expect(job.result({ timeout: 10_000 })).rejects.toThrow(reason);
    expect(await runtimeServicesOf(client).results.get(job.id)).toMatchObject({
      status: 'failure',
      attempts: 2,
      error: { name: 'MaxAttemptsExceededError', message: reason },
    });
    await until(async () => (await runtimeServicesOf(client).broker.size(config.queue)).dead === 1);
    expect(await runtimeServicesOf(client).broker.size(config.queue)).toMatchObject({
      ready: 0,
      reserved: 0,
      dead: 1,
    });
    const memory = runtimeServicesOf(client).broker.broker as MemoryBroker;
    expect(memory.deadLetters(config.queue)).toEqual([expect.objectContaining({ reason })]);
    expect(cluster.stats).toMatchObject({ started: 0, deadLettered: 1 });
  });

  it("counts against the task's own maxAttempts when the package does not carry one", async () => {
    const { client, deliverToADeadCluster, start } = await deployment();
    // Defined with maxAttempts: 1; enqueued by name, without it.
    const job = await client.enqueueByName('test.single-attempt', []);
    await deliverToADeadCluster();
    const cluster = await start();
    await expect(job.result({ timeout: 10_000 })).rejects.toThrow(
      /MaxAttemptsExceededError: delivered 2 times, maxAttempts is 1: /,
    );
    expect(cluster.stats.started).toBe(0);
  });

  it('runs a delivery within maxAttempts as usual', async () => {
    const { client, deliverToADeadCluster, start } = await deployment({ maxAttempts: 2 });
    const job = await client.enqueueByName('test.add', [2, 2]);
    await deliverToADeadCluster();
    await start();
    expect(await job.result({ timeout: 10_000 })).toBe(4);
  });
});
