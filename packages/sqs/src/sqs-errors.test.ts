import { BrokerConnectionError, BrokerError, LeaseLostError } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { mapSqsError } from './sqs-errors.js';

// Errors as SQS reports them in a batch response's Failed entries (plain objects, not thrown errors),
// and as AWS words the expired-handle case; the emulator produces neither.
describe('mapping of errors SQS reports per batch entry or only on AWS', () => {
  const context = { operation: 'ack', queue: 'emails' };

  it('an expired receipt handle (InvalidParameterValue on AWS) is a lost lease', () => {
    const error = mapSqsError(
      {
        name: 'InvalidParameterValue',
        message: 'Value AQEB for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.',
      },
      context,
    );
    expect(error).toBeInstanceOf(LeaseLostError);
  });

  it('a failed batch entry keeps its code and message', () => {
    const error = mapSqsError(
      { Code: 'KmsDisabled', message: 'the key is disabled', $fault: 'client' },
      context,
    );
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.message).toBe('sqs broker: ack on queue "emails": KmsDisabled: the key is disabled');
  });

  it('throttling that outlasted the SDK retries is retryable', () => {
    const error = mapSqsError({ name: 'RequestThrottled', message: 'slow down', $fault: 'client' }, context);
    expect(error).toBeInstanceOf(BrokerConnectionError);
  });
});
