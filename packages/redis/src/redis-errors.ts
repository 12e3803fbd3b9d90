import { BrokerConnectionError, BrokerError, LeaseLostError, TasqError } from '@tasq/core';

/**
 * The one place ioredis and Redis errors become tasq's closed error set. Everything that means "the
 * server could not be reached or did not answer" is a retryable `BrokerConnectionError`; any other
 * reply error is a plain `BrokerError` carrying the server's message.
 */

const CONNECTION_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
  'Command timed out',
  'connect ETIMEDOUT',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
  'All sentinels are unreachable',
];

/** Server replies that say "not now, try again": a loading or failing-over server. */
const RETRYABLE_REPLY_PREFIXES = ['LOADING', 'READONLY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'BUSY'];

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/** True when `error` means the connection, not the request, failed. */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  if (CONNECTION_MESSAGES.some((text) => error.message.includes(text))) return true;
  return RETRYABLE_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix));
}

/** Map any error thrown by an ioredis call during `operation` to a tasq error. */
export function mapRedisError(error: unknown, operation: string): TasqError {
  if (error instanceof TasqError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectionFailure(error)) {
    return new BrokerConnectionError(`redis ${operation} failed, connection unavailable: ${message}`, {
      cause: error,
    });
  }
  return new BrokerError(`redis ${operation} failed: ${message}`, { cause: error });
}

/** Run `call`, rethrowing its failure as a tasq error. */
export async function withRedisErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw mapRedisError(error, operation);
  }
}

/** The error for a settle script that answered 0: the delivery's lease moved on. */
export function leaseLost(operation: string, queue: string, id: string, token: number): LeaseLostError {
  return new LeaseLostError(
    `redis ${operation} of package ${id} on queue "${queue}" refused: lease ${token} moved on (the lease ran out and the package was delivered again, or it was already settled)`,
  );
}

/** The error for a result save the script refused: the result's key holds something else (not a hash). */
export function resultKeyTaken(id: string, key: string): BrokerError {
  return new BrokerError(
    `redis result save of ${id} refused: key ${key} holds a value that is not a tasq result (WRONGTYPE)`,
  );
}
