/**
 * Running one task package in this process: look the task up, call it with its arguments and a context,
 * and describe the outcome. Shared by the cluster's workers and by `sync` mode, so both behave alike.
 */
import { chordClaimKey } from './canvas.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import type { TaskErrorInfo, TaskResult } from './result-backend.js';
import { runWithTaskContext, type TaskContext, type TaskRegistry } from './task.js';
import type { TaskPackage } from './task-package.js';

export interface ExecuteOptions {
  deliveries?: number;
  signal?: AbortSignal;
  logger?: Logger;
  now?: () => number;
  /** Store the arguments in the result. */
  saveArgs?: boolean;
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

/** Run `pkg`'s task. Never throws: an unknown task or a failing handler is a `failure` result. */
export async function executeTask(
  registry: TaskRegistry,
  pkg: TaskPackage,
  options: ExecuteOptions = {},
): Promise<TaskResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const base = {
    id: pkg.id,
    name: pkg.name,
    queue: pkg.queue,
    attempts: options.deliveries ?? 1,
    enqueuedAt: pkg.enqueuedAt,
    startedAt,
    ...(pkg.group !== undefined ? { group: pkg.group } : {}),
    ...(pkg.groupIndex !== undefined ? { groupIndex: pkg.groupIndex } : {}),
    ...(pkg.chord !== undefined && pkg.group !== undefined
      ? { keepUntilClaimed: chordClaimKey(pkg.group) }
      : {}),
    ...(options.saveArgs ? { args: pkg.args } : {}),
  };
  try {
    const task = registry.get(pkg.name);
    const context: TaskContext = {
      jobId: pkg.id,
      name: pkg.name,
      queue: pkg.queue,
      attempt: pkg.attempt ?? 1,
      deliveries: options.deliveries ?? 1,
      enqueuedAt: pkg.enqueuedAt,
      signal: options.signal ?? new AbortController().signal,
      logger: options.logger ?? silentLogger,
    };
    const value = await runWithTaskContext(context, () => task.handler(...pkg.args, context));
    return { ...base, status: 'success', result: value, stoppedAt: now() };
  } catch (error) {
    return { ...base, status: 'failure', error: toErrorInfo(error), stoppedAt: now() };
  }
}
