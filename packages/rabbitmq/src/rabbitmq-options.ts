import { hostname } from 'node:os';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { DEFAULT_DEPLOYMENT, InvalidArgumentError } from '@tasq/core/backend';
import type { Options, SocketOptions } from 'amqplib';

/** Classic queues support priorities; quorum queues are replicated and count deliveries. */
export type RabbitMqQueueType = 'classic' | 'quorum';

/** Where the server is, when not given as a URL. Every field has the AMQP default. */
export interface RabbitMqConnectionOptions {
  /** `amqp` (default) or `amqps` (TLS; pass certificates in `tls`). */
  protocol?: 'amqp' | 'amqps';
  /** Default `127.0.0.1`. */
  hostname?: string;
  /** Default 5672 (`amqp`) or 5671 (`amqps`). */
  port?: number;
  /** Default `guest`. */
  username?: string;
  /** Default `guest`. */
  password?: string;
  /** Virtual host. Default `/`. */
  vhost?: string;
  /** Heartbeat interval in seconds; 0 disables heartbeats. Default: the server's proposal (60 s). */
  heartbeat?: number;
}

/** Options of the RabbitMQ broker. Only `url` or `connection` is needed; everything else has a default. */
export interface RabbitMqBrokerOptions {
  /**
   * `amqp[s]://user:password@host:port/vhost?heartbeat=30&frameMax=131072`. The vhost is the URL path,
   * percent-encoded (`%2F` is the default vhost `/`). Takes precedence over `connection`.
   */
  url?: string;
  /** The server as separate fields, when no `url` is given. */
  connection?: RabbitMqConnectionOptions;
  /** TLS options for `amqps` (ca, cert, key, servername, rejectUnauthorized...), passed to `tls.connect`. */
  tls?: TlsConnectionOptions;
  /**
   * The connection name shown by `rabbitmqctl list_connections client_properties` and the management UI,
   * with `:publish` or `:consume` appended (a broker opens one connection of each). Default
   * `tasq:<deployment>:<host>:<pid>`.
   */
  connectionName?: string;
  /** `classic` (default; priorities with `maxPriority`) or `quorum` (replicated, exact delivery counts, no priorities). */
  queueType?: RabbitMqQueueType;
  /**
   * Most unacknowledged deliveries one queue's consumer holds, reserved or buffered. Also the largest batch
   * one `reserve` returns. Default: the cluster's `queueLimit` when the broker is created from a
   * configuration (`brokerClass: "@tasq/rabbitmq"`), else 50.
   */
  prefetch?: number;
  /**
   * `x-max-priority` of classic queues, 1..9, or 0 (the default) for plain queues without priorities
   * (enqueueing with a priority is then a CapabilityError). Off by default because a priority queue
   * costs the server about 60% more CPU per message than a plain one (raw amqplib, persistent
   * messages, prefetch 200: 28.5 against 17.5 µs). Ignored for quorum queues. Changing it for an
   * existing queue makes its declaration fail: delete the queue (or use a new name) first.
   */
  maxPriority?: number;
  /**
   * Quorum queues only: after this many deliveries the server itself dead-letters a package (a poison
   * package that crashes every consumer). Default: unset (the cluster's `maxAttempts` decides).
   */
  deliveryLimit?: number;
  /** The largest body `enqueue` accepts. Default 16 MiB; at most 128 MiB (the server's `max_message_size`). */
  maxPackageBytes?: number;
  /**
   * Prefix of the exchanges this broker declares (the delay ladder, pub/sub). Default `tasq`. A deployment
   * other than "default" puts `<name>/` in front of it, as of every queue.
   */
  exchangePrefix?: string;
  /** First reconnect delay after the connection drops; doubles per failed attempt. Default 100 ms. */
  reconnectInitialDelayMs?: number;
  /** Longest delay between reconnect attempts. Default 5000 ms. */
  reconnectMaxDelayMs?: number;
  /**
   * How long a call made while the connection is down waits for the reconnection before it fails with
   * `BrokerConnectionError`. Default 5000 ms.
   */
  reconnectWaitMs?: number;
  /** Timeout of one TCP connect attempt. Default 5000 ms. */
  connectTimeoutMs?: number;
}

/** Options after defaults and validation. */
export interface ResolvedRabbitMqOptions {
  readonly target: string | Options.Connect;
  readonly socketOptions: SocketOptions;
  /** `host:port/vhost`, for logs and errors: never the password. */
  readonly displayTarget: string;
  readonly connectionName: string;
  readonly queueType: RabbitMqQueueType;
  readonly prefetch: number;
  readonly maxPriority: number;
  readonly deliveryLimit: number | undefined;
  readonly maxPackageBytes: number;
  /**
   * What the deployment puts in front of every queue and exchange name on the server: '' for the default
   * deployment, `<name>/` for any other (neither tasq queue names nor deployment names hold a "/").
   */
  readonly namespace: string;
  /** The exchanges' prefix, the namespace included. */
  readonly exchangePrefix: string;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly reconnectWaitMs: number;
}

/** RabbitMQ's default `max_message_size` (3.8 and later). */
export const SERVER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
const DEFAULT_MAX_PACKAGE_BYTES = 16 * 1024 * 1024;

