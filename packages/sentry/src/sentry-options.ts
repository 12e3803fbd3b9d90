/**
 * The options of `errorReporter: { module: '@tasq/sentry', options }`, checked once when the reporter
 * is created so a typo in the configuration stops the cluster at start-up instead of silently
 * dropping every report afterwards.
 */
import { ConfigError } from '@tasq/core';

/** What the configuration may say. Only `dsn` is required. */
export interface SentryReporterOptions {
  /** The project's DSN: `https://PUBLIC_KEY@HOST[:PORT]/PROJECT_ID`. */
  dsn: string;
  /** Sentry's `environment` (`production`, `staging`...). */
  environment?: string;
  /** Sentry's `release`, so a failure is tied to the deployed version. */
  release?: string;
  /** Attach the task's arguments (redacted) to each event. Default false: arguments are often personal data. */
  sendArgs?: boolean;
  /** Key fragments redacted in arguments on top of core's `SENSITIVE_KEYS` (case-insensitive substrings). */
  redactKeys?: string[];
  /** Tags put on every event, beside the task/queue/cluster/attempt/final tags the reporter sets. */
  tags?: Record<string, string>;
  /** Share of reports sent, from 0 to 1. Default 1 (every failed attempt). */
  sampleRate?: number;
}

/** The options after checking, with defaults filled in. */
export interface ResolvedSentryReporterOptions {
  dsn: string;
  environment: string | undefined;
  release: string | undefined;
  sendArgs: boolean;
  redactKeys: string[];
  tags: Record<string, string>;
  sampleRate: number;
}

const KNOWN_KEYS = new Set(['dsn', 'environment', 'release', 'sendArgs', 'redactKeys', 'tags', 'sampleRate']);

/** Sentry's ingest refuses tag keys longer than 32 characters and values longer than 200. */
const MAX_TAG_KEY_LENGTH = 32;
const MAX_TAG_VALUE_LENGTH = 200;

/**
 * Check `options` and fill in defaults.
 * @throws ConfigError listing every problem, each naming its key.
 */
export function resolveSentryReporterOptions(options: unknown): ResolvedSentryReporterOptions {
  const issues: string[] = [];
  const where = (key: string) => `errorReporter.options.${key}`;

  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError([
      `errorReporter.options must be an object with at least { dsn } for @tasq/sentry, got ${describe(options)}`,
    ]);
  }
  const given = options as Record<string, unknown>;

  for (const key of Object.keys(given)) {
    if (!KNOWN_KEYS.has(key)) {
      issues.push(`${where(key)} is not an option of @tasq/sentry (known: ${[...KNOWN_KEYS].join(', ')})`);
    }
  }

  const dsn = given.dsn;
  if (dsn === undefined || dsn === '') {
    issues.push(
      `${where('dsn')} is required: the project's DSN from Sentry (Settings → Client Keys), like https://PUBLIC_KEY@o0.ingest.sentry.io/PROJECT_ID`,
    );
  } else if (typeof dsn !== 'string') {
    issues.push(`${where('dsn')} must be a string, got ${describe(dsn)}`);
  } else {
    const problem = dsnProblem(dsn);
    if (problem) issues.push(`${where('dsn')} is not a valid DSN (${problem}): "${maskDsn(dsn)}"`);
  }

  for (const key of ['environment', 'release'] as const) {
    const value = given[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      issues.push(`${where(key)} must be a non-empty string, got ${describe(value)}`);
    }
  }

  if (given.sendArgs !== undefined && typeof given.sendArgs !== 'boolean') {
    issues.push(`${where('sendArgs')} must be true or false, got ${describe(given.sendArgs)}`);
  }

  const redactKeys = given.redactKeys;
  if (redactKeys !== undefined) {
    if (!Array.isArray(redactKeys)) {
      issues.push(`${where('redactKeys')} must be an array of key names, got ${describe(redactKeys)}`);
    } else {
      redactKeys.forEach((key, index) => {
        if (typeof key !== 'string' || key === '') {
          issues.push(`${where(`redactKeys[${index}]`)} must be a non-empty string, got ${describe(key)}`);
        }
      });
    }
  }

  const tags = given.tags;
  if (tags !== undefined) {
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      issues.push(`${where('tags')} must be an object of string values, got ${describe(tags)}`);
    } else {
      for (const [key, value] of Object.entries(tags)) {
        if (key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
          issues.push(`${where(`tags.${key}`)}: tag keys must be 1 to ${MAX_TAG_KEY_LENGTH} characters`);
        }
        if (typeof value !== 'string') {
          issues.push(`${where(`tags.${key}`)} must be a string, got ${describe(value)}`);
        } else if (value.length > MAX_TAG_VALUE_LENGTH) {
          issues.push(`${where(`tags.${key}`)} is longer than ${MAX_TAG_VALUE_LENGTH} characters`);
        }
      }
    }
  }

  const sampleRate = given.sampleRate;
  if (
    sampleRate !== undefined &&
    (typeof sampleRate !== 'number' || !Number.isFinite(sampleRate) || sampleRate < 0 || sampleRate > 1)
  ) {
    issues.push(`${where('sampleRate')} must be a number from 0 to 1, got ${describe(sampleRate)}`);
  }

  if (issues.length > 0) throw new ConfigError(issues);

  return {
    dsn: dsn as string,
    environment: given.environment as string | undefined,
    release: given.release as string | undefined,
    sendArgs: given.sendArgs === true,
    redactKeys: ((redactKeys as string[] | undefined) ?? []).map((key) => key.toLowerCase()),
    tags: { ...((tags as Record<string, string> | undefined) ?? {}) },
    sampleRate: (sampleRate as number | undefined) ?? 1,
  };
}

/** Why `dsn` is not a DSN Sentry would accept, or undefined when it is one. */
function dsnProblem(dsn: string): string | undefined {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `scheme must be https or http, not ${url.protocol}`;
  if (url.username === '') return 'the public key before "@" is missing';
  const projectId = url.pathname.split('/').pop() ?? '';
  if (!/^\d+$/.test(projectId)) return 'the path must end with the numeric project id';
  if (url.search !== '' || url.hash !== '') return 'a DSN has no query string or fragment';
  return undefined;
}

/** The DSN with its public key shortened, so an error message does not spread the key into logs. */
function maskDsn(dsn: string): string {
  return dsn.replace(/\/\/([^@/]{4})[^@/]*@/, '//$1…@');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
