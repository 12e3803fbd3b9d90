/**
 * The Redis broker's administration capability, every part of it. The hot-path scripts keep three
 * indexes per queue beside the package hashes (`stored`: live ids by store order; `dead-at`: dead ids by
 * death time; `job-ids`: job id → newest package), so a page reads about `limit` index entries and a
 * lookup one hash field per queue. Each change is one Lua script on the queue's slot, so it is atomic:
 * two operators requeueing one dead letter race on a ZREM, and only one wins.
 *
 * What spans queues lives in single keys: the queues `find` looks through (each instance adds a queue on
 * its first enqueue to it, beside that enqueue), the pause flags and the cancel marks.
 */
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type CancelMark,
  type DeadLetterFilter,
  type DeadLetterRetention,
  checkLimit,
  checkLiveStates,
  checkPackageIds,
  checkRequeueRequests,
  checkText,
  InvalidArgumentError,
  LIVE_PACKAGE_STATES,
  optionalCount,
  optionalText,
  type PackageListQuery,
  type PackagePage,
  type PackageState,
  type RequeueRequest,
  type StoredPackage,
} from '@tasq/core/backend';
import type { RedisBroker } from './redis-broker.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisCall } from './redis-errors.js';
import { AdministrationKeys, type QueueKeys } from './redis-keys.js';
import { RedisMarks } from './redis-marks.js';
import { runScript, runScriptBuffer } from './redis-scripts.js';
import { asBuffer } from './redis-validation.js';

/** Values per record in a script reply: id, state, visibleAt, then the fields of admin-common.lua. */
const RECORD_LENGTH = 12;
/**
 * How often an instance that keeps enqueueing to a queue registers it again; a registration older than
 * {@link FORGET_AFTER_MS} whose queue holds no key is dropped by the next `find`.
 */
const REGISTER_EVERY_MS = 10 * 60_000;
const FORGET_AFTER_MS = 60 * 60_000;

