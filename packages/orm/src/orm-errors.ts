/**
 * The one place where PostgreSQL (`pg`) and SQLite (`node:sqlite`) errors become tasq's closed error set:
 * connection trouble and lock contention are retryable `BrokerConnectionError`s, the rest `BrokerError`.
 */
import { BrokerConnectionError, BrokerError, InvalidArgumentError, TasqError } from '@tasq/core';

/** The database holds a schema version this code does not know: it was migrated by a newer @tasq/orm. */
export class SchemaTooNewError extends TasqError {
  readonly databaseVersion: number;
  readonly knownVersion: number;
  constructor(where: string, databaseVersion: number, knownVersion: number) {
    super(
      'SCHEMA_TOO_NEW',
      `the tasq tables in ${where} are at schema version ${databaseVersion}, but this @tasq/orm knows versions ` +
        `up to ${knownVersion}: upgrade @tasq/orm in this application (a newer version migrated the database)`,
    );
    this.databaseVersion = databaseVersion;
    this.knownVersion = knownVersion;
  }
}

/** Node socket errors that mean the server is unreachable or the connection dropped. */
const socketErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** PostgreSQL SQLSTATEs worth retrying: connection class 08, shutdown/recovery (57P0x), too many connections, serialization and deadlock. */
function isRetryablePostgresState(state: string): boolean {
  return (
    state.startsWith('08') ||
    state === '57P01' ||
    state === '57P02' ||
    state === '57P03' ||
    state === '53300' ||
    state === '40001' ||
    state === '40P01'
  );
}

/** Messages `pg` raises without a code when a connection ends under it. */
const postgresConnectionMessages = [
  'Connection terminated',
  'connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
];

/** SQLite result codes worth retrying: BUSY (5), LOCKED (6), CANTOPEN (14), IOERR (10) */
const retryableSqliteCodes = new Set([5, 6, 10, 14]);

/**
 * Map a driver error to tasq's error set. Errors that already are tasq errors pass through unchanged.
 * `operation` names the contract call for the message ("reserve on queue emails").
 */
export function mapDatabaseError(error: unknown, operation: string): Error {
  if (error instanceof TasqError) return error;
  const candidate = error as { code?: unknown; errcode?: unknown; message?: unknown };
  const message = typeof candidate?.message === 'string' ? candidate.message : String(error);
  const code = typeof candidate?.code === 'string' ? candidate.code : undefined;
  if (code === 'ERR_SQLITE_ERROR' && typeof candidate.errcode === 'number') {
    const primary = candidate.errcode & 0xff;
    if (retryableSqliteCodes.has(primary)) {
      return new BrokerConnectionError(`${operation} failed, SQLite is busy or unavailable: ${message}`, {
        cause: error,
      });
    }
    return new BrokerError(`${operation} failed: ${message}`, { cause: error });
  }
  if (
    code &&
    (socketErrorCodes.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isRetryablePostgresState(code)))
  ) {
    return new BrokerConnectionError(
      `${operation} failed, the database connection is unavailable: ${message}`,
      {
        cause: error,
      },
    );
  }
  if (postgresConnectionMessages.some((fragment) => message.includes(fragment))) {
    return new BrokerConnectionError(
      `${operation} failed, the database connection is unavailable: ${message}`,
      {
        cause: error,
      },
    );
  }
  return new BrokerError(`${operation} failed: ${message}`, { cause: error });
}

/** True for a unique-constraint violation on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const candidate = error as { code?: unknown; errcode?: unknown };
  if (candidate?.code === '23505') return true;
  // SQLITE_CONSTRAINT_UNIQUE = 2067, SQLITE_CONSTRAINT_PRIMARYKEY = 1555
  return candidate?.code === 'ERR_SQLITE_ERROR' && (candidate.errcode === 2067 || candidate.errcode === 1555);
}

/** A bad option or argument, named. */
export function invalidArgument(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}
