/**
 * One job lifecycle: the same tasks and settings run through sync mode and through a cluster (memory
 * broker, inline pool, a clock the test moves) store the same outcome, or nothing in both.
 */
import { type EnqueueJobOptions, ManualClock, type TaskResult, Tasq, type TasqConfigInput } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { loadTasks } from '../worker/worker-runtime.js';
import { runtimeServicesOf } from '@tasq/core/internal';

interface Row {
  title: string;
  task: string;
  args: unknown[];
  config?: TasqConfigInput;
  options?: EnqueueJobOptions;
  /** What is stored in the end (undefined: nothing). */
  stored: Partial<TaskResult> | undefined;
}

const broken = { status: 'failure' as const, error: expect.objectContaining({ name: 'TypeError' }) };

const table: Row[] = [
  { title: 'a success', task: 'test.add', args: [1, 2], stored: { status: 'success', result: 3 } },
  {
    title: 'a success under saveLimit -1',
    task: 'test.add',
    args: [1, 2],
    config: { saveLimit: -1 },
    stored: undefined,
  },
  {
    title: 'a success with saveResult false',
    task: 'test.add',
    args: [1, 2],
    options: { saveResult: false },
    stored: undefined,
  },
  {
    title: 'a failure, unlimited attempts (each run stored)',
    task: 'test.broken',
    args: [],
    stored: { ...broken, attempts: 1 },
  },
  {
    title: 'a failure with maxAttempts 3',
    task: 'test.broken',
    args: [],
    config: { maxAttempts: 3 },
    stored: { ...broken, attempts: 3 },
  },
  {
    title: 'a failure with a retry policy',
    task: 'test.broken',
    args: [],
    options: { retry: { attempts: 3 } },
    stored: broken,
  },
  {
    title: 'a failure acked',
    task: 'test.broken',
    args: [],
    config: { maxAttempts: 3, ackFailures: true },
    stored: { ...broken, attempts: 1 },
  },
  {
    title: 'arguments that do not fit the task, with retries and attempts to spare',
    task: 'test.add',
    args: [1],
    config: { maxAttempts: 3 },
    options: { retry: { attempts: 3 } },
    stored: {
      status: 'failure',
      attempts: 1,
      error: expect.objectContaining({ name: 'TaskArgumentsError' }),
    },
  },
];

const comparable = (result: TaskResult | undefined) =>
  result && {
    status: result.status,
    result: result.result,
    attempts: result.attempts,
    error: result.error?.name,
  };

async function throughSync(row: Row): Promise<TaskResult | undefined> {
  const config = memoryConfig({ ...row.config, sync: true });
  const tasq = await Tasq.open(config, { registry: await loadTasks({ tasks: config.tasks, cwd: '.' }) });
  try {
    const id = `sync-${Math.random().toString(36).slice(2)}`;
    await tasq.enqueueByName(row.task, row.args, { ...row.options, id }).catch(() => undefined);
    return await runtimeServicesOf(tasq).results.get(id);
  } finally {
    await tasq.close();
  }
}

async function throughCluster(row: Row): Promise<TaskResult | undefined> {
  const clock = new ManualClock();
  const cluster = await startOnClock(memoryConfig({ retry: '4s', ...row.config }), clock);
  try {
    let final = false;
    let failedRuns = 0;
    cluster.events.on('task-succeeded', () => {
      final = true;
    });
    cluster.events.on('task-failed', (event) => {
      failedRuns++;
      if (event.final) final = true;
    });
    const job = await cluster.tasq.enqueueByName(row.task, row.args, row.options ?? {});
    const unbounded = (row.config?.maxAttempts ?? 0) === 0 && !row.options?.retry && !row.config?.ackFailures;
    for (let step = 0; step < 40 && !final && !(unbounded && failedRuns > 0); step++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advance(500);
    }
    return await runtimeServicesOf(cluster.tasq).results.get(job.id);
  } finally {
    await cluster.stop({ timeoutMs: 0 });
  }
}

describe('sync mode and a cluster settle a job alike', () => {
  for (const row of table) {
    it(row.title, async () => {
      const [sync, cluster] = [await throughSync(row), await throughCluster(row)];
      if (row.stored === undefined) {
        expect(sync).toBeUndefined();
        expect(cluster).toBeUndefined();
        return;
      }
      expect(cluster).toMatchObject(row.stored);
      expect(comparable(sync)).toEqual(comparable(cluster));
    });
  }
});
