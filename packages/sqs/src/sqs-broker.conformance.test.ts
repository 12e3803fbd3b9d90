/**
 * The shared broker contract, unchanged, against the fauxqs SQS emulator over HTTP with the real
 * @aws-sdk/client-sqs: standard queues.
 */
import { brokerConformance } from '@tasq/testing';
import { startEmulator } from './test-support/fauxqs.js';

const { emulator, skipReason } = await startEmulator();

brokerConformance('sqs (standard queues, fauxqs)', () => emulator!.broker(), { skipReason });
