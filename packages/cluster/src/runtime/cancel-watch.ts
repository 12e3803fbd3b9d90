/**
 * The cancel watch: finds the cancel marks an operator set on jobs this cluster already holds (waiting
 * for a worker or running), so a cancel reaches a run whatever machine it runs on. One read of the
 * broker's marks for every held job at most every `checkMs` (never a call per job), and none while the
 * cluster holds nothing. A cancel pushed over pub/sub (`tasq job cancel` on a deployment that has one)
 * arrives sooner through `Sentinel.cancelJob`; this read is what every deployment with marks can rely on.
 */
import type { Clock, Logger } from '@tasq/core';
import type { BrokerAdministration, CancelMark } from '@tasq/core/backend';
import { type CancelTimer, every } from './clock-timers.js';
import type { HeldPackage } from './held-package.js';

export interface CancelWatchOptions {
  /** The marks among these job ids (`administration.cancelMarks`). */
  read(jobIds: readonly string[]): Promise<CancelMark[]>;
  /** What the cluster holds now. */
  held(): Iterable<HeldPackage>;
  /** A held job was marked: stop it. */
  onMark(entry: HeldPackage, mark: CancelMark): void;
  clock: Clock;
  logger: Logger;
  /** How often the marks are read while something is held. Default 1 s. */
  checkMs?: number;
}

export const DEFAULT_CANCEL_CHECK_MS = 1_000;

export class CancelWatch {
  readonly checkMs: number;
  private cancel: CancelTimer | undefined;
  private reading = false;

  /** A watch over the broker's cancel marks; undefined where the broker keeps none. */
  static over(
    admin: BrokerAdministration | undefined,
    options: Omit<CancelWatchOptions, 'read'>,
  ): CancelWatch | undefined {
    if (!admin?.capabilities.cancelMarks || !admin.cancelMarks) return undefined;
    return new CancelWatch({ ...options, read: (ids) => admin.cancelMarks!(ids) });
  }

  constructor(private readonly options: CancelWatchOptions) {
    this.checkMs = options.checkMs ?? DEFAULT_CANCEL_CHECK_MS;
  }

  start(): void {
    this.cancel ??= every(this.options.clock, this.checkMs, () => void this.check());
  }

  stop(): void {
    this.cancel?.();
  }

  /** Read the marks of what is held now and stop the marked jobs. One read at a time. */
  async check(): Promise<void> {
    if (this.reading) return;
    const byId = new Map<string, HeldPackage>();
    for (const entry of this.options.held()) {
      if ((entry.state === 'buffered' || entry.state === 'running') && !entry.cancelled) {
        byId.set(entry.pkg.id, entry);
      }
    }
    if (byId.size === 0) return;
    this.reading = true;
    try {
      const marks = await this.options.read([...byId.keys()]);
      for (const mark of marks) {
        const entry = byId.get(mark.jobId);
        // It may have finished, or been stopped by a pushed cancel, while the read was out.
        if (entry && !entry.cancelled && entry.state !== 'settling') this.options.onMark(entry, mark);
      }
    } catch (error) {
      // The runs go on; the next read tries again.
      this.options.logger.warn(
        { err: String(error), jobs: byId.size },
        'reading cancel marks of held jobs failed',
      );
    } finally {
      this.reading = false;
    }
  }
}
