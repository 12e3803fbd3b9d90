/**
 * The MongoDB broker's administration capability, every part of it. Packages carry their label
 * (`jobId`, `task`, `expiresAt`) as fields, written by the insert that enqueues them; each read is one
 * query served by an index of mongo-collections.ts (by job id; per queue newest stored first, also per
 * task; dead letters per queue newest death first). A requeue is one conditional update per letter
 * (`lockedUntil` still the dead-letter lock), so two operators requeue a letter once. Pause flags and
 * cancel marks are collections of their own.
 */
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type CancelMark,
  type Clock,
  type DeadLetterFilter,
  type DeadLetterRetention,
  checkLimit,
  checkLiveStates,
  checkText,
  InvalidArgumentError,
  LIVE_PACKAGE_STATES,
  optionalCount,
  type LivePackageState,
  type PackageListQuery,
  type PackagePage,
  type RequeueRequest,
  type StoredPackage,
} from '@tasq/core/backend';
import { Binary, type Collection, type Filter, ObjectId } from 'mongodb';
import { bodyBytes, DEAD_LETTER_LOCK, type PackageDocument } from './mongo-documents.js';
import { mapDriverErrors } from './mongo-errors.js';

/** A paused queue. */
export interface QueueFlagDocument {
  _id: string;
  paused: true;
  at: number;
}

/** A cancel mark; `_id` is the job id, so the first insert wins. */
export interface CancelMarkDocument {
  _id: string;
  reason: string;
  at: number;
}

