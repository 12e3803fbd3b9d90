/**
 * The cluster's lifecycle events as a typed in-process emitter. The CLI turns them into log lines; tests
 * and embedding applications subscribe to them; src/monitoring carries them over the broker's pub/sub.
 */
import type { ProgressValue, TaskResult } from '@tasq/core';

/** Where a package came from and which job it is: every task event carries this. */
export interface TaskRef {
  id: string;
  name: string;
  queue: string;
  /** Broker deliveries of this package, this one included. */
  deliveries: number;
}

export interface ClusterEvents {
  'cluster-started': {
    name: string;
    cluster: string;
    workers: number;
    pool: string;
    queues: string[];
    broker: string;
  };
  'cluster-stopping': { reason: string };
  'cluster-stopped': { reason: string; forced: boolean };
  'worker-online': { workerId: number; pid?: number; tasks: number };
  'worker-offline': {
    workerId: number;
    pid?: number;
    code: number | null;
    signal: string | null;
    expected: boolean;
  };
  'worker-recycled': {
    workerId: number;
    pid?: number;
    reason: 'recycle' | 'max-rss' | 'restart' | 'pool-shrink';
    tasksDone: number;
    rssBytes?: number;
  };
  /** The pool size changed: remote control (`pool-grow`, `pool-shrink`) or autoscale. */
  'pool-resized': { size: number; previous: number; by: 'control' | 'autoscale' };
  'task-received': TaskRef;
  /** `waitMs`: from when the job was due (enqueued, or its eta) until now. */
  'task-started': TaskRef & { workerId: number; waitMs: number };
  'task-succeeded': TaskRef & { runtimeMs: number };
  'task-failed': TaskRef & { runtimeMs: number; error: string; final: boolean; action: string };
  'task-retried': TaskRef & { attempt: number; delayMs: number };
  'task-timed-out': TaskRef & { workerId: number; timeoutMs: number };
  'task-soft-timed-out': TaskRef & { workerId: number; softTimeoutMs: number };
  'task-memory-exceeded': TaskRef & { workerId: number; rssBytes: number; limitBytes: number };
  'task-released': TaskRef & { reason: string; delayMs: number };
  'task-dead-lettered': TaskRef & { reason: string };
  /** A running task reported progress (the latest value; the worker coalesces reports). */
  'task-progress': TaskRef & { progress: ProgressValue };
  /** An operator's cancel stopped the job (before it started, or while it ran): stored as cancelled. */
  'task-cancelled': TaskRef & { reason: string };
  /** The job's `expiresAt` passed before it started: stored as expired, never run. */
  'task-expired': TaskRef & { reason: string };
  /** A package that failed to decode (bad signature, garbage, unknown format): never run. */
  'package-rejected': { deliveryId: string; queue: string; reason: string };
  /** A completion arrived after its lease moved on: counted, never applied. */
  'late-completion': TaskRef;
  'lease-lost': TaskRef & { operation: string };
  'fetch-error': { queue: string; error: string };
  'settle-error': TaskRef & { operation: string; error: string };
  'task-log': { workerId: number; level: string; fields: Record<string, unknown>; message?: string };
}

export type ClusterEventName = keyof ClusterEvents;
type Listener<K extends ClusterEventName> = (payload: ClusterEvents[K]) => void;

/** A small typed emitter: listeners that throw are isolated so one bad listener cannot stop the cluster. */
export class ClusterEmitter {
  private readonly listeners = new Map<ClusterEventName, Set<Listener<any>>>();
  private readonly anyListeners = new Set<(name: ClusterEventName, payload: unknown) => void>();

  on<K extends ClusterEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Every event, for loggers. */
  onAny(listener: (name: ClusterEventName, payload: unknown) => void): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Resolve with the first event `name` for which `predicate` holds. */
  once<K extends ClusterEventName>(
    name: K,
    predicate: (payload: ClusterEvents[K]) => boolean = () => true,
  ): Promise<ClusterEvents[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (payload) => {
        if (!predicate(payload)) return;
        off();
        resolve(payload);
      });
    });
  }

  emit<K extends ClusterEventName>(name: K, payload: ClusterEvents[K]): void {
    const set = this.listeners.get(name);
    if (set) for (const listener of set) safely(() => listener(payload));
    for (const listener of this.anyListeners) safely(() => listener(name, payload));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener's bug must not change what the cluster does with a delivery.
  }
}

/** Counters a running cluster keeps; `tasq info` and the health probe show them. */
export interface ClusterStats {
  received: number;
  started: number;
  succeeded: number;
  failed: number;
  retried: number;
  released: number;
  deadLettered: number;
  rejected: number;
  /** Stopped by a cancel mark before they started. */
  cancelled: number;
  /** Not started before their `expiresAt`. */
  expired: number;
  timedOut: number;
  lateCompletions: number;
  leasesLost: number;
  leasesExtended: number;
  workersStarted: number;
  workersRecycled: number;
  workersCrashed: number;
}

export function emptyStats(): ClusterStats {
  return {
    received: 0,
    started: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    released: 0,
    deadLettered: 0,
    rejected: 0,
    cancelled: 0,
    expired: 0,
    timedOut: 0,
    lateCompletions: 0,
    leasesLost: 0,
    leasesExtended: 0,
    workersStarted: 0,
    workersRecycled: 0,
    workersCrashed: 0,
  };
}

export type { TaskResult };
