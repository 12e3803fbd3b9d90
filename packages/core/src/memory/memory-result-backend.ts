/**
 * Results kept in one process's memory. Values are stored in their encoded form, exactly as a real
 * backend stores them, so a test on the memory backend catches a value that would not survive a real one.
 */
import type { CancelMark } from '../admin/broker-administration.js';
import type { ResultAdministration, StoredProgress } from '../admin/result-administration.js';
import { type Clock, systemClock } from '../clock.js';
import { decodeStoredValue, encodeStoredValue } from '../codec/json-value.js';
import {
  checkCachedSeconds,
  type PrunePolicy,
  type ResultBackend,
  replacesStoredOutcome,
  type ResultListQuery,
  type TaskResult,
} from '../result-backend.js';

/** The shared state: several backends over one store behave like several clients of one server. */
export class MemoryResultStore {
  readonly results = new Map<string, string>();
  /** When each result expires (clock milliseconds), for results saved with a time to live. */
  readonly expiries = new Map<string, number>();
  readonly claims = new Map<string, number>();
  readonly waiters = new Map<string, Set<(result: TaskResult) => void>>();
  /** The latest progress per job id (encoded, as results are). */
  readonly progress = new Map<string, string>();
  /** Pause flags and cancel marks, kept here for brokers that keep none. */
  readonly paused = new Set<string>();
  readonly cancelMarks = new Map<string, { reason: string; at: number }>();
}

export class MemoryResultBackend implements ResultBackend {
  readonly name = 'memory';
  readonly store: MemoryResultStore;
  readonly administration: ResultAdministration;
  private readonly clock: Clock;
  private readonly pending = new Set<() => void>();
  private readonly ttlMs: number;

