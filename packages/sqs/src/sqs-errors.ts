/**
 * The one place where errors of @aws-sdk/client-sqs (and the network under it) become tasq's closed set:
 *
 * - throttling, 5xx, timeouts and dropped connections → BrokerConnectionError (retryable). The SDK has
 *   already retried them with its own backoff (`maxAttempts`) before they get here.
 * - credentials and permission errors → SqsCredentialsError, a BrokerConnectionError: the cluster keeps
 *   running and retries, since credentials can be renewed or a policy fixed while it runs; logged once.
 * - a receipt handle that is no longer current → LeaseLostError.
 * - a missing queue, a purge within SQS's 60 s cooldown, a queue whose size limit is below ours, and
 *   anything else → BrokerError with a code and a message that says what to do.
 */
import {
  BrokerConnectionError,
  BrokerError,
  LeaseLostError,
  type Logger,
  networkFailureCause,
  TasqError,
} from '@tasq/core/backend';

/** Credentials are missing, invalid or expired, or the identity lacks a permission. Retryable. */
export class SqsCredentialsError extends BrokerConnectionError {}

/** What was being done when an error happened, for the message. */
export interface SqsErrorContext {
  operation: string;
  /** The SQS queue name involved, when there is one. */
  queue?: string;
  /** Where SQS is ("SQS at http://127.0.0.1:4566", "AWS SQS in eu-west-1"), named when it cannot be reached. */
  endpoint?: string;
}

/** Error fields the AWS SDK and Node's network layer set. */
interface DriverError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_CODES = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
  'AccessDenied',
  'AccessDeniedException',
  'KmsAccessDenied',
  'AuthFailure',
]);

const TRANSIENT_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'KmsThrottled',
  'OverLimit',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * The service's error code without its decorations: the JSON protocol reports names such as
 * "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue" or "com.amazonaws.sqs#QueueDoesNotExist".
 */
