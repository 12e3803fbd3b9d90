/**
 * The example's tasks. The cluster's workers import this module (the config's `tasks`), and the demo
 * imports it too, so enqueues are type-checked against the handlers.
 */
import { defineTask } from '@tasq/core';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** A fast task. */
export const add = defineTask('example.add', (a: number, b: number) => a + b);

/** A slow task with a hard timeout of 1 s: past it, its worker is killed and replaced. */
export const slow = defineTask('example.slow', { timeout: '1s', maxAttempts: 1 }, async (ms: number) => {
  await sleep(ms);
  return `slept ${ms} ms`;
});

/**
 * Fails on its first run and succeeds on the second: its retry policy re-enqueues it after a backoff.
 * `ctx.attempt` counts the runs of the policy.
 */
export const flaky = defineTask(
  'example.flaky',
  { retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 200 } } },
  (name: string, ctx) => {
    if (ctx.attempt < 2) throw new Error(`temporary failure on attempt ${ctx.attempt}`);
    return `hello ${name}, on attempt ${ctx.attempt}`;
  },
);

/** Chain links: each receives the previous link's result first. */
export const double = defineTask('example.double', (value: number) => value * 2);
export const label = defineTask('example.label', (value: number, tag: string) => `${tag}: ${value}`);

/** Chord members and callback: squares, then their sum once every square is done. */
export const square = defineTask('example.square', (value: number) => value * value);
export const total = defineTask('example.total', (values: number[]) =>
  values.reduce((sum, value) => sum + value, 0),
);
