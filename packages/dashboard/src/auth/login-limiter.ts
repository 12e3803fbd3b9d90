/**
 * Failed sign-ins per client address in a sliding window: past `maxFailures`, that address waits until
 * its oldest failure leaves the window. Guessing a password at 5 tries a minute takes lifetimes.
 */
export interface LoginLimiterOptions {
  /** Failures allowed per address within the window. Default 5. */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
  }

  /** 0 when `address` may try now; else how long it must wait, in ms. */
  retryAfterMs(address: string, now: number): number {
    const recent = this.recent(address, now);
    if (recent.length < this.maxFailures) return 0;
    return recent[recent.length - this.maxFailures]! + this.windowMs - now;
  }

  fail(address: string, now: number): void {
    if (this.failures.size > 10_000) {
      for (const key of this.failures.keys())
        if (this.recent(key, now).length === 0) this.failures.delete(key);
    }
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.set(address, recent);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, now: number): number[] {
    return (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
  }
}
