import { brokerConformance } from '@tasq/testing';
import { afterAll } from 'vitest';
import { BrokerPool, rabbitSkipReason } from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();
const classic = new BrokerPool({ queueType: 'classic' });
const classicPriority = new BrokerPool({ queueType: 'classic', maxPriority: 9 });
const quorum = new BrokerPool({ queueType: 'quorum' });

brokerConformance('rabbitmq (classic queues)', ({ deployment }) => classic.open({}, deployment), {
  skipReason,
});
brokerConformance(
  'rabbitmq (classic priority queues)',
  ({ deployment }) => classicPriority.open({}, deployment),
  { skipReason },
);
brokerConformance('rabbitmq (quorum queues)', ({ deployment }) => quorum.open({}, deployment), {
  skipReason,
});

afterAll(async () => {
  if (skipReason) return;
  await classic.cleanup();
  await classicPriority.cleanup();
  await quorum.cleanup();
});