export class RedisBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: true,
    browse: true,
    deadLetters: true,
    remove: true,
    pause: true,
    cancelMarks: true,
  });

  private readonly keys: AdministrationKeys;
  private readonly marks: RedisMarks;
  /** Queue → when this instance last registered it. */
  private readonly registered = new Map<string, number>();

  constructor(
    private readonly broker: RedisBroker,
    private readonly client: RedisClient,
    private readonly withErrors: RedisCall,
  ) {
    this.keys = new AdministrationKeys(broker.prefix);
    this.marks = new RedisMarks(client, withErrors, this.keys, 'admin');
  }

  /**
   * @internal Add `queue` to the queues `find` looks through, unless this instance did so lately.
   * Never rejects: a failed registration is sent again with the next enqueue.
   */
  register(queue: string): Promise<unknown> | undefined {
    const now = Date.now();
    const last = this.registered.get(queue);
    if (last !== undefined && now - last < REGISTER_EVERY_MS) return undefined;
    this.registered.set(queue, now);
    return this.client.zadd(this.keys.queues, now, queue).catch(() => this.registered.delete(queue));
  }

  async find(jobId: string): Promise<StoredPackage | undefined> {
    checkText('jobId', jobId);
    const queues = await this.queues();
    const found = await Promise.all(
      queues.map(async ({ queue, registeredAt }) => {
        const keys = this.broker.keys(queue);
        const reply = (await this.withErrors('admin find', () =>
          runScriptBuffer(
            this.client,
            'tasqAdminFind',
            keys.jobIds,
            keys.ready,
            keys.delayed,
            keys.reserved,
            keys.deadAt,
            keys.stored,
            keys.dead,
            keys.jobPrefix,
            jobId,
            this.broker.now(),
          ),
        )) as Buffer[];
        if (reply.length === 1 && String(reply[0]) === '1' && registeredAt < Date.now() - FORGET_AFTER_MS) {
          // An empty queue nobody enqueued to for an hour: stop looking there.
          await this.client.zrem(this.keys.queues, queue).catch(() => undefined);
        }
        return records(queue, reply.slice(1))[0];
      }),
    );
    let newest: StoredPackage | undefined;
    for (const stored of found) {
      if (stored && (!newest || (stored.enqueuedAt ?? 0) > (newest.enqueuedAt ?? 0))) newest = stored;
    }
    return newest;
  }

  async list(query: PackageListQuery): Promise<PackagePage> {
    const keys = this.queueKeys(query?.queue);
    const limit = checkLimit(query.limit);
    const states = checkLiveStates(query.states);
    const reply = (await this.withErrors('admin list', () =>
      runScriptBuffer(
        this.client,
        'tasqAdminList',
        keys.stored,
        keys.ready,
        keys.delayed,
        keys.reserved,
        keys.jobPrefix,
        this.broker.now(),
        limit,
        checkCursor(query.cursor),
        optionalText('task', query.task) ?? '',
        states.length === LIVE_PACKAGE_STATES.length ? '' : states.join(' '),
        scanBudget(limit),
      ),
    )) as Buffer[];
    return page(query.queue, reply);
  }

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    const keys = this.queueKeys(query?.queue);
    const limit = checkLimit(query.limit);
    const reply = (await this.withErrors('admin listDead', () =>
      runScriptBuffer(
        this.client,
        'tasqAdminListDead',
        keys.deadAt,
        keys.dead,
        keys.jobPrefix,
        limit,
        checkCursor(query.cursor),
        optionalText('task', query.task) ?? '',
        scanBudget(limit),
      ),
    )) as Buffer[];
    return page(query.queue, reply);
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    if (checkRequeueRequests(requests).length === 0) return [];
    const argumentsList: (string | Buffer)[] = [];
    for (const request of requests) {
      argumentsList.push(
        request.packageId,
        // A requeued letter goes back under a new id: see admin-requeue-dead.lua.
        this.broker.nextId(),
        request.body === undefined ? '0' : '1',
        request.body === undefined ? '' : asBuffer(request.body),
      );
    }
    // A package id does not name its queue: every known queue is asked, each in one atomic call.
    return this.onEveryQueue('admin requeueDead', (keys) =>
      runScript(
        this.client,
        'tasqAdminRequeueDead',
        keys.deadAt,
        keys.dead,
        keys.ready,
        keys.stored,
        keys.sequence,
        keys.wake,
        keys.jobIds,
        keys.jobPrefix,
        ...argumentsList,
      ),
    );
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    if (checkPackageIds(packageIds).length === 0) return [];
    return this.onEveryQueue('admin deleteDead', (keys) =>
      runScript(
        this.client,
        'tasqAdminDeleteDead',
        keys.deadAt,
        keys.dead,
        keys.jobIds,
        keys.jobPrefix,
        ...packageIds,
      ),
    );
  }

  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    const keys = this.queueKeys(filter?.queue);
    const task = optionalText('task', filter.task) ?? '';
    return (await this.withErrors('admin purgeDead', () =>
      runScript(this.client, 'tasqAdminPurgeDead', keys.deadAt, keys.dead, keys.jobIds, keys.jobPrefix, task),
    )) as number;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    const keys = this.queueKeys(queue);
    const maxAgeMs = optionalCount('maxAgeMs', retention?.maxAgeMs) ?? '';
    const maxCount = optionalCount('maxCount', retention?.maxCount) ?? '';
    return (await this.withErrors('admin trimDead', () =>
      runScript(
        this.client,
        'tasqAdminTrimDead',
        keys.deadAt,
        keys.dead,
        keys.jobIds,
        keys.jobPrefix,
        this.broker.now(),
        maxAgeMs,
        maxCount,
      ),
    )) as number;
  }

  async remove(jobId: string): Promise<number> {
    checkText('jobId', jobId);
    const queues = await this.queues();
    const removed = await Promise.all(
      queues.map(({ queue }) => {
        const keys = this.broker.keys(queue);
        return this.withErrors('admin remove', () =>
          runScript(
            this.client,
            'tasqAdminRemove',
            keys.jobIds,
            keys.ready,
            keys.delayed,
            keys.stored,
            keys.jobPrefix,
            jobId,
          ),
        ) as Promise<number>;
      }),
    );
    return removed.reduce((sum, count) => sum + count, 0);
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    this.queueKeys(queue);
    if (typeof paused !== 'boolean') throw new InvalidArgumentError('setPaused takes true or false');
    await this.marks.setPaused(queue, paused);
  }

  async pausedQueues(): Promise<string[]> {
    this.broker.checkOpen();
    return this.marks.pausedQueues();
  }

  async markCancelled(jobId: string, reason: string): Promise<void> {
    checkText('jobId', jobId);
    this.broker.checkOpen();
    await this.marks.markCancelled(jobId, reason, this.epochMs());
  }

  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('cancelMarks takes a list of job ids');
    if (jobIds.length > 0) this.broker.checkOpen();
    return this.marks.cancelMarks(jobIds);
  }

  async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('clearCancelMarks takes a list of job ids');
    if (jobIds.length > 0) this.broker.checkOpen();
    return this.marks.clearCancelMarks(jobIds);
  }

  /** The queues instances enqueued to, with when each was last registered. */
  private async queues(): Promise<{ queue: string; registeredAt: number }[]> {
    this.broker.checkOpen();
    const reply = await this.withErrors('admin queues', () =>
      this.client.zrange(this.keys.queues, '0', '-1', 'WITHSCORES'),
    );
    const queues: { queue: string; registeredAt: number }[] = [];
    for (let index = 0; index + 1 < reply.length; index += 2) {
      queues.push({ queue: reply[index] as string, registeredAt: Number(reply[index + 1]) });
    }
    return queues;
  }

  /** Run a per-queue script that answers a list of ids on every known queue; the union of the answers. */
  private async onEveryQueue(
    operation: string,
    call: (keys: QueueKeys) => Promise<unknown>,
  ): Promise<string[]> {
    const queues = await this.queues();
    const answers = await Promise.all(
      queues.map(({ queue }) => this.withErrors(operation, () => call(this.broker.keys(queue)))),
    );
    return (answers as string[][]).flat();
  }

  private queueKeys(queue: unknown): QueueKeys {
    this.broker.checkOpen();
    if (typeof queue !== 'string' || queue.length === 0) {
      throw new InvalidArgumentError('a queue name (non-empty string) is needed');
    }
    return this.broker.keys(queue);
  }

  private epochMs(): number {
    const now = this.broker.now();
    return typeof now === 'number' ? now : Date.now();
  }
}

