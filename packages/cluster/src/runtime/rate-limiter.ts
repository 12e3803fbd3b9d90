/**
 * Rate limits as token buckets: "100/s" holds up to 100 tokens and refills 100 per second, so a burst of
 * the full count is allowed after an idle second and the long-run rate never exceeds the limit. Time comes
 * from a Clock, so tests move it instead of sleeping.
 *
 * Two scopes (README, "Rate limits"): by default each cluster keeps its own buckets; when the broker
 * package offers a cluster-wide limiter (`createRateLimiter`, e.g. Redis), `share()` switches every limit
 * to it, so clusters naming the same limit share one bucket.
 */
import type { Clock, Logger } from '@tasq/core';
import type { RateLimit, RateLimiter } from '@tasq/core/backend';
import { parseRate } from '@tasq/core/internal';

/** How far a cluster's rate limits reach; `none` when it has none. */
export type RateLimitScope = 'none' | 'cluster' | 'shared';

/** What the dispatcher asks before a package is handed to a worker. */
export interface StartGate {
  /** True when a token is available now. May start fetching one (then the gate wakes the dispatcher). */
  ready(): boolean;
  /** Use the token `ready()` found. */
  consume(): void;
  /** Milliseconds until `ready()` may turn true without being woken (0: the gate wakes the dispatcher). */
  waitMs(): number;
}

export class TokenBucket implements StartGate {
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

  ready(): boolean {
    return this.waitMs() === 0;
  }

  consume(): void {
    this.take(1);
  }

  /** Milliseconds until one whole token is available (0 when one is). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil((1 - this.tokens) / this.perMs);
  }
}

/**
 * A limit held in the shared limiter. One take (one token) in flight at a time per limit; a granted
 * token is kept here until a package uses it, so a token is always taken before the run it pays for
 * starts, and a package waiting for a second limit (task and queue) does not waste the first.
 */
class SharedGate implements StartGate {
  private granted = 0;
  private inFlight = false;
  /** Refused: waiting out `retryInMs` before asking again. */
  private waiting = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly key: string,
    private readonly limit: RateLimit,
    private readonly owner: SharedLimiter,
  ) {}

  ready(): boolean {
    if (this.granted > 0) return true;
    this.request();
    return false;
  }

  consume(): void {
    this.granted--;
  }

  waitMs(): number {
    return 0;
  }

  close(): void {
    clearTimeout(this.timer);
  }

  private request(): void {
    if (this.inFlight || this.waiting || this.owner.closed) return;
    this.inFlight = true;
    this.owner.limiter
      .tryTake(this.key, this.limit, 1)
      .then(
        (decision) => {
          if (decision.allowed) this.granted++;
          else this.pause(decision.retryInMs);
        },
        (error: unknown) => {
          this.owner.failed(this.key, error);
          this.pause(1_000);
        },
      )
      .finally(() => {
        this.inFlight = false;
        if (this.granted > 0) this.owner.wake();
      });
  }

  private pause(ms: number): void {
    this.waiting = true;
    clearTimeout(this.timer);
    // A timer, not a clock comparison: timers may fire a millisecond before Date.now() says they should.
    this.timer = setTimeout(() => {
      this.waiting = false;
      this.owner.wake();
    }, ms);
    this.timer.unref?.();
  }
}

interface SharedLimiter {
  limiter: RateLimiter;
  wake: () => void;
  failed: (key: string, error: unknown) => void;
  closed: boolean;
}

/**
 * The limits of one cluster, by task name and by queue (`queue:<name>` keys in `rateLimits`). Per
 * cluster: a queue limit is taken by the fetcher before a reserve, a task limit when a package is handed
 * to a worker. Shared: both are taken when a package is handed to a worker (the shared limiter cannot
 * give tokens back, so nothing is taken for a reserve that may come back short).
 */
export class RateLimits {
  private readonly rates = new Map<string, string>();
  private readonly byTask = new Map<string, TokenBucket>();
  private readonly byQueue = new Map<string, TokenBucket>();
  private readonly gates = new Map<string, SharedGate>();
  private shared: SharedLimiter | undefined;

  constructor(
    limits: Record<string, string>,
    private readonly clock: Clock,
  ) {
    for (const [key, rate] of Object.entries(limits)) {
      this.rates.set(key, rate);
      if (key.startsWith('queue:'))
        this.byQueue.set(key.slice('queue:'.length), new TokenBucket(rate, clock));
      else this.byTask.set(key, new TokenBucket(rate, clock));
    }
  }

  /** A task's own `rateLimit` option, used when the configuration has no entry for that task. */
  addTaskDefault(name: string, rate: string): void {
    if (this.rates.has(name)) return;
    this.rates.set(name, rate);
    this.byTask.set(name, new TokenBucket(rate, this.clock));
  }

  /**
   * Enforce every limit through a cluster-wide limiter from now on. `wake` runs the dispatcher again
   * when a token arrives or a wait is over.
   */
  share(limiter: RateLimiter, wake: () => void, logger: Logger): void {
    let failures = 0;
    this.shared = {
      limiter,
      wake,
      closed: false,
      failed: (key, error) => {
        // A limiter that cannot answer holds packages back (never lets them through unlimited).
        if (failures++ === 0)
          logger.warn({ key }, `rate limiter failed, retrying every second: ${(error as Error).message}`);
      },
    };
  }

  /** `none` (no limits configured), `cluster` (in-process buckets) or `shared` (a cluster-wide limiter). */
  get scope(): RateLimitScope {
    if (this.empty) return 'none';
    return this.shared ? 'shared' : 'cluster';
  }

  /** The fetcher's limit for `queue` (per-cluster scope only). */
  forQueue(queue: string): TokenBucket | undefined {
    return this.shared ? undefined : this.byQueue.get(queue);
  }

  forTask(name: string): TokenBucket | undefined {
    return this.byTask.get(name);
  }

  /** What must allow a package of task `name` from `queue` before it starts. */
  gatesFor(name: string, queue: string): StartGate[] {
    if (!this.shared) {
      const bucket = this.byTask.get(name);
      return bucket ? [bucket] : [];
    }
    const gates: StartGate[] = [];
    for (const key of [name, `queue:${queue}`]) {
      const gate = this.sharedGate(key);
      if (gate) gates.push(gate);
    }
    return gates;
  }

  get empty(): boolean {
    return this.rates.size === 0;
  }

  /** Stop waking the dispatcher (the limiter itself is closed with the client). */
  close(): void {
    for (const gate of this.gates.values()) gate.close();
    if (this.shared) this.shared.closed = true;
  }

  private sharedGate(key: string): SharedGate | undefined {
    let gate = this.gates.get(key);
    if (!gate) {
      const rate = this.rates.get(key);
      const limit = rate === undefined ? undefined : parseRate(rate);
      if (!limit || !this.shared) return undefined;
      gate = new SharedGate(key.startsWith('queue:') ? key : `task:${key}`, limit, this.shared);
      this.gates.set(key, gate);
    }
    return gate;
  }
}
