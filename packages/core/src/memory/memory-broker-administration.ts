/**
 * The memory broker's administration capability: everything, over the shared in-process store. Lists
 * walk the queue's entries in memory (this broker holds test-sized queues); lookups go through the
 * store's job-id index.
 */
import type {
  BrokerAdministration,
  BrokerAdministrationCapabilities,
  CancelMark,
  DeadLetterFilter,
  DeadLetterRetention,
  PackageListQuery,
  PackagePage,
  RequeueRequest,
  StoredPackage,
} from '../admin/broker-administration.js';
import { checkLimit } from '../admin/query-checks.js';
import type { Clock } from '../clock.js';
import { InvalidArgumentError } from '../errors.js';
import type { DeadEntry, Entry, MemoryBrokerStore } from './memory-broker.js';

export class MemoryBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: true,
    browse: true,
    deadLetters: true,
    remove: true,
    pause: true,
    cancelMarks: true,
  });

  constructor(
    private readonly store: MemoryBrokerStore,
    private readonly clock: Clock,
    private readonly checkOpen: () => void,
  ) {}

  async find(jobId: string): Promise<StoredPackage | undefined> {
    this.checkOpen();
    const place = this.store.jobs.get(jobId);
    if (!place) return undefined;
    const state = this.store.queue(place.queue);
    const entry = state.entries.get(place.packageId);
    if (entry) return this.describe(place.queue, entry);
    const dead = state.dead.get(place.packageId);
    if (dead) return this.describeDead(place.queue, dead);
    this.store.jobs.delete(jobId);
    return undefined;
  }

  async list(query: PackageListQuery): Promise<PackagePage> {
    this.checkOpen();
    const limit = checkLimit(query.limit);
    const states = query.states && query.states.length > 0 ? new Set(query.states) : undefined;
    const after = query.cursor === undefined ? undefined : pairCursor(query.cursor);
    const now = this.clock.now();
    // Newest first by the time each became or becomes deliverable (a lease's end while reserved), as
    // the SQL broker orders by visible_at; ties in enqueue order, latest first.
    const ordered = [...this.store.queue(query.queue).entries.values()]
      .map((entry) => ({ entry, at: leased(entry, now) ? entry.lockedUntil! : entry.readyAt }))
      .sort((a, b) => b.at - a.at || b.entry.sequence - a.entry.sequence);
    const packages: StoredPackage[] = [];
    let last: { at: number; sequence: number } | undefined;
    for (const { entry, at } of ordered) {
      if (after && (at > after[0] || (at === after[0] && entry.sequence >= after[1]))) continue;
      if (query.task !== undefined && entry.label?.task !== query.task) continue;
      const stored = this.describe(query.queue, entry);
      if (states && !states.has(stored.state as never)) continue;
      // One more match than the page holds: there is a next page, starting after the last one shown.
      if (packages.length === limit) return { packages, next: `${last!.at}:${last!.sequence}` };
      packages.push(stored);
      last = { at, sequence: entry.sequence };
    }
    return { packages };
  }

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    this.checkOpen();
    const limit = checkLimit(query.limit);
    const dead = [...this.store.queue(query.queue).dead.values()].reverse();
    let start = 0;
    if (query.cursor !== undefined) {
      // The cursor is the package id of the last dead letter shown; the page goes on after it.
      const index = dead.findIndex(({ entry }) => entry.id === query.cursor);
      start = index === -1 ? dead.length : index + 1;
    }
    const matching = dead
      .slice(start)
      .filter(({ entry }) => query.task === undefined || entry.label?.task === query.task);
    const page = matching.slice(0, limit).map((item) => this.describeDead(query.queue, item));
    return matching.length > limit ? { packages: page, next: page.at(-1)!.packageId } : { packages: page };
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    this.checkOpen();
    const requeued: string[] = [];
    for (const request of requests) {
      for (const [queue, state] of this.store.queues) {
        const dead = state.dead.get(request.packageId);
        if (!dead) continue;
        state.dead.delete(request.packageId);
        const { entry } = dead;
        entry.deliveries = 0;
        entry.readyAt = this.clock.now();
        entry.leaseToken = undefined;
        entry.lockedUntil = undefined;
        if (request.body) entry.body = request.body.slice();
        state.entries.set(entry.id, entry);
        if (entry.label) this.store.jobs.set(entry.label.jobId, { queue, packageId: entry.id });
        for (const waiter of [...state.waiters]) waiter();
        requeued.push(entry.id);
        break;
      }
    }
    return requeued;
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    this.checkOpen();
    const deleted: string[] = [];
    for (const id of packageIds) {
      for (const state of this.store.queues.values()) {
        if (state.dead.delete(id)) {
          deleted.push(id);
          break;
        }
      }
    }
    return deleted;
  }

  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    this.checkOpen();
    const state = this.store.queue(filter.queue);
    let removed = 0;
    for (const [id, { entry }] of [...state.dead]) {
      if (filter.task !== undefined && entry.label?.task !== filter.task) continue;
      state.dead.delete(id);
      removed++;
    }
    return removed;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    this.checkOpen();
    const state = this.store.queue(queue);
    const now = this.clock.now();
    const newestFirst = [...state.dead.values()].reverse();
    let removed = 0;
    newestFirst.forEach((dead, index) => {
      const tooMany = retention.maxCount !== undefined && index >= retention.maxCount;
      const tooOld = retention.maxAgeMs !== undefined && now - dead.deadAt > retention.maxAgeMs;
      if (tooMany || tooOld) {
        state.dead.delete(dead.entry.id);
        removed++;
      }
    });
    return removed;
  }

  async remove(jobId: string): Promise<number> {
    this.checkOpen();
    let removed = 0;
    const now = this.clock.now();
    for (const state of this.store.queues.values()) {
      for (const entry of [...state.entries.values()]) {
        if (entry.label?.jobId !== jobId || leased(entry, now)) continue;
        state.entries.delete(entry.id);
        removed++;
      }
    }
    return removed;
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    this.checkOpen();
    if (paused) this.store.paused.add(queue);
    else this.store.paused.delete(queue);
  }

  async pausedQueues(): Promise<string[]> {
    this.checkOpen();
    return [...this.store.paused];
  }

  async markCancelled(jobId: string, reason: string): Promise<void> {
    this.checkOpen();
    if (!this.store.cancelMarks.has(jobId))
      this.store.cancelMarks.set(jobId, { reason, at: this.clock.now() });
  }

  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    this.checkOpen();
    const marks: CancelMark[] = [];
    for (const jobId of new Set(jobIds)) {
      const mark = this.store.cancelMarks.get(jobId);
      if (mark) marks.push({ jobId, ...mark });
    }
    return marks;
  }

  async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    this.checkOpen();
    let cleared = 0;
    for (const jobId of new Set(jobIds)) if (this.store.cancelMarks.delete(jobId)) cleared++;
    return cleared;
  }

  private describe(queue: string, entry: Entry): StoredPackage {
    const now = this.clock.now();
    const reserved = leased(entry, now);
    const state = reserved ? 'reserved' : entry.readyAt > now ? 'delayed' : 'ready';
    return {
      packageId: entry.id,
      ...labelled(entry),
      queue,
      state,
      deliveries: entry.deliveries,
      priority: entry.priority,
      enqueuedAt: entry.enqueuedAt,
      ...(state === 'reserved'
        ? { visibleAt: entry.lockedUntil! }
        : state === 'delayed'
          ? { visibleAt: entry.readyAt }
          : {}),
      body: entry.body.slice(),
    };
  }

  private describeDead(queue: string, { entry, reason, deadAt }: DeadEntry): StoredPackage {
    return {
      packageId: entry.id,
      ...labelled(entry),
      queue,
      state: 'dead',
      deliveries: entry.deliveries,
      priority: entry.priority,
      enqueuedAt: entry.enqueuedAt,
      deadAt,
      deadReason: reason,
      body: entry.body.slice(),
    };
  }
}

function leased(entry: Entry, now: number): boolean {
  return entry.leaseToken !== undefined && (entry.lockedUntil ?? 0) > now;
}

function labelled(entry: Entry): Partial<Pick<StoredPackage, 'jobId' | 'task' | 'expiresAt'>> {
  const label = entry.label;
  if (!label) return {};
  return label.expiresAt === undefined
    ? { jobId: label.jobId, task: label.task }
    : { jobId: label.jobId, task: label.task, expiresAt: label.expiresAt };
}

function pairCursor(cursor: string): [number, number] {
  const match = /^(\d{1,16}):(\d{1,16})$/.exec(cursor);
  if (!match)
    throw new InvalidArgumentError(`cursor ${JSON.stringify(cursor)} did not come from this broker`);
  return [Number(match[1]), Number(match[2])];
}
