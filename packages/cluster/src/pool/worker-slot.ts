/** One worker as the pool keeps it, and what is shown of it. */
import type { HeldPackage } from '../runtime/held-package.js';
import type { WorkerHandle } from './worker-handle.js';

/** Why a worker is retired while healthy: its task count, its memory, an operator's restart, a smaller pool. */
export type RetireReason = 'recycle' | 'max-rss' | 'restart' | 'pool-shrink';

export interface WorkerSlot {
  readonly id: number;
  handle: WorkerHandle;
  ready: boolean;
  retiring: boolean;
  /** Runs this worker holds, by run id (those waiting in it included). */
  readonly running: Map<number, HeldPackage>;
  /** Runs sent ahead that wait in the worker for a slot, in the order they start. */
  readonly waiting: HeldPackage[];
  tasksDone: number;
  /** When it was started and when it said it was ready (clock ms): its start-up time and its pace. */
  startedAt: number;
  readyAt?: number;
  rssBytes?: number;
  /** Its replacement is starting (recycle, maxRss); it serves until that one is ready. */
  successorStarting?: boolean;
  exited: boolean;
  whenExited: Promise<void>;
  onExited: () => void;
  onReady?: (error?: Error) => void;
}

export interface WorkerInfo {
  id: number;
  pid?: number;
  kind: string;
  running: number;
  tasksDone: number;
  rssBytes?: number;
  retiring: boolean;
  /** What it runs now (id, task name, queue, since when). */
  jobs: { id: string; name: string; queue: string; startedAt: number }[];
}
