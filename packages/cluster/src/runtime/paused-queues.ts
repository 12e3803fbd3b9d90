/**
 * The queues an operator paused (`tasq queue pause`), as the fetcher sees them: one read of the broker's
 * pause flags at most every `refreshMs`, shared by every reserve loop, so a pause costs no round trip per
 * reserve and a pause or resume is seen within `refreshMs` (plus one read).
 */
import type { Clock, Logger } from '@tasq/core';

export interface PausedQueuesOptions {
  /** One read of every paused queue (`administration.pausedQueues`). */
  read(): Promise<string[]>;
  clock: Clock;
  logger: Logger;
  /** How old the last read may be before a check reads again. */
  refreshMs?: number;
}

export class PausedQueues {
  readonly refreshMs: number;
  private paused = new Set<string>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: PausedQueuesOptions) {
    this.refreshMs = options.refreshMs ?? 1_000;
  }

  /**
   * Whether `queue` is paused, by a read at most `refreshMs` old: answered at once from a fresh read
   * (most checks), after one shared read otherwise.
   */
  isPaused(queue: string): boolean | Promise<boolean> {
    if (this.options.clock.now() - this.readAt < this.refreshMs) return this.paused.has(queue);
    return this.refresh().then(() => this.paused.has(queue));
  }

  /**
   * How long the last read stays fresh. A reserve waits no longer than this: one that started before a
   * pause landed would otherwise still take the queue's new jobs for the rest of its wait.
   */
  freshForMs(): number {
    return Math.max(0, this.readAt + this.refreshMs - this.options.clock.now());
  }

  /** Read the flags now (one read shared by every caller that asks meanwhile). */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    try {
      this.paused = new Set(await this.options.read());
    } catch (error) {
      // The last known flags stay in force: an unreachable broker cannot hand out packages anyway.
      this.options.logger.warn({ err: String(error) }, 'reading the paused queues failed');
    } finally {
      this.readAt = this.options.clock.now();
    }
  }
}
