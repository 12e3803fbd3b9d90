import { defineBrokerPlugin, type PluginContext, systemClock } from '@tasq/core/backend';
import { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisResultBackend, type RedisResultBackendOptions } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';

export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export type { RedisClient, RedisConnection, RedisConnectionOptions } from './redis-connection.js';
export { DEFAULT_PREFIX } from './redis-keys.js';
export { RedisPubSub, type RedisPubSubOptions } from './redis-pubsub.js';
export type { RateLimit, RateLimitDecision, RateLimiter } from '@tasq/core/backend';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
export { RedisResultBackend, type RedisResultBackendOptions } from './redis-result-backend.js';
export { RedisScheduleStore, type RedisScheduleStoreOptions } from './redis-schedule-store.js';

/**
 * Options of the `@tasq/redis` plugin: one connection description for broker, results and schedules. The
 * deployment comes from the configuration's `name`, not from here.
 */
export type RedisPluginOptions = Omit<RedisBrokerOptions, 'clock' | 'logger' | 'deployment'> &
  Pick<RedisResultBackendOptions, 'cached'>;

/**
 * Loaded by the cluster for `brokerClass: "@tasq/redis"` (or the `redis: "<url>"` shorthand). The options
 * may also be just a URL string. Broker, result backend, schedule store and pub/sub each open their own
 * connection from the same description. Keys start with the `prefix` (default `tasq`) for the deployment
 * named "default" and with `<prefix>:<deployment>` for any other, so deployments sharing a server stay apart.
 */
export default defineBrokerPlugin<RedisPluginOptions | string>({
  name: 'redis',
  createBroker: (options, context) => {
    const { cached: _cached, ...rest } = normalise(options, context);
    // The system clock is left out on purpose: the broker then reads the Redis server's clock, one
    // clock for every machine. A test clock (any other) is passed on.
    const clock = context.clock === systemClock ? undefined : context.clock;
    return new RedisBroker({ clock, logger: context.logger, ...rest });
  },
  createResultBackend: (options, context) => {
    const normalised = normalise(options, context);
    // The plugin's own `cached` wins over the configuration's.
    const cached = normalised.cached ?? context.resultTtlSeconds;
    return new RedisResultBackend({ logger: context.logger, ...normalised, cached });
  },
  createScheduleStore: (options, context) => {
    const { cached: _cached, ...rest } = normalise(options, context);
    return new RedisScheduleStore({ logger: context.logger, ...rest });
  },
  /** Events and remote control: PUBLISH on a connection of its own, one shared subscriber connection. */
  createPubSub: (options, context) => {
    const { cached: _cached, ...rest } = normalise(options, context);
    return new RedisPubSub({ logger: context.logger, ...rest });
  },
  /** Cluster-wide rate limits: one GCRA script call per take, on the Redis server's clock. */
  createRateLimiter: (options, context) => createRateLimiter(options, context),
});

/**
 * A cluster-wide rate limiter from the plugin's options, with the same prefix per deployment as the
 * broker, so the limits of two deployments on one server stay apart.
 */
export function createRateLimiter(
  options: RedisPluginOptions | string | undefined,
  context: Pick<PluginContext, 'deployment' | 'logger'>,
): RedisRateLimiter {
  const { cached: _cached, ...rest } = normalise(options, context);
  return new RedisRateLimiter({ logger: context.logger, ...rest });
}

function normalise(
  options: RedisPluginOptions | string | undefined,
  context: Pick<PluginContext, 'deployment'>,
): RedisPluginOptions & { deployment: string } {
  const given: RedisPluginOptions = typeof options === 'string' ? { url: options } : { ...(options ?? {}) };
  return { ...given, deployment: context.deployment };
}
