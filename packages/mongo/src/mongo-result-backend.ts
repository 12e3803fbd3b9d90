/**
 * The MongoDB result backend: one document per job id in `<prefix>results`, `claimOnce` keys in
 * `<prefix>claims`. `wait` is woken by a change stream where the deployment has them and polls otherwise.
 */
import {
  BrokerConnectionError,
  checkKeepUntilClaimed,
  type Clock,
  InvalidArgumentError,
  type PrunePolicy,
  type ResultBackend,
  type ResultListQuery,
  silentLogger,
  systemClock,
  type TaskResult,
} from '@tasq/core/backend';
import type { Collection, Filter } from 'mongodb';
import type { MongoRuntime } from './mongo-broker.js';
import { ChangeNotifier, sleepUntilChanged } from './mongo-change-notifier.js';
import { CLAIM_INDEXES, ensureIndexes, PROGRESS_INDEXES, RESULT_INDEXES } from './mongo-collections.js';
import { MongoResultAdministration, type ProgressDocument } from './mongo-result-administration.js';
import { MongoConnection } from './mongo-connection.js';
import { type ResultDocument, resultFromDocument, resultToDocument } from './mongo-documents.js';
import { isDuplicateKeyError, mapDriverErrors, toTasqError } from './mongo-errors.js';
import { type MongoOptions, resolveMongoOptions } from './mongo-options.js';

/**
 * With a change stream, a waiting `wait` still re-reads this often: it only matters when the stream is
 * resuming after a failover, so it can be much slower than `poll`.
 */
const CHANGE_STREAM_RECHECK_MS = 1000;

interface ClaimDocument {
  _id: string;
  claimedAt: Date;
  /** Absent: the claim never expires. */
  expiresAt?: Date;
}

export class MongoResultBackend implements ResultBackend {
  readonly name = 'mongo';
  /** Delete outcomes (by id, by group) and keep each job's latest progress. */
  readonly administration: MongoResultAdministration;

  private readonly results: Collection<ResultDocument>;
  private readonly claims: Collection<ClaimDocument>;
  private readonly closing = new AbortController();
  private closed = false;

  private constructor(
    private readonly connection: MongoConnection,
    private readonly notifier: ChangeNotifier | undefined,
    private readonly clock: Clock,
  ) {
    this.results = connection.database.collection<ResultDocument>(connection.collections.results);
    this.claims = connection.database.collection<ClaimDocument>(connection.collections.claims);
    this.administration = new MongoResultAdministration(
      this.results,
      connection.database.collection<ProgressDocument>(connection.collections.progress),
      clock,
      connection.options.cachedSeconds,
      () => this.checkOpen(),
    );
  }

