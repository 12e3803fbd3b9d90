/**
 * Rate limits shared by every cluster that names the same key. A broker package offers one through its
 * plugin's `createRateLimiter` where the server has an atomic counter (Redis); elsewhere the cluster
 * enforces limits per cluster, in process.
 */

/** A rate: `count` tokens per `perMs` milliseconds (what `parseRate("100/s")` returns). */
export interface RateLimit {
  count: number;
  perMs: number;
}

/** The answer to one take. */
export interface RateLimitDecision {
  /** True when the tokens were taken. */
  allowed: boolean;
  /** When refused: milliseconds (at least 1) after which the same take would be allowed. 0 when allowed. */
  retryInMs: number;
}

export interface RateLimiter {
  /**
   * Take `tokens` (default 1) from the limit `key`, atomically, or take nothing and say how long to wait.
   * Token-bucket semantics: a burst of up to `limit.count`, never more than `count` per `perMs` over
   * time. Not idempotent: each allowed call consumes tokens. Callers sharing a key pass the same limit.
   */
  tryTake(key: string, limit: RateLimit, tokens?: number): Promise<RateLimitDecision>;
  /** Release connections. Idempotent. */
  close(): Promise<void>;
}
