/**
 * The connection URL of the SQS broker (the `sqs: "..."` configuration shorthand, or the `url` option):
 *
 *   sqs://[<access key id>:<secret access key>@][<region>][?<option>=<value>&...]
 *   http(s)://<endpoint host>[:<port>][?<option>=<value>&...]
 *
 * `sqs://eu-west-1` is AWS in that region; `sqs://` takes the region (and credentials) from the SDK's
 * default chain. An http(s) URL is an endpoint: an emulator (`http://127.0.0.1:4566`) or an SQS
 * endpoint, whose region is read from a `sqs.<region>.amazonaws.com` host. Query parameters set the
 * other options by name: region, endpoint, queuePrefix, createQueues, fifo, messageGroupId,
 * deadLetterSuffix, maxPackageBytes, maxAttempts.
 */
import { InvalidArgumentError } from '@tasq/core/backend';
import type { SqsBrokerOptions } from './sqs-options.js';

const STRING_PARAMETERS = [
  'region',
  'endpoint',
  'queuePrefix',
  'messageGroupId',
  'deadLetterSuffix',
] as const;
const BOOLEAN_PARAMETERS = ['createQueues', 'fifo'] as const;
const NUMBER_PARAMETERS = ['maxPackageBytes', 'maxAttempts'] as const;
const AWS_ENDPOINT_HOST = /^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/** The options a connection URL stands for. Throws InvalidArgumentError naming what is wrong. */
export function parseSqsUrl(text: string): SqsBrokerOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(
      `sqs broker: invalid url ${JSON.stringify(text)}: expected sqs://[key:secret@][region][?options] or http(s)://endpoint`,
    );
  }
  const options: SqsBrokerOptions = {};
  if (url.protocol === 'sqs:') {
    if (url.hostname) options.region = url.hostname;
    if (url.port || (url.pathname !== '' && url.pathname !== '/')) {
      throw new InvalidArgumentError(
        `sqs broker: url ${JSON.stringify(redact(url))} has a port or path; an sqs:// URL names only a region (use an http(s):// URL for an endpoint)`,
      );
    }
    if (url.username || url.password) {
      if (!url.username || !url.password) {
        throw new InvalidArgumentError(
          'sqs broker: url credentials need both an access key id and a secret access key',
        );
      }
      options.credentials = {
        accessKeyId: decodeURIComponent(url.username),
        secretAccessKey: decodeURIComponent(url.password),
      };
    }
  } else if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (url.username || url.password) {
      throw new InvalidArgumentError(
        'sqs broker: put credentials in an sqs:// URL or the credentials option, not in an http(s) endpoint URL',
      );
    }
    options.endpoint = url.origin;
    const region = AWS_ENDPOINT_HOST.exec(url.hostname)?.[1];
    if (region) options.region = region;
  } else {
    throw new InvalidArgumentError(
      `sqs broker: url scheme ${JSON.stringify(url.protocol)} is not sqs:, http: or https:`,
    );
  }
  for (const [key, value] of url.searchParams) {
    if ((STRING_PARAMETERS as readonly string[]).includes(key)) {
      (options as Record<string, unknown>)[key] = value;
    } else if ((BOOLEAN_PARAMETERS as readonly string[]).includes(key)) {
      if (value !== 'true' && value !== 'false') {
        throw new InvalidArgumentError(
          `sqs broker: url parameter ${key} must be true or false, got ${JSON.stringify(value)}`,
        );
      }
      (options as Record<string, unknown>)[key] = value === 'true';
    } else if ((NUMBER_PARAMETERS as readonly string[]).includes(key)) {
      const number = Number(value);
      if (!Number.isInteger(number)) {
        throw new InvalidArgumentError(
          `sqs broker: url parameter ${key} must be a whole number, got ${JSON.stringify(value)}`,
        );
      }
      (options as Record<string, unknown>)[key] = number;
    } else {
      throw new InvalidArgumentError(
        `sqs broker: unknown url parameter "${key}" (known: ${[...STRING_PARAMETERS, ...BOOLEAN_PARAMETERS, ...NUMBER_PARAMETERS].join(', ')})`,
      );
    }
  }
  return options;
}

/** The URL without its secret, for messages. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}
