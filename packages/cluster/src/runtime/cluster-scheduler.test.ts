import { ManualClock, resolveConfig, silentLogger } from '@tasq/core';
import { MemoryScheduleStore } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { writeConfiguredSchedules } from './cluster-scheduler.js';

const HOUR = 3_600_000;

function configWith(schedules: Record<string, unknown>) {
  return resolveConfig({ timeZone: 'Europe/Berlin', schedules }, { env: {} });
}

describe('schedules from the configuration', () => {
  it('creates each once, leaves an unchanged one alone, updates a changed one in place', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 12));
    const store = new MemoryScheduleStore({ clock });
    const first = configWith({
      nightly: { task: 'reports.build', args: ['daily'], cron: '0 3 * * *' },
      sweep: { task: 'cache.sweep', kind: 'hourly' },
    });
    expect(await writeConfiguredSchedules(store, first, 'a', clock, silentLogger)).toEqual({
      created: ['nightly', 'sweep'],
      updated: [],
    });
    const [nightly, sweep] = (await store.list()).sort((x, y) => x.name.localeCompare(y.name));
    // 03:00 in Berlin (UTC+1 in January) on the next day.
    expect(nightly!.nextRunAt).toBe(Date.UTC(2030, 0, 2, 2));

    // The sweep ran once and an operator paused the nightly report: a restart keeps both.
    await store.recordRun(sweep!.id, sweep!.nextRunAt, {
      nextRunAt: sweep!.nextRunAt + HOUR,
      repeats: -1,
      lastRunAt: sweep!.nextRunAt,
    });
    await store.save({ ...nightly!, paused: true });
    await clock.advance(HOUR / 2);
    expect(await writeConfiguredSchedules(store, first, 'b', clock, silentLogger)).toEqual({
      created: [],
      updated: [],
    });
    expect((await store.get(sweep!.id))!.nextRunAt).toBe(sweep!.nextRunAt + HOUR);

    // A new rule: same schedule (same id), its first slot by the new rule, still paused.
    const second = configWith({
      nightly: { task: 'reports.build', args: ['daily'], cron: '30 4 * * *' },
      sweep: { task: 'cache.sweep', kind: 'hourly' },
    });
    expect(await writeConfiguredSchedules(store, second, 'c', clock, silentLogger)).toEqual({
      created: [],
      updated: ['nightly'],
    });
    const updated = await store.get(nightly!.id);
    expect(updated).toMatchObject({ name: 'nightly', cron: '30 4 * * *', paused: true });
    expect(updated!.nextRunAt).toBe(Date.UTC(2030, 0, 2, 3, 30));
    expect(await store.list()).toHaveLength(2);
  });
});
