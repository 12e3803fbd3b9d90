/** Options of the SQS broker, their defaults, and their validation. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { InvalidArgumentError, type Logger, silentLogger } from '@tasq/core/backend';
import { SQS_DEFAULT_MESSAGE_BYTES, SQS_MIN_MESSAGE_BYTES } from './sqs-body.js';
import { checkNaming } from './sqs-names.js';
import { parseSqsUrl } from './sqs-url.js';

/** Static credentials, or a provider function as the AWS SDK accepts them. */
export type SqsCredentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }
  | (() => Promise<{
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      expiration?: Date;
    }>);

export interface SqsBrokerOptions {
  /**
   * Connection URL: `sqs://[key:secret@][region][?option=value&...]` or `http(s)://endpoint[?...]`
   * (see the README). Options given beside it take precedence over what it says.
   */
  url?: string;
  /** AWS region. Default: the SDK's chain (AWS_REGION, then the profile's region). */
  region?: string;
  /** Credentials. Default: the SDK's default chain (environment, shared profile, SSO, container or instance role). */
  credentials?: SqsCredentials;
  /** Endpoint override: an emulator (fauxqs, LocalStack) or a VPC endpoint, e.g. "http://127.0.0.1:4566". */
  endpoint?: string;
  /** Attempts per SQS call, first included; throttling and transient errors are retried with the SDK's backoff. Default 3. */
  maxAttempts?: number;
  /** Use this client instead of building one; `close()` leaves it open. The options above are then ignored. */
  client?: SQSClient;
  /** Put in front of every SQS queue name: letters, digits, "-", "_". Default "" (queue "emails" is SQS queue "emails"). */
  queuePrefix?: string;
  /** Create a queue (and its dead-letter queue) the first time it is used. Default false: queues are managed outside. */
  createQueues?: boolean;
  /**
   * Every queue is a FIFO queue: "emails" is the SQS queue "emails.fifo". FIFO queues keep order within a
   * message group and have no per-message delays (an SQS rule), so `capabilities.delay.maxMs` is 0. Default false.
   */
  fifo?: boolean;
  /**
   * FIFO only: the message group of each package. A string puts every package in that one group (strict
   * order, one group's messages are handed out one batch at a time); a function spreads packages over
   * groups (order only within a group). Default "tasq".
   */
  messageGroupId?: string | ((body: Uint8Array) => string);
  /** Appended to a queue's name (before ".fifo") to name its dead-letter queue. Default "-dead". */
  deadLetterSuffix?: string;
  /**
   * The queues' message size limit in bytes (SQS MaximumMessageSize), which SQS also applies to a whole
   * batch: 1,048,576 (1 MiB, the default since August 2025) or 262,144 (256 KiB) for older queues and some
   * emulators. Packages are base64-encoded, so the largest package is smaller: see `capabilities.maxPackageBytes`.
   */
  maxPackageBytes?: number;
  /** Where the broker logs (credentials problems, once). Default: the plugin context's logger, or silent. */
  logger?: Logger;
}

/** What the broker takes from the plugin context besides its options. */
export interface SqsBrokerContext {
  /** The deployment name (configuration `name`); default "default". */
  deployment?: string;
}

/**
 * Where the broker's SQS is, for messages: the endpoint URL (an emulator, a VPC endpoint), AWS in a
 * region, or the client handed in. Never credentials (an endpoint URL cannot carry them).
 */
export function describeEndpoint(options: ResolvedSqsOptions): string {
  if (options.client) return 'SQS through the given client';
  if (options.endpoint !== undefined) return `SQS at ${options.endpoint}`;
  return options.region === undefined
    ? 'AWS SQS (region from the SDK chain)'
    : `AWS SQS in ${options.region}`;
}

/** The options with their defaults filled in. */
export interface ResolvedSqsOptions {
  region: string | undefined;
  credentials: SqsCredentials | undefined;
  endpoint: string | undefined;
  maxAttempts: number | undefined;
  client: SQSClient | undefined;
  queuePrefix: string;
  createQueues: boolean;
  fifo: boolean;
  messageGroupId: string | ((body: Uint8Array) => string);
  deadLetterSuffix: string;
  maxPackageBytes: number;
  logger: Logger;
}