export class MongoBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: true,
    browse: true,
    deadLetters: true,
    remove: true,
    pause: true,
    cancelMarks: true,
  });

  constructor(
    private readonly packages: Collection<PackageDocument>,
    private readonly queueFlags: Collection<QueueFlagDocument>,
    private readonly marks: Collection<CancelMarkDocument>,
    private readonly clock: Clock,
    private readonly checkOpen: () => void,
  ) {}

  async find(jobId: string): Promise<StoredPackage | undefined> {
    checkText('jobId', jobId);
    this.checkOpen();
    const document = await mapDriverErrors(`look up job ${jobId}`, () =>
      this.packages.findOne({ jobId }, { sort: { jobId: 1, _id: -1 }, hint: 'tasq_job' }),
    );
    return document ? describe(document, this.clock.now()) : undefined;
  }

  async list(query: PackageListQuery): Promise<PackagePage> {
    const queue = checkQueue(query?.queue);
    const limit = checkLimit(query.limit);
    const states = checkLiveStates(query.states);
    this.checkOpen();
    const now = this.clock.now();
    const filter: Filter<PackageDocument> = { queue, lockedUntil: { $ne: DEAD_LETTER_LOCK } };
    if (query.task !== undefined) filter.task = checkText('task', query.task);
    if (query.cursor !== undefined) filter._id = { $lt: objectId(query.cursor) };
    if (states.length < LIVE_PACKAGE_STATES.length)
      filter.$or = states.map((state) => stateFilter(state, now));
    const documents = await mapDriverErrors(`list the packages of "${queue}"`, () =>
      this.packages
        .find(filter, {
          sort: query.task !== undefined ? { queue: 1, task: 1, _id: -1 } : { queue: 1, _id: -1 },
          hint: query.task !== undefined ? 'tasq_browse_task' : 'tasq_browse',
          limit: limit + 1,
        })
        .toArray(),
    );
    return page(documents, limit, now, (document) => document._id.toHexString());
  }

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    const queue = checkQueue(query?.queue);
    const limit = checkLimit(query.limit);
    this.checkOpen();
    const filter: Filter<PackageDocument> = { queue, lockedUntil: DEAD_LETTER_LOCK };
    if (query.task !== undefined) filter.task = checkText('task', query.task);
    if (query.cursor !== undefined) {
      const { at, id } = deadCursor(query.cursor);
      filter.$or = [{ 'deadLetter.at': { $lt: at } }, { 'deadLetter.at': at, _id: { $lt: id } }];
    }
    const documents = await mapDriverErrors(`list the dead letters of "${queue}"`, () =>
      this.packages
        .find(filter, {
          sort: { queue: 1, 'deadLetter.at': -1, _id: -1 },
          hint: 'tasq_dead',
          limit: limit + 1,
        })
        .toArray(),
    );
    return page(
      documents,
      limit,
      this.clock.now(),
      (document) => `${document.deadLetter?.at ?? 0}:${document._id.toHexString()}`,
    );
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    if (!Array.isArray(requests)) throw new InvalidArgumentError('requeueDead takes a list of requests');
    this.checkOpen();
    const requeued: string[] = [];
    for (const request of requests) {
      const id = objectIdOrUndefined(request?.packageId);
      if (!id) continue;
      if (request.body !== undefined && !(request.body instanceof Uint8Array)) {
        throw new InvalidArgumentError(
          `the new body of dead letter ${request.packageId} must be a Uint8Array`,
        );
      }
      const outcome = await mapDriverErrors(`requeue dead letter ${request.packageId}`, () =>
        this.packages.updateOne(
          { _id: id, lockedUntil: DEAD_LETTER_LOCK },
          {
            $set: {
              lockedUntil: 0,
              runAt: this.clock.now(),
              deliveries: 0,
              ...(request.body !== undefined ? { body: new Binary(request.body) } : {}),
            },
            $unset: { deadLetter: '', leaseToken: '' },
          },
        ),
      );
      if (outcome.modifiedCount === 1) requeued.push(request.packageId);
    }
    return requeued;
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    if (!Array.isArray(packageIds)) throw new InvalidArgumentError('deleteDead takes a list of package ids');
    this.checkOpen();
    const deleted: string[] = [];
    for (const packageId of packageIds) {
      const id = objectIdOrUndefined(packageId);
      if (!id) continue;
      const outcome = await mapDriverErrors(`delete dead letter ${packageId}`, () =>
        this.packages.deleteOne({ _id: id, lockedUntil: DEAD_LETTER_LOCK }),
      );
      if (outcome.deletedCount === 1) deleted.push(packageId);
    }
    return deleted;
  }

  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    const queue = checkQueue(filter?.queue);
    this.checkOpen();
    const query: Filter<PackageDocument> = { queue, lockedUntil: DEAD_LETTER_LOCK };
    if (filter.task !== undefined) query.task = checkText('task', filter.task);
    const outcome = await mapDriverErrors(`purge the dead letters of "${queue}"`, () =>
      this.packages.deleteMany(query),
    );
    return outcome.deletedCount;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    checkQueue(queue);
    const maxAgeMs = optionalCount('maxAgeMs', retention?.maxAgeMs);
    const maxCount = optionalCount('maxCount', retention?.maxCount);
    this.checkOpen();
    let deleted = 0;
    if (maxAgeMs !== undefined) {
      const cutoff = this.clock.now() - maxAgeMs;
      deleted += (
        await mapDriverErrors(`trim the dead letters of "${queue}"`, () =>
          this.packages.deleteMany({
            queue,
            lockedUntil: DEAD_LETTER_LOCK,
            'deadLetter.at': { $lt: cutoff },
          }),
        )
      ).deletedCount;
    }
    if (maxCount !== undefined) {
      const beyond = await mapDriverErrors(`trim the dead letters of "${queue}"`, () =>
        this.packages
          .find(
            { queue, lockedUntil: DEAD_LETTER_LOCK },
            {
              sort: { queue: 1, 'deadLetter.at': -1, _id: -1 },
              hint: 'tasq_dead',
              skip: maxCount,
              projection: { _id: 1 },
            },
          )
          .toArray(),
      );
      if (beyond.length > 0) {
        deleted += (
          await mapDriverErrors(`trim the dead letters of "${queue}"`, () =>
            this.packages.deleteMany({
              _id: { $in: beyond.map((document) => document._id) },
              lockedUntil: DEAD_LETTER_LOCK,
            }),
          )
        ).deletedCount;
      }
    }
    return deleted;
  }

  async remove(jobId: string): Promise<number> {
    checkText('jobId', jobId);
    this.checkOpen();
    // Not under a lease (lockedUntil 0, or a lease that ran out) and not dead.
    const outcome = await mapDriverErrors(`remove job ${jobId}`, () =>
      this.packages.deleteMany({ jobId, lockedUntil: { $lte: this.clock.now() } }),
    );
    return outcome.deletedCount;
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    checkQueue(queue);
    if (typeof paused !== 'boolean') throw new InvalidArgumentError('setPaused takes true or false');
    this.checkOpen();
    await mapDriverErrors(`${paused ? 'pause' : 'resume'} queue "${queue}"`, async () => {
      if (paused) {
        await this.queueFlags.updateOne(
          { _id: queue },
          { $setOnInsert: { paused: true, at: this.clock.now() } },
          { upsert: true },
        );
      } else {
        await this.queueFlags.deleteOne({ _id: queue });
      }
    });
  }

  async pausedQueues(): Promise<string[]> {
    this.checkOpen();
    const documents = await mapDriverErrors('read the paused queues', () =>
      this.queueFlags.find({}, { projection: { _id: 1 } }).toArray(),
    );
    return documents.map((document) => document._id);
  }

  async markCancelled(jobId: string, reason: string): Promise<void> {
    checkText('jobId', jobId);
    this.checkOpen();
    // $setOnInsert: a second mark keeps the first reason and time.
    await mapDriverErrors(`mark job ${jobId} cancelled`, () =>
      this.marks.updateOne(
        { _id: jobId },
        { $setOnInsert: { reason: String(reason), at: this.clock.now() } },
        { upsert: true },
      ),
    );
  }

  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('cancelMarks takes a list of job ids');
    if (jobIds.length === 0) return [];
    this.checkOpen();
    const documents = await mapDriverErrors('read cancel marks', () =>
      this.marks.find({ _id: { $in: [...jobIds] } }).toArray(),
    );
    return documents.map((document) => ({ jobId: document._id, reason: document.reason, at: document.at }));
  }

  async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('clearCancelMarks takes a list of job ids');
    if (jobIds.length === 0) return 0;
    this.checkOpen();
    const outcome = await mapDriverErrors('clear cancel marks', () =>
      this.marks.deleteMany({ _id: { $in: [...jobIds] } }),
    );
    return outcome.deletedCount;
  }
}

