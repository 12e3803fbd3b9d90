/**
 * From the cluster's in-process events (`cluster.events`) to core's monitoring events (TasqEvent), the
 * shapes `tasq events`, `tasq monitor` and the dashboard read. In-process events that have no monitoring
 * counterpart (lease extensions, task logs, settle errors) stay in-process.
 */
import type { TaskEvent, TasqEvent, WorkerEvent } from '@tasq/core';
import type { ClusterEventName, ClusterEvents, TaskRef } from '../runtime/events.js';

export interface MappingContext {
  /** `<name>@<host>:<pid>`. */
  cluster: string;
  host: string;
  now(): number;
  /** The pid of worker `workerId` (the sentinel's own for the inline pool). */
  pidOf(workerId: number): number | undefined;
  /** A worker's last known memory and progress, for worker-online/offline. */
  workerState(workerId: number): { rssBytes: number; tasksDone: number; busy: number };
}

/** Why workers went offline, remembered from worker-recycled until their worker-offline. */
export class EventMapper {
  private readonly retireReasons = new Map<number, string>();
  /** The error of each job's last failed attempt, for the task-retried that follows it. */
  private readonly lastErrors = new Map<string, string>();

  constructor(private readonly context: MappingContext) {}

  map(name: ClusterEventName, payload: unknown): TasqEvent | undefined {
    const at = this.context.now();
    const cluster = this.context.cluster;
    const task = (type: TaskEvent['type'], ref: TaskRef, extra: Partial<TaskEvent> = {}): TaskEvent => ({
      type,
      at,
      cluster,
      jobId: ref.id,
      name: ref.name,
      queue: ref.queue,
      attempt: ref.deliveries,
      ...extra,
    });
    switch (name) {
      case 'task-received':
        return task('task-received', payload as ClusterEvents['task-received']);
      case 'task-started': {
        const event = payload as ClusterEvents['task-started'];
        const worker = this.context.pidOf(event.workerId);
        return task('task-started', event, {
          waitMs: event.waitMs,
          ...(worker !== undefined ? { worker } : {}),
        });
      }
      case 'task-succeeded': {
        const event = payload as ClusterEvents['task-succeeded'];
        return task('task-succeeded', event, { runtimeMs: event.runtimeMs });
      }
      case 'task-failed': {
        const event = payload as ClusterEvents['task-failed'];
        if (!event.final) {
          if (this.lastErrors.size >= 1_000) this.lastErrors.delete(this.lastErrors.keys().next().value!);
          this.lastErrors.set(event.id, clip(event.error));
        }
        return task('task-failed', event, { runtimeMs: event.runtimeMs, error: clip(event.error) });
      }
      case 'task-retried': {
        const event = payload as ClusterEvents['task-retried'];
        const error = this.lastErrors.get(event.id);
        this.lastErrors.delete(event.id);
        return task('task-retried', event, error !== undefined ? { error } : {});
      }
      case 'task-cancelled':
      case 'task-expired': {
        const event = payload as ClusterEvents['task-cancelled'];
        return task(name, event, { error: clip(event.reason) });
      }
      case 'task-progress': {
        const event = payload as ClusterEvents['task-progress'];
        return task('task-progress', event, { progress: event.progress });
      }
      case 'package-rejected': {
        const event = payload as ClusterEvents['package-rejected'];
        return {
          type: 'task-rejected',
          at,
          cluster,
          jobId: event.deliveryId,
          name: '',
          queue: event.queue,
          attempt: 0,
          error: clip(event.reason),
        };
      }
      case 'worker-recycled': {
        const event = payload as ClusterEvents['worker-recycled'];
        this.retireReasons.set(event.workerId, event.reason);
        return undefined;
      }
      case 'worker-online': {
        const event = payload as ClusterEvents['worker-online'];
        return this.worker('worker-online', event.workerId, event.pid, at);
      }
      case 'worker-offline': {
        const event = payload as ClusterEvents['worker-offline'];
        const retired = this.retireReasons.get(event.workerId);
        this.retireReasons.delete(event.workerId);
        const reason =
          retired ??
          (event.expected
            ? 'stop'
            : event.signal
              ? `killed by ${event.signal}`
              : `exited with code ${event.code}`);
        return { ...this.worker('worker-offline', event.workerId, event.pid, at), reason };
      }
      default:
        return undefined;
    }
  }

  private worker(
    type: WorkerEvent['type'],
    workerId: number,
    pid: number | undefined,
    at: number,
  ): WorkerEvent {
    const state = this.context.workerState(workerId);
    return {
      type,
      at,
      cluster: this.context.cluster,
      pid: pid ?? this.context.pidOf(workerId) ?? process.pid,
      ...state,
    };
  }
}

/** Error texts travel clipped: a message must fit PostgreSQL's NOTIFY limit with room for others. */
function clip(text: string): string {
  return text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text;
}
