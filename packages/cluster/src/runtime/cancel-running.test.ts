/**
 * Cancelling a job a cluster is running (memory broker, inline pool, a clock the test moves): the run's
 * signal aborts with a reason naming the cancel, the job is stored as cancelled and acked, its hook never
 * runs, and a run that ignores its signal is killed after the grace.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Administration, ManualClock } from '@tasq/core';
import { eventually } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../start-cluster.js';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const dir = mkdtempSync(join(tmpdir(), 'tasq-cancel-running-'));
let cluster: ClusterHandle | undefined;

afterEach(async () => {
  await cluster?.stop({ timeoutMs: 0 });
  cluster = undefined;
});

/** Let the cluster's promises settle, then move the clock. */
async function step(clock: ManualClock, ms: number): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await clock.advance(ms);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('cancelling a running job', () => {
  it('aborts its signal, stores it as cancelled, acks it and never sends its hook', async () => {
    const clock = new ManualClock();
    cluster = await startOnClock(memoryConfig({ maxAttempts: 3 }), clock);
    const admin = Administration.of(cluster.tasq);
    const file = join(dir, 'aborted-reason');
    const job = await cluster.tasq.enqueueByName('test.until-aborted', [file], { hook: 'test.noop' });
    await eventually(() => cluster!.stats.started === 1, 5_000, 'the run to start');
    expect((await admin.job(job.id)).state).toBe('running');

    expect(await admin.cancel(job.id, 'the report is not needed')).toEqual({
      id: job.id,
      outcome: 'cancelling',
    });
    // The cluster reads the marks of what it runs once per check interval.
    await step(clock, 1_000);
    await eventually(() => cluster!.stats.cancelled === 1, 5_000, 'the cancel to be settled');

    expect(readFileSync(file, 'utf8')).toBe(`job ${job.id} was cancelled: the report is not needed`);
    const view = await admin.job(job.id);
    expect(view.state).toBe('cancelled');
    expect(view.error?.name).toBe('JobCancelledError');
    expect(view.error?.message).toContain('the report is not needed');
    // Acked, not retried or dead-lettered; the hook was never enqueued.
    const size = await runtimeServicesOf(cluster.tasq).broker.size('default');
    expect(size).toMatchObject({ ready: 0, delayed: 0, reserved: 0, dead: 0 });
    expect(cluster.stats).toMatchObject({ started: 1, failed: 0, retried: 0, cancelled: 1 });
  });

  it('kills a run that ignores its signal once the grace (hard minus soft timeout) is over', async () => {
    const clock = new ManualClock();
    cluster = await startOnClock(memoryConfig(), clock);
    const admin = Administration.of(cluster.tasq);
    const job = await cluster.tasq.enqueueByName('test.hang', [600_000], {
      softTimeout: '50s',
      timeout: '60s',
    });
    await eventually(() => cluster!.stats.started === 1, 5_000, 'the run to start');
    const offline: unknown[] = [];
    cluster.events.on('worker-offline', (event) => offline.push(event));

    await admin.cancel(job.id);
    await step(clock, 1_000); // the mark is read, the signal aborted; test.hang does not look at it
    await step(clock, 9_000);
    expect(cluster.stats.cancelled).toBe(0);
    expect(offline).toHaveLength(0);
    await step(clock, 1_000); // the 10 s grace is over
    await eventually(() => cluster!.stats.cancelled === 1, 5_000, 'the killed run to be settled');

    expect(offline).toHaveLength(1);
    const view = await admin.job(job.id);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toContain('did not stop within 10000 ms of its cancel');
    expect(cluster.stats).toMatchObject({ timedOut: 0, failed: 0, released: 0 });
  });

  it('takes a job out of the buffer when it is cancelled before a worker starts it', async () => {
    const clock = new ManualClock();
    cluster = await startOnClock(memoryConfig({ concurrency: 1, queueLimit: 10 }), clock);
    const admin = Administration.of(cluster.tasq);
    const busy = await cluster.tasq.enqueueByName('test.until-aborted', [join(dir, 'busy')]);
    await eventually(() => cluster!.stats.started === 1, 5_000, 'the first run to start');
    const waiting = await cluster.tasq.enqueueByName('test.add', [2, 3]);
    await eventually(() => cluster!.stats.received === 2, 5_000, 'the second job to be held');

    await admin.cancel(waiting.id, 'changed my mind');
    await step(clock, 1_000);
    await eventually(() => cluster!.stats.cancelled === 1, 5_000, 'the held job to be cancelled');
    expect((await admin.job(waiting.id)).state).toBe('cancelled');
    expect((await admin.job(busy.id)).state).toBe('running');
    expect(cluster.stats.started).toBe(1);

    await admin.cancel(busy.id);
    await step(clock, 1_000);
    await eventually(() => cluster!.stats.cancelled === 2, 5_000, 'the running job to be cancelled');
    expect(cluster.stats.started).toBe(1);
  });
});
