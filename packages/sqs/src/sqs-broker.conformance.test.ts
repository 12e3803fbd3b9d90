/**
 * The shared broker contract, unchanged, against the fauxqs SQS emulator over HTTP with the real
 * @aws-sdk/client-sqs: once on standard queues, once on FIFO queues.
 *
 * The FIFO run spreads packages over message groups (one group per package). With a single group the
 * cases that reserve several packages before acking any cannot pass on fauxqs 2.4.1: it hands out at
 * most one message per group per ReceiveMessage, where SQS returns up to MaxNumberOfMessages from one
 * group. Single-group order is tested in sqs-broker.test.ts instead, acking as it goes.
 */
import { randomUUID } from 'node:crypto';
import { brokerConformance } from '@tasq/testing';
import { startEmulator } from './test-support/fauxqs.js';

const { emulator, skipReason } = await startEmulator();

brokerConformance('sqs (standard queues, fauxqs)', ({ deployment }) => emulator!.broker({}, deployment), {
  skipReason,
});

brokerConformance(
  'sqs (FIFO queues, one message group per package, fauxqs)',
  ({ deployment }) => emulator!.broker({ fifo: true, messageGroupId: () => randomUUID() }, deployment),
  { skipReason },
);
