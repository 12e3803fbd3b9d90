import {
  BrokerConnectionError,
  BrokerError,
  LeaseLostError,
  networkFailureCause,
  TasqError,
} from '@tasq/core/backend';
import type { RedisClient } from './redis-connection.js';

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

/**
 * The last network error of each client tasq watches, kept until the client is ready again. ioredis fails
 * a command issued while it cannot connect with "Reached the max retries per request limit"; the reason
 * (a refused connection, an unknown host) only comes through its 'error' event, recorded here.
 */
const connectionErrors = new WeakMap<RedisClient, unknown>();

/** Record `client`'s connection errors, so a failed call can say why the server was unreachable. */
export function watchConnectionErrors(client: RedisClient): void {
  client.on('error', (error: unknown) => {
    if (networkFailureCause(error) !== undefined) connectionErrors.set(client, error);
  });
  client.on('ready', () => connectionErrors.delete(client));
}

/**
 * Where `client` connects, for messages: "Redis at 127.0.0.1:6379", "Redis at /run/redis.sock", "Redis
 * master mymaster via sentinels 10.0.0.1:26379", "Redis Cluster at 10.0.0.1:7000, ...". Never a password.
 */
export function describeRedisServer(client: RedisClient): string {
  const cluster = client as unknown as { isCluster?: boolean; startupNodes?: unknown[] };
  if (cluster.isCluster) {
    const nodes = (cluster.startupNodes ?? []).map((node) =>
      typeof node === 'object' && node !== null
        ? `${(node as { host?: string }).host ?? '127.0.0.1'}:${(node as { port?: number }).port ?? 6379}`
        : String(node),
    );
    return `Redis Cluster at ${nodes.join(', ') || 'its startup nodes'}`;
  }
  const options = ((client as unknown as { options?: Record<string, unknown> }).options ?? {}) as Record<
    string,
    unknown
  >;
  const sentinels = options.sentinels as { host?: string; port?: number }[] | undefined;
  if (Array.isArray(sentinels) && sentinels.length > 0) {
    const hosts = sentinels.map((node) => `${node.host ?? '127.0.0.1'}:${node.port ?? 26379}`).join(', ');
    return `Redis master ${String(options.name ?? '')} via sentinels ${hosts}`;
  }
  if (typeof options.path === 'string' && options.path !== '') return `Redis at ${options.path}`;
  return `Redis at ${String(options.host ?? '127.0.0.1')}:${String(options.port ?? 6379)}`;
}

/**
 * Map any error thrown by an ioredis call during `operation` to a tasq error. With the `client` the call
 * went through, a connection failure names the server and why it could not be reached ("cannot reach
 * Redis at 127.0.0.1:6380: connection refused ... (ECONNREFUSED)") rather than what ioredis was doing.
 */
export function mapRedisError(error: unknown, operation: string, client?: RedisClient): TasqError {
  if (error instanceof TasqError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectionFailure(error)) {
    const server = client ? describeRedisServer(client) : 'Redis';
    const cause =
      networkFailureCause(error) ?? (client ? networkFailureCause(connectionErrors.get(client)) : undefined);
    const text =
      cause !== undefined
        ? `redis ${operation} failed: cannot reach ${server}: ${cause}`
        : `redis ${operation} failed, ${server} unavailable: ${message}`;
    return new BrokerConnectionError(text, { cause: error });
  }
  return new BrokerError(`redis ${operation} failed: ${message}`, { cause: error });
}

/** Runs a call, rethrowing its failure as a tasq error that names the client's server. */
export type RedisCall = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

/** A {@link RedisCall} for calls through `client`. */
export function redisCallsThrough(client: RedisClient): RedisCall {
  return async (operation, call) => {
    try {
      return await call();
    } catch (error) {
      throw mapRedisError(error, operation, client);
    }
  };
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
