import {
  checkCachedSeconds,
  checkKeepUntilClaimed,
  decodeStoredValue,
  encodeStoredValue,
  InvalidArgumentError,
  type Logger,
  type PrunePolicy,
  type ResultBackend,
  type ResultListQuery,
  replacesStoredOutcome,
  silentLogger,
  type TaskResult,
  type TaskStatus,
} from '@tasq/core/backend';
import { ResultSaveCoalescer } from '@tasq/core/internal';
import {
  closeClient,
  duplicateClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { mapRedisError, resultKeyTaken, type RedisCall, redisCallsThrough } from './redis-errors.js';
import { deploymentPrefix, ResultKeys } from './redis-keys.js';
import { RedisResultAdministration } from './redis-result-administration.js';
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

/**
 * Most results in one save script call. The cap bounds the time one call holds the server: about 13 µs of
 * script time per new result (measured with INFO commandstats on a private server), so a full call blocks
 * other clients for about 6 ms. A tasq cluster at c=50 sends about 77 results per call.
 */
export const MAX_SAVE_BATCH = 500;

interface SaveItem {
  id: string;
  status: TaskStatus;
  /** The script arguments of this result, after the key base and time to live. */
  fields: (string | number)[];
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
  /** Delete outcomes (by id, by group) and keep each job's latest progress. */
  readonly administration: RedisResultAdministration;
  private readonly client: RedisClient;
  private readonly withErrors: RedisCall;
  private readonly ownsClient: boolean;
  private readonly keys: ResultKeys;
  private readonly ttlMs: number;
  private readonly logger: Logger;
  private subscriber: RedisClient | undefined;
  /** Waiters per channel; a channel is subscribed while it has at least one. */
  private readonly waiters = new Map<string, Set<PendingWait>>();
  private readonly saves = new ResultSaveCoalescer<SaveItem>(
    (items) => this.sendSaves(items),
    MAX_SAVE_BATCH,
    (earlier, later) => replacesStoredOutcome(earlier.status, later.status),
  );
  private closed = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisResultBackendOptions = {}) {
    this.prefix = deploymentPrefix(options.prefix, options.deployment);
    this.ttlMs = checkCachedSeconds('redis', options.cached);
    this.keys = new ResultKeys(this.prefix);
    this.logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options, this.logger);
    this.client = client;
    this.withErrors = redisCallsThrough(client);
    this.ownsClient = owned;
    this.administration = new RedisResultAdministration(client, this.withErrors, this.keys, this.ttlMs, () =>
      this.checkOpen(),
    );
  }

  /**
   * Store (or replace) an outcome, index it and publish it to waiters; atomic per result. A failure does
   * not replace a stored success (the script leaves it). Saves issued in
   * the same turn of the event loop, or while the previous batch is in flight, go out as one script call
   * (up to {@link MAX_SAVE_BATCH} results each, through core's ResultSaveCoalescer): one round trip for
   * the batch instead of one per result. Within a batch the last save of an id wins. Resolves once this
   * result is stored.
   */
  save(result: TaskResult): Promise<void> {
    let item: SaveItem;
    try {
      this.checkOpen();
      item = this.saveItem(result);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.saves.save(item.id, item);
  }

  /** The stored outcome (one HGET), or undefined when there is none or it expired. */
  async get(id: string): Promise<TaskResult | undefined> {
    this.checkOpen();
    const data = await this.withErrors('result get', () => this.client.hget(this.keys.result(id), 'data'));
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
    // The first lookup always gets its answer, however slow the server: a result saved before the call
    // is returned even past the timeout (as the SQL and MongoDB backends do). Only waiting for a later
    // save is cut short.
    let lookedUp = false;
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        if (lookedUp) pending.resolve(undefined);
      },
      Math.max(0, timeoutMs),
    );
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
      lookedUp = true;
      if (timedOut) pending.resolve(undefined);
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
    const data = (await this.withErrors('result group', () =>
      runScript(this.client, 'tasqResultGroup', this.keys.group(group), this.keys.result('')),
    )) as string[];
    return data.map((item) => decodeStoredValue(item) as TaskResult);
  }

  /** Outcomes newest (highest id) first, by status and/or task name, paged with `before` (one script call). */
  async list(query: ResultListQuery): Promise<TaskResult[]> {
    this.checkOpen();
    const limit = checkInteger('list limit', query?.limit, 0, 100_000);
    if (limit === 0) return [];
    const indexes = this.keys.listIndexes(query.status, query.name);
    const answers = (await this.withErrors('result list', () =>
      runScript(
        this.client,
        'tasqResultList',
        indexes.length,
        ...indexes,
        this.keys.result(''),
        query.before ?? '',
        limit,
      ),
    )) as string[][];
    return newestFirst(answers, limit).map((data) => decodeStoredValue(data) as TaskResult);
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
    return (await this.withErrors('result prune', () =>
      runScript(
        this.client,
        'tasqResultPrune',
        this.keys.statusIndex('success'),
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
    const claimTtl =
      ttlMs === undefined ? '' : checkInteger('ttlMs', Math.ceil(ttlMs), 1, Number.MAX_SAFE_INTEGER);
    const reply = await this.withErrors('claimOnce', () =>
      runScript(
        this.client,
        'tasqResultClaim',
        this.keys.claim(key),
        this.keys.heldBy(key),
        claimTtl,
        this.keys.result(''),
        this.ttlMs,
      ),
    );
    return reply === 1;
  }

  async releaseClaim(key: string): Promise<void> {
    this.checkOpen();
    checkNonEmptyString('claim key', key);
    await this.withErrors('releaseClaim', () => this.client.del(this.keys.claim(key)));
  }

  /** Resolve pending waits with undefined and close connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Saves issued before close still go out, ahead of QUIT.
    await this.saves.drain();
    for (const set of this.waiters.values()) for (const pending of set) pending.resolve(undefined);
    this.waiters.clear();
    if (this.subscriber) await closeClient(this.subscriber);
    if (this.ownsClient) await closeClient(this.client);
  }

  /** Validate and encode one result; throws `InvalidArgumentError` naming the problem. */
  private saveItem(result: TaskResult): SaveItem {
    checkNonEmptyString('result id', result?.id);
    checkNonEmptyString('result name', result.name);
    checkKeepUntilClaimed('redis', result.keepUntilClaimed);
    if (result.status !== 'success' && result.status !== 'failure') {
      throw new InvalidArgumentError(
        `result status must be "success" or "failure", got ${String(result.status)}`,
      );
    }
    const groupIndex = result.groupIndex ?? undefined;
    // Checked here, not left to ZADD: a bad score failing inside the script would leave a half-written result.
    if (groupIndex !== undefined && (typeof groupIndex !== 'number' || Number.isNaN(groupIndex))) {
      throw new InvalidArgumentError(`result groupIndex must be a number, got ${String(groupIndex)}`);
    }
    return {
      id: result.id,
      status: result.status,
      fields: [
        result.id,
        encodeStoredValue(result),
        result.status,
        result.name,
        result.group ?? '',
        groupIndex ?? '',
        result.keepUntilClaimed ?? '',
      ],
    };
  }

  /** One script call for a batch (one item per id); the ids whose key holds something else fail alone. */
  private async sendSaves(items: SaveItem[]): Promise<Map<string, unknown>> {
    const callArguments: (string | number)[] = [items.length];
    for (const item of items) callArguments.push(this.keys.result(item.id));
    callArguments.push(this.keys.base, this.ttlMs);
    for (const item of items) callArguments.push(...item.fields);
    const outcomes = (await this.withErrors('result save', () =>
      runScript(this.client, 'tasqResultSave', ...callArguments),
    )) as number[];
    const failures = new Map<string, unknown>();
    items.forEach((item, index) => {
      if (outcomes[index] !== 1) failures.set(item.id, resultKeyTaken(item.id, this.keys.result(item.id)));
    });
    return failures;
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
      throw mapRedisError(error, 'result wait', this.client);
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

/**
 * Merge the list script's answers (per index: id, data, id, data... newest first) into the newest `limit`
 * data overall. Ids compare as strings, code unit by code unit: the byte order ZREVRANGEBYLEX pages in.
 */
function newestFirst(answers: string[][], limit: number): string[] {
  if (answers.length === 1) return answers[0]!.filter((_, index) => index % 2 === 1);
  const entries: { id: string; data: string }[] = [];
  for (const answer of answers) {
    for (let i = 0; i < answer.length; i += 2) entries.push({ id: answer[i]!, data: answer[i + 1]! });
  }
  entries.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return entries.slice(0, limit).map((entry) => entry.data);
}
