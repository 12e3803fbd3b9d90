/**
 * The scheduler engine: one loop per cluster, of which only the holder of the leader lock does any work.
 * Each tick it takes the due schedules and, for each due slot,
 *
 *   1. claims the (schedule, slot) pair in the result backend (claimOnce): a slot is enqueued once even
 *      when leadership changes hands mid-slot or a clock jumps back;
 *   2. enqueues the job (its id derived from the pair);
 *   3. moves the schedule to its next slot with a compare-and-set in the store.
 *
 * A crash between 1 and 2 loses that one slot (it is claimed but never sent); a crash between 2 and 3 is
 * harmless (the next tick finds the slot claimed and only moves the schedule on). Losing a slot rather
 * than running it twice is the deliberate choice for periodic jobs. An enqueue that fails because the
 * broker is unreachable is not a crash: the claim is given back and the schedule left on its slot, so
 * the next tick sends it. Any other failed enqueue (a task option the broker refuses) skips the slot.
 */
import { type Clock, systemClock } from '../clock.js';
import { BrokerConnectionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ScheduleRecord, ScheduleStore } from '../schedule-store.js';
import { advance } from './next-run.js';

export interface SchedulerOptions {
  store: ScheduleStore;
  /** Atomic once-per-key claim, shared by every cluster (the result backend's claimOnce). */
  claim: (key: string) => Promise<boolean>;
  /** Give a claim back (the result backend's releaseClaim); without it, a failed enqueue skips its slot. */
  release?: (key: string) => Promise<void>;
  /** Send one run of a schedule; `jobId` is stable for the (schedule, slot) pair. */
  enqueue: (schedule: ScheduleRecord, slotAt: number, jobId: string) => Promise<void>;
  /** This cluster's identity for the leader lock. */
  owner: string;
  /** Lock name: one scheduler per deployment. */
  lockName?: string;
  /** How long leadership lasts without renewal; a dead leader is replaced after this. Default 10 s. */
  leaseMs?: number;
  /** Tick interval. Default 1 s. */
  intervalMs?: number;
  catchUp?: boolean;
  defaultTimeZone?: string;
  clock?: Clock;
  logger?: Logger;
}

export class Scheduler {
  private readonly options: Required<Omit<SchedulerOptions, 'clock' | 'logger' | 'release'>> & {
    clock: Clock;
    logger: Logger;
    release?: (key: string) => Promise<void>;
  };
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private leader = false;

  constructor(options: SchedulerOptions) {
    this.options = {
      lockName: 'scheduler',
      leaseMs: 10_000,
      intervalMs: 1000,
      catchUp: true,
      defaultTimeZone: 'UTC',
      clock: systemClock,
      logger: silentLogger,
      ...options,
    };
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** One pass: take or renew leadership, then run what is due. Returns how many jobs were enqueued. */
  async tick(): Promise<number> {
    const { store, clock, leaseMs } = this.options;
    if (!(await this.renew())) return 0;
    let renewedAt = clock.now();
    let enqueued = 0;
    // Catch-up after long downtime can mean hundreds of slots, each a few round trips: renew the lease
    // as the pass goes (every third of it), so a busy leader is not replaced halfway through, and stop
    // at once if leadership was lost meanwhile.
    for (let pass = 0; pass < 100; pass++) {
      const due = await store.due(clock.now(), 100);
      if (due.length === 0) break;
      for (const schedule of due) {
        if (clock.now() - renewedAt > leaseMs / 3) {
          if (!(await this.renew())) return enqueued;
          renewedAt = clock.now();
        }
        enqueued += await this.runSlot(schedule, clock.now());
      }
    }
    return enqueued;
  }

  /** Take or renew the leader lock; log when leadership changes hands. */
  private async renew(): Promise<boolean> {
    const { store, owner, lockName, leaseMs, logger } = this.options;
    const wasLeader = this.leader;
    this.leader = await store.acquireLeadership(lockName, owner, leaseMs);
    if (this.leader !== wasLeader) {
      logger.info(
        { owner, leader: this.leader },
        this.leader ? 'scheduler leadership taken' : 'scheduler leadership lost',
      );
    }
    return this.leader;
  }

  private async runSlot(schedule: ScheduleRecord, now: number): Promise<number> {
    const { store, claim, release, enqueue, catchUp, defaultTimeZone, logger } = this.options;
    const slot = schedule.nextRunAt;
    const jobId = `schedule-${schedule.id}-${slot}`;
    const claimKey = `schedule:${schedule.id}:${slot}`;
    let sent = 0;
    if (await claim(claimKey)) {
      try {
        await enqueue(schedule, slot, jobId);
        sent = 1;
      } catch (error) {
        if (release && error instanceof BrokerConnectionError) {
          await release(claimKey);
          logger.warn(
            { schedule: schedule.name, slot: new Date(slot).toISOString(), error: error.message },
            'scheduled enqueue failed: the broker is unreachable; the slot is sent on a later tick',
          );
          // Ends this tick with the schedule still on its slot: nothing else would reach the broker either.
          throw error;
        }
        logger.error(
          { schedule: schedule.name, slot: new Date(slot).toISOString(), error: (error as Error).message },
          'scheduled enqueue failed; slot skipped',
        );
      }
    }
    const next = advance(schedule, slot, now, catchUp, defaultTimeZone);
    await store.recordRun(schedule.id, slot, next);
    return sent;
  }

  /** Tick every interval until stopped; errors are logged and the loop goes on. */
  start(): void {
    if (this.running) return;
    const { clock, intervalMs, logger, store, owner, lockName } = this.options;
    const signal = this.stopping.signal;
    this.running = (async () => {
      while (!signal.aborted) {
        try {
          await this.tick();
        } catch (error) {
          logger.warn({ error: (error as Error).message }, 'scheduler tick failed');
        }
        await clock.sleep(intervalMs, signal).catch(() => undefined);
      }
      if (this.leader) await store.releaseLeadership(lockName, owner).catch(() => undefined);
      this.leader = false;
    })();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}
