import { defineBrokerPlugin, type PluginContext } from '@tasq/core/backend';
import { RabbitMqBroker } from './rabbitmq-broker.js';
import { RabbitMqPubSub } from './rabbitmq-pubsub.js';
import type { RabbitMqBrokerOptions } from './rabbitmq-options.js';

export { RabbitMqBroker, type RabbitMqBrokerContext } from './rabbitmq-broker.js';
export { RabbitMqPubSub } from './rabbitmq-pubsub.js';
export type {
  RabbitMqBrokerOptions,
  RabbitMqConnectionOptions,
  RabbitMqQueueType,
} from './rabbitmq-options.js';
export { MAX_DELAY_MS } from './rabbitmq-topology.js';

/** AMQP's prefetch count is a 16-bit field. */
const MAX_PREFETCH = 65_535;

/**
 * `brokerClass: "@tasq/rabbitmq"`: the broker and pub/sub. No result backend: RabbitMQ is not a store,
 * so pair it with another package's result backend (`@tasq/redis`, `@tasq/orm`).
 */
export default defineBrokerPlugin<RabbitMqBrokerOptions>({
  name: 'rabbitmq',
  createBroker: (options: RabbitMqBrokerOptions, context: PluginContext) =>
    RabbitMqBroker.connect(withPrefetchOf(options ?? {}, context.queueLimit), {
      deployment: context.deployment,
      logger: context.logger,
    }),
  /** Events and remote control over a direct exchange (`<exchangePrefix>.pubsub`), on its own connection. */
  createPubSub: (options: RabbitMqBrokerOptions, context: PluginContext) =>
    RabbitMqPubSub.connect(options ?? {}, { deployment: context.deployment, logger: context.logger }),
});

/**
 * Without its own `prefetch`, a configured broker takes the cluster's `queueLimit`: the server never pushes
 * more than the prefetch, so a smaller one capped every reserve below the cluster's bulk (a cluster on
 * defaults at concurrency 50 holds 200 but was fed 50 at a time: 0.68× the rows that set prefetch 200).
 */
function withPrefetchOf(
  options: RabbitMqBrokerOptions,
  queueLimit: number | undefined,
): RabbitMqBrokerOptions {
  if (options.prefetch !== undefined || queueLimit === undefined) return options;
  return { ...options, prefetch: Math.min(queueLimit, MAX_PREFETCH) };
}
