/**
 * The monitor carries out what `decideOutcome` decided for a finished run: saves the result, sends the
 * follow-ups (hook, next chain link, chord callback), then acks, releases, dead-letters or re-enqueues.
 * Every delivery is settled here and nowhere else.
 *
 * Order: save → follow-ups → settle. A cluster that dies between the save and the ack sees the package
 * again and runs it again (at-least-once); the result is stored under the job id, so it is stored once.
 * A run whose lease was lost (an extend failed, or the lease ran out and the broker says it moved on) is
 * counted as a late completion and not applied at all: its package belongs to another delivery now.
 */
import {
  type BrokerClient,
  type Clock,
  encodeStoredValue,
  LeaseLostError,
  type Logger,
  retryWhileUnreachable,
  type TaskResult,
  type Tasq,
} from '@tasq/core';
import type { ClusterEmitter, ClusterStats } from './events.js';
import type { FailureReporting } from './failure-reporting.js';
import type { HeldPackage } from './held-package.js';
import { decideOutcome, type OutcomeAction, type OutcomeDecision, type OutcomeSettings } from './outcome.js';

export interface MonitorOptions {
  tasq: Tasq;
  clock: Clock;
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
  settings: OutcomeSettings & { saveLimitPer?: 'name' | 'group' };
}

/** The least time between two prunes of the result backend. */
const PRUNE_MIN_INTERVAL_MS = 1_000;
/** Pauses between tries of a settle call while the broker is unreachable. */
const SETTLE_RETRY_PAUSES_MS = [100, 500, 2_000];

export class Monitor {
  private readonly broker: BrokerClient;
  private readonly pending = new Set<Promise<void>>();
  private lastPruneAt = 0;
  private pruning: Promise<void> | undefined;
  /** The configured error reporter, told about every failed attempt (set at start). */
  reporting: FailureReporting | undefined;

  constructor(private readonly options: MonitorOptions) {
    this.broker = options.tasq.broker;
  }

