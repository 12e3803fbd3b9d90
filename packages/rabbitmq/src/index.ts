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

/**
 * `brokerClass: "@tasq/rabbitmq"`: the broker and pub/sub. No result backend: RabbitMQ is not a store,
 * so pair it with another package's result backend (`@tasq/redis`, `@tasq/orm`).
 */
export default defineBrokerPlugin<RabbitMqBrokerOptions>({
  name: 'rabbitmq',
  createBroker: (options: RabbitMqBrokerOptions, context: PluginContext) =>
    RabbitMqBroker.connect(options ?? {}, { deployment: context.deployment, logger: context.logger }),
  /** Events and remote control over a direct exchange (`<exchangePrefix>.pubsub`), on its own connection. */
  createPubSub: (options: RabbitMqBrokerOptions, context: PluginContext) =>
    RabbitMqPubSub.connect(options ?? {}, { deployment: context.deployment, logger: context.logger }),
});