const KNOWN_KEYS = new Set<string>([
  'url',
  'connection',
  'tls',
  'connectionName',
  'queueType',
  'prefetch',
  'maxPriority',
  'deliveryLimit',
  'maxPackageBytes',
  'exchangePrefix',
  'reconnectInitialDelayMs',
  'reconnectMaxDelayMs',
  'reconnectWaitMs',
  'connectTimeoutMs',
]);

/** Apply defaults and refuse impossible values, naming the option. */
export function resolveOptions(options: RabbitMqBrokerOptions, deployment: string): ResolvedRabbitMqOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('rabbitmq broker options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new InvalidArgumentError(`unknown rabbitmq broker option "${key}"`);
    }
  }
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new InvalidArgumentError(
      `rabbitmq option queueType must be "classic" or "quorum", got ${String(queueType)}`,
    );
  }
  const prefetch = integerOption('prefetch', options.prefetch, 50, 1, 65_535);
  const maxPriority = integerOption('maxPriority', options.maxPriority, 0, 0, 9);
  const deliveryLimit =
    options.deliveryLimit === undefined
      ? undefined
      : integerOption('deliveryLimit', options.deliveryLimit, 0, 1, 1e9);
  if (deliveryLimit !== undefined && queueType !== 'quorum') {
    throw new InvalidArgumentError('rabbitmq option deliveryLimit needs queueType "quorum"');
  }
  const maxPackageBytes = integerOption(
    'maxPackageBytes',
    options.maxPackageBytes,
    DEFAULT_MAX_PACKAGE_BYTES,
    1,
    SERVER_MAX_MESSAGE_BYTES,
  );
  const exchangePrefix = options.exchangePrefix ?? 'tasq';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(exchangePrefix) || exchangePrefix.startsWith('amq.')) {
    throw new InvalidArgumentError(
      `rabbitmq option exchangePrefix must be 1-64 letters, digits, "_.:-" and not start with "amq.", got "${exchangePrefix}"`,
    );
  }
  const reconnectInitialDelayMs = integerOption(
    'reconnectInitialDelayMs',
    options.reconnectInitialDelayMs,
    100,
    1,
    600_000,
  );
  const reconnectMaxDelayMs = integerOption(
    'reconnectMaxDelayMs',
    options.reconnectMaxDelayMs,
    5000,
    1,
    3_600_000,
  );
  const reconnectWaitMs = integerOption('reconnectWaitMs', options.reconnectWaitMs, 5000, 0, 3_600_000);
  const connectTimeoutMs = integerOption('connectTimeoutMs', options.connectTimeoutMs, 5000, 1, 600_000);
  const connectionName = options.connectionName ?? `tasq:${deployment}:${hostname()}:${process.pid}`;
  const namespace = deployment === DEFAULT_DEPLOYMENT ? '' : `${deployment}/`;

  const { target, displayTarget } = resolveTarget(options);
  const socketOptions: SocketOptions = {
    ...(options.tls ?? {}),
    timeout: connectTimeoutMs,
    clientProperties: { connection_name: connectionName, product: 'tasq' },
  };
  return {
    target,
    socketOptions,
    displayTarget,
    connectionName,
    queueType,
    prefetch,
    maxPriority,
    deliveryLimit,
    maxPackageBytes,
    namespace,
    exchangePrefix: namespace + exchangePrefix,
    reconnectInitialDelayMs,
    reconnectMaxDelayMs: Math.max(reconnectMaxDelayMs, reconnectInitialDelayMs),
    reconnectWaitMs,
  };
}

function resolveTarget(options: RabbitMqBrokerOptions): {
  target: string | Options.Connect;
  displayTarget: string;
} {
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new InvalidArgumentError(
        'rabbitmq option url is not a valid URL (expected amqp://user:password@host:5672/vhost)',
      );
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
      throw new InvalidArgumentError(
        `rabbitmq option url must start with amqp:// or amqps://, got "${parsed.protocol}//"`,
      );
    }
    const port = parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672');
    const vhost = parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : '/';
    return { target: options.url, displayTarget: `${parsed.hostname}:${port} vhost ${vhost}` };
  }
  const connection = options.connection ?? {};
  const protocol = connection.protocol ?? 'amqp';
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    throw new InvalidArgumentError(
      `rabbitmq option connection.protocol must be "amqp" or "amqps", got "${protocol}"`,
    );
  }
  const port = integerOption(
    'connection.port',
    connection.port,
    protocol === 'amqps' ? 5671 : 5672,
    1,
    65_535,
  );
  const target: Options.Connect = {
    protocol,
    hostname: connection.hostname ?? '127.0.0.1',
    port,
    username: connection.username ?? 'guest',
    password: connection.password ?? 'guest',
    vhost: connection.vhost ?? '/',
  };
  if (connection.heartbeat !== undefined) {
    target.heartbeat = integerOption('connection.heartbeat', connection.heartbeat, 0, 0, 3600);
  }
  return { target, displayTarget: `${target.hostname}:${port} vhost ${target.vhost}` };
}

function integerOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `rabbitmq option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}
