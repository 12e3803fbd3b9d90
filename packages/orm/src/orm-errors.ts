/**
 * The one place where PostgreSQL (`pg`) and SQLite (`node:sqlite`) errors become tasq's closed error set:
 * connection trouble and lock contention are retryable `BrokerConnectionError`s, the rest `BrokerError`.
 */
import {
  BrokerConnectionError,
  BrokerError,
  InvalidArgumentError,
  networkFailureCause,
  TasqError,
} from '@tasq/core/backend';

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
 * `operation` names the contract call for the message ("reserve on queue emails"); `address` says where
 * the database is ("PostgreSQL at db:5432/app", "SQLite file /srv/tasq.db"; never a password), so a
 * connection failure names the server and the cause: "... failed: cannot reach PostgreSQL at
 * 127.0.0.1:5433/test: connection refused ... (ECONNREFUSED)".
 */
export function mapDatabaseError(error: unknown, operation: string, address?: string): Error {
  if (error instanceof TasqError) return error;
  const candidate = error as { code?: unknown; errcode?: unknown; message?: unknown };
  const message = typeof candidate?.message === 'string' ? candidate.message : String(error);
  const code = typeof candidate?.code === 'string' ? candidate.code : undefined;
  const where = address ? ` (${address})` : '';
  if (code === 'ERR_SQLITE_ERROR' && typeof candidate.errcode === 'number') {
    const primary = candidate.errcode & 0xff;
    if (retryableSqliteCodes.has(primary)) {
      return new BrokerConnectionError(
        `${operation} failed, SQLite is busy or unavailable${where}: ${message}${sqliteHint(primary)}`,
        { cause: error },
      );
    }
    return new BrokerError(`${operation} failed${where}: ${message}`, { cause: error });
  }
  const cause = networkFailureCause(error);
  if (cause !== undefined) {
    return new BrokerConnectionError(
      `${operation} failed: cannot reach ${address ?? 'the database'}: ${cause}`,
      { cause: error },
    );
  }
  if (
    (code &&
      (socketErrorCodes.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isRetryablePostgresState(code)))) ||
    postgresConnectionMessages.some((fragment) => message.includes(fragment))
  ) {
    return new BrokerConnectionError(
      `${operation} failed, the connection to ${address ?? 'the database'} is unavailable: ${message}`,
      { cause: error },
    );
  }
  return new BrokerError(`${operation} failed${where}: ${message}`, { cause: error });
}

/** What to check when SQLite cannot open or write its file (CANTOPEN 14, IOERR 10). */
function sqliteHint(primary: number): string {
  if (primary === 14) return ': check that the folder exists and this process may write there';
  if (primary === 10) return ': the disk refused a read or write (full, removed, or no permission)';
  return '';
}

/**
 * The error for a SQLite file that cannot be opened (its folder cannot be made, the path is a folder, no
 * permission): a `BrokerError` naming the file and the cause. Not retryable: the path has to change.
 */
export function sqliteOpenError(error: unknown, address: string): Error {
  if (error instanceof TasqError) return error;
  const candidate = error as { code?: unknown; message?: unknown };
  const message = typeof candidate?.message === 'string' ? candidate.message : String(error);
  const code =
    typeof candidate?.code === 'string' && candidate.code.startsWith('E') ? ` (${candidate.code})` : '';
  return new BrokerError(
    `cannot open ${address}: ${message}${code}; check that the path names a file in a folder this process may write, or set another url`,
    { cause: error },
  );
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
