import { defineBrokerPlugin } from '@tasq/core';
import { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
import { RedisResultBackend, type RedisResultBackendOptions } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';

export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export type { RedisClient, RedisConnection, RedisConnectionOptions } from './redis-connection.js';
export { DEFAULT_PREFIX } from './redis-keys.js';
export { RedisResultBackend, type RedisResultBackendOptions } from './redis-result-backend.js';
export { RedisScheduleStore, type RedisScheduleStoreOptions } from './redis-schedule-store.js';

/** Options of the `@tasq/redis` plugin: one connection description for broker, results and schedules. */
export type RedisPluginOptions = RedisBrokerOptions & Pick<RedisResultBackendOptions, 'cached'>;

/**
 * Loaded by the cluster for `brokerClass: "@tasq/redis"`. The options may also be just a URL string.
 * Broker, result backend and schedule store each open their own connection from the same description.
 */
export default defineBrokerPlugin<RedisPluginOptions | string>({
  name: 'redis',
  createBroker: (options, context) =>
    new RedisBroker({ clock: context.clock, logger: context.logger, ...normalise(options) }),
  createResultBackend: (options, context) => {
    const { clock: _clock, ...rest } = normalise(options);
    return new RedisResultBackend({ logger: context.logger, ...rest });
  },
  createScheduleStore: (options, context) => {
    const { clock: _clock, cached: _cached, ...rest } = normalise(options);
    return new RedisScheduleStore({ logger: context.logger, ...rest });
  },
});

function normalise(options: RedisPluginOptions | string | undefined): RedisPluginOptions {
  if (typeof options === 'string') return { connection: options };
  return options ?? {};
}