  /** Connect and create the indexes (TTL included). `BrokerConnectionError` when the server cannot be reached. */
  static async open(
    options: MongoOptions | string | undefined,
    runtime: MongoRuntime = {},
  ): Promise<MongoResultBackend> {
    const resolved = resolveMongoOptions(options, runtime.deployment);
    const connection = await MongoConnection.open(resolved);
    try {
      await mapDriverErrors('create result indexes', async () => {
        await ensureIndexes(connection.database, connection.collections.results, RESULT_INDEXES);
        await ensureIndexes(connection.database, connection.collections.claims, CLAIM_INDEXES);
        await ensureIndexes(connection.database, connection.collections.progress, PROGRESS_INDEXES);
      });
      let notifier: ChangeNotifier | undefined;
      if (await connection.useChangeStreams()) {
        notifier = new ChangeNotifier(
          connection.database.collection(connection.collections.results),
          RESULT_CHANGES_PIPELINE,
          (event) => (event.documentKey?._id === undefined ? undefined : String(event.documentKey._id)),
          runtime.logger ?? silentLogger,
        );
        await notifier.start();
      }
      return new MongoResultBackend(connection, notifier, runtime.clock ?? systemClock);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Whether waits are woken by a change stream (true) or only by polling (false). */
  get changeStreamsActive(): boolean {
    return this.notifier?.active ?? false;
  }

  /**
   * Replace-or-insert by job id (idempotent), stamping the TTL expiry when `cached` is configured. A
   * failure leaves a stored success as it is.
   */
  async save(result: TaskResult): Promise<void> {
    this.checkOpen();
    if (typeof result?.id !== 'string' || result.id === '') {
      throw new InvalidArgumentError('save: result.id must be a non-empty string');
    }
    checkKeepUntilClaimed('mongo', result.keepUntilClaimed);
    const now = this.clock.now();
    const cached = this.connection.options.cachedSeconds;
    // A success held for a claim (a chord member) gets its expiry when the claim is taken, in claimOnce;
    // one saved after its claim (a member run again) expires like any other.
    const held =
      result.keepUntilClaimed !== undefined &&
      cached !== undefined &&
      !(await this.claimLive(result.keepUntilClaimed, now));
    const expiresAt = cached === undefined || held ? undefined : new Date(now + cached * 1000);
    let document: ResultDocument;
    try {
      document = resultToDocument(result, new Date(now), expiresAt);
    } catch (error) {
      throw new InvalidArgumentError(
        `save: the outcome of job ${result.id} cannot be stored: ${(error as Error).message}`,
      );
    }
    // A failure never replaces a live success of the same job (`replacesStoredOutcome`): its filter leaves
    // such a document out, so the upsert tries to insert the id, which exists, and the duplicate key it is
    // refused with means "the success stands". An expired success no longer counts.
    const filter: Filter<ResultDocument> =
      result.status === 'failure'
        ? { _id: result.id, $nor: [{ status: 'success', ...this.notExpired() }] }
        : { _id: result.id };
    try {
      await this.results.replaceOne(filter, document, { upsert: true });
    } catch (error) {
      if (result.status === 'failure' && isDuplicateKeyError(error)) return;
      throw toTasqError(error, `save result ${result.id}`);
    }
  }

  async get(id: string): Promise<TaskResult | undefined> {
    this.checkOpen();
    const document = await mapDriverErrors(`get result ${id}`, () =>
      this.results.findOne({ _id: id, ...this.notExpired() }),
    );
    return document ? resultFromDocument(document) : undefined;
  }

  /**
   * Read; if absent, wait for a change event on this id (or the next poll) and read again, until found,
   * `timeoutMs` passes, `signal` aborts or the backend closes.
   */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskResult | undefined> {
    this.checkOpen();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const change = this.notifier?.active ? this.notifier.next(id) : undefined;
      try {
        let found: TaskResult | undefined;
        try {
          found = await this.get(id);
        } catch (error) {
          if (this.closed) return undefined;
          throw error;
        }
        if (found || stop.aborted) return found;
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return undefined;
        const interval = change ? CHANGE_STREAM_RECHECK_MS : this.connection.options.poll;
        await sleepUntilChanged(this.clock, Math.min(remaining, interval), change?.changed, stop);
        if (stop.aborted) return undefined;
      } finally {
        change?.cancel();
      }
    }
  }

  async group(group: string): Promise<TaskResult[]> {
    this.checkOpen();
    const documents = await mapDriverErrors(`group ${group}`, () =>
      this.results
        .find({ group, ...this.notExpired() })
        .sort({ groupIndex: 1, _id: 1 })
        .toArray(),
    );
    return documents.map(resultFromDocument);
  }

  async list(query: ResultListQuery): Promise<TaskResult[]> {
    this.checkOpen();
    if (!Number.isInteger(query?.limit) || query.limit < 1) {
      throw new InvalidArgumentError(`list: limit must be a whole number >= 1 (got ${String(query?.limit)})`);
    }
    const filter: Filter<ResultDocument> = { ...this.notExpired() };
    if (query.status !== undefined) filter.status = query.status;
    if (query.name !== undefined) filter.name = query.name;
    if (query.before !== undefined) filter._id = { $lt: query.before };
    const documents = await mapDriverErrors('list results', () =>
      this.results.find(filter).sort({ _id: -1 }).limit(query.limit).toArray(),
    );
    return documents.map(resultFromDocument);
  }

  /**
   * Delete successes beyond `saveLimit`, newest kept, overall or per name or per group (results without a
   * group count as one more group). Failures are never touched. For each set: find the id of the first success past the limit, then delete that one and every
   * older success of the set in one `deleteMany`.
   */
  async prune(policy: PrunePolicy): Promise<number> {
    this.checkOpen();
    const { saveLimit, per } = policy ?? ({} as PrunePolicy);
    if (!Number.isInteger(saveLimit) || saveLimit < -1) {
      throw new InvalidArgumentError(
        `prune: saveLimit must be -1, 0 or a positive whole number (got ${saveLimit})`,
      );
    }
    if (per !== undefined && per !== 'name' && per !== 'group') {
      throw new InvalidArgumentError(`prune: per must be "name" or "group" (got ${String(per)})`);
    }
    if (saveLimit === 0) return 0;
    return mapDriverErrors('prune results', async () => {
      // Successes held for a claim not taken yet (chord members) neither go nor count.
      const held = await this.unclaimedKeys();
      const successes: Filter<ResultDocument> =
        held.length > 0 ? { status: 'success', keepUntilClaimed: { $nin: held } } : { status: 'success' };
      if (per === undefined) return this.pruneSet(successes, saveLimit);
      const field = per === 'name' ? 'name' : 'group';
      const values = await this.results.distinct(field, { ...successes, [field]: { $exists: true } });
      let deleted = 0;
      for (const value of values) deleted += await this.pruneSet({ ...successes, [field]: value }, saveLimit);
      // Results outside any group are one more set of their own.
      if (per === 'group')
        deleted += await this.pruneSet({ ...successes, group: { $exists: false } }, saveLimit);
      return deleted;
    });
  }

  /**
   * Insert the key into the claims collection; its `_id` uniqueness makes exactly one insert win. A claim
   * whose `ttlMs` has passed is deleted first (the TTL monitor runs only once a minute).
   */
  async claimOnce(key: string, ttlMs?: number): Promise<boolean> {
    this.checkOpen();
    if (typeof key !== 'string' || key === '')
      throw new InvalidArgumentError('claimOnce: key must be a non-empty string');
    if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new InvalidArgumentError(
        `claimOnce: ttlMs must be a positive number of milliseconds (got ${ttlMs})`,
      );
    }
    const now = this.clock.now();
    const claim: ClaimDocument = { _id: key, claimedAt: new Date(now) };
    if (ttlMs !== undefined) claim.expiresAt = new Date(now + ttlMs);
    try {
      await this.claims.deleteOne({ _id: key, expiresAt: { $lte: new Date(now) } });
      await this.claims.insertOne(claim);
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw toTasqError(error, `claimOnce ${key}`);
    }
    const cached = this.connection.options.cachedSeconds;
    if (cached !== undefined) {
      // The results held for this key start their time to live now.
      await mapDriverErrors('claimOnce', () =>
        this.results.updateMany(
          { keepUntilClaimed: key, expiresAt: { $exists: false } },
          { $set: { expiresAt: new Date(now + cached * 1000) } },
        ),
      );
    }
    return true;
  }

