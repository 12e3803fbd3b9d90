/**
 * Carries a cluster's events off the process: maps `cluster.events` to monitoring events and publishes
 * them on `eventsChannel(name)` with a heartbeat every `heartbeatMs` (the cluster and each worker: pid,
 * RSS, tasks done, busy, prefetched). A broker without pub/sub gets no event stream; the reporter stores
 * the cluster's snapshot in the result backend at each heartbeat instead (see cluster-stats-record.ts).
 */
import type { Clock, ClusterEvent, Logger } from '@tasq/core';
import type { PubSub, ResultBackend } from '@tasq/core/backend';
import { eventsChannel } from '@tasq/core/internal';
import type { Sentinel } from '../runtime/sentinel.js';
import { statsRecordOf } from './cluster-stats-record.js';
import { EventMapper } from './event-mapping.js';
import { EventPublisher } from './event-publisher.js';
import { type ClusterIdentity, type ClusterSnapshot, heartbeatsOf, snapshotOf } from './snapshot.js';
import { WireCodec } from './wire.js';

/** In-process events that become task events on the wire. */
const TASK_EVENTS = new Set<string>([
  'task-received',
  'task-started',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-cancelled',
  'task-expired',
  'task-progress',
  'package-rejected',
]);

export interface ClusterReporterOptions {
  sentinel: Sentinel;
  identity: ClusterIdentity;
  /** The deployment's pub/sub; undefined when the broker has none. */
  pubsub: PubSub | undefined;
  /** Where snapshots go when there is no pub/sub. */
  results: ResultBackend;
  clock: Clock;
  logger: Logger;
  /** Default 2 s. */
  heartbeatMs?: number;
  /** Default 200 ms. */
  flushMs?: number;
}

export class ClusterReporter {
  readonly publisher: EventPublisher | undefined;
  private readonly mapper: EventMapper;
  private readonly pids = new Map<number, number>();
  /** Each worker's state at the last heartbeat: what its worker-offline reports once it is gone. */
  private readonly lastSeen = new Map<number, { rssBytes: number; tasksDone: number; busy: number }>();
  private readonly offListeners: () => void;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly options: ClusterReporterOptions;

  constructor(options: ClusterReporterOptions) {
    this.options = options;
    const { sentinel, identity, pubsub, clock, logger } = options;
    if (pubsub) {
      this.publisher = new EventPublisher({
        pubsub,
        codec: WireCodec.for(sentinel.config),
        channel: eventsChannel(sentinel.config.name),
        logger,
        ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      });
    }
    this.mapper = new EventMapper({
      cluster: identity.id,
      host: identity.host,
      now: () => clock.now(),
      pidOf: (workerId) => this.pids.get(workerId),
      workerState: (workerId) => {
        const worker = sentinel.workerInfo().find((w) => w.id === workerId);
        if (!worker) return this.lastSeen.get(workerId) ?? { rssBytes: 0, tasksDone: 0, busy: 0 };
        return { rssBytes: worker.rssBytes ?? 0, tasksDone: worker.tasksDone, busy: worker.running };
      },
    });
    this.offListeners = sentinel.events.onAny((name, payload) => {
      if (name === 'worker-online') {
        const { workerId, pid } = payload as { workerId: number; pid?: number };
        this.pids.set(workerId, pid ?? identity.pid);
      }
      if (name === 'cluster-started') this.onStarted();
      else if (name === 'cluster-stopping') this.onStopping();
      const publisher = this.publisher;
      if (publisher) {
        // At full speed most task events are dropped: do not build the ones that would be.
        if (publisher.full && TASK_EVENTS.has(name)) publisher.countDropped();
        else {
          const event = this.mapper.map(name, payload);
          if (event) publisher.push(event);
        }
      }
      if (name === 'worker-recycled') {
        const { workerId, tasksDone, rssBytes } = payload as {
          workerId: number;
          tasksDone: number;
          rssBytes?: number;
        };
        const last = this.lastSeen.get(workerId);
        this.lastSeen.set(workerId, { rssBytes: rssBytes ?? last?.rssBytes ?? 0, tasksDone, busy: 0 });
      }
      if (name === 'worker-offline') {
        const { workerId } = payload as { workerId: number };
        this.pids.delete(workerId);
        this.lastSeen.delete(workerId);
      }
    });
  }

  /** Events dropped because pub/sub could not keep up. */
  get eventsDropped(): number {
    return this.publisher?.counters.dropped ?? 0;
  }

  snapshot(): ClusterSnapshot {
    return snapshotOf(
      this.options.sentinel,
      this.options.identity,
      this.options.clock.now(),
      this.eventsDropped,
    );
  }

  /** Publish the last events (cluster-offline among them) and stop. Call after the sentinel stopped. */
  async close(): Promise<void> {
    this.offListeners();
    clearInterval(this.heartbeatTimer);
    if (this.publisher) {
      this.publisher.push(this.clusterEvent('cluster-offline', this.snapshot()));
      await this.publisher.close();
    }
  }

  private onStarted(): void {
    const heartbeatMs = this.options.heartbeatMs ?? 2_000;
    if (this.publisher) this.publisher.push(this.clusterEvent('cluster-online', this.snapshot()));
    this.heartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private onStopping(): void {
    clearInterval(this.heartbeatTimer);
    // Without pub/sub the stored snapshot is all a monitor sees: mark it stopping while the backend is open.
    if (!this.publisher) void this.store(this.snapshot());
  }

  private heartbeat(): void {
    this.options.sentinel.sampleWorkerMemory();
    const snapshot = this.snapshot();
    for (const worker of snapshot.workers) {
      this.lastSeen.set(worker.id, { rssBytes: worker.rssBytes, tasksDone: worker.tasksDone, busy: 0 });
    }
    if (this.publisher) for (const event of heartbeatsOf(snapshot)) this.publisher.push(event);
    else void this.store(snapshot);
  }

  private async store(snapshot: ClusterSnapshot): Promise<void> {
    try {
      await this.options.results.save(statsRecordOf(snapshot));
    } catch (error) {
      this.options.logger.warn({}, `storing cluster stats failed: ${(error as Error).message}`);
    }
  }

  private clusterEvent(type: ClusterEvent['type'], snapshot: ClusterSnapshot): ClusterEvent {
    const [heartbeat] = heartbeatsOf(snapshot);
    return { ...heartbeat, type, at: this.options.clock.now() };
  }
}
