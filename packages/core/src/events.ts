/**
 * Monitoring events: what clusters and workers report about themselves. Typed here so the runtime,
 * `tasq events`, `tasq monitor` and the dashboard agree on one shape. They travel on the broker's
 * pub/sub where it has one (see pubsub.ts), signed like task packages.
 */
import type { ProgressValue } from './admin/result-administration.js';

interface EventBase {
  /** Epoch ms when it happened. */
  at: number;
  /** The cluster that reports it: `<name>@<host>:<pid>`. */
  cluster: string;
}

export interface TaskEvent extends EventBase {
  type:
    | 'task-received'
    | 'task-started'
    | 'task-succeeded'
    | 'task-failed'
    | 'task-retried'
    | 'task-rejected'
    | 'task-cancelled'
    | 'task-expired'
    | 'task-progress';
  jobId: string;
  name: string;
  queue: string;
  /** Broker deliveries so far (1 = first). */
  attempt: number;
  /** Run time, on succeeded / failed. */
  runtimeMs?: number;
  /** How long it waited from when it was due (enqueued, or its eta) until a worker started it, on started. */
  waitMs?: number;
  /** Error name and message, on failed / retried; the reason, on rejected (bad signature, unknown task...). */
  error?: string;
  /** Worker pid that ran it. */
  worker?: number;
  /** The latest value the task reported with `ctx.progress`, on progress (reports are coalesced). */
  progress?: ProgressValue;
}

export interface WorkerEvent extends EventBase {
  type: 'worker-online' | 'worker-heartbeat' | 'worker-offline';
  pid: number;
  rssBytes: number;
  tasksDone: number;
  /** Tasks running now. */
  busy: number;
  /** Why it went offline: recycle, maxRss, timeout, crash, stop. */
  reason?: string;
}

export interface ClusterEvent extends EventBase {
  type: 'cluster-online' | 'cluster-offline' | 'cluster-heartbeat';
  host: string;
  pid: number;
  queues: string[];
  workers: number;
  /** Packages held but not yet running. */
  prefetched?: number;
  /**
   * Tasks that succeeded and failed since the cluster started (heartbeats): rates stay exact when a
   * cluster drops task events it cannot publish fast enough.
   */
  succeeded?: number;
  failed?: number;
}

/**
 * An operator's action in the dashboard (purge a queue, pause a schedule, grow a pool...), and sign-ins:
 * who did what, when, and how it ended, so `tasq events` keeps an audit trail. `cluster` names the
 * dashboard process (`dashboard@<host>:<pid>`).
 */
export interface DashboardActionEvent extends EventBase {
  type: 'dashboard-action';
  /** The role signed in (`operator`, `viewer`; `anonymous` for a sign-in attempt or with --no-auth). */
  role: string;
  /** The client's address as the dashboard saw it. */
  address: string;
  /** What was asked: `queue.purge`, `schedule.pause`, `cluster.pool-grow`, `login`... */
  action: string;
  /** What it applied to: a queue, a schedule or a cluster name; empty when nothing in particular. */
  target: string;
  /** `ok`, `failed` (it was tried and went wrong) or `refused` (not allowed, nothing was tried). */
  outcome: 'ok' | 'failed' | 'refused';
  /** A short description of the result or the reason ("purged 12 jobs"). */
  detail?: string;
}

export type TasqEvent = TaskEvent | WorkerEvent | ClusterEvent | DashboardActionEvent;
export type TasqEventType = TasqEvent['type'];

/** Channel names, per deployment, so two projects sharing a server do not hear each other. */
export function eventsChannel(deployment: string): string {
  return `tasq.${deployment}.events`;
}

export function controlChannel(deployment: string): string {
  return `tasq.${deployment}.control`;
}