export function sqsErrorCode(error: unknown): string {
  const driver = (error ?? {}) as DriverError;
  const raw = driver.Code ?? driver.name ?? '';
  return raw.replace(/^.*#/, '').replace(/^AWS\.SimpleQueueService\./, '');
}

function codesOf(error: unknown): string[] {
  const driver = (error ?? {}) as DriverError;
  return [
    sqsErrorCode(error),
    (driver.name ?? '').replace(/^.*#/, '').replace(/^AWS\.SimpleQueueService\./, ''),
  ];
}

/** True when the error says the receipt handle no longer names the current lease. */
export function isStaleReceipt(error: unknown): boolean {
  const codes = codesOf(error);
  if (codes.includes('ReceiptHandleIsInvalid') || codes.includes('MessageNotInflight')) return true;
  // SQS reports an expired handle as InvalidParameterValue: "... for parameter ReceiptHandle is invalid.
  // Reason: The receipt handle has expired."
  const message = (error as DriverError | undefined)?.message ?? '';
  return codes.includes('InvalidParameterValue') && /receipt ?handle/i.test(message);
}

/** The code of the BrokerError raised for a queue that does not exist. */
export const QUEUE_MISSING_CODE = 'SQS_QUEUE_DOES_NOT_EXIST';

/** True for the service's "queue does not exist" error, before or after mapping. */
export function isQueueMissing(error: unknown): boolean {
  if (error instanceof TasqError) return error.code === QUEUE_MISSING_CODE;
  const codes = codesOf(error);
  return codes.includes('QueueDoesNotExist') || codes.includes('NonExistentQueue');
}

function isCredentialsError(error: unknown): boolean {
  return codesOf(error).some((code) => CREDENTIAL_CODES.has(code));
}

function isTransient(error: unknown): boolean {
  const driver = (error ?? {}) as DriverError;
  if (codesOf(error).some((code) => TRANSIENT_CODES.has(code))) return true;
  if (driver.code !== undefined && (NETWORK_CODES.has(driver.code) || driver.code.startsWith('UND_ERR')))
    return true;
  if (driver.$fault === 'server' || (driver.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return /socket hang up/i.test(driver.message ?? '');
}

function describe(error: unknown): string {
  const message =
    error instanceof Error ? error.message : String((error as DriverError | undefined)?.message ?? error);
  const code = sqsErrorCode(error);
  return code && code !== 'Error' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Map any error thrown by an SQS call onto tasq's closed set. TasqErrors pass through unchanged. */
export function mapSqsError(error: unknown, context: SqsErrorContext): Error {
  if (error instanceof TasqError) return error;
  const where = context.queue ? ` on queue "${context.queue}"` : '';
  const prefix = `sqs broker: ${context.operation}${where}`;
  const options = { cause: error };
  if (isStaleReceipt(error)) {
    return new LeaseLostError(`${prefix}: the lease moved on (${describe(error)})`, options);
  }
  if (isCredentialsError(error)) {
    return new SqsCredentialsError(
      `${prefix}: AWS refused the credentials or a permission (${describe(error)}); check the credentials ` +
        '(options.credentials or the SDK default chain: environment, profile, instance role) and the IAM policy',
      options,
    );
  }
  if (isQueueMissing(error)) {
    return new BrokerError(
      `${prefix}: the SQS queue does not exist; create it, or set the broker option \`createQueues: true\``,
      { ...options, code: QUEUE_MISSING_CODE },
    );
  }
  const code = sqsErrorCode(error);
  if (code === 'PurgeQueueInProgress') {
    return new BrokerError(`${prefix}: SQS allows one purge per queue every 60 seconds; try again later`, {
      ...options,
      code: 'SQS_PURGE_IN_PROGRESS',
    });
  }
  if (
    code === 'BatchRequestTooLong' ||
    /message must be shorter/i.test((error as DriverError)?.message ?? '')
  ) {
    return new BrokerError(
      `${prefix}: SQS refused the message as too large (${describe(error)}); the queue's MaximumMessageSize ` +
        "is below the broker option `maxPackageBytes`: set `maxPackageBytes` to the queue's limit",
      { ...options, code: 'SQS_MESSAGE_TOO_LARGE' },
    );
  }
  if (code === 'QueueNameExists') {
    return new BrokerError(
      `${prefix}: a queue of this name exists with other attributes (${describe(error)}); ` +
        'manage that queue yourself and leave `createQueues` off',
      { ...options, code: 'SQS_QUEUE_ATTRIBUTES_DIFFER' },
    );
  }
  const unreachable = networkFailureCause(error);
  if (unreachable !== undefined) {
    return new BrokerConnectionError(
      `${prefix}: cannot reach ${context.endpoint ?? 'SQS'}: ${unreachable}`,
      options,
    );
  }
  if (isTransient(error)) {
    return new BrokerConnectionError(`${prefix}: ${describe(error)}`, options);
  }
  if (/region is missing/i.test((error as DriverError)?.message ?? '')) {
    return new BrokerError(
      `${prefix}: no AWS region configured; set the broker option \`region\` or AWS_REGION`,
      { ...options, code: 'SQS_CONFIGURATION' },
    );
  }
  return new BrokerError(`${prefix}: ${describe(error)}`, { ...options, code: 'SQS_ERROR' });
}

/**
 * Logs a credentials problem once, at error level, instead of once per call of a cluster that keeps
 * polling; the next successful call re-arms it so a later problem is reported again.
 */
export class CredentialsReporter {
  private reported = false;
  constructor(private readonly logger: Logger) {}

  /** Call with every mapped error. */
  seen(error: Error): void {
    if (!(error instanceof SqsCredentialsError)) return;
    if (this.reported) {
      this.logger.debug({ error: error.message }, 'sqs broker: credentials still refused');
      return;
    }
    this.reported = true;
    this.logger.error(
      { error: error.message },
      'sqs broker: AWS refused the credentials; calls will keep failing until they are fixed',
    );
  }

  /** Call after a call that succeeded. */
  succeeded(): void {
    if (this.reported) {
      this.reported = false;
      this.logger.info({}, 'sqs broker: AWS accepts the credentials again');
    }
  }
}