/** A page from a list script's reply: the next cursor, then records. */
function page(queue: string, reply: Buffer[]): PackagePage {
  const next = String(reply[0] ?? '');
  const packages = records(queue, reply.slice(1));
  return next === '' ? { packages } : { packages, next };
}

/** Records of {@link RECORD_LENGTH} values each (see admin-common.lua) as stored packages. */
function records(queue: string, values: Buffer[]): StoredPackage[] {
  const out: StoredPackage[] = [];
  for (let at = 0; at + RECORD_LENGTH <= values.length; at += RECORD_LENGTH) {
    const text = (offset: number) => String(values[at + offset] ?? '');
    const number = (offset: number) => (text(offset) === '' ? undefined : Number(text(offset)));
    const body = values[at + 3] as Buffer;
    const state = text(1) as PackageState;
    const visibleAt = number(2);
    const priority = number(4);
    const enqueuedAt = number(6);
    const jobId = text(7);
    const task = text(8);
    const expiresAt = number(9);
    const deadAt = number(11);
    out.push({
      packageId: text(0),
      ...(jobId !== '' ? { jobId } : {}),
      ...(task !== '' ? { task } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      queue,
      state,
      deliveries: number(5) ?? 0,
      ...(priority !== undefined ? { priority } : {}),
      ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
      ...(visibleAt !== undefined ? { visibleAt } : {}),
      ...(state === 'dead' ? { deadAt: deadAt ?? 0, deadReason: text(10) } : {}),
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    });
  }
  return out;
}

/** Index entries one filtered page may read before it answers a shorter page with a cursor. */
function scanBudget(limit: number): number {
  return Math.max(1_000, limit * 20);
}

/** A cursor is the score of the last entry a page showed (a number), or absent for the first page. */
function checkCursor(cursor: unknown): string {
  if (cursor === undefined) return '';
  if (typeof cursor !== 'string' || !/^\d+(\.\d+)?$/.test(cursor)) {
    throw new InvalidArgumentError(
      `cursor ${JSON.stringify(cursor)} was not made by the Redis broker: pass the \`next\` of the previous page`,
    );
  }
  return cursor;
}
