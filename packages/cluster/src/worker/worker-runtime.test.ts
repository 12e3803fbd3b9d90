/**
 * The worker's side of runs sent ahead: at most `concurrency` run at once, the rest wait in order and
 * start as runs end; one aborted while it waits never runs; a retiring worker finishes what waits first.
 */
import { defineTask, type Task, TaskRegistry } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { packageFor } from '../test-support/runtime-parts.js';
import type { FromWorker, RunDone } from './protocol.js';
import { WorkerRuntime } from './worker-runtime.js';

/** A task each run of which ends only when the test says so. */
let tasks = 0;
function gatedTask() {
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  tasks++;
  const task = defineTask(`test.gated-${tasks}`, (key: string) => {
    started.push(key);
    return new Promise<string>((resolve) => gates.set(key, () => resolve(key)));
  });
  return { task, started, finish: (key: string) => gates.get(key)!() };
}

function runtimeWith(task: Task, concurrency: number) {
  const registry = new TaskRegistry();
  registry.register(task);
  const sent: FromWorker[] = [];
  let exitCode: number | undefined;
  const runtime = new WorkerRuntime(
    registry,
    { tasks: [], cwd: '.', sampleMs: 0, exitWithParent: false, concurrency },
    { send: (message) => sent.push(message), exit: (code) => (exitCode = code), rssBytes: () => 0 },
  );
  const done = (): RunDone[] => sent.flatMap((m) => (m.type === 'done' ? m.items : []));
  return { runtime, done, exited: () => exitCode };
}

const order = (runId: number, key: string) => ({
  runId,
  pkg: packageFor(`job-${key}`, { name: `test.gated-${tasks}`, args: [key] }),
  deliveries: 1,
});
/** Long enough for a run's promise chain to settle and its `done` to be flushed (one setImmediate). */
const turn = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('WorkerRuntime with runs sent ahead', () => {
  it('runs at most `concurrency` at once; the next starts, in order, the moment a run ends', async () => {
    const { task, started, finish } = gatedTask();
    const { runtime, done } = runtimeWith(task, 1);
    runtime.handle({ type: 'run', runs: [order(1, 'a'), order(2, 'b'), order(3, 'c')] });
    await turn();
    expect(started).toEqual(['a']);
    finish('a');
    await turn();
    expect(started).toEqual(['a', 'b']);
    expect(done().map((item) => item.runId)).toEqual([1]);
    finish('b');
    await turn();
    finish('c');
    await turn();
    expect(started).toEqual(['a', 'b', 'c']);
    expect(done().map((item) => [item.runId, item.outcome.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'success'],
    ]);
  });

  it('never starts a waiting run that is aborted; it ends as a failure naming the abort', async () => {
    const { task, started, finish } = gatedTask();
    const { runtime, done } = runtimeWith(task, 1);
    runtime.handle({ type: 'run', runs: [order(1, 'a'), order(2, 'b')] });
    runtime.handle({ type: 'abort', runId: 2, reason: 'job job-b was cancelled: not needed' });
    await turn();
    expect(done()).toEqual([
      {
        runId: 2,
        outcome: expect.objectContaining({
          status: 'failure',
          error: { name: 'AbortError', message: 'job job-b was cancelled: not needed' },
        }),
      },
    ]);
    finish('a');
    await turn();
    expect(started).toEqual(['a']);
  });

  it('a retiring worker runs what waits in it before it exits', async () => {
    const { task, started, finish } = gatedTask();
    const { runtime, exited } = runtimeWith(task, 1);
    runtime.handle({ type: 'run', runs: [order(1, 'a'), order(2, 'b')] });
    runtime.handle({ type: 'retire' });
    await turn();
    finish('a');
    await turn();
    expect(exited()).toBeUndefined();
    expect(started).toEqual(['a', 'b']);
    finish('b');
    await turn();
    await turn();
    expect(exited()).toBe(0);
  });
});