  /** Settlements still in flight (stop waits for them before closing the broker). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.pruning;
  }

  /** Handle a finished run. Never throws; resolves when the delivery is settled. */
  complete(entry: HeldPackage, result: TaskResult, how: { workerLost?: boolean } = {}): Promise<void> {
    const work = this.settleRun(entry, result, how).catch((error) => {
      this.options.logger.error({ jobId: entry.ref.id, err: String(error) }, 'settling a run failed');
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    return work;
  }

  /** Give a package back without running it (stop, lost worker before start, eta not reached). */
  release(entry: HeldPackage, delayMs: number, reason: string): Promise<void> {
    const work = this.settle(entry, 'release', () =>
      this.broker.release(entry.delivery, { delayMs, allowDelayHops: true }),
    ).then((ok) => {
      if (!ok) return;
      this.options.stats.released++;
      this.options.events.emit('task-released', { ...entry.ref, reason, delayMs });
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    return work;
  }

  /** Dead-letter a package that cannot be decoded; nothing of its payload is logged. */
  rejectDelivery(delivery: HeldPackage['delivery'], reason: string): Promise<void> {
    const work = (async () => {
      try {
        await this.withRetries(() => this.broker.deadLetter(delivery, reason));
      } catch (error) {
        this.options.logger.warn(
          { deliveryId: delivery.id, queue: delivery.queue, err: String(error) },
          'could not dead-letter a rejected package',
        );
      }
    })();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    return work;
  }

  private async settleRun(entry: HeldPackage, ran: TaskResult, how: { workerLost?: boolean }): Promise<void> {
    const { events, stats, tasq, logger } = this.options;
    entry.state = 'settling';
    const runtimeMs = Math.max(0, ran.stoppedAt - ran.startedAt);
    // Most runs end well inside their lease: only a lease near its end costs a call (and an await).
    const leased = this.leaseSurelyHeld(entry) || (await this.stillLeased(entry));
    if (!leased) {
      stats.lateCompletions++;
      events.emit('late-completion', entry.ref);
      return;
    }
    let result = ran;
    let decision = this.decide(entry, result, how);
    let action = decision.action;
    if (decision.save) {
      try {
        await tasq.results.save(result);
        if (result.status === 'success') this.maybePrune();
      } catch (error) {
        ({ result, decision, action } = await this.afterFailedSave(entry, result, decision, how, error));
      }
    }
    const followed =
      entry.pkg.hook !== undefined || (entry.pkg.chain?.length ?? 0) > 0 || entry.pkg.chord !== undefined;
    if (decision.final && followed && action === decision.action) {
      try {
        await tasq.sendFollowUps(entry.pkg, result);
      } catch (error) {
        // Acked, the job would take its chain link or chord callback with it: run it again instead, and
        // that run sends them (their ids are fixed, so none goes out twice).
        logger.error(
          { jobId: entry.ref.id, err: String(error) },
          'enqueueing follow-ups failed; releasing the job so its next run sends them',
        );
        action = {
          kind: 'release',
          delayMs: 1_000,
          reason: `follow-ups: ${(error as Error)?.message ?? String(error)}`,
        };
      }
    }

    if (result.status === 'success') {
      stats.succeeded++;
      events.emit('task-succeeded', { ...entry.ref, runtimeMs });
    } else {
      stats.failed++;
      events.emit('task-failed', {
        ...entry.ref,
        runtimeMs,
        error: `${result.error?.name ?? 'Error'}: ${result.error?.message ?? 'failed'}`,
        final: decision.final,
        action: action.kind,
      });
      // Final only when nothing changed the decision (a failed save releases the job: it runs again).
      this.reporting?.report(entry, result, decision.final && action === decision.action);
    }

    switch (action.kind) {
      case 'ack':
        await this.settle(entry, 'ack', () => this.broker.ack(entry.delivery));
        return;
      case 'release':
        if (
          await this.settle(entry, 'release', () =>
            this.broker.release(entry.delivery, { delayMs: action.delayMs, allowDelayHops: true }),
          )
        ) {
          stats.released++;
          events.emit('task-released', { ...entry.ref, reason: action.reason, delayMs: action.delayMs });
        }
        return;
      case 'dead-letter':
        if (
          await this.settle(entry, 'deadLetter', () => this.broker.deadLetter(entry.delivery, action.reason))
        ) {
          stats.deadLettered++;
          events.emit('task-dead-lettered', { ...entry.ref, reason: action.reason });
        }
        return;
      case 'retry': {
        const next = {
          ...entry.pkg,
          attempt: action.attempt,
          ...(action.delayMs > 0 ? { eta: this.options.clock.now() + action.delayMs } : {}),
        };
        if (action.delayMs === 0) delete next.eta;
        try {
          await tasq.send([next]);
        } catch (error) {
          logger.error({ jobId: entry.ref.id, err: String(error) }, 'enqueueing the retry failed; releasing');
          await this.settle(entry, 'release', () =>
            this.broker.release(entry.delivery, { delayMs: action.delayMs, allowDelayHops: true }),
          );
          return;
        }
        stats.retried++;
        events.emit('task-retried', { ...entry.ref, attempt: action.attempt, delayMs: action.delayMs });
        await this.settle(entry, 'ack', () => this.broker.ack(entry.delivery));
        return;
      }
    }
  }

  /**
   * A save failed. A success whose value cannot be stored (a function, a Float64Array: it would fail the
   * same way on every run) becomes a failure that says why, decided and saved in its place. Any other
   * failure releases the job, to run again once the backend answers: nothing is lost. The returned
   * `action` differs from `decision.action` only then.
   */
  private async afterFailedSave(
    entry: HeldPackage,
    unsaved: TaskResult,
    unsavedDecision: OutcomeDecision,
    how: { workerLost?: boolean },
    error: unknown,
  ): Promise<{ result: TaskResult; decision: OutcomeDecision; action: OutcomeAction }> {
    let result = unsaved;
    let decision = unsavedDecision;
    let failure = error;
    const unstorable = unstorableValue(result);
    if (unstorable) {
      result = unstorable;
      decision = this.decide(entry, result, how);
      try {
        if (decision.save) await this.options.tasq.results.save(result);
        return { result, decision, action: decision.action };
      } catch (again) {
        failure = again;
      }
    }
    this.options.logger.error(
      { jobId: entry.ref.id, err: String(failure) },
      'saving the result failed; releasing the job',
    );
    const reason = `result backend: ${(failure as Error)?.message ?? String(failure)}`;
    return { result, decision, action: { kind: 'release', delayMs: 1_000, reason } };
  }

  private decide(entry: HeldPackage, result: TaskResult, how: { workerLost?: boolean }): OutcomeDecision {
    return decideOutcome(
      { pkg: entry.pkg, result, deliveries: entry.delivery.deliveries, workerLost: how.workerLost },
      this.options.settings,
    );
  }

  private leaseSurelyHeld(entry: HeldPackage): boolean {
    return (
      !entry.leaseLost && (this.options.clock.now() < entry.leaseUntil || !this.broker.capabilities.extend)
    );
  }

  /** True while this delivery's lease is ours. Past its end, the broker is asked (by extending it). */
  private async stillLeased(entry: HeldPackage): Promise<boolean> {
    if (entry.leaseLost) return false;
    if (this.leaseSurelyHeld(entry)) return true;
    try {
      await this.broker.extend(entry.delivery, this.options.settings.retryMs);
      entry.leaseUntil = this.options.clock.now() + this.options.settings.retryMs;
      return true;
    } catch (error) {
      if (error instanceof LeaseLostError) {
        entry.leaseLost = true;
        this.options.stats.leasesLost++;
        return false;
      }
      // Cannot tell: go on; the settle call itself will say if the lease moved on.
      return true;
    }
  }

  /** Run one settle call; true when it took effect. Connection errors are retried a few times. */
  private async settle(entry: HeldPackage, operation: string, call: () => Promise<void>): Promise<boolean> {
    try {
      await this.withRetries(call);
      return true;
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.options.stats.leasesLost++;
        this.options.events.emit('lease-lost', { ...entry.ref, operation });
      } else {
        this.options.events.emit('settle-error', { ...entry.ref, operation, error: String(error) });
      }
      return false;
    }
  }

  private withRetries(call: () => Promise<void>): Promise<void> {
    return retryWhileUnreachable(call, { pausesMs: SETTLE_RETRY_PAUSES_MS });
  }

  private maybePrune(): void {
    const { saveLimit, saveLimitPer } = this.options.settings;
    if (saveLimit <= 0) return;
    const now = this.options.clock.now();
    // At most one prune per second, however many saves: pruning is a scan, not a lookup.
    if (this.pruning || now - this.lastPruneAt < PRUNE_MIN_INTERVAL_MS) return;
    this.lastPruneAt = now;
    this.pruning = this.options.tasq.results
      .prune({ saveLimit, ...(saveLimitPer ? { per: saveLimitPer } : {}) })
      .then(
        () => undefined,
        (error) => this.options.logger.warn({ err: String(error) }, 'pruning results failed'),
      )
      .finally(() => {
        this.pruning = undefined;
      });
  }
}

/**
 * For a success whose value cannot be encoded as results are stored, the failure to store instead;
 * undefined when the value is not the problem. Asked only after a save failed, so runs that save pay nothing.
 */
function unstorableValue(result: TaskResult): TaskResult | undefined {
  if (result.status !== 'success') return undefined;
  try {
    encodeStoredValue(result.result);
    return undefined;
  } catch (error) {
    const { result: _unstorable, ...rest } = result;
    return {
      ...rest,
      status: 'failure',
      error: {
        name: 'UnstorableResultError',
        message: `the task's return value cannot be stored: ${(error as Error).message}`,
      },
    };
  }
}