/** The live packages of one state at `now` (the same split as `size()`). */
function stateFilter(state: LivePackageState, now: number): Filter<PackageDocument> {
  if (state === 'reserved') return { lockedUntil: { $gt: now, $lt: DEAD_LETTER_LOCK } };
  if (state === 'delayed') return { lockedUntil: { $lte: now }, runAt: { $gt: now } };
  return { lockedUntil: { $lte: now }, runAt: { $lte: now } };
}

/** A package document as administration shows it. */
function describe(document: PackageDocument, now: number): StoredPackage {
  const dead = document.lockedUntil === DEAD_LETTER_LOCK;
  const state = dead
    ? 'dead'
    : document.lockedUntil > now
      ? 'reserved'
      : document.runAt > now
        ? 'delayed'
        : 'ready';
  return {
    packageId: document._id.toHexString(),
    ...(document.jobId !== undefined ? { jobId: document.jobId } : {}),
    ...(document.task !== undefined ? { task: document.task } : {}),
    ...(document.expiresAt !== undefined ? { expiresAt: document.expiresAt } : {}),
    queue: document.queue,
    state,
    deliveries: document.deliveries,
    priority: document.priority,
    enqueuedAt: document.enqueuedAt,
    ...(state === 'reserved' ? { visibleAt: document.lockedUntil } : {}),
    ...(state === 'delayed' ? { visibleAt: document.runAt } : {}),
    ...(dead ? { deadAt: document.deadLetter?.at ?? 0, deadReason: document.deadLetter?.reason ?? '' } : {}),
    body: bodyBytes(document.body),
  };
}

/** One page from `limit + 1` documents: the extra one only says there is a next page. */
function page(
  documents: PackageDocument[],
  limit: number,
  now: number,
  cursorOf: (document: PackageDocument) => string,
): PackagePage {
  const shown = documents.slice(0, limit);
  const packages = shown.map((document) => describe(document, now));
  const last = shown.at(-1);
  return documents.length > limit && last ? { packages, next: cursorOf(last) } : { packages };
}

function objectId(cursor: unknown): ObjectId {
  const id = objectIdOrUndefined(cursor);
  if (!id) {
    throw new InvalidArgumentError(
      `cursor ${JSON.stringify(cursor)} was not made by the mongo broker: pass the \`next\` of the previous page`,
    );
  }
  return id;
}

function objectIdOrUndefined(value: unknown): ObjectId | undefined {
  return typeof value === 'string' && /^[0-9a-f]{24}$/i.test(value)
    ? ObjectId.createFromHexString(value)
    : undefined;
}

function deadCursor(cursor: unknown): { at: number; id: ObjectId } {
  const match = typeof cursor === 'string' ? /^(\d+):([0-9a-f]{24})$/i.exec(cursor) : null;
  if (!match) {
    throw new InvalidArgumentError(
      `cursor ${JSON.stringify(cursor)} was not made by the mongo broker: pass the \`next\` of the previous page`,
    );
  }
  return { at: Number(match[1]), id: ObjectId.createFromHexString(match[2] as string) };
}

function checkQueue(queue: unknown): string {
  return checkText('queue', queue);
}
