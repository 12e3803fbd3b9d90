/**
 * Running one task package in this process: look the task up, call it with its arguments and a context,
 * and describe the outcome. Shared by the cluster's workers and by `sync` mode, so both behave alike.
 */
import { checkProgress } from './admin/progress.js';
import type { ProgressValue } from './admin/result-administration.js';
import { chordHoldOf } from './chord.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import type { TaskErrorInfo, TaskResult } from './result-backend.js';
import { guardTaskContext } from './task-context-guard.js';
import { runWithTaskContext, type TaskContext, type TaskRegistry } from './task.js';
import type { TaskPackage } from './task-package.js';

export interface ExecuteOptions {
  deliveries?: number;
  signal?: AbortSignal;
  logger?: Logger;
  now?: () => number;
  /** Store the arguments in the result. */
  saveArgs?: boolean;
  /** Where the task's `ctx.progress` values go (each already checked); without it they are checked and dropped. */
  progress?: (value: ProgressValue) => void;
  /** Told what the handler threw, as it was thrown (sync mode raises it to the caller). */
  onThrow?: (error: unknown) => void;
}

/** Turn anything thrown into the plain form that is stored and sent between processes. */
export function toErrorInfo(error: unknown): TaskErrorInfo {
  if (error instanceof Error) {
    return {
      name: error.name || 'Error',
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { name: 'NonError', message: typeof error === 'string' ? error : safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * How a run ended, without what its package already says (id, name, queue, group...): what a worker
 * sends back to its sentinel, which holds the package and builds the stored result with `taskResultOf`.
 */
export type RunOutcome = { startedAt: number; stoppedAt: number } & (
  | { status: 'success'; result: unknown }
  | { status: 'failure'; error: TaskErrorInfo }
);

/** Run `pkg`'s task. Never throws: an unknown task or a failing handler is a `failure` outcome. */
export async function runTask(
  registry: TaskRegistry,
  pkg: TaskPackage,
  options: Omit<ExecuteOptions, 'saveArgs'> = {},
): Promise<RunOutcome> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const report = options.progress;
  try {
    const task = registry.get(pkg.name);
    const context: TaskContext = guardTaskContext(
      {
        jobId: pkg.id,
        name: pkg.name,
        queue: pkg.queue,
        attempt: pkg.attempt ?? 1,
        deliveries: options.deliveries ?? 1,
        enqueuedAt: pkg.enqueuedAt,
        signal: options.signal ?? new AbortController().signal,
        logger: options.logger ?? silentLogger,
        progress: (value) => {
          checkProgress(value);
          report?.(value);
        },
      },
      pkg.name,
      pkg.args.length,
      task.handler.length,
    );
    const value = await runWithTaskContext(context, () => task.handler(...pkg.args, context));
    return { status: 'success', result: value, startedAt, stoppedAt: now() };
  } catch (error) {
    options.onThrow?.(error);
    return { status: 'failure', error: toErrorInfo(error), startedAt, stoppedAt: now() };
  }
}

/**
 * The result stored for a run of `pkg` that ended with `outcome`. Built field by field rather than with
 * object spreads: the cluster builds one per job, and each spread was a copy and an allocation.
 */
export function taskResultOf(
  pkg: TaskPackage,
  outcome: RunOutcome,
  options: { deliveries?: number; saveArgs?: boolean } = {},
): TaskResult {
  const result = {
    id: pkg.id,
    name: pkg.name,
    queue: pkg.queue,
    attempts: options.deliveries ?? 1,
    enqueuedAt: pkg.enqueuedAt,
  } as TaskResult;
  if (pkg.group !== undefined) result.group = pkg.group;
  if (pkg.groupIndex !== undefined) result.groupIndex = pkg.groupIndex;
  const hold = chordHoldOf(pkg).keepUntilClaimed;
  if (hold !== undefined) result.keepUntilClaimed = hold;
  if (options.saveArgs) result.args = pkg.args;
  // The outcome's own fields come last and win, as they always have.
  Object.assign(result, outcome);
  return result;
}

/** Run `pkg`'s task and describe the outcome as the result to store. Never throws. */
export async function executeTask(
  registry: TaskRegistry,
  pkg: TaskPackage,
  options: ExecuteOptions = {},
): Promise<TaskResult> {
  return taskResultOf(pkg, await runTask(registry, pkg, options), options);
}
