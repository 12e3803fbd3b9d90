import { ConfigError, deploymentSegment } from '@tasq/core/backend';
import { MongoClient, type MongoClientOptions } from 'mongodb';

/**
 * Options of the MongoDB broker, result backend and schedule store (one shape for all three, so a
 * configuration that names only `brokerClass: "@tasq/mongo"` configures them together).
 */
export interface MongoOptions {
  /**
   * Connection string, `mongodb://[user:password@]host[:port][,host2...]/[database][?options]` or
   * `mongodb+srv://...`. Default `mongodb://127.0.0.1:27017`. Ignored when `client` is given.
   */
  url?: string;
  /** Passed to the `MongoClient` constructor together with `url` (pool size, TLS, timeouts...). */
  clientOptions?: MongoClientOptions;
  /**
   * An existing client. tasq uses it as it is and never closes it: the application that made it owns it.
   * When given, `url` and `clientOptions` must be absent.
   */
  client?: MongoClient;
  /** Database holding tasq's collections. Default: the database named in `url`, else `tasq`. */
  database?: string;
  /** The Django-Q2 name of `database` (`mongo_db`); accepted so a migrated configuration keeps working. */
  mongoDb?: string;
  /**
   * Prefix of every collection tasq creates. Default `tasq_` (`tasq_packages`, `tasq_results`, ...). A
   * deployment other than "default" (configuration `name`) adds `<name>_` after it: `tasq_shop_packages`.
   */
  collectionPrefix?: string;
  /**
   * Milliseconds between two claim attempts while a `reserve` waits on an empty queue, and between two
   * reads while a result `wait` has no change stream. Default 200 (Django-Q2's `poll` of 0.2 s).
   */
  poll?: number;
  /**
   * `auto` (default): use change streams when the deployment supports them (a replica set or a sharded
   * cluster, detected with `hello`), poll otherwise. `false`: always poll. `true`: require them, and fail
   * at start on a standalone server.
   */
  changeStreams?: 'auto' | boolean;
  /**
   * Seconds a stored result is kept before MongoDB's TTL monitor removes it (Django-Q2's `cached`).
   * Default: kept until pruned. The TTL monitor runs once a minute, so removal lags by up to ~60 s;
   * reads never return a result past its expiry in the meantime.
   */
  cached?: number;
}

/** The options after validation and defaults. */
export interface ResolvedMongoOptions {
  /** Set when tasq makes (and so must close) the client. */
  readonly url: string | undefined;
  readonly clientOptions: MongoClientOptions | undefined;
  readonly client: MongoClient | undefined;
  readonly database: string;
  /** The configured prefix, then the deployment's part. */
  readonly collectionPrefix: string;
  readonly poll: number;
  readonly changeStreams: 'auto' | boolean;
  readonly cachedSeconds: number | undefined;
}

export const DEFAULT_URL = 'mongodb://127.0.0.1:27017';
export const DEFAULT_DATABASE = 'tasq';
export const DEFAULT_COLLECTION_PREFIX = 'tasq_';
export const DEFAULT_POLL_MS = 200;

const KNOWN_KEYS = new Set([
  'url',
  'clientOptions',
  'client',
  'database',
  'mongoDb',
  'collectionPrefix',
  'poll',
  'changeStreams',
  'cached',
]);

