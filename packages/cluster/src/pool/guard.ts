/**
 * The guard: decides when a worker is recycled (after `recycle` tasks, or above `maxRss` once its runs
 * are done), kills one whose memory passes the hard ceiling while it runs, and, every `guardCycle`,
 * replaces missing workers, waiting longer after each start that failed so a broken tasks module does
 * not become a fork loop. It decides; the pool carries out.
 */
import type { Clock, Logger } from '@tasq/core';
import { after, type CancelTimer, every } from '../runtime/clock-timers.js';
import type { ClusterEmitter } from '../runtime/events.js';
import type { RetireReason, WorkerSlot } from './worker-slot.js';

/** The hard memory ceiling, as a multiple of maxRss: past it a running task's worker is killed. */
export const HARD_RSS_FACTOR = 2;

export interface GuardSettings {
  concurrency: number;
  recycle: number;
  maxRssBytes?: number;
  guardCycleMs: number;
}

/** What the guard may ask of the pool. */
export interface GuardedPool {
  slots(): Iterable<WorkerSlot>;
  /** Workers short of the pool's size (retiring ones do not count). */
  missing(): number;
  spawn(): void;
  startSuccessor(slot: WorkerSlot): void;
  retire(slot: WorkerSlot, reason: RetireReason): void;
}

export class Guard {
  private spawnFailures = 0;
  /** How long the latest worker took from its start to ready (ms): what a successor needs in advance. */
  private startupMs = 0;
  private cancelCycle: CancelTimer | undefined;
  private cancelRespawn: CancelTimer | undefined;
  private stopped = false;

  constructor(
    private readonly pool: GuardedPool,
    private readonly settings: GuardSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events: ClusterEmitter,
  ) {}

  start(): void {
    this.cancelCycle ??= every(this.clock, this.settings.guardCycleMs, () => this.cycle());
  }

  stop(): void {
    this.stopped = true;
    this.cancelCycle?.();
    this.cancelRespawn?.();
  }

  workerReady(startupMs = 0): void {
    this.spawnFailures = 0;
    this.startupMs = startupMs;
  }

  spawnFailed(error: unknown): void {
    this.spawnFailures++;
    this.logger.error(
      { failures: this.spawnFailures },
      `starting a worker failed: ${String((error as Error)?.message ?? error)}`,
    );
    // The guard cycle starts the missing workers, after a pause that grows with the failures.
  }

  /**
   * A fresh process takes 100-300 ms to import the tasks (more on a busy machine); a worker nearing
   * `recycle` gets its successor started this many tasks early, so the pool is never empty while the old
   * one retires: at least what the worker runs at its own pace during twice the last start-up, so a fast
   * worker's successor is ready before the old one stops taking runs.
   */
  private prestartMargin(slot: WorkerSlot): number {
    const { concurrency, recycle } = this.settings;
    const elapsedMs = slot.readyAt === undefined ? 0 : this.clock.now() - slot.readyAt;
    // The pace only once the worker has run for a start-up's length: a first burst of runs right after
    // ready would look like a pace that starts a successor (a second process) far too early.
    const duringStartup =
      elapsedMs > 0 && elapsedMs >= this.startupMs
        ? Math.ceil((slot.tasksDone / elapsedMs) * this.startupMs * 2)
        : 0;
    return Math.max(concurrency * 2, Math.ceil(recycle / 10), duringStartup);
  }

  /** After a worker reported finished runs: recycle it, or start its successor early. */
  afterRuns(slot: WorkerSlot): void {
    if (slot.retiring) {
      if (slot.running.size === 0) slot.handle.send({ type: 'retire' });
      return;
    }
    const { maxRssBytes, recycle } = this.settings;
    const overMemory = maxRssBytes !== undefined && (slot.rssBytes ?? 0) > maxRssBytes;
    if (overMemory || slot.tasksDone >= recycle) {
      this.pool.startSuccessor(slot);
      this.pool.retire(slot, overMemory ? 'max-rss' : 'recycle');
    } else if (slot.tasksDone >= recycle - this.prestartMargin(slot)) {
      this.pool.startSuccessor(slot);
    }
  }

  /** The supervisor cycle: replace missing workers, watch memory while tasks run. */
  cycle(): void {
    if (this.stopped) return;
    if (this.pool.missing() > 0 && !this.cancelRespawn) {
      const pause =
        this.spawnFailures === 0 ? 0 : Math.min(30_000, 250 * 2 ** Math.min(this.spawnFailures, 7));
      this.cancelRespawn = after(this.clock, pause, () => {
        this.cancelRespawn = undefined;
        if (this.stopped) return;
        const stillMissing = this.pool.missing();
        for (let i = 0; i < stillMissing; i++) this.pool.spawn();
      });
    }
    if (this.settings.maxRssBytes === undefined) return;
    for (const slot of this.pool.slots()) {
      if (slot.running.size === 0) continue;
      const rss = slot.handle.sampleRssBytes();
      if (rss !== undefined) {
        slot.rssBytes = rss;
        this.checkMemory(slot, rss);
      }
    }
  }

  /** Past the hard ceiling while running: mark its runs and kill the worker (they fail as memory failures). */
  checkMemory(slot: WorkerSlot, rssBytes: number): void {
    const { maxRssBytes } = this.settings;
    if (maxRssBytes === undefined || slot.running.size === 0) return;
    const limitBytes = maxRssBytes * HARD_RSS_FACTOR;
    if (rssBytes <= limitBytes) return;
    for (const entry of slot.running.values()) {
      if (entry.memoryExceeded || entry.timedOutAfterMs !== undefined) continue;
      entry.memoryExceeded = { rssBytes, limitBytes };
      this.events.emit('task-memory-exceeded', { ...entry.ref, workerId: slot.id, rssBytes, limitBytes });
    }
    slot.handle.kill();
  }
}