  async releaseClaim(key: string): Promise<void> {
    this.checkOpen();
    if (typeof key !== 'string' || key === '')
      throw new InvalidArgumentError('releaseClaim: key must be a non-empty string');
    await mapDriverErrors('releaseClaim', () => this.claims.deleteOne({ _id: key }));
  }

  /** End pending waits (they resolve undefined), close the change stream and the client. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await this.notifier?.close();
    await this.connection.close();
  }

  /** Whether `key` is claimed now (a claim whose ttl has passed is not). */
  private async claimLive(key: string, now: number): Promise<boolean> {
    const claim = await mapDriverErrors(`claim ${key}`, () =>
      this.claims.findOne({ _id: key, ...liveClaims(now) }, { projection: { _id: 1 } }),
    );
    return claim !== null;
  }

  /** The `keepUntilClaimed` keys of stored successes that have no live claim yet. */
  private async unclaimedKeys(): Promise<string[]> {
    const keys = (await this.results.distinct('keepUntilClaimed', {
      status: 'success',
      keepUntilClaimed: { $exists: true },
    })) as string[];
    if (keys.length === 0) return [];
    const live = await this.claims
      .find({ _id: { $in: keys }, ...liveClaims(this.clock.now()) }, { projection: { _id: 1 } })
      .toArray();
    const taken = new Set(live.map((claim) => claim._id));
    return keys.filter((key) => !taken.has(key));
  }

  private async pruneSet(filter: Filter<ResultDocument>, saveLimit: number): Promise<number> {
    if (saveLimit < 0) return (await this.results.deleteMany(filter)).deletedCount;
    const [firstPastLimit] = await this.results
      .find(filter, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .skip(saveLimit)
      .limit(1)
      .toArray();
    if (!firstPastLimit) return 0;
    return (await this.results.deleteMany({ ...filter, _id: { $lte: firstPastLimit._id } })).deletedCount;
  }

  /** Results past their TTL may linger until the TTL monitor's next pass (up to ~60 s): never return them. */
  private notExpired(): Filter<ResultDocument> {
    return { expiresAt: { $not: { $lte: new Date(this.clock.now()) } } };
  }

  private checkOpen(): void {
    if (this.closed) throw new BrokerConnectionError('mongo result backend is closed');
  }
}

/** Inserts, replacements and updates of a result, projected down to its id. */
const RESULT_CHANGES_PIPELINE = [
  { $match: { operationType: { $in: ['insert', 'replace', 'update'] } } },
  { $project: { operationType: 1, documentKey: 1 } },
];

/** Claims that still hold at `now`: taken for good, or whose ttl has not passed. */
function liveClaims(now: number): Filter<ClaimDocument> {
  return { $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: new Date(now) } }] };
}
