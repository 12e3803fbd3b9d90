/**
 * Messages between the sentinel and one worker over that worker's own channel (the child's IPC pipe or
 * the thread's port). Values travel by structured clone, so Dates, Maps and BigInts in arguments and
 * results survive the hop.
 */
import type { ProgressValue } from '@tasq/core';
import type { RunOutcome, TaskPackage } from '@tasq/core/internal';
import type { TaskRunDefaults } from '../runtime/task-run-defaults.js';

export interface WorkerSettings {
  /** Modules to import (the configuration's `tasks`), resolved from `cwd`. */
  tasks: string[];
  cwd: string;
  /** How often the worker reports its memory while it runs tasks. */
  sampleMs: number;
  /** Exit when the sentinel's channel closes (the sentinel died). */
  exitWithParent: boolean;
  /**
   * Runs at once. The sentinel may send one more (sent ahead, so the worker need not wait for the next
   * order when a run ends); it waits in the worker and starts, in order, as a run ends. Default: no limit.
   */
  concurrency?: number;
}

export interface RunOrder {
  runId: number;
  pkg: TaskPackage;
  deliveries: number;
}

export type ToWorker =
  | { type: 'run'; runs: RunOrder[] }
  /** Soft timeout or cancel: abort the run's `ctx.signal`; a run still waiting in the worker never starts. */
  | { type: 'abort'; runId: number; reason: string }
  /** Finish what runs, then exit 0. */
  | { type: 'retire' };

/** The sentinel holds the run's package and builds the stored result from it (`taskResultOf`). */
export interface RunDone {
  runId: number;
  outcome: RunOutcome;
}

export type FromWorker =
  /** `rateLimits` and `runDefaults`: the tasks' own `rateLimit` options and run settings, by task name. */
  | {
      type: 'ready';
      tasks: string[];
      rateLimits?: Record<string, string>;
      runDefaults?: Record<string, TaskRunDefaults>;
    }
  | { type: 'load-error'; message: string }
  | { type: 'done'; items: RunDone[]; tasksDone: number; rssBytes: number }
  | { type: 'memory'; rssBytes: number }
  /** The latest `ctx.progress` of runs, coalesced (at most every ~250 ms, and before a run's `done`). */
  | { type: 'progress'; items: Array<{ runId: number; value: ProgressValue }> }
  | {
      type: 'log';
      level: 'debug' | 'info' | 'warn' | 'error';
      fields: Record<string, unknown>;
      message?: string;
    };
