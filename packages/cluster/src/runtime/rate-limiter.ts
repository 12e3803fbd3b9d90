/**
 * Rate limits as token buckets: "100/s" holds up to 100 tokens and refills 100 per second, so a burst of
 * the full count is allowed after an idle second and the long-run rate never exceeds the limit. Time comes
 * from a Clock, so tests move it instead of sleeping. Scope: one cluster (see README, "Rate limits").
 */
import { type Clock, parseRate } from '@tasq/core';

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  readonly capacity: number;
  private readonly perMs: number;

  constructor(
    rate: string,
    private readonly clock: Clock,
  ) {
    const parsed = parseRate(rate);
    if (!parsed) throw new TypeError(`invalid rate "${rate}": use "100/s", "10/m" or "1000/h"`);
    this.capacity = parsed.count;
    this.perMs = parsed.count / parsed.perMs;
    this.tokens = parsed.count;
    this.updatedAt = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** Take up to `wanted` whole tokens; returns how many were taken (0 when empty). */
  take(wanted: number): number {
    this.refill();
    const taken = Math.max(0, Math.min(wanted, Math.floor(this.tokens)));
    this.tokens -= taken;
    return taken;
  }

  /** Return tokens taken but not used (a reserve that came back short). */
  giveBack(count: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + count);
  }

  /** Milliseconds until one whole token is available (0 when one is). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil((1 - this.tokens) / this.perMs);
  }
}

/** The buckets of one cluster: by task name, and by queue (`queue:<name>` keys in `rateLimits`). */
export class RateLimits {
  private readonly byTask = new Map<string, TokenBucket>();
  private readonly byQueue = new Map<string, TokenBucket>();

  constructor(
    limits: Record<string, string>,
    private readonly clock: Clock,
  ) {
    for (const [key, rate] of Object.entries(limits)) {
      if (key.startsWith('queue:'))
        this.byQueue.set(key.slice('queue:'.length), new TokenBucket(rate, clock));
      else this.byTask.set(key, new TokenBucket(rate, clock));
    }
  }

  /** A task's own `rateLimit` option, used when the configuration has no entry for that task. */
  addTaskDefault(name: string, rate: string): void {
    if (!this.byTask.has(name)) this.byTask.set(name, new TokenBucket(rate, this.clock));
  }

  forQueue(queue: string): TokenBucket | undefined {
    return this.byQueue.get(queue);
  }

  forTask(name: string): TokenBucket | undefined {
    return this.byTask.get(name);
  }

  get empty(): boolean {
    return this.byTask.size === 0 && this.byQueue.size === 0;
  }
}
