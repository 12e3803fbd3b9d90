import { BROKER_SPECIFICATION_VERSION, type Broker } from './broker.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { PubSub } from './pubsub.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ResultBackend } from './result-backend.js';
import type { ScheduleStore } from './schedule-store.js';

/** What a plugin factory is given besides its own options. */
export interface PluginContext {
  /** The deployment name (config `name`), for key prefixes and queue names where the broker needs one. */
  deployment: string;
  clock: Clock;
  logger: Logger;
  /**
   * Seconds a result backend keeps each outcome after saving it (the configuration's `cached`);
   * undefined keeps outcomes until pruned. A plugin's result backend honours it (see `checkCachedSeconds`).
   */
  resultTtlSeconds?: number;
  /**
   * The most deliveries a cluster of this configuration holds ahead of its workers (`queueLimit`). A broker
   * whose server pushes deliveries into a window (RabbitMQ's prefetch) sizes that window by it when its own
   * options do not: a smaller window caps every reserve below what the cluster asks for.
   */
  queueLimit?: number;
}

/**
 * What a broker package exports by default, so `brokerClass: "@tasq/redis"` plus an options object is
 * all the runtime needs. A package may also ship its result backend and schedule store here; when it
 * does, they are the defaults for a configuration that names only the broker.
 */
export interface BrokerPlugin<Options = unknown> {
  readonly specificationVersion: typeof BROKER_SPECIFICATION_VERSION;
  readonly name: string;
  createBroker(options: Options, context: PluginContext): Broker | Promise<Broker>;
  createResultBackend?(options: Options, context: PluginContext): ResultBackend | Promise<ResultBackend>;
  createScheduleStore?(options: Options, context: PluginContext): ScheduleStore | Promise<ScheduleStore>;
  /** Pub/sub for monitoring events and remote control, where the server offers it. */
  createPubSub?(options: Options, context: PluginContext): PubSub | Promise<PubSub>;
  /** Rate limits shared by every cluster, where the server has an atomic counter. */
  createRateLimiter?(options: Options, context: PluginContext): RateLimiter | Promise<RateLimiter>;
}

/** Identity function that type-checks a plugin and fills in the specification version. */
export function defineBrokerPlugin<Options>(
  plugin: Omit<BrokerPlugin<Options>, 'specificationVersion'>,
): BrokerPlugin<Options> {
  return { specificationVersion: BROKER_SPECIFICATION_VERSION, ...plugin };
}

export function isBrokerPlugin(value: unknown): value is BrokerPlugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BrokerPlugin).createBroker === 'function' &&
    typeof (value as BrokerPlugin).name === 'string'
  );
}
