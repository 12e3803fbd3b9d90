import { describe, expect, it } from 'vitest';
import type { ScheduleRecord } from '../schedule-store.js';
import { CronSyntaxError, parseCron } from './cron.js';
import { advance, slotAfter } from './next-run.js';
import { fromWall, toWall } from './time-zone.js';

const iso = (instant: number | undefined) =>
  instant === undefined ? undefined : new Date(instant).toISOString();
const utc = (text: string) => Date.parse(text);
const berlin = 'Europe/Berlin';

function schedule(overrides: Partial<ScheduleRecord>): ScheduleRecord {
  return {
    id: 's',
    name: 's',
    task: 't',
    args: [],
    options: {},
    kind: 'daily',
    repeats: -1,
    nextRunAt: 0,
    paused: false,
    createdAt: 0,
    ...overrides,
  };
}

/** The next `count` slots after `from`. */
function slots(rule: Partial<ScheduleRecord>, from: number, count: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let at: number | undefined = from;
  for (let i = 0; i < count && at !== undefined; i++) {
    at = slotAfter(schedule(rule), at);
    out.push(iso(at));
  }
  return out;
}

describe('cron expressions', () => {
  it('names what is wrong with a bad expression', () => {
    expect(() => parseCron('* * *')).toThrow(CronSyntaxError);
    expect(() => parseCron('* * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('61 * * * *')).toThrow(/minute: 61 is outside 0-59/);
    expect(() => parseCron('* * * foo *')).toThrow(/month: "foo" is not a number/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/bad step/);
  });

  it('finds the next slots for steps, ranges, names and seconds', () => {
    expect(slots({ kind: 'cron', cron: '*/15 * * * *' }, utc('2030-01-01T10:07:00Z'), 3)).toEqual([
      '2030-01-01T10:15:00.000Z',
      '2030-01-01T10:30:00.000Z',
      '2030-01-01T10:45:00.000Z',
    ]);
    // 2030-01-04 is a Friday: the next weekday 09:00 is Monday the 7th.
    expect(slots({ kind: 'cron', cron: '0 9 * * mon-fri' }, utc('2030-01-04T09:00:00Z'), 2)).toEqual([
      '2030-01-07T09:00:00.000Z',
      '2030-01-08T09:00:00.000Z',
    ]);
    expect(slots({ kind: 'cron', cron: '*/20 * * * * *' }, utc('2030-01-01T00:00:05Z'), 3)).toEqual([
      '2030-01-01T00:00:20.000Z',
      '2030-01-01T00:00:40.000Z',
      '2030-01-01T00:01:00.000Z',
    ]);
    // Day of month OR day of week when both are restricted (Vixie cron).
    expect(slots({ kind: 'cron', cron: '0 0 13 * fri' }, utc('2030-09-01T00:00:00Z'), 3)).toEqual([
      '2030-09-06T00:00:00.000Z',
      '2030-09-13T00:00:00.000Z',
      '2030-09-20T00:00:00.000Z',
    ]);
    expect(slots({ kind: 'cron', cron: '0 12 29 feb *' }, utc('2030-01-01T00:00:00Z'), 1)).toEqual([
      '2032-02-29T12:00:00.000Z',
    ]);
  });

  it('takes croner extensions: nicknames and the last day of the month', () => {
    expect(slots({ kind: 'cron', cron: '@daily' }, utc('2030-01-01T10:00:00Z'), 1)).toEqual([
      '2030-01-02T00:00:00.000Z',
    ]);
    expect(slots({ kind: 'cron', cron: '0 18 L * *' }, utc('2030-02-01T00:00:00Z'), 2)).toEqual([
      '2030-02-28T18:00:00.000Z',
      '2030-03-31T18:00:00.000Z',
    ]);
    expect(() => parseCron('0 0 32 * *')).toThrow(/day of month: 32 is outside 1-31/);
  });

  it('reads wall-clock fields in the schedule time zone', () => {
    // 08:00 in Berlin is 07:00 UTC in winter and 06:00 UTC in summer.
    expect(
      slots({ kind: 'cron', cron: '0 8 * * *', timeZone: berlin }, utc('2030-01-01T12:00:00Z'), 1),
    ).toEqual(['2030-01-02T07:00:00.000Z']);
    expect(
      slots({ kind: 'cron', cron: '0 8 * * *', timeZone: berlin }, utc('2030-07-01T12:00:00Z'), 1),
    ).toEqual(['2030-07-02T06:00:00.000Z']);
  });
});

describe('DST in Europe/Berlin (2030: spring forward 31 March 02:00, fall back 27 October 03:00)', () => {
  it('maps wall-clock times: a skipped time moves forward by the gap, a repeated time means its first occurrence', () => {
    expect(iso(fromWall(Date.UTC(2030, 2, 31, 2, 30), berlin))).toBe('2030-03-31T01:30:00.000Z'); // 03:30 CEST
    expect(iso(fromWall(Date.UTC(2030, 9, 27, 2, 30), berlin))).toBe('2030-10-27T00:30:00.000Z'); // first 02:30 (CEST)
    expect(toWall(utc('2030-10-27T01:30:00Z'), berlin)).toBe(Date.UTC(2030, 9, 27, 2, 30)); // second 02:30 (CET)
  });

  it('a daily 02:30 run is moved to 03:30 on the day 02:30 does not exist, and returns to 02:30 after', () => {
    expect(slots({ kind: 'daily', timeZone: berlin }, utc('2030-03-30T01:30:00Z'), 3)).toEqual([
      '2030-03-31T01:30:00.000Z', // 03:30 CEST
      '2030-04-01T00:30:00.000Z', // 02:30 CEST
      '2030-04-02T00:30:00.000Z',
    ]);
    expect(
      slots({ kind: 'cron', cron: '30 2 * * *', timeZone: berlin }, utc('2030-03-30T01:30:00Z'), 2),
    ).toEqual(['2030-03-31T01:30:00.000Z', '2030-04-01T00:30:00.000Z']);
  });

  it('a daily 02:30 run happens once on the day 02:30 happens twice', () => {
    expect(
      slots({ kind: 'cron', cron: '30 2 * * *', timeZone: berlin }, utc('2030-10-26T00:30:00Z'), 2),
    ).toEqual([
      '2030-10-27T00:30:00.000Z', // first 02:30, CEST
      '2030-10-28T01:30:00.000Z', // 02:30 CET
    ]);
    expect(slots({ kind: 'daily', timeZone: berlin }, utc('2030-10-26T00:30:00Z'), 2)).toEqual([
      '2030-10-27T00:30:00.000Z',
      '2030-10-28T01:30:00.000Z',
    ]);
  });

  it('a half-hourly cron runs each wall-clock slot once through the repeated hour', () => {
    expect(
      slots({ kind: 'cron', cron: '*/30 * * * *', timeZone: berlin }, utc('2030-10-26T23:30:00Z'), 3),
    ).toEqual([
      '2030-10-27T00:00:00.000Z', // 02:00 CEST
      '2030-10-27T00:30:00.000Z', // 02:30 CEST
      '2030-10-27T02:00:00.000Z', // 03:00 CET: the second 02:00 and 02:30 had their runs
    ]);
  });

  it('interval kinds count real time through DST changes', () => {
    expect(slots({ kind: 'hourly', timeZone: berlin }, utc('2030-03-31T00:00:00Z'), 2)).toEqual([
      '2030-03-31T01:00:00.000Z',
      '2030-03-31T02:00:00.000Z',
    ]);
  });
});

describe('calendar kinds and catch-up', () => {
  it('steps weeks and months, clamping to the end of a month', () => {
    expect(slots({ kind: 'weekly' }, utc('2030-01-01T09:00:00Z'), 1)).toEqual(['2030-01-08T09:00:00.000Z']);
    expect(slots({ kind: 'biweekly' }, utc('2030-01-01T09:00:00Z'), 1)).toEqual(['2030-01-15T09:00:00.000Z']);
    expect(slots({ kind: 'monthly' }, utc('2030-01-31T09:00:00Z'), 2)).toEqual([
      '2030-02-28T09:00:00.000Z',
      '2030-03-28T09:00:00.000Z',
    ]);
    expect(slots({ kind: 'bimonthly' }, utc('2030-01-15T09:00:00Z'), 1)).toEqual([
      '2030-03-15T09:00:00.000Z',
    ]);
    expect(slots({ kind: 'quarterly' }, utc('2030-01-15T09:00:00Z'), 1)).toEqual([
      '2030-04-15T09:00:00.000Z',
    ]);
    expect(slots({ kind: 'yearly' }, utc('2032-02-29T09:00:00Z'), 1)).toEqual(['2033-02-28T09:00:00.000Z']);
    expect(slots({ kind: 'minutes', minutes: 45 }, utc('2030-01-01T09:00:00Z'), 2)).toEqual([
      '2030-01-01T09:45:00.000Z',
      '2030-01-01T10:30:00.000Z',
    ]);
    expect(slotAfter(schedule({ kind: 'once' }), utc('2030-01-01T09:00:00Z'))).toBeUndefined();
  });

  it('with catch-up goes to the very next slot; without it skips to the first slot after now', () => {
    const every15 = schedule({ kind: 'minutes', minutes: 15, repeats: 10 });
    const slot = utc('2030-01-01T09:00:00Z');
    const now = utc('2030-01-01T11:05:00Z');
    expect(advance(every15, slot, now, true)).toEqual({
      nextRunAt: utc('2030-01-01T09:15:00Z'),
      repeats: 9,
      lastRunAt: slot,
    });
    expect(advance(every15, slot, now, false).nextRunAt).toBe(utc('2030-01-01T11:15:00Z'));
    const daily = schedule({ kind: 'daily', repeats: -1 });
    expect(advance(daily, slot, utc('2030-01-05T12:00:00Z'), false)).toEqual({
      nextRunAt: utc('2030-01-06T09:00:00Z'),
      repeats: -1,
      lastRunAt: slot,
    });
    expect(advance(schedule({ kind: 'once', repeats: 1 }), slot, now, true).repeats).toBe(0);
  });
});
