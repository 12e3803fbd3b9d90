import {
  InvalidArgumentError,
  type Logger,
  type RateLimit,
  type RateLimitDecision,
  type RateLimiter,
  silentLogger,
} from '@tasq/core/backend';
import {
  closeClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { type RedisCall, redisCallsThrough } from './redis-errors.js';
import { deploymentPrefix, rateLimitKey } from './redis-keys.js';
import { runScript } from './redis-scripts.js';
import { checkInteger } from './redis-validation.js';

/** Options of {@link RedisRateLimiter}: the broker's connection options, and where to log. */
export interface RedisRateLimiterOptions extends RedisConnectionOptions {
  logger?: Logger;
}

/** Longest limit key accepted (the Redis key adds the prefix). */
const MAX_KEY_LENGTH = 512;
/** Largest count: far above any useful rate, and small enough that period / count stays a sane double. */
const MAX_COUNT = 1_000_000_000;
/** Longest period: one year, in ms. */
const MAX_PERIOD_MS = 365 * 24 * 3600 * 1000;

/**
 * Cluster-wide rate limits on Redis: GCRA (a token bucket stored as one timestamp) in one Lua script per
 * take, timed by the Redis server's clock, so every cluster and machine shares one limit whatever their
 * own clocks say. A limit's key (`<prefix>:rate-limit:<key>`) expires once its bucket would be full
 * again, so limits that go idle leave nothing behind. See `lua/rate-limit-take.lua` for the arithmetic.
 */
export class RedisRateLimiter implements RateLimiter {
  /** The key prefix of this deployment. */
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly withErrors: RedisCall;
  private readonly ownsClient: boolean;
  private closed = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisRateLimiterOptions = {}) {
    this.prefix = deploymentPrefix(options.prefix, options.deployment);
    const logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options, logger, 'redis rate limiter connection');
    this.client = client;
    this.withErrors = redisCallsThrough(client);
    this.ownsClient = owned;
  }

  /**
   * Take `tokens` from `key` under `limit` (one round trip). Throws `InvalidArgumentError` for a bad key or
   * limit, or for `tokens` above `limit.count` (such a take could never be allowed), before any network
   * call; `BrokerConnectionError` when Redis cannot be reached (nothing was taken, or the reply was lost).
   */
  async tryTake(key: string, limit: RateLimit, tokens = 1): Promise<RateLimitDecision> {
    if (this.closed) throw new InvalidArgumentError('the Redis rate limiter is closed');
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new InvalidArgumentError(
        `rate limit key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`,
      );
    }
    if (typeof limit !== 'object' || limit === null) {
      throw new InvalidArgumentError('rate limit must be an object { count, perMs }');
    }
    const count = checkInteger('rate limit count', limit.count, 1, MAX_COUNT);
    const perMs = limit.perMs;
    if (typeof perMs !== 'number' || !Number.isFinite(perMs) || perMs <= 0 || perMs > MAX_PERIOD_MS) {
      throw new InvalidArgumentError(
        `rate limit perMs must be a number of milliseconds above 0 and at most ${MAX_PERIOD_MS}, got ${String(perMs)}`,
      );
    }
    checkInteger('rate limit tokens', tokens, 1, MAX_COUNT);
    if (tokens > count) {
      throw new InvalidArgumentError(
        `cannot take ${tokens} tokens from rate limit "${key}" of ${count} per ${perMs} ms: a take above the count is never allowed`,
      );
    }
    const [allowed, retryInMs] = (await this.withErrors('rate limit take', () =>
      runScript(this.client, 'tasqRateLimitTake', rateLimitKey(this.prefix, key), count, perMs, tokens),
    )) as [number, number];
    return { allowed: allowed === 1, retryInMs };
  }

  /** Close the connection this instance opened (never a client it was given). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await closeClient(this.client);
  }
}
