import { BrokerConnectionError } from '@tasq/core/backend';
import { pubSubConformance, readText, sleep, text, uniqueName } from '@tasq/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitMqPubSub } from './rabbitmq-pubsub.js';
import { closeOwnConnections, RABBITMQ_URL, rabbitSkipReason } from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();
const exchangePrefix = uniqueName('tasq-test');
const connectionName = uniqueName('tasq-test-pubsub');
const options = { url: RABBITMQ_URL, exchangePrefix, connectionName, reconnectInitialDelayMs: 50 };

pubSubConformance('rabbitmq', () => RabbitMqPubSub.connect(options), { skipReason });

afterAll(async () => {
  if (skipReason) return;
  const model = await connect(RABBITMQ_URL);
  const channel = await model.createChannel();
  await channel.deleteExchange(`${exchangePrefix}.pubsub`);
  await channel.deleteExchange(`shop/${exchangePrefix}.pubsub`);
  await model.close();
});

describe.skipIf(skipReason !== undefined)(
  `rabbitmq pub/sub${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('subscriptions come back by themselves after the server closed the connection', async () => {
      const publisher = await RabbitMqPubSub.connect({ ...options, connectionName: `${connectionName}-pub` });
      const subscriber = await RabbitMqPubSub.connect(options);
      try {
        const channel = uniqueName('control');
        const got: string[] = [];
        await subscriber.subscribe(channel, (message) => got.push(readText(message)));
        await publisher.publish(channel, text('before'));
        while (got.length < 1) await sleep(10);

        expect(await closeOwnConnections(connectionName, ['pubsub'])).toBe(1);
        // Published while the subscriber is away: at most once, so it may be lost; later ones arrive.
        const deadline = Date.now() + 10_000;
        while (!got.includes('after') && Date.now() < deadline) {
          await publisher.publish(channel, text('after')).catch((error: unknown) => {
            if (!(error instanceof BrokerConnectionError)) throw error;
          });
          await sleep(100);
        }
        expect(got).toContain('after');
        // Made once again, not twice: one copy per publish.
        const before = got.length;
        await publisher.publish(channel, text('once'));
        await sleep(300);
        expect(got.slice(before).filter((m) => m === 'once')).toHaveLength(1);
      } finally {
        await publisher.close();
        await subscriber.close();
      }
    });

    it('deployments do not hear each other on a channel of the same name', async () => {
      const shop = await RabbitMqPubSub.connect(options, { deployment: 'shop' });
      const plain = await RabbitMqPubSub.connect(options);
      try {
        const channel = uniqueName('events');
        const heardByShop: string[] = [];
        const heardByDefault: string[] = [];
        await shop.subscribe(channel, (message) => heardByShop.push(readText(message)));
        await plain.subscribe(channel, (message) => heardByDefault.push(readText(message)));
        await plain.publish(channel, text('default'));
        await shop.publish(channel, text('shop'));
        const deadline = Date.now() + 5000;
        while ((heardByShop.length < 1 || heardByDefault.length < 1) && Date.now() < deadline)
          await sleep(10);
        await sleep(200);
        expect(heardByShop).toEqual(['shop']);
        expect(heardByDefault).toEqual(['default']);
      } finally {
        await shop.close();
        await plain.close();
      }
    });
  },
);
