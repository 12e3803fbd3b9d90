/**
 * @tasq/sqs: Amazon SQS broker for tasq. SQS stores no results and has no pub/sub: configure a result
 * backend from another package (events and remote control fall back to it).
 */
import { defineBrokerPlugin } from '@tasq/core/backend';
import { SqsBroker } from './sqs-broker.js';
import type { SqsBrokerOptions } from './sqs-options.js';

export { DEAD_LETTER_HEADROOM_BYTES, largestPackageBytes, SQS_DEFAULT_MESSAGE_BYTES } from './sqs-body.js';
export {
  SQS_MAX_DELAY_MS,
  SQS_MAX_VISIBILITY_SECONDS,
  SQS_MAX_WAIT_SECONDS,
  SqsBroker,
} from './sqs-broker.js';
export { mapSqsError, SqsCredentialsError } from './sqs-errors.js';
export type { SqsReceipt } from './sqs-leases.js';
export type { SqsBrokerContext, SqsBrokerOptions, SqsCredentials } from './sqs-options.js';

/**
 * Loaded by the cluster for `brokerClass: "@tasq/sqs"` or the `sqs: "<url>"` shorthand; a bare string is
 * taken as the connection URL. No result backend: SQS stores no results.
 */
export default defineBrokerPlugin<SqsBrokerOptions | string>({
  name: 'sqs',
  createBroker: (options, context) =>
    new SqsBroker(
      { logger: context.logger, ...(typeof options === 'string' ? { url: options } : options) },
      { deployment: context.deployment },
    ),
});
