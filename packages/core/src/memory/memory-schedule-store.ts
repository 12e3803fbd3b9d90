/** Schedules and the leader lock in one process's memory: for tests and single-process use. */
import { type Clock, systemClock } from '../clock.js';
import { decodeStoredValue, encodeStoredValue } from '../codec/json-value.js';
import type { ScheduleRecord, ScheduleStore } from '../schedule-store.js';

export class MemoryScheduleState {
  readonly schedules = new Map<string, string>();
  readonly locks = new Map<string, { owner: string; expiresAt: number }>();
}

export class MemoryScheduleStore implements ScheduleStore {
  readonly name = 'memory';
  readonly state: MemoryScheduleState;
  private readonly clock: Clock;

  constructor(options: { state?: MemoryScheduleState; clock?: Clock } = {}) {
    this.state = options.state ?? new MemoryScheduleState();
    this.clock = options.clock ?? systemClock;
  }

  async save(schedule: ScheduleRecord): Promise<void> {
    this.state.schedules.set(schedule.id, encodeStoredValue(schedule));
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const stored = this.state.schedules.get(id);
    return stored === undefined ? undefined : (decodeStoredValue(stored) as ScheduleRecord);
  }

  async list(): Promise<ScheduleRecord[]> {
    return [...this.state.schedules.values()].map((s) => decodeStoredValue(s) as ScheduleRecord);
  }

  async remove(id: string): Promise<boolean> {
    return this.state.schedules.delete(id);
  }

  async due(now: number, limit: number): Promise<ScheduleRecord[]> {
    return (await this.list())
      .filter((s) => !s.paused && s.repeats !== 0 && s.nextRunAt <= now)
      .sort((a, b) => a.nextRunAt - b.nextRunAt)
      .slice(0, limit);
  }

  async recordRun(
    id: string,
    slotAt: number,
    next: { nextRunAt: number; repeats: number; lastRunAt: number },
  ): Promise<boolean> {
    // Read and write without an await in between: that is what makes the compare-and-set atomic here.
    const stored = this.state.schedules.get(id);
    const current = stored === undefined ? undefined : (decodeStoredValue(stored) as ScheduleRecord);
    if (!current || current.nextRunAt !== slotAt) return false;
    this.state.schedules.set(id, encodeStoredValue({ ...current, ...next }));
    return true;
  }

  async acquireLeadership(lock: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const held = this.state.locks.get(lock);
    if (held && held.owner !== owner && held.expiresAt > now) return false;
    this.state.locks.set(lock, { owner, expiresAt: now + ttlMs });
    return true;
  }

  async releaseLeadership(lock: string, owner: string): Promise<void> {
    if (this.state.locks.get(lock)?.owner === owner) this.state.locks.delete(lock);
  }

  async close(): Promise<void> {}
}
