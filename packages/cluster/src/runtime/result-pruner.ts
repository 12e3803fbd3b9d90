/**
 * Keeps `saveLimit` successes in the result backend. Pruning is a scan, not a lookup, so it runs at most
 * once a second however many results are saved; and once more after the last save of a burst (a
 * trailing prune, timed through the clock), so the limit holds within about a second of the work
 * stopping instead of waiting for the next job.
 */
import type { Clock, Logger } from '@tasq/core';
import type { ResultBackend } from '@tasq/core/backend';

/** The least time between two prunes. */
export const PRUNE_MIN_INTERVAL_MS = 1_000;

export interface ResultPrunerOptions {
  results: Pick<ResultBackend, 'prune'>;
  clock: Clock;
  logger: Logger;
  /** Successes kept; 0 or less: never prune. */
  saveLimit: number;
  saveLimitPer?: 'name' | 'group';
}

export class ResultPruner {
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  private pruning: Promise<void> | undefined;
  /** The next prune, waiting for the interval to pass (or for the one running to end). */
  private next: Promise<void> | undefined;
  /** Aborted by `flush`: the next prune runs at once. */
  private hurry = new AbortController();

  constructor(private readonly options: ResultPrunerOptions) {}

  /** A success was saved: prune now, or once the interval since the last prune has passed. */
  saved(): void {
    if (this.options.saveLimit <= 0 || this.next) return;
    this.next = this.pruneSoon();
  }

  /** Run a pending prune now and wait for it (the cluster is stopping). */
  async flush(): Promise<void> {
    this.hurry.abort();
    await this.next;
    await this.pruning;
    this.hurry = new AbortController();
  }

  private async pruneSoon(): Promise<void> {
    const { clock, results, logger, saveLimit, saveLimitPer } = this.options;
    await this.pruning;
    const waitMs = this.lastPruneAt + PRUNE_MIN_INTERVAL_MS - clock.now();
    if (waitMs > 0 && !this.hurry.signal.aborted) {
      await clock.sleep(waitMs, this.hurry.signal).catch(() => undefined);
    }
    // Saves from here on schedule the prune after this one, which will see them.
    this.next = undefined;
    this.lastPruneAt = clock.now();
    this.pruning = results
      .prune({ saveLimit, ...(saveLimitPer ? { per: saveLimitPer } : {}) })
      .then(
        () => undefined,
        (error) => logger.warn({ err: String(error) }, 'pruning results failed'),
      )
      .finally(() => {
        this.pruning = undefined;
      });
    await this.pruning;
  }
}
