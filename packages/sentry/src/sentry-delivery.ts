/**
 * Tells the operator when events stop reaching Sentry, without one log line per failed task: the
 * first undelivered event is logged, later ones are only counted until a delivery succeeds again
 * (logged with the count) or the reporter is flushed at shutdown (logged with what was lost).
 *
 * The SDK itself only reports transport failures in its debug mode, which an application running
 * tasq rarely enables, so an outage of Sentry would otherwise go unnoticed.
 */
import type { Logger } from '@tasq/core';

export class DeliveryLog {
  private undelivered = 0;

  constructor(
    private readonly logger: Logger,
    /** Where events go, without the DSN's key: `https://o0.ingest.sentry.io/42`. */
    private readonly destination: string,
  ) {}

  /**
   * One send's outcome. `statusCode` is undefined when no HTTP answer came back (network error,
   * queue overflow, or events dropped while Sentry's rate limit lasts).
   */
  sent(statusCode: number | undefined): void {
    const delivered = statusCode !== undefined && statusCode >= 200 && statusCode < 300;
    if (!delivered) {
      this.undelivered += 1;
      if (this.undelivered === 1) {
        this.logger.warn(
          { destination: this.destination, statusCode },
          'sentry error reporter: an event was not delivered; further failures are counted until delivery works again',
        );
      }
      return;
    }
    if (this.undelivered > 0) {
      this.logger.info(
        { destination: this.destination, undelivered: this.undelivered },
        'sentry error reporter: delivering events again',
      );
      this.undelivered = 0;
    }
  }

  /** Log what was lost since the last successful delivery, if anything (called on flush). */
  summarize(): void {
    if (this.undelivered === 0) return;
    this.logger.warn(
      { destination: this.destination, undelivered: this.undelivered },
      'sentry error reporter: events not delivered to Sentry',
    );
    this.undelivered = 0;
  }
}

/** The DSN without its public key, for log lines. */
export function dsnDestination(dsn: string): string {
  const url = new URL(dsn);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
