/**
 * Dead-letter retention: keeps the dead letters of the queues a cluster consumes within the configured
 * `deadLetters` (none older than maxAge, at most the newest maxCount), through the broker's administration
 * capability (`trimDead`). Once soon after start, then every `intervalMs`. Several clusters trimming the
 * same queue is harmless: each deletes what is beyond the retention at that moment.
 */
import type { Clock, Logger } from '@tasq/core';
import type { BrokerAdministration, DeadLetterRetention } from '@tasq/core/backend';
import { after, type CancelTimer, every } from './clock-timers.js';

export interface DeadLetterRetentionOptions {
  admin: BrokerAdministration | undefined;
  retention: DeadLetterRetention | undefined;
  queues: readonly string[];
  clock: Clock;
  logger: Logger;
  /** Between trims. Default 10 minutes. */
  intervalMs?: number;
  /** Before the first trim. Default 5 s (the cluster's start is not held up by it). */
  firstAfterMs?: number;
}

export const DEAD_LETTER_TRIM_INTERVAL_MS = 10 * 60_000;

export class DeadLetterRetentionKeeper {
  private timers: CancelTimer[] = [];
  private trimming: Promise<number> | undefined;

  constructor(private readonly options: DeadLetterRetentionOptions) {}

  /** Whether this deployment trims at all: a retention is set and the broker can trim its dead letters. */
  get active(): boolean {
    const { admin, retention } = this.options;
    return (
      retention !== undefined && admin?.capabilities.deadLetters === true && admin.trimDead !== undefined
    );
  }

  start(): void {
    if (!this.active || this.timers.length > 0) return;
    const { clock } = this.options;
    this.timers.push(
      after(clock, this.options.firstAfterMs ?? 5_000, () => void this.trim()),
      every(clock, this.options.intervalMs ?? DEAD_LETTER_TRIM_INTERVAL_MS, () => void this.trim()),
    );
  }

  stop(): void {
    for (const cancel of this.timers) cancel();
    this.timers = [];
  }

  /** Trim every consumed queue now (one trim at a time); resolves with how many dead letters went. */
  trim(): Promise<number> {
    this.trimming ??= this.trimAll().finally(() => {
      this.trimming = undefined;
    });
    return this.trimming;
  }

  private async trimAll(): Promise<number> {
    const { admin, retention, queues, logger } = this.options;
    if (!this.active) return 0;
    let removed = 0;
    for (const queue of queues) {
      try {
        const count = await admin!.trimDead!(queue, retention!);
        removed += count;
        if (count > 0)
          logger.info({ queue, removed: count, ...retention }, 'dead letters beyond the retention deleted');
      } catch (error) {
        logger.warn(
          { queue, err: String(error) },
          'trimming dead letters failed; trying again at the next trim',
        );
      }
    }
    return removed;
  }
}