  /** `cached`: seconds a result is kept after it is saved (the configuration's `cached`); default: until pruned. */
  constructor(options: { store?: MemoryResultStore; clock?: Clock; cached?: number } = {}) {
    this.store = options.store ?? new MemoryResultStore();
    this.clock = options.clock ?? systemClock;
    this.ttlMs = checkCachedSeconds('memory', options.cached);
    const store = this.store;
    const all = () => this.all();
    const clock = this.clock;
    this.administration = {
      capabilities: Object.freeze({ delete: true, progress: true, marks: true }),
      async delete(ids: readonly string[]): Promise<number> {
        let deleted = 0;
        for (const id of new Set(ids)) {
          store.progress.delete(id);
          store.expiries.delete(id);
          if (store.results.delete(id)) deleted++;
        }
        return deleted;
      },
      async deleteGroup(group: string): Promise<number> {
        const members = all().filter((result) => result.group === group);
        for (const result of members) {
          store.results.delete(result.id);
          store.expiries.delete(result.id);
          store.progress.delete(result.id);
        }
        return members.length;
      },
      async saveProgress(id: string, progress: StoredProgress): Promise<void> {
        store.progress.set(id, encodeStoredValue(progress));
      },
      async progress(id: string): Promise<StoredProgress | undefined> {
        const stored = store.progress.get(id);
        return stored === undefined ? undefined : (decodeStoredValue(stored) as StoredProgress);
      },
      async setPaused(queue: string, paused: boolean): Promise<void> {
        if (paused) store.paused.add(queue);
        else store.paused.delete(queue);
      },
      async pausedQueues(): Promise<string[]> {
        return [...store.paused];
      },
      async markCancelled(jobId: string, reason: string): Promise<void> {
        if (!store.cancelMarks.has(jobId)) store.cancelMarks.set(jobId, { reason, at: clock.now() });
      },
      async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
        return [...new Set(jobIds)].flatMap((jobId) => {
          const mark = store.cancelMarks.get(jobId);
          return mark ? [{ jobId, ...mark }] : [];
        });
      },
      async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
        return [...new Set(jobIds)].filter((jobId) => store.cancelMarks.delete(jobId)).length;
      },
    };
  }

  async save(result: TaskResult): Promise<void> {
    const stored = this.read(result.id);
    if (stored && !replacesStoredOutcome(stored.status, result.status)) return;
    this.store.results.set(result.id, encodeStoredValue(result));
    if (this.ttlMs > 0) this.store.expiries.set(result.id, this.clock.now() + this.ttlMs);
    else this.store.expiries.delete(result.id);
    for (const waiter of this.store.waiters.get(result.id) ?? []) waiter(this.read(result.id)!);
  }

  async get(id: string): Promise<TaskResult | undefined> {
    return this.read(id);
  }

  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskResult | undefined> {
    const existing = this.read(id);
    if (existing || signal?.aborted) return Promise.resolve(existing);
    return new Promise((resolve) => {
      const waiters = this.store.waiters.get(id) ?? new Set();
      this.store.waiters.set(id, waiters);
      const finish = (result: TaskResult | undefined) => {
        clearTimeout(timer);
        waiters.delete(onSave);
        if (waiters.size === 0) this.store.waiters.delete(id);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(onAbort);
        resolve(result);
      };
      const onSave = (result: TaskResult) => finish(result);
      const onAbort = () => finish(undefined);
      const timer = setTimeout(onAbort, timeoutMs);
      waiters.add(onSave);
      this.pending.add(onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async group(group: string): Promise<TaskResult[]> {
    return this.all()
      .filter((r) => r.group === group)
      .sort((a, b) => (a.groupIndex ?? 0) - (b.groupIndex ?? 0) || compareIds(a.id, b.id));
  }

  async list(query: ResultListQuery): Promise<TaskResult[]> {
    return this.all()
      .filter(
        (r) =>
          (query.status === undefined || r.status === query.status) &&
          (query.name === undefined || r.name === query.name) &&
          (query.before === undefined || compareIds(r.id, query.before) < 0),
      )
      .sort((a, b) => compareIds(b.id, a.id))
      .slice(0, query.limit);
  }

  async prune(policy: PrunePolicy): Promise<number> {
    if (policy.saveLimit === 0) return 0;
    const keep = Math.max(policy.saveLimit, 0);
    const buckets = new Map<string, TaskResult[]>();
    for (const result of this.all()) {
      if (result.status !== 'success' || this.heldForClaim(result)) continue;
      // Per group, the ungrouped successes are one bucket of their own (keyed apart from every group name).
      const key =
        policy.per === 'name'
          ? `name:${result.name}`
          : policy.per === 'group'
            ? result.group === undefined
              ? 'ungrouped'
              : `group:${result.group}`
            : 'all';
      const bucket = buckets.get(key) ?? [];
      bucket.push(result);
      buckets.set(key, bucket);
    }
    let removed = 0;
    for (const bucket of buckets.values()) {
      bucket.sort((a, b) => compareIds(b.id, a.id));
      for (const result of bucket.slice(keep)) {
        this.store.results.delete(result.id);
        this.store.expiries.delete(result.id);
        this.store.progress.delete(result.id);
        removed++;
      }
    }
    return removed;
  }

  /** A success that prune must keep: its `keepUntilClaimed` key is not claimed (or its claim expired). */
  private heldForClaim(result: TaskResult): boolean {
    return (
      result.keepUntilClaimed !== undefined && !this.claimLive(result.keepUntilClaimed, this.clock.now())
    );
  }

  /** `key` is claimed and its claim's ttl (if any) has not passed at `now`. */
  private claimLive(key: string, now: number): boolean {
    const expiresAt = this.store.claims.get(key);
    return expiresAt !== undefined && expiresAt > now;
  }

  async claimOnce(key: string, ttlMs?: number): Promise<boolean> {
    const now = this.clock.now();
    if (this.claimLive(key, now)) return false;
    this.store.claims.set(key, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs);
    return true;
  }

  async releaseClaim(key: string): Promise<void> {
    this.store.claims.delete(key);
  }

  async close(): Promise<void> {
    for (const release of [...this.pending]) release();
  }

  private read(id: string): TaskResult | undefined {
    const stored = this.store.results.get(id);
    if (stored === undefined) return undefined;
    const result = decodeStoredValue(stored) as TaskResult;
    // A success held for an unclaimed key (a chord member) outlives its time to live until the claim.
    if (!this.heldForClaim(result) && this.expired(id)) return undefined;
    return result;
  }

  private all(): TaskResult[] {
    const live: TaskResult[] = [];
    for (const id of [...this.store.results.keys()]) {
      const result = this.read(id);
      if (result) live.push(result);
    }
    return live;
  }

  /** Past its time to live: dropped now, as a store with native expiry would have done. */
  private expired(id: string): boolean {
    const expiresAt = this.store.expiries.get(id);
    if (expiresAt === undefined || expiresAt > this.clock.now()) return false;
    this.store.expiries.delete(id);
    this.store.results.delete(id);
    return true;
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
