import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { BrokerConnectionError, InvalidArgumentError } from '../errors.js';
import { MemoryResultBackend, MemoryResultStore } from '../memory/memory-result-backend.js';
import { MemoryScheduleState, MemoryScheduleStore } from '../memory/memory-schedule-store.js';
import type { ScheduleRecord } from '../schedule-store.js';
import { defineSchedule } from './schedule-definition.js';
import { Scheduler } from './scheduler.js';

const MINUTE = 60_000;

/** Several clusters' schedulers over one store and one result backend, as on a shared database. */
function deployment(clock: ManualClock, catchUp = true) {
  const state = new MemoryScheduleState();
  const results = new MemoryResultStore();
  const sent: { schedule: string; slot: number; jobId: string; by: string }[] = [];
  const scheduler = (owner: string) =>
    new Scheduler({
      store: new MemoryScheduleStore({ state, clock }),
      claim: (key) => new MemoryResultBackend({ store: results, clock }).claimOnce(key),
      enqueue: async (schedule, slot, jobId) => {
        sent.push({ schedule: schedule.name, slot, jobId, by: owner });
      },
      owner,
      leaseMs: 5000,
      catchUp,
      clock,
    });
  const store = new MemoryScheduleStore({ state, clock });
  return { scheduler, store, sent };
}