const KNOWN_OPTIONS = new Set<string>([
  'url',
  'region',
  'credentials',
  'endpoint',
  'maxAttempts',
  'client',
  'queuePrefix',
  'createQueues',
  'fifo',
  'messageGroupId',
  'deadLetterSuffix',
  'maxPackageBytes',
  'logger',
]);

/** Fill in defaults and refuse bad values with an error naming the option. */
export function resolveSqsOptions(given: SqsBrokerOptions = {}): ResolvedSqsOptions {
  const problems: string[] = [];
  if (given.url !== undefined && typeof given.url !== 'string') {
    throw new InvalidArgumentError('sqs broker: invalid options:\n  - url must be a string');
  }
  const { url, ...explicit } = given;
  const options: SqsBrokerOptions = url === undefined ? explicit : { ...parseSqsUrl(url), ...explicit };
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option "${key}"`);
  }
  const maxPackageBytes = options.maxPackageBytes ?? SQS_DEFAULT_MESSAGE_BYTES;
  if (
    !Number.isInteger(maxPackageBytes) ||
    maxPackageBytes < SQS_MIN_MESSAGE_BYTES ||
    maxPackageBytes > SQS_DEFAULT_MESSAGE_BYTES
  ) {
    problems.push(
      `maxPackageBytes must be a whole number from ${SQS_MIN_MESSAGE_BYTES} to ${SQS_DEFAULT_MESSAGE_BYTES} (SQS's MaximumMessageSize range), got ${maxPackageBytes}`,
    );
  }
  if (
    options.maxAttempts !== undefined &&
    (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1)
  ) {
    problems.push(`maxAttempts must be a whole number of 1 or more, got ${options.maxAttempts}`);
  }
  const messageGroupId = options.messageGroupId ?? 'tasq';
  if (typeof messageGroupId === 'string' && !/^[\x21-\x7E]{1,128}$/.test(messageGroupId)) {
    problems.push('messageGroupId must be 1 to 128 printable ASCII characters without spaces (an SQS rule)');
  } else if (typeof messageGroupId !== 'string' && typeof messageGroupId !== 'function') {
    problems.push('messageGroupId must be a string or a function of the package body');
  }
  if (options.messageGroupId !== undefined && options.fifo !== true) {
    problems.push('messageGroupId applies to FIFO queues only: set `fifo: true` or remove it');
  }
  if (options.client !== undefined) {
    for (const key of ['region', 'credentials', 'endpoint', 'maxAttempts'] as const) {
      if (options[key] !== undefined)
        problems.push(`${key} cannot be combined with client: configure it on the client`);
    }
  }
  if (options.endpoint !== undefined && !/^https?:\/\//.test(options.endpoint)) {
    problems.push(`endpoint must be an http:// or https:// URL, got ${JSON.stringify(options.endpoint)}`);
  }
  const resolved: ResolvedSqsOptions = {
    region: options.region,
    credentials: options.credentials,
    endpoint: options.endpoint,
    maxAttempts: options.maxAttempts,
    client: options.client,
    queuePrefix: options.queuePrefix ?? '',
    createQueues: options.createQueues ?? false,
    fifo: options.fifo ?? false,
    messageGroupId,
    deadLetterSuffix: options.deadLetterSuffix ?? '-dead',
    maxPackageBytes,
    logger: options.logger ?? silentLogger,
  };
  try {
    checkNaming({
      prefix: resolved.queuePrefix,
      deadLetterSuffix: resolved.deadLetterSuffix,
      fifo: resolved.fifo,
    });
  } catch (error) {
    problems.push((error as Error).message.replace(/^sqs broker: /, ''));
  }
  if (problems.length > 0) {
    throw new InvalidArgumentError(`sqs broker: invalid options:\n  - ${problems.join('\n  - ')}`);
  }
  return resolved;
}
