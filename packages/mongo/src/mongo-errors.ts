/**
 * The one place MongoDB driver errors become tasq errors. Retrying is the driver's job (retryable reads
 * and writes are on by default: one retry after a network error or a primary step-down), so whatever
 * reaches this file has already been retried once; tasq's runtime decides from the class what to do next.
 */
import {
  BrokerConnectionError,
  BrokerError,
  ConfigError,
  LeaseLostError,
  networkFailureCause,
  TasqError,
} from '@tasq/core/backend';
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** Server error codes that mean "this node cannot serve you now" (network, shutdown, elections). */
const UNAVAILABLE_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  134, // ReadConcernMajorityNotAvailableYet
  133, // FailedToSatisfyReadPreference
  50, // MaxTimeMSExpired: the call's deadline passed on the server
]);

/** Labels the driver puts on errors it considers transient. */
const TRANSIENT_LABELS = ['RetryableWriteError', 'ResetPool', 'RetryableError', 'SystemOverloadedError'];

const DUPLICATE_KEY_CODE = 11000;

/** True for a unique-index violation, which claimOnce, the leader lock and schedule names rely on. */
export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY_CODE;
}

/** True for an error that means the server could not be reached or could not serve the call now. */
export function isConnectionError(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (error instanceof MongoError) {
    if (TRANSIENT_LABELS.some((label) => error.hasErrorLabel(label))) return true;
    if (typeof error.code === 'number' && UNAVAILABLE_SERVER_CODES.has(error.code)) return true;
  }
  return false;
}

/**
 * Map any error thrown by the driver during `operation` (e.g. "reserve on queue emails") to a tasq error:
 * - unreachable server, dropped connection, elections, timeouts → `BrokerConnectionError` (retryable);
 * - an unparsable connection string → `ConfigError` naming `url`;
 * - anything else from the driver → `BrokerError` carrying the server's code and message.
 * tasq's own errors pass through unchanged. The driver's error is kept as `cause`.
 */
export function toTasqError(error: unknown, operation: string): Error {
  if (error instanceof TasqError) return error;
  if (isConnectionError(error)) {
    const servers = serversOf(error);
    const where = servers ? `MongoDB at ${servers}` : 'MongoDB';
    const cause = networkFailureCause(error);
    const text =
      cause !== undefined
        ? `mongo: ${operation} failed: cannot reach ${where}: ${cause}`
        : `mongo: ${operation} failed, ${where} unavailable: ${messageOf(error)}`;
    return new BrokerConnectionError(text, { cause: error });
  }
  if (error instanceof MongoParseError) {
    return new ConfigError([`url: ${error.message}`], '@tasq/mongo');
  }
  if (error instanceof MongoServerError) {
    const code = error.codeName ?? String(error.code);
    return new BrokerError(`mongo: ${operation} failed with server error ${code}: ${error.message}`, {
      cause: error,
    });
  }
  return new BrokerError(`mongo: ${operation} failed: ${messageOf(error)}`, { cause: error });
}

/** Run `action`, mapping whatever it throws with {@link toTasqError}. */
export async function mapDriverErrors<T>(operation: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toTasqError(error, operation);
  }
}

/** The error an ack, release, deadLetter or extend raises when its lease token no longer matches. */
export function leaseLost(operation: string, packageId: string, queue: string): LeaseLostError {
  return new LeaseLostError(
    `mongo: ${operation} of package ${packageId} on queue "${queue}" refused: its lease expired and moved on, or it was already settled`,
  );
}

/**
 * The servers a server-selection error tried ("127.0.0.1:27017, db2:27017"), from the topology it carries:
 * host and port only, never the credentials of the connection string.
 */
function serversOf(error: unknown): string | undefined {
  const servers = (error as { reason?: { servers?: unknown } } | undefined)?.reason?.servers;
  if (!(servers instanceof Map) || servers.size === 0) return undefined;
  return [...servers.keys()].map(String).join(', ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