describe('scheduler', () => {
  it('sends a slot once the broker is back when its enqueue found the broker unreachable, and skips it on any other failure', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0));
    const state = new MemoryScheduleState();
    const results = new MemoryResultBackend({ store: new MemoryResultStore(), clock });
    const store = new MemoryScheduleStore({ state, clock });
    const sent: number[] = [];
    let failure: Error | undefined;
    const scheduler = new Scheduler({
      store,
      claim: (key) => results.claimOnce(key),
      release: (key) => results.releaseClaim(key),
      enqueue: async (_schedule, slot) => {
        if (failure) throw failure;
        sent.push(slot);
      },
      owner: 'only',
      clock,
    });
    await store.save(defineSchedule('hourly', [], { cron: '0 * * * *', name: 'hourly' }, clock.now()));
    const [{ nextRunAt: slot }] = (await store.list()) as [ScheduleRecord];
    await clock.advance(slot - clock.now());

    failure = new BrokerConnectionError('connect ECONNREFUSED 127.0.0.1:6379');
    await expect(scheduler.tick()).rejects.toBe(failure);
    await expect(scheduler.tick()).rejects.toBe(failure);
    expect((await store.list())[0]!.nextRunAt).toBe(slot);
    failure = undefined;
    expect(await scheduler.tick()).toBe(1);
    expect(sent).toEqual([slot]);

    // A failure that retrying cannot cure skips its slot, and the schedule moves on.
    await clock.advance(60 * MINUTE);
    failure = new InvalidArgumentError('priority 12 is out of range');
    expect(await scheduler.tick()).toBe(0);
    expect((await store.list())[0]!.nextRunAt).toBe(slot + 120 * MINUTE);
    expect(sent).toEqual([slot]);
  });

  it('runs every missed slot once after downtime with catch-up, and a single run without it', async () => {
    for (const catchUp of [true, false]) {
      const clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0));
      const { scheduler, store, sent } = deployment(clock, catchUp);
      await store.save(
        defineSchedule(
          'report',
          [],
          { kind: 'minutes', minutes: 1, start: clock.now() - 10 * MINUTE },
          clock.now(),
        ),
      );
      const a = scheduler('a');
      expect(await a.tick()).toBe(catchUp ? 11 : 1);
      expect(new Set(sent.map((s) => s.slot)).size).toBe(sent.length);
      const [schedule] = await store.list();
      expect(schedule!.nextRunAt).toBe(clock.now() + MINUTE);
    }
  });

  it('enqueues each of 200 slots exactly once with two clusters racing, across a leader change', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0));
    const { scheduler, store, sent } = deployment(clock);
    await store.save(defineSchedule('tick', [], { cron: '* * * * *', name: 'every-minute' }, clock.now()));
    const [a, b] = [scheduler('cluster-a'), scheduler('cluster-b')];
    for (let minute = 0; minute < 200; minute++) {
      await clock.advance(MINUTE);
      // Both tick every minute; at minute 100 cluster-a dies and stops renewing its lock.
      const alive = minute < 100 ? [a, b] : [b];
      await Promise.all(alive.map((s) => s.tick()));
    }
    const slots = sent.map((s) => s.slot);
    expect(slots).toHaveLength(200);
    expect(new Set(slots).size).toBe(200);
    expect(new Set(sent.map((s) => s.jobId)).size).toBe(200);
    const owners = new Set(sent.map((s) => s.by));
    expect(owners).toEqual(new Set(['cluster-a', 'cluster-b']));
    expect(sent.filter((s) => s.by === 'cluster-a').every((s) => s.slot <= Date.UTC(2030, 0, 1, 1, 40))).toBe(
      true,
    );
  });

  it('renews its lease during a long catch-up, so a slow leader is not replaced halfway', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0));
    const { store, sent } = deployment(clock);
    const state = store.state;
    // Every enqueue takes 1 s of this clock: 30 slots take 30 s against a 5 s lease.
    const slow = new Scheduler({
      store: new MemoryScheduleStore({ state, clock }),
      claim: async () => true,
      enqueue: async (schedule, slot, jobId) => {
        sent.push({ schedule: schedule.name, slot, jobId, by: 'slow' });
        await clock.set(clock.now() + 1000);
        // Give the rival below a turn between slots.
        await new Promise((resolve) => setImmediate(resolve));
      },
      owner: 'slow',
      leaseMs: 5000,
      clock,
    });
    await store.save(
      defineSchedule(
        'report',
        [],
        { kind: 'minutes', minutes: 1, start: clock.now() - 29 * MINUTE },
        clock.now(),
      ),
    );
    let done = false;
    const ticking = slow.tick().finally(() => {
      done = true;
    });
    // A rival cluster tries to take the lock all through the slow pass.
    const rival = new MemoryScheduleStore({ state, clock });
    let rivalWon = false;
    while (!done) {
      rivalWon ||= await rival.acquireLeadership('scheduler', 'rival', 5000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await ticking).toBe(30);
    expect(rivalWon).toBe(false);
    expect(slow.isLeader).toBe(true);
  });

  it('does not enqueue a slot again when the clock jumps back', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0, 30));
    const { scheduler, store, sent } = deployment(clock);
    const record: ScheduleRecord = defineSchedule('tick', [], { cron: '* * * * *' }, clock.now());
    await store.save(record);
    const a = scheduler('a');
    await clock.advance(MINUTE);
    expect(await a.tick()).toBe(1);
    // An operator restores the schedule as it was (or a clock jump makes it due again): the slot's claim holds.
    await store.save(record);
    expect(await a.tick()).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('stops after the given number of repeats and skips paused schedules', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const { scheduler, store, sent } = deployment(clock);
    await store.save(defineSchedule('three', [], { kind: 'hourly', repeats: 3, name: 'three' }, clock.now()));
    await store.save(
      defineSchedule('paused', [], { kind: 'hourly', paused: true, name: 'paused' }, clock.now()),
    );
    const a = scheduler('a');
    for (let hour = 0; hour < 6; hour++) {
      await a.tick();
      await clock.advance(60 * MINUTE);
    }
    expect(sent.map((s) => s.schedule)).toEqual(['three', 'three', 'three']);
    expect((await store.list()).find((s) => s.name === 'three')?.repeats).toBe(0);
  });

  it('validates schedule definitions', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(() => defineSchedule('t', [], { cron: 'nope' }, now)).toThrow(/invalid cron expression/);
    expect(() => defineSchedule('t', [], { kind: 'minutes' }, now)).toThrow(/needs `minutes`/);
    expect(() => defineSchedule('t', [], { kind: 'daily', timeZone: 'Mars/Olympus' }, now)).toThrow(
      /unknown time zone/,
    );
    expect(() => defineSchedule('t', [], { kind: 'daily', repeats: 0 }, now)).toThrow(/repeats/);
    const cron = defineSchedule('t', [1], { cron: '0 8 * * *', timeZone: 'Europe/Berlin' }, now);
    expect(new Date(cron.nextRunAt).toISOString()).toBe('2030-01-01T07:00:00.000Z');
    expect(defineSchedule('t', [], {}, now)).toMatchObject({ kind: 'once', repeats: 1, nextRunAt: now });
  });
});
