import {
  decodeStoredValue,
  encodeStoredValue,
  InvalidArgumentError,
  type Logger,
  type PrunePolicy,
  type ResultBackend,
  type ResultListQuery,
  silentLogger,
  type TaskResult,
} from '@tasq/core';
import {
  closeClient,
  duplicateClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { mapRedisError, withRedisErrors } from './redis-errors.js';
import { checkPrefix, DEFAULT_PREFIX, ResultKeys } from './redis-keys.js';
import { runScript } from './redis-scripts.js';
import { checkInteger, checkNonEmptyString } from './redis-validation.js';

/** Options of {@link RedisResultBackend}. */
export interface RedisResultBackendOptions extends RedisConnectionOptions {
  /**
   * Seconds a result is kept before Redis expires it (Django-Q2's `cached`). Default: kept until pruned.
   * Expired results drop out of `list` and `group` as they are met.
   */
  cached?: number;
  logger?: Logger;
}

interface PendingWait {
  resolve(result: TaskResult | undefined): void;
}

/**
 * Result backend on Redis. One hash per result (encoded result, status, name, group) with an optional
 * time to live; lexicographic sorted-set indexes for listing newest first by status and name; a sorted
 * set per group ordered by group index. `wait` is push-based: a save publishes the result on a channel
 * per id, which waiters subscribe to on one shared subscriber connection.
 */
export class RedisResultBackend implements ResultBackend {
  readonly name = 'redis';
  /** The key prefix of this deployment. */
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly keys: ResultKeys;
  private readonly ttlMs: number;
  private readonly logger: Logger;
  private subscriber: RedisClient | undefined;
  /** Waiters per channel; a channel is subscribed while it has at least one. */
  private readonly waiters = new Map<string, Set<PendingWait>>();
  private closed = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisResultBackendOptions = {}) {
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    if (options.cached !== undefined && !(Number.isFinite(options.cached) && options.cached > 0)) {
      throw new InvalidArgumentError(
        `redis result backend \`cached\` must be a positive number of seconds, got ${String(options.cached)}`,
      );
    }
    this.ttlMs = options.cached === undefined ? 0 : Math.ceil(options.cached * 1000);
    this.keys = new ResultKeys(this.prefix);
    this.logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options);
    this.client = client;
    this.ownsClient = owned;
    if (owned)
      this.client.on('error', (error: Error) =>
        this.logger.debug({ error: error.message }, 'redis connection error'),
      );
  }

  /** Store (or replace) an outcome, index it and publish it to waiters, in one atomic script. */
  async save(result: TaskResult): Promise<void> {
    this.checkOpen();
    checkNonEmptyString('result id', result?.id);
    checkNonEmptyString('result name', result.name);
    if (result.status !== 'success' && result.status !== 'failure') {
      throw new InvalidArgumentError(
        `result status must be "success" or "failure", got ${String(result.status)}`,
      );
    }
    const data = encodeStoredValue(result);
    await withRedisErrors('result save', () =>
      runScript(
        this.client,
        'tasqResultSave',
        this.keys.result(result.id),
        this.keys.base,
        result.id,
        data,
        result.status,
        result.name,
        result.group ?? '',
        result.groupIndex ?? '',
        this.ttlMs,
      ),
    );
  }

  /** The stored outcome (one HGET), or undefined when there is none or it expired. */
  async get(id: string): Promise<TaskResult | undefined> {
    this.checkOpen();
    const data = await withRedisErrors('result get', () => this.client.hget(this.keys.result(id), 'data'));
    return data === null ? undefined : (decodeStoredValue(data) as TaskResult);
  }

  /**
   * Resolve with the outcome once saved. Subscribes to the id's channel before reading, so a save between
   * the read and the subscription cannot be missed; after a reconnect of the subscriber, every pending
   * id is read again (a publish during the outage is not replayed by Redis).
   */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskResult | undefined> {
    this.checkOpen();
    if (signal?.aborted) return undefined;
    const channel = this.keys.savedChannel(id);
    let settle!: (result: TaskResult | undefined) => void;
    const outcome = new Promise<TaskResult | undefined>((resolve) => {
      settle = resolve;
    });
    let done = false;
    const pending: PendingWait = {
      resolve: (result) => {
        if (done) return;
        done = true;
        settle(result);
      },
    };
    const timer = setTimeout(() => pending.resolve(undefined), Math.max(0, timeoutMs));
    const onAbort = () => pending.resolve(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        await this.addWaiter(channel, pending);
        const stored = await this.get(id);
        if (stored) pending.resolve(stored);
      } catch (error) {
        // Closed or aborted while subscribing: the wait simply ends.
        if (!this.closed && !done) throw error;
      }
      return await outcome;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.removeWaiter(channel, pending);
    }
  }

  /** Every stored outcome of `group`, by group index then id (one script call). */
  async group(group: string): Promise<TaskResult[]> {
    this.checkOpen();
    const data = (await withRedisErrors('result group', () =>
      runScript(this.client, 'tasqResultGroup', this.keys.group(group), this.keys.result('')),
    )) as string[];
    return data.map((item) => decodeStoredValue(item) as TaskResult);
  }

  /** Outcomes newest (highest id) first, by status and/or task name, paged with `before` (one script call). */
  async list(query: ResultListQuery): Promise<TaskResult[]> {
    this.checkOpen();
    const limit = checkInteger('list limit', query?.limit, 0, 100_000);
    if (limit === 0) return [];
    const index = this.keys.listIndex(query.status, query.name);
    const data = (await withRedisErrors('result list', () =>
      runScript(this.client, 'tasqResultList', index, this.keys.result(''), query.before ?? '', limit),
    )) as string[];
    return data.map((item) => decodeStoredValue(item) as TaskResult);
  }

  /** Delete successes past `saveLimit` (newest kept), overall or per task name or group. Failures stay. */
  async prune(policy: PrunePolicy): Promise<number> {
    this.checkOpen();
    const saveLimit = checkInteger('saveLimit', policy?.saveLimit, -1, Number.MAX_SAFE_INTEGER);
    if (saveLimit === 0) return 0;
    const per = policy.per ?? 'all';
    if (per !== 'all' && per !== 'name' && per !== 'group') {
      throw new InvalidArgumentError(`prune \`per\` must be "name" or "group", got ${String(policy.per)}`);
    }
    return (await withRedisErrors('result prune', () =>
      runScript(
        this.client,
        'tasqResultPrune',
        this.keys.listIndex(undefined, undefined),
        this.keys.base,
        saveLimit === -1 ? 0 : saveLimit,
        per,
      ),
    )) as number;
  }

  /** SET NX (with PX when `ttlMs` is given): exactly one caller gets true per key. */
  async claimOnce(key: string, ttlMs?: number): Promise<boolean> {
    this.checkOpen();
    checkNonEmptyString('claim key', key);
    const claimKey = this.keys.claim(key);
    const reply = await withRedisErrors('claimOnce', () =>
      ttlMs === undefined
        ? this.client.set(claimKey, '1', 'NX')
        : this.client.set(
            claimKey,
            '1',
            'PX',
            checkInteger('ttlMs', Math.ceil(ttlMs), 1, Number.MAX_SAFE_INTEGER),
            'NX',
          ),
    );
    return reply === 'OK';
  }

  /** Resolve pending waits with undefined and close connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) for (const pending of set) pending.resolve(undefined);
    this.waiters.clear();
    if (this.subscriber) await closeClient(this.subscriber);
    if (this.ownsClient) await closeClient(this.client);
  }

  private async addWaiter(channel: string, pending: PendingWait): Promise<void> {
    let set = this.waiters.get(channel);
    if (set) {
      set.add(pending);
      return;
    }
    set = new Set([pending]);
    this.waiters.set(channel, set);
    try {
      await this.subscriberConnection().subscribe(channel);
    } catch (error) {
      throw mapRedisError(error, 'result wait');
    }
  }

  private removeWaiter(channel: string, pending: PendingWait): void {
    const set = this.waiters.get(channel);
    if (!set) return;
    set.delete(pending);
    if (set.size > 0) return;
    this.waiters.delete(channel);
    if (!this.closed) this.subscriber?.unsubscribe(channel).catch(() => undefined);
  }

  private subscriberConnection(): RedisClient {
    if (this.subscriber) return this.subscriber;
    const subscriber = duplicateClient(this.client, 'tasq-results');
    subscriber.on('error', (error: Error) =>
      this.logger.debug({ error: error.message }, 'redis subscriber error'),
    );
    subscriber.on('message', (channel: string, message: string) => {
      const set = this.waiters.get(channel);
      if (!set) return;
      let result: TaskResult;
      try {
        result = decodeStoredValue(message) as TaskResult;
      } catch (error) {
        // Not written by a tasq save (or corrupted): never let it take the process down; the waiter keeps waiting.
        this.logger.warn(
          { channel, error: (error as Error).message },
          'redis result message could not be decoded',
        );
        return;
      }
      for (const pending of set) pending.resolve(result);
    });
    // Saves published while the subscriber was disconnected are gone: read every pending id again.
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      for (const [channel, set] of this.waiters) {
        const id = channel.slice(this.keys.savedChannel('').length);
        this.get(id)
          .then((stored) => {
            if (stored) for (const pending of set) pending.resolve(stored);
          })
          .catch(() => undefined);
      }
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError('the Redis result backend is closed');
  }
}
