/**
 * Hands every failed attempt to the configured error reporter (`errorReporter: { module, options }`).
 * The monitor's hot path never waits for a reporter: a report is started and tracked, its failure is
 * logged (the first one only, then counted) and swallowed. On stop, what is in flight is awaited, then
 * the reporter is flushed and closed, each step bounded, before the broker connection closes.
 */
import { type ErrorReporter, type Logger, redact, type TaskFailureReport, type TaskResult } from '@tasq/core';
import type { HeldPackage } from './held-package.js';

/** Longest the stop waits for each of: reports in flight, flush, close. */
export const REPORTER_STOP_TIMEOUT_MS = 2_000;

export class FailureReporting {
  private readonly inFlight = new Set<Promise<void>>();
  private failures = 0;

  constructor(
    private readonly reporter: ErrorReporter,
    private readonly wantsArgs: boolean,
    private readonly cluster: string,
    private readonly logger: Logger,
  ) {}

  /** Reports the reporter could not take (it threw or its promise rejected). */
  get reporterFailures(): number {
    return this.failures;
  }

  /** Tell the reporter about one failed attempt. Returns at once. */
  report(entry: HeldPackage, result: TaskResult, final: boolean): void {
    const failure: TaskFailureReport = {
      task: entry.pkg.name,
      jobId: entry.pkg.id,
      queue: entry.delivery.queue,
      attempt: entry.delivery.deliveries,
      final,
      error: result.error ?? { name: 'Error', message: 'failed' },
      cluster: this.cluster,
      startedAt: result.startedAt,
      stoppedAt: result.stoppedAt,
      ...(this.wantsArgs ? { args: redact(entry.pkg.args) as unknown[] } : {}),
    };
    let outcome: void | Promise<void>;
    try {
      outcome = this.reporter.report(failure);
    } catch (error) {
      this.failed(error);
      return;
    }
    if (outcome && typeof (outcome as Promise<void>).then === 'function') {
      const tracked = (outcome as Promise<void>).then(
        () => undefined,
        (error: unknown) => this.failed(error),
      );
      this.inFlight.add(tracked);
      void tracked.finally(() => this.inFlight.delete(tracked));
    }
  }

  /** Wait for reports in flight, then flush and close the reporter; never throws. */
  async close(timeoutMs = REPORTER_STOP_TIMEOUT_MS): Promise<void> {
    await withTimeout(Promise.allSettled([...this.inFlight]), timeoutMs);
    for (const step of ['flush', 'close'] as const) {
      const call = this.reporter[step];
      if (!call) continue;
      try {
        await withTimeout(call.call(this.reporter, timeoutMs), timeoutMs + 100);
      } catch (error) {
        this.logger.warn(
          { reporter: this.reporter.name },
          `error reporter ${step} failed: ${message(error)}`,
        );
      }
    }
    if (this.failures > 1) {
      this.logger.warn(
        { reporter: this.reporter.name, failures: this.failures },
        'error reporter failures while running',
      );
    }
  }

  private failed(error: unknown): void {
    this.failures++;
    if (this.failures === 1) {
      this.logger.warn(
        { reporter: this.reporter.name },
        `error reporter failed: ${message(error)} (further failures are counted, not logged)`,
      );
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