/** Characters MongoDB refuses in a database name (any platform). */
const FORBIDDEN_DATABASE_CHARACTERS = /[/\\. "$*<>:|?\0]/;

/**
 * The database named in a connection string's path, or undefined when it names none. Parsed by hand
 * because a seed list (`host1,host2`) is not a WHATWG URL, and because the driver fills in `test` when the
 * path is empty, which would hide the difference between "named" and "not named".
 */
export function databaseFromUrl(url: string): string | undefined {
  const scheme = /^mongodb(\+srv)?:\/\//i.exec(url);
  if (!scheme) return undefined;
  const rest = url.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const path = rest.slice(slash + 1);
  const end = path.search(/[?#]/);
  const raw = end < 0 ? path : path.slice(0, end);
  if (raw === '') return undefined;
  return decodeURIComponent(raw);
}

/**
 * What a deployment puts after the collection prefix: '' for the default deployment (its collections keep
 * their names), `<name>_` for any other (a name with "__" in it: a readable part and a hash of it).
 */
export function deploymentCollectionPart(deployment: string | undefined): string {
  const segment = deploymentSegment(deployment, { allowed: /[A-Za-z0-9_.-]/, maxLength: 64 });
  return segment === '' ? '' : `${segment}_`;
}

/**
 * Validate `options` and fill in defaults. A string is taken as `url`. `deployment` is the configuration's
 * `name`: any but "default" adds its part to the collection prefix. Throws `ConfigError` listing every
 * problem, each naming its key. Makes no network call.
 */
export function resolveMongoOptions(
  options: MongoOptions | string | undefined,
  deployment?: string,
): ResolvedMongoOptions {
  const given: MongoOptions = typeof options === 'string' ? { url: options } : (options ?? {});
  const issues: string[] = [];
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new ConfigError(['mongo options must be an object, or a connection string'], '@tasq/mongo');
  }
  for (const key of Object.keys(given)) {
    if (!KNOWN_KEYS.has(key))
      issues.push(`${key}: unknown mongo option (known: ${[...KNOWN_KEYS].join(', ')})`);
  }

  const client = given.client;
  if (client !== undefined && !(client instanceof MongoClient)) {
    issues.push('client: must be a MongoClient from the `mongodb` package');
  }
  if (client !== undefined && (given.url !== undefined || given.clientOptions !== undefined)) {
    issues.push('client: give either `client` or `url`/`clientOptions`, not both');
  }
  if (
    given.url !== undefined &&
    (typeof given.url !== 'string' || !/^mongodb(\+srv)?:\/\//i.test(given.url))
  ) {
    issues.push(`url: must start with mongodb:// or mongodb+srv:// (got ${describe(given.url)})`);
  }
  if (
    given.clientOptions !== undefined &&
    (typeof given.clientOptions !== 'object' || given.clientOptions === null)
  ) {
    issues.push('clientOptions: must be an object of MongoClient options');
  }

  if (given.database !== undefined && given.mongoDb !== undefined && given.database !== given.mongoDb) {
    issues.push('mongoDb: is another name for `database`; give one of them');
  }
  const url = client === undefined ? (given.url ?? DEFAULT_URL) : undefined;
  const named = given.database ?? given.mongoDb;
  const database =
    named ?? (url === undefined ? undefined : safeDatabaseFromUrl(url, issues)) ?? DEFAULT_DATABASE;
  const databaseKey =
    given.database !== undefined ? 'database' : given.mongoDb !== undefined ? 'mongoDb' : 'url';
  if (typeof database !== 'string' || database === '' || FORBIDDEN_DATABASE_CHARACTERS.test(database)) {
    issues.push(
      `${databaseKey}: ${describe(database)} is not a valid MongoDB database name (no empty name, no /\\. "$*<>:|? characters)`,
    );
  } else if (Buffer.byteLength(database) > 63) {
    issues.push(`${databaseKey}: database name "${database}" is longer than MongoDB's 63 bytes`);
  }

  const collectionPrefix = given.collectionPrefix ?? DEFAULT_COLLECTION_PREFIX;
  if (
    typeof collectionPrefix !== 'string' ||
    collectionPrefix.includes('$') ||
    collectionPrefix.startsWith('system.')
  ) {
    issues.push(
      `collectionPrefix: ${describe(collectionPrefix)} must be a string without "$", not starting with "system."`,
    );
  }

  const poll = given.poll ?? DEFAULT_POLL_MS;
  if (typeof poll !== 'number' || !Number.isFinite(poll) || poll < 1) {
    issues.push(`poll: must be a number of milliseconds >= 1 (got ${describe(poll)})`);
  }

  const changeStreams = given.changeStreams ?? 'auto';
  if (changeStreams !== 'auto' && changeStreams !== true && changeStreams !== false) {
    issues.push(`changeStreams: must be "auto", true or false (got ${describe(changeStreams)})`);
  }

  const cached = given.cached;
  if (cached !== undefined && (typeof cached !== 'number' || !Number.isInteger(cached) || cached < 1)) {
    issues.push(`cached: must be a whole number of seconds >= 1 (got ${describe(cached)})`);
  }

  if (issues.length > 0) throw new ConfigError(issues, '@tasq/mongo');
  return {
    url,
    clientOptions: client === undefined ? given.clientOptions : undefined,
    client,
    database,
    collectionPrefix: collectionPrefix + deploymentCollectionPart(deployment),
    poll,
    changeStreams,
    cachedSeconds: cached,
  };
}

function safeDatabaseFromUrl(url: string, issues: string[]): string | undefined {
  try {
    return databaseFromUrl(url);
  } catch {
    issues.push('url: the database part of the connection string is not valid percent-encoding');
    return undefined;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
