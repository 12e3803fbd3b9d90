/**
 * `ctx.progress` from a task to the result backend and the events: coalesced (a tight loop of 100,000
 * reports costs a few messages and writes), the latest value kept with the job, a bad value failing the
 * task with a clear error; sync mode stores it too.
 */
import { Administration, ManualClock, Tasq } from '@tasq/core';
import { eventually } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../start-cluster.js';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { loadTasks } from '../worker/worker-runtime.js';
import { runtimeServicesOf } from '@tasq/core/internal';

let cluster: ClusterHandle | undefined;
afterEach(async () => {
  await cluster?.stop({ timeoutMs: 0 });
  cluster = undefined;
});

describe('ctx.progress in a cluster', () => {
  it('coalesces a tight loop of 100,000 reports into a few events and writes, keeping the last value', async () => {
    cluster = await startOnClock(memoryConfig(), new ManualClock());
    const admin = Administration.of(cluster.tasq);
    const events: unknown[] = [];
    cluster.events.on('task-progress', (event) => events.push(event.progress));
    let writes = 0;
    const store = runtimeServicesOf(cluster.tasq).results.administration!;
    const save = store.saveProgress!.bind(store);
    // Counted on the way through (every write still reaches the memory backend).
    (store as { saveProgress: typeof save }).saveProgress = (id, progress) => {
      writes++;
      return save(id, progress);
    };

    const job = await cluster.tasq.enqueueByName('test.progress-loop', [100_000]);
    expect(await job.result({ timeout: 10_000 })).toBe(100_000);
    await eventually(
      async () => (await admin.job(job.id)).progress?.value === 100_000,
      5_000,
      'the last value',
    );

    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(3);
    expect(events.at(-1)).toBe(100_000);
    expect(writes).toBeLessThanOrEqual(events.length);
    expect(writes).toBeGreaterThanOrEqual(1);
  });

  it('fails the task with a clear error for a value that is too large or not JSON', async () => {
    cluster = await startOnClock(memoryConfig(), new ManualClock());
    const admin = Administration.of(cluster.tasq);
    const expectations = {
      large: /at most 1024 bytes as JSON, got 2\d\d\d/,
      bigint: /plain JSON: "done" is a bigint/,
      text: /a number or a plain object, got string/,
    };
    for (const [kind, message] of Object.entries(expectations)) {
      const job = await cluster.tasq.enqueueByName('test.progress-bad', [kind], { ackFailure: true });
      await eventually(async () => (await admin.job(job.id)).state === 'failed', 5_000, `the ${kind} run`);
      const view = await admin.job(job.id);
      expect(view.error?.name).toBe('InvalidArgumentError');
      expect(view.error?.message).toMatch(message);
      expect(view.progress).toBeUndefined();
    }
  });
});

describe('ctx.progress in sync mode', () => {
  it('stores the latest value directly, coalesced', async () => {
    const config = memoryConfig({ sync: true });
    const tasq = await Tasq.open(config, { registry: await loadTasks({ tasks: config.tasks, cwd: '.' }) });
    try {
      let writes = 0;
      const store = runtimeServicesOf(tasq).results.administration!;
      const save = store.saveProgress!.bind(store);
      (store as { saveProgress: typeof save }).saveProgress = (id, progress) => {
        writes++;
        return save(id, progress);
      };
      const job = await tasq.enqueueByName('test.progress-loop', [100_000]);
      const view = await Administration.of(tasq).job(job.id);
      expect(view.state).toBe('succeeded');
      expect(view.progress?.value).toBe(100_000);
      expect(writes).toBeGreaterThanOrEqual(1);
      expect(writes).toBeLessThanOrEqual(3);
    } finally {
      await tasq.close();
    }
  });
});
